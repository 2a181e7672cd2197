"""Every page's and command's work is estimated by one model and held to one set of limits.

The model counts what engine/gradcheck/sweep.py, engine/diagnosis/reproduction.py and
engine/runners/training.py do; these tests count the same calls in the real code and hold
the model to them.
"""

import pytest

import engine.diagnosis.diagnose
import engine.diagnosis.reproduction
import engine.gradcheck.sweep
import engine.runners.training
from engine.bugs.catalogue import BUGS
from engine.gradcheck.check import check_problem
from engine.gradcheck.sweep import default_eps_grid
from engine.scenario.settings import Scenario
from engine.scenario.workload import (
    CG_COSTS_PER_ITERATION,
    CG_FAILED_SEARCH_COSTS,
    CG_FAILED_SEARCH_GRADIENTS,
    CG_GRADIENTS_PER_ITERATION,
    DIGITS_CLASSES,
    DIGITS_INPUTS,
    DIGITS_TRAIN,
    MAX_SECONDS,
    WorkTooLarge,
    check_workload,
    diagnosis_reruns,
    estimate_workload,
)

ISSUE_SWEEP = Scenario.create(layer_sizes=(1000, 990, 10), m=100)


def counting(monkeypatch, module, name) -> list:
    calls = []
    original = getattr(module, name)

    def counted(*args, **kwargs):
        calls.append(name)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, name, counted)
    return calls


def test_the_issues_epsilon_sweep_is_refused_though_its_single_check_fits():
    check_workload(ISSUE_SWEEP)
    with pytest.raises(WorkTooLarge, match="epsilon sweep.*the limits here are 30 s"):
        check_workload(ISSUE_SWEEP, "sweep")


def test_the_sweep_estimate_is_several_minutes_for_the_issues_scenario():
    assert estimate_workload(ISSUE_SWEEP, "sweep").seconds > 10 * MAX_SECONDS


@pytest.mark.parametrize("bugs, curves", [((), 4), (("sigmoid-sign-flip",), 5)])
def test_the_sweep_runs_one_numerical_gradient_per_curve_and_eps(monkeypatch, bugs, curves):
    calls = counting(monkeypatch, engine.gradcheck.sweep, "network_numerical_gradient")
    scenario = Scenario.create(bugs=bugs)
    engine.gradcheck.sweep.epsilon_sweep(scenario.problem(), scenario.bugs)
    n_eps = len(default_eps_grid())
    assert len(calls) == curves * n_eps
    assert f"{curves} curves x {n_eps} eps" in estimate_workload(scenario, "sweep").what


@pytest.mark.parametrize(
    "bugs, activation",
    [
        ((), "sigmoid"),
        ((), "relu"),
        (("sigmoid-sign-flip",), "sigmoid"),
        (("cost-reg-factor",), "sigmoid"),
        (("bias-regularized", "numgrad-skips-first", "cost-reg-factor"), "sigmoid"),
        (("forward-difference", "grad-missing-1-over-m"), "tanh"),
    ],
)
def test_the_diagnosis_reruns_no_more_than_the_model_counts(monkeypatch, bugs, activation):
    scenario = Scenario.create(layer_sizes=(4, 6, 3), m=7, bugs=bugs, activation=activation)
    result = check_problem(scenario.problem(), scenario.bugs, scenario.eps)
    level_2 = engine.diagnosis.reproduction
    gradients = counting(monkeypatch, level_2, "gradient")
    numericals = counting(monkeypatch, level_2, "network_numerical_gradient")
    engine.diagnosis.diagnose.diagnose(result)
    most_gradients, most_numericals = diagnosis_reruns(bugs, activation)
    assert len(gradients) <= most_gradients and len(numericals) <= most_numericals


