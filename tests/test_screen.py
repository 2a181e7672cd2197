import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import engine
from engine.bugs.catalogue import BUGS
from engine.gradcheck.screen import blocks_of, screen_functions, screen_problem
from tests import strategies
from tests.seed_code import make_seed_functions

GRADIENT_BUGS = [b for b, bug in BUGS.items() if bug.where != "checker"]
EXPECTED_BLOCKS = {
    "sigmoid-sign-flip": {"Theta2 bias", "Theta2 weights"},
    "sigmoid-gradient-on-z": {"Theta1 bias", "Theta1 weights"},
    "backprop-wrong-bias-slice": {"Theta1 bias", "Theta1 weights"},
    "bias-regularized": {"Theta1 bias", "Theta2 bias"},
    "cost-reg-factor": {"Theta1 weights", "Theta2 weights"},
}


def test_blocks_split_each_matrix_into_bias_column_and_weights():
    layout = engine.Layout.from_layer_sizes((3, 5, 3))
    blocks = blocks_of(layout)
    assert [(m, p, i.size) for m, p, i in blocks] == [
        ("Theta1", "bias", 5),
        ("Theta1", "weights", 15),
        ("Theta2", "bias", 3),
        ("Theta2", "weights", 15),
    ]
    assert sorted(np.concatenate([i for _, _, i in blocks])) == list(range(38))


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("bug", GRADIENT_BUGS)
def test_the_screen_flags_every_gradient_bug_on_the_seed_setup(bug, seed):
    result = screen_problem(engine.make_problem(seed=seed, lamb=1.0), [bug], seed=seed)
    assert result.fails
    if bug in EXPECTED_BLOCKS:
        assert {b.name for b in result.failing} == EXPECTED_BLOCKS[bug]


@pytest.mark.parametrize(
    "bugs", [(), ("numgrad-skips-first",), ("forward-difference",), ("float32",)]
)
def test_correct_gradients_pass_the_screen(bugs):
    assert not screen_problem(engine.make_problem(lamb=1.0), bugs).fails


def test_sampled_entries_point_at_the_wrong_ones():
    result = screen_problem(engine.make_problem(lamb=1.0), ["bias-regularized"])
    for block in result.failing:
        assert block.sample_fails.all()


def test_the_screen_works_on_black_box_user_code(seed_problem):
    compute_cost, gradient = make_seed_functions(buggy_sigmoid=True)
    p = seed_problem
    args = (p.X, p.y, 3, 5, 3, p.lamb)
    result = screen_functions(
        lambda t: compute_cost(t, *args), lambda t: gradient(t, *args), p.theta, [(5, 4), (3, 6)]
    )
    assert {b.name for b in result.failing} == {"Theta2 bias", "Theta2 weights"}
    assert "Theta2 bias" in result.describe()


def test_a_bias_only_bug_in_a_big_network_is_localised_with_few_evaluations():
    problem = engine.make_problem((400, 25, 10), m=100, lamb=1.0)
    result = screen_problem(problem, ["bias-regularized"])
    assert {b.name for b in result.failing} == {"Theta1 bias", "Theta2 bias"}
    assert result.cost_evaluations < 60  # the exact check needs 2 x 10,285


networks = strategies.problems(max_units=12, max_m=12, min_lamb=0.1)


@settings(max_examples=60, deadline=None)
@given(networks, st.sampled_from(GRADIENT_BUGS), st.integers(0, 1000))
def test_any_bug_the_exact_check_sees_the_screen_sees(problem, bug, seed):
    assume(not engine.check_problem(problem, [bug]).agrees)
    assert screen_problem(problem, [bug], seed=seed).fails


@settings(max_examples=60, deadline=None)
@given(networks, st.integers(0, 1000))
def test_correct_code_never_alarms_the_screen_kinks_included(problem, seed):
    assert not screen_problem(problem, seed=seed).fails
