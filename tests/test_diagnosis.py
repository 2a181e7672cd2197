from dataclasses import replace

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import engine
from engine.bugs.catalogue import BUGS, SEED_BUGS
from engine.diagnosis.reproduction import searched_bugs
from tests.seed_code import make_seed_functions

HIDDEN_ERROR_BUGS = {"sigmoid-gradient-on-z", "backprop-wrong-bias-slice"}


def diagnose_seed_setup(bugs, seed=0, reproduce=True):
    problem = engine.make_problem(seed=seed, lamb=1.0)
    result = engine.check_problem(problem, bugs)
    return result, engine.diagnose(result, reproduce=reproduce)


@pytest.mark.parametrize("seed", range(8))
@pytest.mark.parametrize("bug", list(BUGS))
def test_every_catalogue_bug_alone_is_named_by_the_top_finding(bug, seed):
    _, findings = diagnose_seed_setup([bug], seed)
    assert findings[0].bug_id == bug


@pytest.mark.parametrize("bug", sorted(set(BUGS) - HIDDEN_ERROR_BUGS))
def test_gradients_alone_name_every_bug_with_a_distinct_pattern(bug):
    """Level 1 only: no re-running of the engine's network."""
    _, findings = diagnose_seed_setup([bug], reproduce=False)
    assert findings[0].bug_id == bug


@pytest.mark.parametrize("bug", sorted(HIDDEN_ERROR_BUGS))
def test_gradients_alone_place_hidden_error_bugs_in_the_hidden_layers(bug):
    _, findings = diagnose_seed_setup([bug], reproduce=False)
    assert "hidden layers" in findings[0].message and "theta[:, 1:]" in findings[0].message


@pytest.mark.parametrize("bug", sorted(HIDDEN_ERROR_BUGS))
def test_reproduction_tells_the_hidden_error_bugs_apart(bug):
    _, findings = diagnose_seed_setup([bug])
    assert findings[0].kind == "reproduction" and findings[0].bug_id == bug


def test_the_seed_scenario_ranks_the_sigmoid_before_the_skipped_index():
    _, findings = diagnose_seed_setup(SEED_BUGS)
    assert [f.bug_id for f in findings[:2]] == ["sigmoid-sign-flip", "numgrad-skips-first"]
    assert "1/(1+np.exp(z))" in findings[0].message
    assert "range(1, n)" in findings[1].message


def test_findings_carry_numbers_as_evidence():
    _, findings = diagnose_seed_setup(["bias-regularized"])
    assert any(ch.isdigit() for ch in findings[0].evidence)
    assert "lambda/m" in findings[0].message


def test_a_correct_gradient_is_reported_as_agreeing():
    _, findings = diagnose_seed_setup([])
    assert findings[0].kind == "agreement" and findings[0].bug_id is None


def test_the_diagnosis_never_reads_the_toggled_bug_list():
    result, findings = diagnose_seed_setup(["column-major-unroll"])
    blind = engine.diagnose(replace(result, bugs=()))
    assert [f.message for f in blind] == [f.message for f in findings]


def test_two_analytic_bugs_are_both_named():
    _, findings = diagnose_seed_setup(["bias-regularized", "column-major-unroll"])
    named = {f.bug_id for f in findings if f.kind == "reproduction"}
    assert named == {"bias-regularized", "column-major-unroll"}


def test_a_bug_without_effect_in_the_setup_is_not_blamed():
    problem = engine.make_problem((3, 5, 3), m=5, lamb=1.0, activation="tanh")
    result = engine.check_problem(problem, ["sigmoid-gradient-on-z"])
    findings = engine.diagnose(result)
    assert result.status == "pass"
    assert all(f.bug_id != "sigmoid-gradient-on-z" for f in findings)


def test_the_seeds_own_question_code_is_diagnosed_as_an_output_sign_error(seed_problem):
    """Pasted code: only the two gradients are known (level 1)."""
    compute_cost, gradient = make_seed_functions(buggy_sigmoid=True)
    p = seed_problem
    args = (p.X, p.y, 3, 5, 3, p.lamb)
    result = engine.check_functions(
        lambda t: compute_cost(t, *args),
        lambda t: gradient(t, *args),
        p.theta,
        [(5, 4), (3, 6)],
    )
    top = engine.diagnose(result)[0]
    assert top.bug_id == "sigmoid-sign-flip"
    assert "Theta2" in top.message and "output layer" in top.message


