import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings

import engine
from engine.gradcheck.compare import elementwise_relative_error, norm_relative_difference
from tests import strategies

problems = strategies.problems(activations=("sigmoid", "tanh"))


@settings(max_examples=80, deadline=None)
@given(problems)
def test_the_correct_path_agrees_to_better_than_1e_7(problem):
    r = engine.check_problem(problem)
    assert r.relative_difference < 1e-7
    assert r.agrees and r.status == "pass"


@settings(max_examples=30, deadline=None)
@given(problems.filter(lambda p: len(p.layer_sizes) > 2))
def test_relu_networks_agree_apart_from_marked_kinks(problem):
    relu = engine.make_problem(problem.layer_sizes, problem.m, 1, problem.lamb, "relu")
    r = engine.check_problem(relu, eps=1e-2)
    assert r.agrees
    assert not (r.beyond_noise & ~r.kinks).any()


def test_check_exposes_the_public_api(seed_problem):
    p = seed_problem
    r = engine.check(p.theta, p.X, p.y, (3, 5, 3), lamb=1.0, bugs=("sigmoid-sign-flip",))
    assert r.analytic.shape == r.numerical.shape == (38,)
    assert [m.name for m in r.matrices] == ["Theta1", "Theta2"]
    assert r.matrices[1].analytic.shape == r.matrices[1].numerical.shape == (3, 6)
    assert r.matrices[1].diverging.dtype == bool and r.matrices[1].diverging.shape == (3, 6)
    assert isinstance(r.matrices[1].relative_difference, float)
    assert isinstance(r.relative_difference, float)


def test_relative_difference_is_the_seeds_formula():
    a, n = np.array([1.0, 2.0]), np.array([1.0, -2.0])
    assert norm_relative_difference(a, n) == pytest.approx(
        np.linalg.norm(n - a) / np.linalg.norm(n + a)
    )
    assert norm_relative_difference(np.zeros(3), np.zeros(3)) == 0.0


def test_elementwise_relative_error_is_zero_where_both_are_zero():
    err = elementwise_relative_error([0.0, 1.0, 2.0], [0.0, 1.1, -2.0])
    np.testing.assert_allclose(err, [0.0, 0.1 / 1.1, 2.0])


def test_table_has_one_readable_row_per_parameter(seed_problem):
    r = engine.check_problem(seed_problem, ["sigmoid-sign-flip"])
    table = r.table()
    assert isinstance(table, pd.DataFrame) and len(table) == 38
    for column in [
        "matrix",
        "row",
        "column",
        "analytic",
        "numerical",
        "abs diff",
        "rel error",
        "diverges",
    ]:
        assert column in table.columns
    assert table.index.name == "index"
    row = table.loc[26]
    assert (row["matrix"], row["row"], row["column"], row["column unit"]) == (
        "Theta2",
        1,
        0,
        "bias",
    )
    assert table["diverges"].sum() == 18


def test_worst_element_is_described_in_words(seed_problem):
    r = engine.check_problem(seed_problem, ["bias-regularized"])
    assert r.describe_worst().endswith("column 0 (bias)")
    assert r.matrices[0].describe_worst().startswith("Theta1 row ")


def test_default_threshold_depends_on_dtype_and_method(seed_problem):
    strict = engine.check_problem(seed_problem).threshold
    assert engine.check_problem(seed_problem, ["float32"]).threshold > strict
    assert engine.check_problem(seed_problem, ["forward-difference"]).threshold > strict


def test_noise_floor_is_far_larger_for_float32_than_for_float64(seed_problem):
    f64 = engine.check_problem(seed_problem).noise
    f32 = engine.check_problem(seed_problem, ["float32"]).noise
    assert f32.absolute > 1e4 * f64.absolute
    assert "float32" in f32.explain() and "round-off" in f32.explain()


