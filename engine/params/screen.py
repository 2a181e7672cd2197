"""A verdict per array in a few evaluations, before the exact per-entry check.

Pure logic (NumPy and the standard library only): the sandboxed child imports it.

For each array, one direction v in that array's entries: the loss at the array moved
by +e v and -e v gives the directional derivative, (J+ - J-) / 2e, to compare with the
analytic gradient's g . v. Two loss evaluations per array, so on ex4 at m = 5000, where
the exact check takes minutes, the arrays that disagree are named within a second or
two. v is the sum of two unit vectors, the analytic gradient's own direction and a
random one (seed SCREEN_SEED), normalised: the gradient's direction makes g . v as large
as it gets (|g| / sqrt(2), not |g| / sqrt(n) for a random v alone, which float32's
noise floor would swamp), and the random part mixes every entry, so a bug is missed only
if its error happens to be orthogonal to v. The exact check that follows stays the
verdict; this is its first word.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from engine.params.structure import FLOAT32_NAME, FLOAT64_NAME

SCREEN_SEED = 2
MAX_SCREEN_ARRAYS = 200  # two evaluations per array: beyond this, straight to the exact check
RELATIVE = {FLOAT64_NAME: 1e-4, FLOAT32_NAME: 1e-2}  # as the exact check's defaults


@dataclass(frozen=True)
class ScreenLine:
    """One array's directional derivative: finite differences against the gradient."""

    name: str
    numerical: float
    analytic: float
    agrees: bool

    def as_dict(self) -> dict:
        return {
            "name": self.name,
            "numerical": self.numerical,
            "analytic": self.analytic,
            "agrees": self.agrees,
        }


def directional_values(params, loss_at: Callable[[], float], analytic, eps: float) -> list:
    """Per array [numerical, analytic] directional derivatives along its random
    direction. Each array is put back bit for bit, even when the loss raises."""
    rng = np.random.default_rng(SCREEN_SEED)
    offsets = np.cumsum([0] + [a.size for a in params.arrays])
    rows = []
    for k, entry in enumerate(params.arrays):
        array = entry.array
        gradient = np.asarray(analytic[offsets[k] : offsets[k + 1]], dtype=np.float64)
        direction = _direction(rng.standard_normal(array.shape), gradient.reshape(array.shape))
        original = array.copy()
        try:
            array[...] = original + eps * direction
            up, moved_up = loss_at(), array.astype(np.float64)
            array[...] = original - eps * direction
            down, moved_down = loss_at(), array.astype(np.float64)
        finally:
            array[...] = original
        span = (moved_up - moved_down).ravel()  # the steps as the dtype could take them
        rows.append([(up - down) / (2 * eps), float(gradient @ span) / (2 * eps)])
    return rows


def _direction(random: np.ndarray, gradient: np.ndarray) -> np.ndarray:
    """The gradient's unit direction mixed with a random one; the gradient's alone when
    the two nearly cancel (a one-entry array whose random draw has the opposite sign
    would be moved not at all, and always read 'agrees')."""
    mixed = _unit(random) + _unit(gradient)
    if np.linalg.norm(mixed) < 0.5:
        return _unit(gradient)
    return _unit(mixed)


def _unit(vector: np.ndarray) -> np.ndarray:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm > 0 else vector


def judge(names, rows, dtype: str, floor: float) -> list[ScreenLine]:
    """Each array's verdict: it disagrees when the two directional derivatives differ
    by more than the noise floor and by more than the dtype's relative threshold."""
    lines = []
    for name, (numerical, analytic) in zip(names, rows):
        gap = abs(numerical - analytic)
        scale = max(abs(numerical), abs(analytic))
        agrees = bool(gap <= floor or gap <= RELATIVE.get(dtype, 1e-2) * scale)
        lines.append(ScreenLine(name, float(numerical), float(analytic), agrees))
    return lines
