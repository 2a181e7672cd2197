import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import engine
import engine.network.pieces as engine_pieces
from engine.bugs.catalogue import BUGS, implementation_with
from engine.gradcheck.screen import StructuredCost, blocks_of, screen_functions, screen_problem
from engine.network.model import cost, forward
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


# --- the structured path: moved costs from the layers above the moved matrix ---------

STRUCTURE_SIZES = [(3, 5, 3), (4, 6, 5, 2), (2, 3, 4, 5, 3), (5, 1), (1, 1, 1)]


def _dense(problem, move):
    v = np.zeros(problem.layout.n_params)
    start, stop = problem.layout.offsets[move.k], problem.layout.offsets[move.k + 1]
    v[start:stop] = move.matrix(problem.layout.shapes[move.k]).ravel()
    return v


def _all_moves(net, problem, rng, rank):
    return [
        net.random_direction(k, part, rank, rng)
        for k, (_, cols) in enumerate(problem.layout.shapes)
        for part in (("bias", "weights") if cols > 1 else ("bias",))
    ]


@pytest.mark.parametrize("bugs", [(), ("sigmoid-sign-flip",), ("cost-reg-factor",)])
@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("sizes", STRUCTURE_SIZES)
def test_structured_costs_equal_the_full_cost_on_every_block(sizes, activation, bugs):
    problem = engine.make_problem(sizes, m=7, seed=3, lamb=1.3, activation=activation)
    impl = implementation_with(bugs)
    net = StructuredCost(problem, impl)
    assert net.base_cost == pytest.approx(cost(problem.theta, problem, impl), rel=1e-15)
    rng = np.random.default_rng(0)
    steps = [1e-4, -1e-4, 0.3, -0.7]
    for rank in (1, 3):
        moves = _all_moves(net, problem, rng, rank)  # one batch over every matrix
        values, _ = net.costs(moves, steps)
        for move, row in zip(moves, values):
            v = _dense(problem, move)
            assert np.linalg.norm(v) == pytest.approx(1.0, rel=1e-12)
            full = [cost(problem.theta + s * v, problem, impl) for s in steps]
            np.testing.assert_allclose(row, full, rtol=1e-14, atol=0)


