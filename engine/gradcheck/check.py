"""The two entry points: check the built-in network, or any pair of callables."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.bugs.catalogue import implementation_with, validate_bugs
from engine.gradcheck.compare import CheckResult
from engine.gradcheck.kinks import kinks_from_steps
from engine.gradcheck.noise import NoiseFloor, noise_floor
from engine.gradcheck.numerical import loop_gradient, network_numerical_gradient
from engine.network.layout import Layout
from engine.network.model import Problem, cost, gradient, validate_eps
from engine.network.pieces import STENCILS

NUMERICAL_PATHS = ("fast", "loop")


def check(
    theta,
    X,
    y,
    layer_sizes,
    lamb: float = 0.0,
    bugs=(),
    eps: float = 1e-4,
    activation: str = "sigmoid",
    threshold: float | None = None,
    numerical: str = "fast",
    progress: Callable | None = None,
) -> CheckResult:
    """Backprop versus finite differences on the built-in network, with `bugs` switched on.

    `numerical="loop"` runs the seed's coordinate loop instead of the structured fast
    path (same numbers, much slower); both honour the checker bugs.
    """
    problem = Problem.validated(theta, X, y, layer_sizes, lamb, activation)
    return check_problem(problem, bugs, eps, threshold, numerical, progress)


def check_problem(
    problem: Problem,
    bugs=(),
    eps: float = 1e-4,
    threshold: float | None = None,
    numerical: str = "fast",
    progress: Callable | None = None,
) -> CheckResult:
    bugs = validate_bugs(bugs)
    eps = validate_eps(eps)
    if numerical not in NUMERICAL_PATHS:
        raise ValueError(f"numerical must be one of {NUMERICAL_PATHS}, got {numerical!r}")
    impl = implementation_with(bugs)
    analytic = gradient(problem.theta, problem, impl)
    if numerical == "fast":
        numeric, kinks = network_numerical_gradient(problem, impl, eps, progress=progress)
    else:
        numeric = loop_gradient(
            lambda t: cost(t, problem, impl),
            problem.theta,
            eps,
            impl.stencil,
            impl.first_checked_index,
            impl.dtype,
            progress,
        )
        kinks = np.zeros(numeric.shape, dtype=bool)
    noise = noise_floor(
        impl.dtype,
        impl.stencil.name,
        eps,
        cost(problem.theta, problem, impl),
        penalty_curvature=problem.lamb / problem.m,
    )
    return CheckResult(
        analytic=analytic,
        numerical=numeric,
        layout=problem.layout,
        noise=noise,
        threshold=validate_threshold(threshold, noise),
        kinks=kinks,
        theta=problem.theta,
        problem=problem,
        bugs=bugs,
    )


def check_functions(
    cost: Callable,
    gradient: Callable,
    theta,
    shapes=None,
    eps: float = 1e-4,
    method: str = "central",
    threshold: float | None = None,
    dtype="float64",
    progress: Callable | None = None,
    client=None,
    names=None,
    arrays=None,
) -> CheckResult:
    """Check any cost(theta) -> float against gradient(theta) -> vector.

    The parameter vector is cut into arrays, row-major, in order:
    - `shapes` alone: the founding convention, 2-D matrices named Theta1..K with the
      bias in column 0; if the shapes chain like a network, rows and columns are named
      after units;
    - `shapes` with `names`, or `arrays=[(name, shape), ...]`: your own arrays of any
      ndim under your names (`W1`, `b1`, `weights[0]`), described as `W1[2, 3]`.
    The numerical side is the seed's loop over every coordinate, run on a Dask cluster
    when `client` is given (same numbers; see `engine.runners.cluster`).
    """
    layout = layout_of(shapes, names, arrays)
    if method not in STENCILS:
        raise ValueError(f"method must be one of {tuple(STENCILS)}, got {method!r}")
    try:
        dtype = np.dtype(dtype).type
    except TypeError:
        raise ValueError(f"dtype must be float64 or float32, got {dtype!r}") from None
    if dtype not in (np.float64, np.float32):
        raise ValueError(f"dtype must be float64 or float32, got {np.dtype(dtype).name}")
    eps = validate_eps(eps)
    theta = parameter_vector(theta, layout)
    analytic = gradient_vector(gradient(theta.astype(dtype)), layout)

    def J(t):
        return cost_value(cost(t))

    if client is None:
        numeric = loop_gradient(J, theta, eps, STENCILS[method], 0, dtype, progress)
    else:
        from engine.gradcheck.distributed import parallel_loop_gradient

        numeric = parallel_loop_gradient(
            J, theta, client, eps, STENCILS[method], 0, dtype, progress=progress
        )
    return result_from_arrays(
        analytic.astype(dtype),
        numeric,
        theta,
        layout,
        J(theta.astype(dtype)),
        eps,
        method,
        threshold,
    )


def layout_of(shapes=None, names=None, arrays=None) -> Layout:
    """The layout `check_functions` reads from its `shapes`, `names` and `arrays`."""
    if arrays is not None:
        if shapes is not None or names is not None:
            raise ValueError("give either arrays=[(name, shape), ...] or shapes (and names)")
        try:
            pairs = [tuple(pair) for pair in arrays]
            if any(len(pair) != 2 for pair in pairs):
                raise TypeError
        except TypeError:
            raise ValueError(
                f"arrays must be a sequence of (name, shape) pairs, got {arrays!r}"
            ) from None
        return Layout.from_arrays([n for n, _ in pairs], [s for _, s in pairs])
    if shapes is None:
        raise ValueError("check_functions needs shapes (or arrays=[(name, shape), ...])")
    if names is not None:
        return Layout.from_arrays(names, shapes)
    return Layout.from_shapes(shapes)


def result_from_arrays(
    analytic,
    numerical,
    theta,
    layout: Layout,
    cost_value: float,
    eps: float,
    method: str = "central",
    threshold: float | None = None,
    penalty: tuple[float, int] | None = None,
    measured: tuple[float, int] = (0.0, 0),
    shifted=None,
) -> CheckResult:
    """A CheckResult from gradients computed elsewhere (e.g. in a child process).

    `penalty` = (lambda, m) of the cost, when known, lets the diagnosis name lambda/m.
    `measured` = (floor, entries) of the loss's own noise (noise.measured_noise).
    `shifted`: the loss at +e and -e per entry (central differences of a black-box
    loss), from which kinks crossed by a step are told apart (gradcheck.kinks).
    """
    analytic, numerical = np.asarray(analytic), np.asarray(numerical)
    for name, values in (("analytic", analytic), ("numerical", numerical)):
        if values.shape != (layout.n_params,):
            raise ValueError(
                f"{name} gradient has shape {values.shape}, expected ({layout.n_params},)"
            )
    noise = noise_floor(numerical.dtype, method, eps, cost_value, measured=measured)
    kinks = np.zeros(layout.n_params, dtype=bool)
    if shifted is not None and method == "central":
        kinks = kinks_from_steps(analytic, cost_value, shifted, eps, noise.absolute)
    return CheckResult(
        analytic=analytic,
        numerical=numerical,
        layout=layout,
        noise=noise,
        threshold=validate_threshold(threshold, noise),
        kinks=kinks,
        theta=np.asarray(theta, dtype=np.float64),
        penalty=penalty,
    )


def validate_threshold(threshold, noise: NoiseFloor) -> float:
    if threshold is None:
        return noise.default_threshold
    try:
        value = float(threshold)
    except (TypeError, ValueError):
        raise ValueError(f"threshold must be a number, got {threshold!r}") from None
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"threshold (relative error) must be > 0 and finite, got {threshold!r}")
    return value


def parameter_vector(theta, layout: Layout) -> np.ndarray:
    try:
        theta = np.asarray(theta, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError("theta must be a numeric vector") from None
    if theta.size != layout.n_params:
        raise ValueError(
            f"theta has {theta.size} entries but shapes {list(layout.shapes)} need "
            f"{layout.n_params}"
        )
    if not np.all(np.isfinite(theta)):
        raise ValueError("theta contains NaN or infinite values")
    return theta.ravel()


def gradient_vector(value, layout: Layout) -> np.ndarray:
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "biuf":
            raise TypeError
        grad = raw.astype(np.float64)
    except (TypeError, ValueError):
        kind = getattr(getattr(value, "dtype", None), "name", type(value).__name__)
        raise ValueError(f"gradient must return a vector of real numbers, got {kind}") from None
    if grad.size != layout.n_params:
        raise ValueError(
            f"gradient returned {grad.size} values (shape {grad.shape}) but theta has "
            f"{layout.n_params}"
        )
    if not np.all(np.isfinite(grad)):
        bad = np.flatnonzero(~np.isfinite(grad.ravel()))
        raise ValueError(
            f"gradient returned NaN or infinite values at {bad.size} entries, first at "
            f"{layout.describe(int(bad[0]))}"
        )
    return grad.ravel()


def cost_value(value) -> float:
    array = np.asarray(value)
    if array.size != 1:
        raise ValueError(f"cost must return a single number, got shape {array.shape}")
    number = float(array.reshape(()))
    if not np.isfinite(number):
        raise ValueError(f"cost returned {number}: the cost must be finite at theta and nearby")
    return array.reshape(())[()] if array.dtype == np.float32 else number
