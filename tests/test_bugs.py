import textwrap

import numpy as np
import pytest

import engine
from engine.bugs.catalogue import BUGS, SEED_BUGS, discover, implementation_with
from engine.bugs.examples import EXAMPLES
from engine.network.pieces import CORRECT
from tests.seed_code import computeNumericalGradient, make_seed_functions

DESIGN_IDS = {
    "sigmoid-sign-flip",
    "numgrad-skips-first",
    "sigmoid-gradient-on-z",
    "bias-regularized",
    "cost-reg-factor",
    "grad-missing-1-over-m",
    "column-major-unroll",
    "backprop-wrong-bias-slice",
    "forward-difference",
    "float32",
}
# The catalogue's order is public (`--list-bugs`, the sidebar, bug-matrix rows).
CATALOGUE_ORDER = [
    "sigmoid-sign-flip",
    "numgrad-skips-first",
    "sigmoid-gradient-on-z",
    "bias-regularized",
    "cost-reg-factor",
    "grad-missing-1-over-m",
    "column-major-unroll",
    "backprop-wrong-bias-slice",
    "forward-difference",
    "float32",
    "output-error-times-gradient",
]
SEEDS = [0, 1, 2, 3, 4]


def run(bugs, seed=0):
    """The seed's set-up (3-5-3, m = 5, lambda = 1) with `bugs` switched on."""
    problem = engine.make_problem(seed=seed, lamb=1.0)
    return problem, engine.check_problem(problem, bugs)


def test_catalogue_holds_every_id_from_the_design():
    assert DESIGN_IDS <= set(BUGS)


def test_the_catalogue_keeps_its_order():
    assert list(BUGS) == CATALOGUE_ORDER


def test_catalogue_numbers_set_the_order():
    numbers = [bug.number for bug in BUGS.values()]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)


def test_two_bugs_with_one_catalogue_number_are_refused(tmp_path, monkeypatch):
    package = tmp_path / "two_ones"
    package.mkdir()
    (package / "__init__.py").write_text("")
    for name in ("first", "second"):
        (package / f"{name}.py").write_text(
            textwrap.dedent(f"""
                from dataclasses import replace
                from engine.bugs.bug import Bug
                BUG = Bug(1, "{name}", "{name}", "model", "", "a", "b", "",
                          lambda impl: replace(impl, first_checked_index=1))
            """)
        )
    monkeypatch.syspath_prepend(str(tmp_path))
    import two_ones

    with pytest.raises(ValueError, match="catalogue numbers repeat"):
        discover(two_ones)


def test_examples_are_the_founding_pair_then_each_bugs_own_in_catalogue_order():
    assert list(EXAMPLES) == [
        "seed-question",
        "seed-answer",
        "bias-regularised",
        "missing-1-over-m",
        "octave-port",
    ]
    assert [e.expected_bug for e in EXAMPLES.values()] == [
        "sigmoid-sign-flip",
        None,
        "bias-regularized",
        "grad-missing-1-over-m",
        "column-major-unroll",
    ]


@pytest.mark.parametrize("bug", list(BUGS.values()), ids=list(BUGS))
def test_every_entry_is_documented(bug):
    for text in (bug.title, bug.explanation, bug.buggy_code, bug.fixed_code, bug.signature):
        assert isinstance(text, str) and text.strip()
    assert bug.buggy_code != bug.fixed_code
    assert bug.where in ("model", "backprop", "cost", "checker")


@pytest.mark.parametrize("bug", list(BUGS))
def test_every_bug_changes_the_implementation(bug):
    assert implementation_with([bug]) != CORRECT


def test_bugs_compose():
    impl = implementation_with(["sigmoid-sign-flip", "bias-regularized", "float32"])
    assert impl.sigmoid.sign == -1
    assert (
        impl.gradient_regularized is BUGS["bias-regularized"].realise(CORRECT).gradient_regularized
    )
    assert impl.dtype == np.float32


def test_unknown_bug_ids_are_refused_by_name():
    with pytest.raises(ValueError, match="no-such-bug"):
        implementation_with(["no-such-bug"])


# --- each bug's signature on the seed's set-up (lambda = 1) ------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_sigmoid_sign_flip_flips_the_output_bias_column_and_spares_theta1(seed):
    _, r = run(["sigmoid-sign-flip"], seed)
    theta1, theta2 = r.matrices
    np.testing.assert_allclose(theta2.analytic[:, 0], -theta2.numerical[:, 0], rtol=1e-8)
    assert theta2.diverging.all() and theta1.agrees
    assert r.relative_difference > 1


@pytest.mark.parametrize("seed", SEEDS)
def test_numgrad_skips_first_zeroes_numerical_element_0_only(seed):
    _, r = run(["numgrad-skips-first"], seed)
    assert r.numerical[0] == 0.0 and r.analytic[0] != 0.0
    assert np.flatnonzero(r.diverging).tolist() == [0]


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("bug", ["sigmoid-gradient-on-z", "backprop-wrong-bias-slice"])
def test_hidden_error_bugs_break_theta1_and_spare_the_output_layer(seed, bug):
    _, r = run([bug], seed)
    theta1, theta2 = r.matrices
    assert theta1.n_diverging > 0 and theta2.agrees