@pytest.mark.parametrize("activation", ["sigmoid", "relu"])
def test_structured_directional_derivatives_equal_central_differences_of_the_cost(activation):
    problem = engine.make_problem((4, 6, 5, 3), m=9, seed=1, lamb=0.7, activation=activation)
    impl = implementation_with(["sigmoid-sign-flip"])
    net = StructuredCost(problem, impl)
    moves = _all_moves(net, problem, np.random.default_rng(2), 1)
    step = 1e-3
    values, _ = net.directional_derivatives(moves, step)
    for move, value in zip(moves, values):
        v = _dense(problem, move)
        plus, minus = (
            cost(problem.theta + step * v, problem, impl),
            cost(problem.theta - step * v, problem, impl),
        )
        assert value == pytest.approx((plus - minus) / (2 * step), rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("bugs", [(), ("sigmoid-sign-flip",), ("bias-regularized",)])
def test_structured_entry_costs_equal_the_full_cost(bugs):
    problem = engine.make_problem((3, 4, 5, 2), m=6, seed=4, lamb=2.0)
    impl = implementation_with(bugs)
    net = StructuredCost(problem, impl)
    indices = np.arange(problem.layout.n_params)
    steps = [1e-4, -0.5]
    values = net.entry_costs(indices, steps)
    for p in indices:
        for s, value in zip(steps, values[p]):
            moved = problem.theta.copy()
            moved[p] += s
            assert value == pytest.approx(cost(moved, problem, impl), rel=1e-14)


def test_the_structured_numerical_side_uses_no_derivative_piece():
    def forbidden(*args):
        raise AssertionError("a derivative piece was used on the numerical side")

    impl = dataclasses.replace(
        implementation_with(["sigmoid-sign-flip"]),
        output_error=forbidden,
        sigmoid_gradient=forbidden,
        hidden_error_weights=forbidden,
        gradient_scale=forbidden,
        gradient_regularized=forbidden,
        unroll_gradient=forbidden,
    )
    for activation in ("sigmoid", "relu"):
        problem = engine.make_problem((3, 5, 4, 3), m=5, lamb=1.0, activation=activation)
        net = StructuredCost(problem, impl)
        net.directional_derivatives(_all_moves(net, problem, np.random.default_rng(0), 2), 1e-4)
        net.entry_differences(np.arange(problem.layout.n_params), 1e-4)


def test_kink_flags_match_the_signs_of_a_full_forward_pass():
    problem = engine.make_problem((3, 6, 5, 2), m=8, seed=5, lamb=1.0, activation="relu")
    net = StructuredCost(problem, engine_pieces.CORRECT)

    def signs(theta):
        _, Z = forward(problem.layout.split(theta), problem.X, "relu")
        return np.concatenate([(z > 0).ravel() for z in Z[:-1]])

    base = signs(problem.theta)
    seen = set()
    for step in (1e-4, 0.05, 0.5):
        moves = _all_moves(net, problem, np.random.default_rng(7), 1)
        _, crossed = net.directional_derivatives(moves, step)
        for move, flag in zip(moves, crossed):
            v = _dense(problem, move)
            full = any(np.any(signs(problem.theta + s * v) != base) for s in (step, -step))
            assert flag == full
            seen.add(bool(flag))
    assert seen == {True, False}


def test_sampled_entries_lie_in_their_block():
    problem = engine.make_problem((4, 6, 3), m=5, lamb=1.0)
    result = screen_problem(problem, ["sigmoid-gradient-on-z", "bias-regularized"], samples=50)
    listed = {f"{m} {p}": set(i.tolist()) for m, p, i in blocks_of(problem.layout)}
    assert result.failing
    for block in result.failing:
        assert block.sample_indices.size == min(50, block.size)
        assert set(block.sample_indices.tolist()) <= listed[block.name]


@pytest.mark.parametrize("rank", [1, 3, 6])
def test_every_rank_finds_the_bias_only_bug(rank):
    problem = engine.make_problem((400, 25, 10), m=100, lamb=1.0)
    result = screen_problem(problem, ["bias-regularized"], rank=rank)
    assert {b.name for b in result.failing} == {"Theta1 bias", "Theta2 bias"}


@pytest.mark.parametrize(
    "mask",
    [
        lambda t: np.ones(t.shape, bool),  # the bias column penalised too
        lambda t: np.arange(t.size).reshape(t.shape) % 3 == 0,  # mixed on every block
    ],
)
def test_structured_costs_follow_any_penalty_mask(mask):
    problem = engine.make_problem((3, 5, 4, 2), m=6, seed=8, lamb=2.5, activation="tanh")
    impl = dataclasses.replace(engine_pieces.CORRECT, cost_regularized=mask)
    net = StructuredCost(problem, impl)
    assert net.base_cost == pytest.approx(cost(problem.theta, problem, impl), rel=1e-15)
    moves = _all_moves(net, problem, np.random.default_rng(3), 2)
    steps = [1e-3, -0.4]
    values, _ = net.costs(moves, steps)
    derivatives, _ = net.directional_derivatives(moves, 1e-3)
    for move, row, derivative in zip(moves, values, derivatives):
        v = _dense(problem, move)
        full = [cost(problem.theta + s * v, problem, impl) for s in steps]
        np.testing.assert_allclose(row, full, rtol=1e-14, atol=0)
        plus, minus = (cost(problem.theta + s * v, problem, impl) for s in (1e-3, -1e-3))
        assert derivative == pytest.approx((plus - minus) / 2e-3, rel=1e-9, abs=1e-12)
    entries = net.entry_costs(np.arange(problem.layout.n_params), [0.2])
    for p, value in enumerate(entries[:, 0]):
        moved = problem.theta.copy()
        moved[p] += 0.2
        assert value == pytest.approx(cost(moved, problem, impl), rel=1e-14)
