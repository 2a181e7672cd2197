"""Kinks in a black-box loss, told apart from bugs by the loss values around each entry.

A +-e step that crosses a point where the loss is not differentiable (a ReLU or max
switching, a hinge's margin, abs at 0) makes the central difference the average of two
slopes, while a correct analytic gradient is one of them. From the loss at theta and at
theta +- e, the one-sided slopes are s+ = (J+ - J0) / e and s- = (J0 - J-) / e. On a
smooth loss they straddle the derivative symmetrically (each off by e |J''| / 2); at a
kink they are the two sides' slopes. So an entry is a kink when the slopes differ by
more than KINK_GAP noise floors and the analytic gradient sits at one end of the gap
(within KINK_MATCH of it), not in its middle. A bug lands on a one-sided slope only by
chance; a wrong mask that picks the other side still fails wherever no kink is crossed.
"""

from __future__ import annotations

import numpy as np

KINK_GAP = 10.0  # the slopes must differ by this many noise floors
KINK_MATCH = 0.1  # the analytic gradient within this share of the gap from one slope


def kinks_from_steps(analytic, base: float, shifted, eps: float, floor: float) -> np.ndarray:
    """Boolean per entry: its +-e step crossed a kink and the analytic gradient is one of
    the two slopes. `shifted` holds the loss at +e and -e, one row per entry."""
    shifted = np.asarray(shifted, dtype=np.float64).reshape(-1, 2)
    analytic = np.asarray(analytic, dtype=np.float64)
    up = (shifted[:, 0] - base) / eps
    down = (base - shifted[:, 1]) / eps
    gap = np.abs(up - down)
    nearest = np.minimum(np.abs(analytic - up), np.abs(analytic - down))
    with np.errstate(invalid="ignore"):
        return (gap > KINK_GAP * floor) & (nearest <= KINK_MATCH * gap + floor)
