"""The built-in network: the seed's layered sigmoid net, any depth, vectorised.

Cost and gradient are written once, over an `Implementation` whose pieces may be
buggy; the correct implementation is stable for pre-activations of +-1000.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from engine.network.layout import Layout, validate_layer_sizes
from engine.network.pieces import CORRECT, HIDDEN_ACTIVATIONS, Implementation

INIT_EPSILON = 0.12  # the seed's randInitializeWeights range


def _finite_float(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(number):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return number


def validate_lambda(lamb) -> float:
    lamb = _finite_float(lamb, "lamb")
    if lamb < 0:
        raise ValueError(f"lamb (the regularisation strength) must be >= 0, got {lamb}")
    return lamb


def validate_eps(eps) -> float:
    eps = _finite_float(eps, "eps")
    if eps <= 0:
        raise ValueError(f"eps (the finite-difference step) must be > 0, got {eps}")
    return eps


def validate_activation(activation) -> str:
    if activation not in HIDDEN_ACTIVATIONS:
        raise ValueError(f"activation must be one of {HIDDEN_ACTIVATIONS}, got {activation!r}")
    return activation


@dataclass(frozen=True, eq=False)
class Problem:
    """A network and the data it is checked on: everything a cost value depends on."""

    theta: np.ndarray
    X: np.ndarray
    y: np.ndarray
    layer_sizes: tuple[int, ...]
    lamb: float = 0.0
    activation: str = "sigmoid"

    @classmethod
    def validated(cls, theta, X, y, layer_sizes, lamb=0.0, activation="sigmoid") -> Problem:
        """Check every argument and say which one is wrong, in the caller's words."""
        sizes = validate_layer_sizes(layer_sizes)
        layout = Layout.from_layer_sizes(sizes)
        theta = _float_array(theta, "theta", ndim=1)
        if theta.shape[0] != layout.n_params:
            raise ValueError(
                f"theta has {theta.shape[0]} entries but layer_sizes {sizes} need {layout.n_params}"
            )
        X = _float_array(X, "X", ndim=2)
        if X.shape[1] != sizes[0]:
            raise ValueError(f"X has {X.shape[1]} columns but layer_sizes[0] is {sizes[0]}")
        if X.shape[0] < 1:
            raise ValueError("X needs at least one example (row)")
        y = _labels(y, X.shape[0], sizes[-1])
        return cls(theta, X, y, sizes, validate_lambda(lamb), validate_activation(activation))

    @cached_property
    def layout(self) -> Layout:
        return Layout.from_layer_sizes(self.layer_sizes)

    @property
    def m(self) -> int:
        return self.X.shape[0]

    @property
    def n_labels(self) -> int:
        return self.layer_sizes[-1]

    def one_hot(self, dtype=np.float64) -> np.ndarray:
        Y = np.zeros((self.m, self.n_labels), dtype=dtype)
        Y[np.arange(self.m), self.y] = 1
        return Y


def _float_array(value, name: str, ndim: int) -> np.ndarray:
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    if array.ndim != ndim:
        raise ValueError(f"{name} must be {ndim}-D, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or infinite values")
    return array


def _labels(y, m: int, n_labels: int) -> np.ndarray:
    y = np.asarray(y)
    if y.ndim != 1 or y.shape[0] != m:
        raise ValueError(f"y must hold one label per example ({m}), got shape {y.shape}")
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0)):
        raise ValueError("y must hold whole-number labels 0..K-1")
    if y.size and (y.min() < 0 or y.max() >= n_labels):
        raise ValueError(
            f"y holds labels {int(y.min())}..{int(y.max())} but there are {n_labels} "
            f"output units: labels must be 0..{n_labels - 1} (1-based Octave labels? subtract 1)"
        )
    return y.astype(np.intp)


# --- generating problems ---------------------------------------------------------


def initial_theta(layer_sizes, rng: np.random.Generator) -> np.ndarray:
    """Uniform in +-0.12 like the seed's randInitializeWeights, matrix by matrix."""
    layout = Layout.from_layer_sizes(layer_sizes)
    matrices = [rng.random(shape) * 2 * INIT_EPSILON - INIT_EPSILON for shape in layout.shapes]
    return layout.unroll(matrices)