def test_a_constant_factor_other_than_m_is_reported_without_blaming_m(seed_problem):
    p = seed_problem
    result = engine.check_functions(
        lambda t: engine.cost(t, p),
        lambda t: 2.5 * engine.gradient(t, p),
        p.theta,
        [(5, 4), (3, 6)],
    )
    findings = engine.diagnose(result)
    scale = [f for f in findings if "constant 2.5 times" in f.message]
    assert scale and scale[0].bug_id is None


def test_a_factor_of_two_is_worded_as_a_term_counted_twice_not_as_m(seed_problem):
    p = seed_problem  # m = 5: a factor of 2 is not the number of examples
    result = engine.check_functions(
        lambda t: engine.cost(t, p),
        lambda t: 2 * engine.gradient(t, p),
        p.theta,
        [(5, 4), (3, 6)],
    )
    scale = next(f for f in engine.diagnose(result) if "constant 2 times" in f.message)
    assert "counted two times" in scale.message  # m is unknown to a check of functions
    assert "if you have 2 examples, the summed deltas were not divided" in scale.message
    assert "number of examples m?" not in scale.message


def test_right_values_in_unexplained_places_are_a_permutation_no_bug_claims(seed_problem):
    p = seed_problem
    result = engine.check_functions(
        lambda t: engine.cost(t, p),
        lambda t: np.concatenate([g.ravel()[::-1] for g in p.layout.split(engine.gradient(t, p))]),
        p.theta,
        [(5, 4), (3, 6)],
    )
    permutation = [f for f in engine.diagnose(result) if "(a permutation)" in f.message]
    assert permutation and permutation[0].bug_id is None


def test_level_two_searches_the_gradients_mistakes_and_reads_the_checkers_settings():
    assert searched_bugs("analytic") == tuple(
        b for b, bug in BUGS.items() if bug.where in ("model", "backprop")
    )
    assert searched_bugs("numerical") == ("cost-reg-factor", "numgrad-skips-first")


def test_float32_noise_is_not_called_a_bug_but_is_named():
    result, findings = diagnose_seed_setup(["float32"])
    assert result.agrees
    assert findings[0].bug_id == "float32" and findings[0].kind == "noise"


def test_relu_kinks_are_explained_not_blamed():
    problem = engine.make_problem((4, 8, 3), m=20, seed=2, lamb=0.0, activation="relu")
    result = engine.check_problem(problem, eps=0.05)
    assert result.kink_disagreements.any() and result.agrees
    findings = engine.diagnose(result)
    assert any("kink" in f.message for f in findings)
    assert all(f.bug_id is None for f in findings)


def test_level_two_reports_numbers_within_the_noise_floor():
    result, findings = diagnose_seed_setup(["cost-reg-factor"])
    assert findings[0].kind == "reproduction"
    assert "reproduces both gradients" in findings[0].evidence
    assert np.isfinite(findings[0].score)


@settings(max_examples=40, deadline=None)
@given(
    layer_sizes=st.lists(st.integers(1, 6), min_size=2, max_size=4).map(tuple),
    m=st.integers(1, 9),
    seed=st.integers(0, 10_000),
    lamb=st.sampled_from([0.0, 0.5, 1.0, 3.0]),
    activation=st.sampled_from(["sigmoid", "tanh", "relu"]),
    bug=st.sampled_from(list(BUGS)),
)
def test_any_network_names_any_bug_that_changes_its_gradients(
    layer_sizes, m, seed, lamb, activation, bug
):
    problem = engine.make_problem(layer_sizes, m, seed, lamb, activation)
    buggy, clean = engine.check_problem(problem, [bug]), engine.check_problem(problem)
    silent = np.array_equal(buggy.analytic, clean.analytic) and np.array_equal(
        buggy.numerical, clean.numerical
    )
    assume(not silent or BUGS[bug].where == "checker" and bug != "numgrad-skips-first")
    assert engine.diagnose(buggy)[0].bug_id == bug
