"""Is the user's gradient the gradient of *some* function? Its Jacobian's symmetry says.

A gradient field g = grad F has a symmetric Jacobian (the Hessian of F). A backward
pass that differentiates a different function than the cost (a quadratic-loss delta
with a cross-entropy cost, labels recoded differently in the backprop loop) is still
the gradient of that other function: symmetric. A backward pass with an error inside
its chain (an activation derivative of the wrong quantity, a missing term, a mask from
the wrong array) is, in general, the gradient of no function at all: asymmetric. So
the diagnosis can tell `loss-mismatch` from `backward-chain` where the arrays alone
cannot, e.g. when every array diverges.

Measured with a few random unit directions d_1..d_k over all params at once:
M_ij = d_i . (g(theta + h d_j) - g(theta - h d_j)) / 2h, 2k gradient evaluations.
The asymmetry is max |M_ij - M_ji| over max |M_ij|; M itself ~ 0 (a piecewise-linear
loss such as an SVM's) tells nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DIRECTIONS = 3
STEP_DOUBLE, STEP_SINGLE = 1e-4, 3e-2  # the step along a unit direction, by precision


@dataclass(frozen=True)
class JacobianSymmetry:
    """The measurement: `asymmetry` relative to `magnitude` (max |M_ij|), and how
    large an asymmetry round-off alone could make (`noise`)."""

    asymmetry: float
    magnitude: float
    noise: float
    directions: int

    @property
    def informative(self) -> bool:
        return self.magnitude > 0 and np.isfinite(self.asymmetry)

    @property
    def symmetric(self) -> bool:
        return self.informative and self.asymmetry <= max(1e-4, 10 * self.noise)

    @property
    def asymmetric(self) -> bool:
        return self.informative and self.asymmetry >= max(1e-2, 100 * self.noise)

    def as_dict(self) -> dict:
        return {
            "asymmetry": self.asymmetry,
            "magnitude": self.magnitude,
            "noise": self.noise,
            "directions": self.directions,
        }

    @classmethod
    def from_dict(cls, data) -> JacobianSymmetry | None:
        """From a child's reply (untrusted): four finite numbers, else None."""
        try:
            values = [float(data[k]) for k in ("asymmetry", "magnitude", "noise")]
            directions = int(data["directions"])
        except (KeyError, TypeError, ValueError):
            return None
        if not all(np.isfinite(values)) or not 1 <= directions <= 10:
            return None
        return cls(*values, directions)


def jacobian_symmetry(
    params, gradient_at: Callable[[], np.ndarray], dtype: str = "float64", seed: int = 0
) -> JacobianSymmetry | None:
    """Move every array of `params` (engine.params.structure.Params) in place along
    random directions, read the flat gradient at each point, put the arrays back
    bit for bit. None when the gradient cannot be read there (the check stands)."""
    rng = np.random.default_rng(seed)
    size = params.size
    directions = rng.standard_normal((DIRECTIONS, size))
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    step = STEP_SINGLE if np.dtype(dtype).itemsize == 4 else STEP_DOUBLE
    originals = [a.array.copy() for a in params.arrays]
    columns = []
    largest = 0.0  # the gradient's own size, for the round-off of its differences
    try:
        for d in directions:
            plus = _gradient_moved(params, originals, step * d, gradient_at)
            minus = _gradient_moved(params, originals, -step * d, gradient_at)
            columns.append((plus - minus) / (2 * step))
            largest = max(largest, float(np.abs(plus).max(initial=0.0)))
    except Exception:  # noqa: BLE001 - advisory: a gradient that fails here tells nothing
        return None
    finally:
        for entry, original in zip(params.arrays, originals):
            entry.array[...] = original
    m = directions @ np.array(columns).T  # M[i, j] = d_i . dg(d_j)
    magnitude = float(np.abs(m).max())
    if not np.isfinite(magnitude) or magnitude == 0:
        return JacobianSymmetry(float("nan"), 0.0, 0.0, DIRECTIONS)
    noise = float(np.finfo(dtype).eps) * largest / step / magnitude
    asymmetry = float(np.abs(m - m.T).max()) / magnitude
    return JacobianSymmetry(asymmetry, magnitude, noise, DIRECTIONS)


def _gradient_moved(params, originals, move: np.ndarray, gradient_at) -> np.ndarray:
    offset = 0
    for entry, original in zip(params.arrays, originals):
        n = entry.size
        shift = move[offset : offset + n].reshape(entry.array.shape)
        entry.array[...] = original + shift.astype(entry.array.dtype)
        offset += n
    return np.asarray(gradient_at(), dtype=np.float64).ravel()
