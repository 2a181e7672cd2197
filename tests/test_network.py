import warnings

import autograd.numpy as anp
import numpy as np
import pytest
from autograd import grad
from hypothesis import given, settings

import engine
from engine.network.model import Problem, cost, gradient, make_problem, seed_labels
from tests import strategies


def reference_cost(theta, X, y, layer_sizes, lamb, activation):
    """An independent cost in autograd.numpy: autograd differentiates it for us."""
    m, K = X.shape[0], layer_sizes[-1]
    Y = np.eye(K)[y]
    acts = {
        "sigmoid": lambda z: 1 / (1 + anp.exp(-z)),
        "tanh": anp.tanh,
        "relu": lambda z: anp.maximum(z, 0),
    }
    a, start, penalty = X, 0, 0.0
    pairs = list(zip(layer_sizes[:-1], layer_sizes[1:]))
    for k, (n_in, n_out) in enumerate(pairs):
        T = anp.reshape(theta[start : start + n_out * (n_in + 1)], (n_out, n_in + 1))
        start += n_out * (n_in + 1)
        z = anp.dot(anp.concatenate([anp.ones((m, 1)), a], axis=1), T.T)
        penalty = penalty + anp.sum(T[:, 1:] ** 2)
        a = acts[activation](z) if k < len(pairs) - 1 else 1 / (1 + anp.exp(-z))
    data = -anp.sum(Y * anp.log(a) + (1 - Y) * anp.log(1 - a)) / m
    return data + lamb / (2 * m) * penalty


problems = strategies.problems()


def reference_args(problem):
    return (
        problem.theta,
        problem.X,
        problem.y,
        problem.layer_sizes,
        problem.lamb,
        problem.activation,
    )


@settings(max_examples=60, deadline=None)
@given(problems)
def test_backprop_matches_autograd_on_an_independent_cost(problem):
    reference = grad(reference_cost)(*reference_args(problem))
    np.testing.assert_allclose(gradient(problem.theta, problem), reference, rtol=1e-9, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(problems)
def test_cost_matches_the_textbook_formula(problem):
    expected = reference_cost(*reference_args(problem))
    assert cost(problem.theta, problem) == pytest.approx(expected, rel=1e-12)


def test_seed_problem_uses_the_seeds_labels_and_weight_range(seed_problem):
    assert seed_problem.y.tolist() == [1, 2, 0, 1, 2]
    assert seed_problem.X.shape == (5, 3)
    assert np.all(np.abs(seed_problem.theta) <= 0.12)
    assert np.all((seed_problem.X >= 0) & (seed_problem.X < 1))


def test_seed_labels_use_every_class():
    assert sorted(set(seed_labels(7, 4).tolist())) == [0, 1, 2, 3]


def test_make_problem_is_reproducible_from_its_seed():
    a, b = make_problem(seed=7), make_problem(seed=7)
    np.testing.assert_array_equal(a.theta, b.theta)
    np.testing.assert_array_equal(a.X, b.X)


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_extreme_pre_activations_give_finite_values_and_no_warnings(activation):
    problem = make_problem((2, 3, 2), m=4, seed=1, activation=activation)
    theta = problem.layout.unroll(
        [np.full(s, 500.0) * np.where(np.arange(s[1]) % 2, 1, -1) for s in problem.layout.shapes]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        value = cost(theta, problem)
        g = gradient(theta, problem)
        assert np.isfinite(value)
        assert np.all(np.isfinite(g))
        z = np.array([-1000.0, 1000.0])
        assert np.all(np.isfinite(engine.network.pieces.CORRECT.sigmoid.cross_entropy(z, 1.0)))


def test_backprop_handles_the_whole_batch_in_one_pass():
    """Vectorised: each layer's error is computed once for all m examples, not per example."""
    from dataclasses import replace

    from engine.network.pieces import CORRECT, output_error_of_cross_entropy

    calls = []

    def counting_output_error(z, Y, sigmoid):
        calls.append(z.shape)
        return output_error_of_cross_entropy(z, Y, sigmoid)

    problem = make_problem((4, 6, 3), m=50)
    gradient(problem.theta, problem, replace(CORRECT, output_error=counting_output_error))
    assert calls == [(50, 3)]


@pytest.mark.parametrize(
    "kwargs, word",
    [
        (dict(theta=np.zeros(37)), "theta"),
        (dict(X=np.zeros((5, 2))), "X"),
        (dict(y=[0, 1, 2, 3, 0]), "labels"),
        (dict(y=[0, 1]), "y"),
        (dict(y=[0.5, 1, 2, 0, 1]), "y"),
        (dict(lamb=-1), "lamb"),
        (dict(lamb=float("nan")), "lamb"),
        (dict(layer_sizes=(3, 0, 3)), "layer_sizes"),
        (dict(activation="softmax"), "activation"),
        (dict(X=np.full((5, 3), np.nan)), "X"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(seed_problem, kwargs, word):
    args = dict(
        theta=seed_problem.theta,
        X=seed_problem.X,
        y=seed_problem.y,
        layer_sizes=(3, 5, 3),
        lamb=1.0,
        activation="sigmoid",
    )
    args.update(kwargs)
    with pytest.raises(ValueError, match=word):
        Problem.validated(**args)


def test_one_based_labels_get_a_hint(seed_problem):
    with pytest.raises(ValueError, match="1-based"):
        Problem.validated(seed_problem.theta, seed_problem.X, [1, 2, 3, 1, 2], (3, 5, 3))