def test_a_bias_only_bug_is_not_mistaken_for_noise_at_400_25_10():
    problem = engine.make_problem((400, 25, 10), m=100, seed=0, lamb=1.0)
    r = engine.check_problem(problem, ["bias-regularized"])
    bias_entries = np.zeros(problem.layout.n_params, dtype=bool)
    for start, (rows, cols) in zip(problem.layout.offsets, problem.layout.shapes):
        bias_entries[start + np.arange(rows) * cols] = True
    assert r.diverging[bias_entries].mean() > 0.95
    assert not r.diverging[~bias_entries].any()


def test_a_user_threshold_overrides_the_default(seed_problem):
    r = engine.check_problem(seed_problem, ["forward-difference"], threshold=1e-8)
    assert r.threshold == 1e-8


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(eps=0), "eps"),
        (dict(eps=-1e-4), "eps"),
        (dict(eps=float("nan")), "eps"),
        (dict(bugs=["nope"]), "bugs"),
        (dict(threshold=0), "threshold"),
        (dict(threshold="x"), "threshold"),
        (dict(lamb=-0.5), "lamb"),
    ],
)
def test_check_rejects_bad_arguments_by_name(seed_problem, kwargs, word):
    p = seed_problem
    with pytest.raises(ValueError, match=word):
        engine.check(p.theta, p.X, p.y, (3, 5, 3), **kwargs)


def test_loop_and_fast_paths_give_the_same_result(seed_problem):
    p = seed_problem
    fast = engine.check(p.theta, p.X, p.y, (3, 5, 3), 1.0, engine.SEED_BUGS)
    loop = engine.check(p.theta, p.X, p.y, (3, 5, 3), 1.0, engine.SEED_BUGS, numerical="loop")
    assert np.abs(fast.numerical - loop.numerical).max() <= 1e-9 * np.abs(loop.numerical).max()
    np.testing.assert_array_equal(fast.diverging, loop.diverging)


# --- black-box callables -------------------------------------------------------------


def test_check_functions_cuts_matrices_from_shapes(seed_problem):
    p = seed_problem
    r = engine.check_functions(
        lambda t: engine.cost(t, p), lambda t: engine.gradient(t, p), p.theta, [(5, 4), (3, 6)]
    )
    assert r.agrees and r.problem is None
    assert [m.shape for m in r.matrices] == [(5, 4), (3, 6)]
    assert r.layout.describe(26) == "Theta2 row 1 (output 1) column 0 (bias)"


def test_check_functions_accepts_a_column_vector_gradient(seed_problem):
    p = seed_problem
    r = engine.check_functions(
        lambda t: engine.cost(t, p),
        lambda t: engine.gradient(t, p).reshape(-1, 1),
        p.theta,
        [(5, 4), (3, 6)],
    )
    assert r.agrees


def test_check_functions_supports_forward_differences_and_float32(seed_problem):
    p = seed_problem
    r = engine.check_functions(
        lambda t: engine.cost(t, p),
        lambda t: engine.gradient(t, p),
        p.theta,
        [(5, 4), (3, 6)],
        method="forward",
    )
    assert r.method == "forward" and r.agrees


@pytest.mark.parametrize(
    "gradient, cost, word",
    [
        (lambda t: np.zeros(37), None, "37 values"),
        (lambda t: np.full(38, np.nan), None, "NaN"),
        (lambda t: "text", None, "real numbers"),
        (lambda t: np.ones(38) * 1j, None, "complex128"),
        (None, lambda t: np.ones(2), "single number"),
        (None, lambda t: float("inf"), "finite"),
    ],
)
def test_check_functions_explains_bad_user_functions(seed_problem, gradient, cost, word):
    p = seed_problem
    gradient = gradient or (lambda t: engine.gradient(t, p))
    cost = cost or (lambda t: engine.cost(t, p))
    with pytest.raises(ValueError, match=word):
        engine.check_functions(cost, gradient, p.theta, [(5, 4), (3, 6)])


def test_check_functions_rejects_shapes_that_do_not_fit_theta(seed_problem):
    with pytest.raises(ValueError, match="shapes"):
        engine.check_functions(np.sum, np.ones_like, seed_problem.theta, [(5, 4)])