@pytest.mark.parametrize("seed", SEEDS)
def test_bias_regularized_differs_only_in_bias_columns_by_lambda_over_m_theta(seed):
    problem, r = run(["bias-regularized"], seed)
    for m, theta in zip(r.matrices, problem.layout.split(problem.theta)):
        assert not m.diverging[:, 1:].any()
        np.testing.assert_allclose(
            m.analytic[:, 0] - m.numerical[:, 0],
            problem.lamb / problem.m * theta[:, 0],
            atol=1e-9,
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_cost_reg_factor_adds_lambda_over_m_theta_to_numerical_non_bias_entries(seed):
    problem, r = run(["cost-reg-factor"], seed)
    for m, theta in zip(r.matrices, problem.layout.split(problem.theta)):
        assert not m.diverging[:, 0].any()
        np.testing.assert_allclose(
            m.numerical[:, 1:] - m.analytic[:, 1:],
            problem.lamb / problem.m * theta[:, 1:],
            atol=1e-9,
        )


@pytest.mark.parametrize("seed", SEEDS)
def test_missing_1_over_m_scales_bias_columns_by_exactly_m(seed):
    problem, r = run(["grad-missing-1-over-m"], seed)
    for m in r.matrices:
        np.testing.assert_allclose(m.analytic[:, 0], problem.m * m.numerical[:, 0], rtol=1e-7)


@pytest.mark.parametrize("seed", SEEDS)
def test_column_major_unroll_puts_right_values_in_transposed_places(seed):
    _, r = run(["column-major-unroll"], seed)
    for m in r.matrices:
        expected = m.numerical.ravel(order="F").reshape(m.shape)
        np.testing.assert_allclose(m.analytic, expected, rtol=1e-7, atol=1e-10)
        assert not m.diverging.flat[0] and not m.diverging.flat[-1]


@pytest.mark.parametrize("seed", SEEDS)
def test_forward_differences_stay_at_their_noise_floor(seed):
    _, r = run(["forward-difference"], seed)
    assert r.method == "forward" and r.agrees and r.status == "warn"
    assert 1e-7 < r.abs_diff.max() < r.noise.absolute


@pytest.mark.parametrize("seed", SEEDS)
def test_float32_stays_at_its_noise_floor(seed):
    _, r = run(["float32"], seed)
    assert r.analytic.dtype == np.float32 and r.numerical.dtype == np.float32
    assert r.agrees and r.status == "warn"
    assert 1e-6 < r.abs_diff.max() < r.noise.absolute


@pytest.mark.parametrize("seed", SEEDS)
def test_output_error_times_gradient_shrinks_the_output_bias_gradient(seed):
    _, r = run(["output-error-times-gradient"], seed)
    last = r.matrices[-1]
    ratio = last.analytic[:, 0] / last.numerical[:, 0]
    assert np.all((ratio > 0) & (ratio <= 0.25))
    assert last.diverging.all()


# --- the founding story ------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
def test_seed_scenario_shows_the_seeds_pattern(seed):
    _, r = run(SEED_BUGS, seed)
    theta1, theta2 = r.matrices
    assert r.numerical[0] == 0.0
    assert theta1.diverging.ravel().tolist() == [True] + [False] * 19
    assert theta2.diverging.all()
    np.testing.assert_allclose(theta2.analytic[:, 0], -theta2.numerical[:, 0], rtol=1e-8)
    assert 1 < r.relative_difference < 20  # the seed printed 6.61


@pytest.mark.parametrize(
    "buggy_sigmoid, bugs", [(True, SEED_BUGS), (False, ["numgrad-skips-first"])]
)
def test_catalogue_reproduces_the_seeds_own_code(seed_problem, buggy_sigmoid, bugs):
    """Question (flipped sigmoid) and answer (fixed sigmoid): same numbers as their code."""
    compute_cost, gradient = make_seed_functions(buggy_sigmoid)
    p = seed_problem
    args = (p.X, p.y, 3, 5, 3, p.lamb)
    their_analytic = gradient(p.theta, *args)
    their_numerical = computeNumericalGradient(lambda t: compute_cost(t, *args), p.theta)
    r = engine.check(p.theta, p.X, p.y, (3, 5, 3), lamb=p.lamb, bugs=bugs)
    np.testing.assert_allclose(r.analytic, their_analytic, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(r.numerical, their_numerical, rtol=1e-7, atol=1e-11)


def test_the_answers_code_still_fails_only_at_element_0(seed_problem):
    """The answer's 0.0088: its fixed code still carries range(1, n)."""
    p = seed_problem
    r = engine.check(p.theta, p.X, p.y, (3, 5, 3), lamb=1.0, bugs=["numgrad-skips-first"])
    assert 1e-4 < r.relative_difference < 1e-1
    assert np.flatnonzero(r.diverging).tolist() == [0]


def test_every_catalogue_bug_names_its_cause_in_the_diagnosis_vocabulary():
    from engine.diagnosis.finding import CAUSES

    assert all(bug.cause in CAUSES and bug.cause != "unknown" for bug in BUGS.values())
