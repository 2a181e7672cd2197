"""The loss as a series in one unit's shift: the exact check's fast path, and its limits."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from numpy.polynomial import polynomial as P

import engine.gradcheck.numerical as numerical
from engine.bugs.catalogue import implementation_with
from engine.gradcheck.numerical import loop_gradient, network_numerical_gradient
from engine.gradcheck.taylor import compose, local_series, next_term, powers_of, times
from engine.memory import reuse_freed_memory
from engine.network.model import Problem, cost, make_problem
from engine.network.pieces import CORRECT, FORWARD


def truncated(coefficients, degree):
    """numpy.polynomial coefficients (constant first) -> rows 1..degree."""
    padded = np.zeros(degree + 1)
    padded[: min(len(coefficients), degree + 1)] = coefficients[: degree + 1]
    return padded[1:]


def test_local_series_recovers_the_taylor_coefficients_of_exp():
    z = np.array([-3.0, 0.0, 0.5, 4.0])
    radius = 1e-3
    series = local_series(np.exp, z, radius, degree=5)
    for r in range(1, 6):
        expected = np.exp(z) / math.factorial(r)
        # each term's error at the edge of the reach: exp's own rounding, amplified by
        # the fit (its inverse Vandermonde's rows sum to ~50)
        assert np.all(np.abs(series[r - 1] - expected) * radius**r <= 1e-14 * np.exp(z))


def test_local_series_in_units_of_the_reach_scales_each_power():
    z = np.array([0.3])
    in_d = local_series(np.sin, z, 1e-3, degree=3)
    in_tau = local_series(np.sin, z, 1e-3, degree=3, unit=2e-3)
    np.testing.assert_allclose(in_tau[:, 0], in_d[:, 0] * 2e-3 ** np.arange(1, 4), rtol=1e-12)


def test_products_and_powers_match_numpy_polynomial_truncated():
    rng = np.random.default_rng(0)
    degree = 5
    a, b = rng.standard_normal(degree), rng.standard_normal(degree)
    full_a, full_b = np.r_[0.0, a], np.r_[0.0, b]
    np.testing.assert_allclose(times(a, b), truncated(P.polymul(full_a, full_b), degree))
    for q, power in enumerate(powers_of(a), start=1):
        np.testing.assert_allclose(power, truncated(P.polypow(full_a, q), degree), atol=1e-12)


def test_compose_applies_an_outer_series_to_an_inner_polynomial():
    rng = np.random.default_rng(1)
    degree = 4
    outer, inner = rng.standard_normal(degree), rng.standard_normal(degree)
    expected = sum(
        outer[q - 1] * truncated(P.polypow(np.r_[0.0, inner], q), degree)
        for q in range(1, degree + 1)
    )
    np.testing.assert_allclose(compose(outer, inner), expected, atol=1e-12)


def test_next_term_extrapolates_a_falling_series_and_refuses_a_rising_one():
    assert next_term(np.array([1.0, 0.0, 1e-8]), central=True) == pytest.approx(1e-16)
    assert next_term(np.array([1.0, 1e-4, 1e-8]), central=False) == pytest.approx(1e-12)
    assert next_term(np.array([1e-8, 0.0, 1.0]), central=True) == math.inf
    assert next_term(np.array([1.0, 0.0, 0.0]), central=True) == 0.0


def scaled_problem(sizes, m, seed, activation, scale):
    problem = make_problem(sizes, m=m, seed=seed, lamb=1.0, activation=activation)
    return Problem.validated(
        problem.theta, problem.X * scale, problem.y, problem.layer_sizes, 1.0, activation
    )


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 6), min_size=3, max_size=5).map(tuple),
    st.integers(1, 8),
    st.integers(0, 2**20),
    st.sampled_from(["sigmoid", "tanh", "relu"]),
    st.sampled_from([1.0, 30.0, 100.0]),
    st.sampled_from([1e-5, 1e-4, 1e-3, 1e-2, 5e-2, 0.5]),
    st.sampled_from([CORRECT, implementation_with(["sigmoid-sign-flip"])]),
    st.booleans(),
)
# a ReLU net at eps = 0.05, inputs x30: a loss fit shared across a reach of ~1 once
# passed the series check and missed the loop by 7e-6
@example((2, 1, 2, 1), 5, 638, "relu", 30.0, 0.05, CORRECT, False)
def test_the_exact_check_equals_the_loop_at_any_eps_depth_and_input_scale(
    sizes, m, seed, activation, scale, eps, impl, one_sided
):
    """Past the series' reach (large eps or inputs) the costs are evaluated instead."""
    if one_sided:
        impl = impl.__class__(**{**impl.__dict__, "stencil": FORWARD})
    problem = scaled_problem(sizes, m, seed, activation, scale)
    fast, _ = network_numerical_gradient(problem, impl, eps)
    loop = loop_gradient(lambda t: cost(t, problem, impl), problem.theta, eps, impl.stencil)
    round_off = 10 * np.finfo(float).eps / 2 * max(1.0, abs(cost(problem.theta, problem, impl)))
    assert np.abs(fast - loop).max() <= round_off / eps


def evaluated_entries(monkeypatch, problem, eps) -> int:
    counted = []
    original = numerical.BaseEvaluation.perturbed_costs

    def counting(self, k, flat, stencil, e):
        counted.append(flat.size)
        return original(self, k, flat, stencil, e)

    monkeypatch.setattr(numerical.BaseEvaluation, "perturbed_costs", counting)
    network_numerical_gradient(problem, eps=eps)
    return sum(counted)


def test_a_small_eps_evaluates_no_cost_at_all(monkeypatch):
    problem = make_problem((6, 5, 4, 3), m=9, seed=2)
    assert evaluated_entries(monkeypatch, problem, 1e-4) == 0


def test_where_the_series_cannot_reach_every_entry_is_evaluated(monkeypatch):
    problem = make_problem((6, 5, 4, 3), m=9, seed=2)
    assert evaluated_entries(monkeypatch, problem, 0.5) == problem.layout.n_params


def test_the_c_librarys_malloc_defaults_can_be_kept(monkeypatch):
    monkeypatch.setenv("GRADSCOPE_SYSTEM_MALLOC", "1")
    assert reuse_freed_memory() is False


def test_the_series_path_refuses_a_float32_checker():
    float32 = implementation_with(["float32"])
    with pytest.raises(ValueError, match="float64"):
        network_numerical_gradient(make_problem((4, 3, 2), m=3), float32, path="interpolated")