def seed_labels(m: int, n_labels: int) -> np.ndarray:
    """(i + 1) mod K: the seed's y = [1, 2, 0, 1, 2] for m = 5, K = 3, every label used."""
    return (np.arange(m) + 1) % n_labels


def make_problem(layer_sizes=(3, 5, 3), m=5, seed=0, lamb=1.0, activation="sigmoid") -> Problem:
    """A seeded problem in the seed's order: weights first, then X uniform in [0, 1)."""
    sizes = validate_layer_sizes(layer_sizes)
    if isinstance(m, bool) or int(m) != m or m < 1:
        raise ValueError(f"m (number of examples) must be a whole number >= 1, got {m!r}")
    rng = np.random.default_rng(seed)
    theta = initial_theta(sizes, rng)
    X = rng.random((int(m), sizes[0]))
    return Problem.validated(theta, X, seed_labels(int(m), sizes[-1]), sizes, lamb, activation)


# --- the network's arithmetic ----------------------------------------------------


def add_bias(a: np.ndarray) -> np.ndarray:
    """Prepend the constant-1 bias unit along the last axis (works on batches too)."""
    return np.concatenate([np.ones(a.shape[:-1] + (1,), dtype=a.dtype), a], axis=-1)


def forward(thetas, X, activation: str, impl: Implementation = CORRECT):
    """Activations with bias column per layer (inputs to each Theta) and pre-activations.

    Returns (A, Z): A[l] is m x (s_l + 1), Z[l] = A[l] @ Theta_l.T; the output
    pre-activation is Z[-1] (the output sigmoid is applied by the cost).
    """
    f, _ = impl.hidden_activation(activation)
    A, Z = [add_bias(X)], []
    for k, theta in enumerate(thetas):
        z = A[-1] @ theta.T
        Z.append(z)
        if k < len(thetas) - 1:
            A.append(add_bias(f(z)))
    return A, Z


def example_losses(z_out, Y, impl: Implementation = CORRECT):
    """Cross-entropy of each output unit of each example, from the pre-activation."""
    return impl.sigmoid.cross_entropy(z_out, Y)


def regularization_sum(thetas, impl: Implementation = CORRECT):
    return sum(np.sum(t[impl.cost_regularized(t)] ** 2) for t in thetas)


def cost(theta, problem: Problem, impl: Implementation = CORRECT):
    """J = mean cross-entropy + factor * sum of squared (non-bias) weights."""
    theta, X, Y = _cast(theta, problem, impl)
    thetas = problem.layout.split(theta)
    _, Z = forward(thetas, X, problem.activation, impl)
    data = np.sum(example_losses(Z[-1], Y, impl)) / problem.m
    return data + impl.cost_reg_factor(problem.lamb, problem.m) * regularization_sum(thetas, impl)


def gradient(theta, problem: Problem, impl: Implementation = CORRECT) -> np.ndarray:
    """Vectorised backprop over the whole batch, unrolled as the implementation does."""
    theta, X, Y = _cast(theta, problem, impl)
    thetas = problem.layout.split(theta)
    A, Z = forward(thetas, X, problem.activation, impl)
    _, f_prime = impl.hidden_activation(problem.activation)
    delta = impl.output_error(Z[-1], Y, impl.sigmoid)
    grads = [None] * len(thetas)
    scale = impl.gradient_scale(problem.m)
    reg = problem.lamb / problem.m
    for k in reversed(range(len(thetas))):
        grad = scale * (delta.T @ A[k])
        grads[k] = grad + reg * np.where(impl.gradient_regularized(thetas[k]), thetas[k], 0)
        if k > 0:
            delta = (delta @ impl.hidden_error_weights(thetas[k])) * f_prime(Z[k - 1])
    return impl.unroll_gradient(grads)


def _cast(theta, problem: Problem, impl: Implementation):
    dtype = impl.dtype
    return (
        np.asarray(theta, dtype=dtype),
        problem.X.astype(dtype, copy=False),
        problem.one_hot(dtype),
    )