def test_the_bug_lab_counts_the_check_its_diagnosis_and_the_other_variant():
    scenario = Scenario.create(layer_sizes=(300, 300, 10), m=500, bugs=("bias-regularized",))
    lab = estimate_workload(scenario, "bug-lab", compare="sigmoid-sign-flip")
    assert lab.seconds > 2 * estimate_workload(scenario).seconds
    assert "sigmoid-sign-flip switched on" in lab.what


def test_switching_float32_on_in_the_bug_lab_is_refused_where_the_page_fits():
    scenario = Scenario.create(layer_sizes=(300, 300, 10), m=500)
    check_workload(scenario, "bug-lab")
    with pytest.raises(WorkTooLarge, match="float32 switched on"):
        check_workload(scenario, "bug-lab", compare="float32")


@pytest.mark.parametrize(
    "data, bugs", [("digits", ()), ("generated", ("sigmoid-sign-flip",))], ids=["digits", "seed"]
)
def test_fmin_cg_evaluates_no_more_than_the_model_counts(monkeypatch, data, bugs):
    maxiter = 40
    if data == "digits":
        dataset = engine.runners.training.load_digits_dataset((10,))
    else:
        dataset = engine.runners.training.generated_dataset((3, 5, 3), 50)
    costs = counting(monkeypatch, engine.runners.training, "cost")
    gradients = counting(monkeypatch, engine.runners.training, "gradient")
    engine.runners.training.train(dataset, bugs, maxiter)
    assert len(costs) <= CG_COSTS_PER_ITERATION * maxiter + CG_FAILED_SEARCH_COSTS + 3
    assert len(gradients) <= CG_GRADIENTS_PER_ITERATION * maxiter + CG_FAILED_SEARCH_GRADIENTS


def test_the_digits_shapes_in_the_model_are_the_datasets():
    dataset = engine.runners.training.load_digits_dataset((25,))
    assert (dataset.train.layer_sizes, dataset.train.m) == (
        (DIGITS_INPUTS, 25, DIGITS_CLASSES),
        DIGITS_TRAIN,
    )


def test_training_costs_grow_with_iterations_and_run_twice_when_bugs_are_on():
    plain, buggy = Scenario.create(), Scenario.create(bugs=("sigmoid-sign-flip",))
    short = estimate_workload(plain, "training", data="digits", hidden=25, maxiter=50)
    long = estimate_workload(plain, "training", data="digits", hidden=25, maxiter=500)
    twice = estimate_workload(buggy, "training", data="digits", hidden=25, maxiter=500)
    assert short.seconds < long.seconds < twice.seconds == pytest.approx(2 * long.seconds)


def test_long_training_on_a_big_generated_problem_is_refused():
    scenario = Scenario.create(layer_sizes=(300, 300, 10), m=2000)
    check_workload(scenario, "training", maxiter=50)
    with pytest.raises(WorkTooLarge, match="500 fmin_cg iterations.*fewer iterations"):
        check_workload(scenario, "training", maxiter=500)


def test_the_bug_matrix_counts_every_bug_on_every_seed():
    one = estimate_workload(Scenario(), "bug-matrix", seeds=1)
    many = estimate_workload(Scenario(), "bug-matrix", seeds=100)
    assert many.seconds == pytest.approx(100 * one.seconds)
    assert f"{len(BUGS)} bugs x 100 seeds" in many.what


def test_the_seed_loop_costs_far_more_than_the_fast_path():
    scenario = Scenario.create(layer_sizes=(400, 25, 10), m=100)
    assert estimate_workload(scenario, "loop").seconds > 100 * estimate_workload(scenario).seconds


def test_works_add_their_times_and_keep_the_larger_memory():
    small, big = Scenario(), Scenario.create(layer_sizes=(300, 300, 10), m=500)
    a, b = estimate_workload(small), estimate_workload(big)
    both = a + b
    assert both.seconds == pytest.approx(a.seconds + b.seconds)
    assert both.bytes == max(a.bytes, b.bytes)


def test_an_unknown_work_is_a_value_error():
    with pytest.raises(ValueError, match="work must be one of"):
        estimate_workload(Scenario(), "juggling")
