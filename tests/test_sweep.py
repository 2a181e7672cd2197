import numpy as np
import pytest

import engine
from engine.gradcheck.sweep import best_eps, default_eps_grid, epsilon_sweep


@pytest.fixture(scope="module")
def sweep():
    return epsilon_sweep(engine.make_problem())


def curve(sweep, name):
    part = sweep[sweep["curve"] == name]
    return dict(zip(part["eps"], part["relative_difference"]))


def test_the_grid_runs_from_1e_1_to_1e_13():
    grid = default_eps_grid()
    assert grid[0] == pytest.approx(1e-1) and grid[-1] == pytest.approx(1e-13)


def test_central_float64_has_a_v_with_its_minimum_near_1e_4(sweep):
    c = curve(sweep, "central, float64")
    best = min(c, key=c.get)
    assert 1e-6 <= best <= 1e-3 and c[best] < 1e-9
    assert c[1e-1] > 100 * c[best]  # truncation
    assert c[min(c)] > 100 * c[best]  # round-off at 1e-13


def test_forward_and_float32_are_worse_at_their_best(sweep):
    best = best_eps(sweep).set_index("curve")["relative_difference"]
    assert best["forward, float64"] > 10 * best["central, float64"]
    assert best["central, float32"] > 1e3 * best["central, float64"]


def test_a_real_bug_is_flat_whatever_eps():
    flipped = epsilon_sweep(engine.make_problem(), ["sigmoid-sign-flip"])
    mine = curve(flipped, "your check")
    assert min(mine.values()) > 1
    assert np.ptp(np.log10([v for e, v in mine.items() if e >= 1e-8])) < 0.1
