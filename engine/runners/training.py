"""Training with the (possibly buggy) cost and gradient, as the seed did: scipy's fmin_cg.

A wrong gradient shows up here as the seed's symptom: fmin_cg stops early with
"Desired error not necessarily achieved due to precision loss." and accuracy stays
at chance. The optimiser's own warning text is captured, not paraphrased.
"""

from __future__ import annotations

import contextlib
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import fmin_cg

from engine.bugs.catalogue import implementation_with
from engine.network.model import Problem, cost, forward, gradient, initial_theta, make_problem
from engine.network.pieces import Implementation

DATASETS = ("digits", "generated")


class TrainingStopped(Exception):
    """Raised from a progress callback to end training early; the run so far is kept."""


@dataclass(frozen=True, eq=False)
class Dataset:
    name: str
    train: Problem
    X_test: np.ndarray
    y_test: np.ndarray

    @property
    def description(self) -> str:
        sizes = "-".join(map(str, self.train.layer_sizes))
        return (
            f"{self.name}: {self.train.m} training and {len(self.y_test)} held-out examples, "
            f"network {sizes}"
        )


def load_digits_dataset(hidden=(25,), lamb=1.0, seed=0, activation="sigmoid", test_fraction=0.25):
    """scikit-learn's bundled 8x8 digits (1,797 images, no download), pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    X, y = digits.data / 16.0, digits.target
    return _split("digits", X, y, hidden, lamb, seed, activation, test_fraction)


def generated_dataset(layer_sizes, m, lamb=1.0, seed=0, activation="sigmoid", test_fraction=0.25):
    """The scenario's own generator, with a held-out share drawn the same way."""
    n_test = max(1, int(round(m * test_fraction / (1 - test_fraction))))
    whole = make_problem(layer_sizes, m + n_test, seed, lamb, activation)
    return _split(
        "generated",
        whole.X,
        whole.y,
        layer_sizes[1:-1],
        lamb,
        seed,
        activation,
        n_test / (m + n_test),
    )


def _split(name, X, y, hidden, lamb, seed, activation, test_fraction) -> Dataset:
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(y))
    n_test = max(1, int(round(len(y) * test_fraction)))
    test, train = order[:n_test], order[n_test:]
    sizes = (X.shape[1], *hidden, int(y.max()) + 1)
    theta = initial_theta(sizes, rng)
    problem = Problem.validated(theta, X[train], y[train], sizes, lamb, activation)
    return Dataset(name, problem, X[test], y[test])


@dataclass(frozen=True, eq=False)
class TrainingRun:
    costs: list = field(repr=False)
    theta: np.ndarray = field(repr=False)
    warnflag: int
    optimizer_output: str
    optimizer_warnings: tuple[str, ...]
    train_accuracy: float
    test_accuracy: float
    stopped_early: bool = False

    @property
    def warning(self) -> str | None:
        """The optimiser's own warning, e.g. about precision loss, if it gave one."""
        return self.optimizer_warnings[0] if self.optimizer_warnings else None


def predict(theta, problem: Problem, X, impl: Implementation) -> np.ndarray:
    """Most likely label per row of X, with the implementation's own forward pass."""
    thetas = problem.layout.split(np.asarray(theta, dtype=impl.dtype))
    _, Z = forward(thetas, np.asarray(X, dtype=impl.dtype), problem.activation, impl)
    return np.argmax(impl.sigmoid(Z[-1]), axis=1)


def train(
    dataset: Dataset,
    bugs=(),
    maxiter: int = 50,
    progress: Callable[[int, float], None] | None = None,
) -> TrainingRun:
    """fmin_cg on the dataset with `bugs` switched on; progress(iteration, cost) per step,
    from iteration 0 (the starting point).

    Checker bugs (float32 aside) do not change training: only cost and gradient enter.
    """
    impl = implementation_with(bugs)
    problem = dataset.train
    costs = [float(cost(problem.theta, problem, impl))]
    latest = [problem.theta]
    if progress is not None:
        progress(0, costs[0])

    def f(theta):
        return float(cost(theta, problem, impl))

    def fprime(theta):
        return np.asarray(gradient(theta, problem, impl), dtype=np.float64)

    def record(theta):
        latest[0] = theta.copy()
        costs.append(f(theta))
        if progress is not None:
            progress(len(costs) - 1, costs[-1])

    printed = io.StringIO()
    stopped = False
    with (
        contextlib.redirect_stdout(printed),
        np.errstate(all="ignore"),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("always")
        try:
            result = fmin_cg(
                f,
                problem.theta.copy(),
                fprime=fprime,
                maxiter=maxiter,
                full_output=True,
                disp=True,
                callback=record,
            )
            theta, warnflag = result[0], int(result[4])
        except TrainingStopped:
            theta, warnflag, stopped = latest[0], -1, True
    return TrainingRun(
        costs=costs,
        theta=theta,
        warnflag=warnflag,
        optimizer_output=printed.getvalue(),
        optimizer_warnings=tuple(
            str(w.message) for w in caught if w.category.__name__ == "OptimizeWarning"
        ),
        train_accuracy=float(np.mean(predict(theta, problem, problem.X, impl) == problem.y)),
        test_accuracy=float(
            np.mean(predict(theta, problem, dataset.X_test, impl) == dataset.y_test)
        ),
        stopped_early=stopped,
    )
