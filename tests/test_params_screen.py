"""The per-array screen moves every array, a one-entry array too."""

from __future__ import annotations

import numpy as np

from engine.params.screen import SCREEN_SEED, directional_values
from engine.params.structure import flatten_params


def test_a_one_entry_array_is_moved_when_its_random_draw_opposes_its_gradient():
    draw = float(np.random.default_rng(SCREEN_SEED).standard_normal((1,))[0])
    b = np.array([0.3])
    slope = -np.sign(draw)  # the loss's true gradient points against the random draw
    params = flatten_params([b], "params")
    wrong = np.array([3 * slope])  # the user's gradient: three times too large

    ((numerical, analytic),) = directional_values(params, lambda: float(slope * b[0]), wrong, 1e-4)

    assert abs(numerical) > 0.5  # moved: before, the directions cancelled and both were 0
    assert abs(analytic - numerical) > 1.0
