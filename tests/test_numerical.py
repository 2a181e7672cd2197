import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.bugs.catalogue import BUGS, implementation_with
from engine.gradcheck.numerical import loop_gradient, network_numerical_gradient
from engine.network.model import add_bias, cost, make_problem
from engine.network.pieces import FORWARD
from tests import strategies
from tests.seed_code import computeNumericalGradient

problems = strategies.problems()
float64_bug_sets = st.lists(
    st.sampled_from([b for b in BUGS if b != "float32"]), max_size=3, unique=True
)


def loop_for(problem, impl, eps=1e-4):
    return loop_gradient(
        lambda t: cost(t, problem, impl),
        problem.theta,
        eps,
        impl.stencil,
        impl.first_checked_index,
        impl.dtype,
    )


@settings(max_examples=80, deadline=None)
@given(problems, float64_bug_sets, st.sampled_from([1e-3, 1e-4, 1e-5]))
def test_fast_path_equals_the_seed_style_loop_within_the_loops_own_round_off(problem, bugs, eps):
    """Both sum the same cost values in a different order: they may differ by round-off only."""
    impl = implementation_with(bugs)
    fast, _ = network_numerical_gradient(problem, impl, eps)
    loop = loop_for(problem, impl, eps)
    cost_scale = max(1.0, abs(cost(problem.theta, problem, impl)))
    round_off = 10 * np.finfo(float).eps / 2 * cost_scale / eps
    assert np.abs(fast - loop).max() <= round_off


@pytest.mark.parametrize("sizes, m", [((3, 5, 3), 5), ((40, 15, 5), 30), ((8, 6, 5, 4), 12)])
def test_fast_path_equals_the_loop_to_1e_9_at_the_default_eps(sizes, m):
    problem = make_problem(sizes, m=m, seed=1, lamb=1.0)
    fast, _ = network_numerical_gradient(problem)
    loop = loop_for(problem, implementation_with([]))
    assert np.abs(fast - loop).max() <= 1e-9 * np.abs(loop).max()


def test_loop_reproduces_the_seeds_own_numerical_gradient_bit_for_bit(seed_problem):
    impl = implementation_with(["numgrad-skips-first"])
    J = lambda t: cost(t, seed_problem, impl)  # noqa: E731
    ours = loop_gradient(J, seed_problem.theta, 1e-4, impl.stencil, impl.first_checked_index)
    np.testing.assert_array_equal(ours, computeNumericalGradient(J, seed_problem.theta))


def test_skipping_the_first_index_leaves_it_at_zero_on_both_paths(seed_problem):
    impl = implementation_with(["numgrad-skips-first"])
    fast, _ = network_numerical_gradient(seed_problem, impl)
    assert fast[0] == 0.0 and loop_for(seed_problem, impl)[0] == 0.0
    assert np.all(fast[1:] != 0)


def test_forward_differences_use_the_one_sided_formula(seed_problem):
    J = lambda t: cost(t, seed_problem)  # noqa: E731
    e, p = 1e-4, 5
    step = np.zeros_like(seed_problem.theta)
    step[p] = e
    expected = (J(seed_problem.theta + step) - J(seed_problem.theta)) / e
    got = loop_gradient(J, seed_problem.theta, e, FORWARD)[p]
    assert got == pytest.approx(expected, rel=1e-12)


def test_float32_check_runs_in_single_precision_on_both_paths(seed_problem):
    impl = implementation_with(["float32"])
    fast, _ = network_numerical_gradient(seed_problem, impl)
    loop = loop_for(seed_problem, impl)
    assert fast.dtype == np.float32 and loop.dtype == np.float32
    exact, _ = network_numerical_gradient(seed_problem)
    # both are float32 round-off away from the float64 truth, and from each other
    assert 1e-6 < np.abs(fast - exact).max() < 1e-2
    assert np.abs(fast - loop).max() < 1e-2


@pytest.mark.parametrize("bug", [b for b in BUGS if BUGS[b].where == "backprop"])
def test_backprop_bugs_never_touch_the_numerical_side(seed_problem, bug):
    """No derivative formula enters the numerical gradient, so backprop bugs cannot either."""
    clean, _ = network_numerical_gradient(seed_problem)
    buggy, _ = network_numerical_gradient(seed_problem, implementation_with([bug]))
    np.testing.assert_array_equal(clean, buggy)


def test_chunk_size_bounds_memory_without_changing_numbers():
    problem = make_problem((6, 5, 4, 3), m=9, seed=3)
    whole, _ = network_numerical_gradient(problem)
    chunked, _ = network_numerical_gradient(problem, chunk_elements=1)
    np.testing.assert_allclose(chunked, whole, rtol=0, atol=1e-12)


def test_progress_is_reported_up_to_the_parameter_count(seed_problem):
    seen = []
    network_numerical_gradient(
        seed_problem, progress=lambda done, total: seen.append((done, total))
    )
    assert seen[-1] == (38, 38)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def kinks_by_brute_force(problem, eps):
    """Parameter p crosses a kink if any ReLU pre-activation changes sign at theta +- e_p."""

    def signs(theta):
        A, Z = engine.network.model.forward(problem.layout.split(theta), problem.X, "relu")
        return np.concatenate([(z > 0).ravel() for z in Z[:-1]])

    base = signs(problem.theta)
    flags = []
    for p in range(problem.layout.n_params):
        crossed = False
        for s in (1, -1):
            t = problem.theta.copy()
            t[p] += s * eps
            crossed |= bool(np.any(signs(t) != base))
        flags.append(crossed)
    return np.array(flags)


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.integers(1, 5), min_size=3, max_size=4).map(tuple),
    st.integers(1, 6),
    st.integers(0, 1000),
)
def test_relu_kink_flags_match_a_brute_force_sign_check(sizes, m, seed):
    problem = make_problem(sizes, m=m, seed=seed, activation="relu")
    _, kinks = network_numerical_gradient(problem, eps=0.05)
    np.testing.assert_array_equal(kinks, kinks_by_brute_force(problem, 0.05))


def test_add_bias_prepends_ones_on_batches_too():
    batch = np.zeros((2, 3, 4))
    out = add_bias(batch)
    assert out.shape == (2, 3, 5) and np.all(out[..., 0] == 1)
