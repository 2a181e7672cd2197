"""The epsilon V-curve: how the check's error depends on the step e.

Large e: truncation error (O(e^2) central, O(e) forward). Small e: round-off,
~u|J|/e, rising 10x per decade. The best e sits where the two meet, much lower
in float64 than in float32. A real bug shows as a flat curve: no e fixes it.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd

from engine.bugs.catalogue import implementation_with
from engine.gradcheck.compare import norm_relative_difference
from engine.gradcheck.numerical import network_numerical_gradient
from engine.network.model import Problem, gradient
from engine.network.pieces import CORRECT, STENCILS, Implementation

CURVES = (
    ("central", "float64"),
    ("forward", "float64"),
    ("central", "float32"),
    ("forward", "float32"),
)


def curve_implementation(method: str, dtype: str) -> Implementation:
    """Correct code, checked with this method and dtype: one arm of the V."""
    return replace(CORRECT, stencil=STENCILS[method], dtype=np.dtype(dtype).type)


def sweep_curves(bugs=()) -> list[tuple[str, Implementation]]:
    """(name, implementation) of every curve a sweep draws: four of correct code, and
    "your check" (the scenario as it is) when bugs are on."""
    curves = [
        (f"{method}, {dtype}", curve_implementation(method, dtype)) for method, dtype in CURVES
    ]
    return curves + ([("your check", implementation_with(bugs))] if bugs else [])


def default_eps_grid() -> np.ndarray:
    """1e-1 down to 1e-13, one point per decade."""
    return np.logspace(-1, -13, 13)


def epsilon_sweep(problem: Problem, bugs=(), eps_grid=None, progress=None) -> pd.DataFrame:
    """Relative difference per curve and eps.

    Four curves of correct code (central/forward x float64/float32) show the V; when
    `bugs` are on, a fifth curve, "your check", runs the scenario as it is (its own
    method and dtype): a real bug keeps it flat and high whatever eps is.
    """
    eps_grid = default_eps_grid() if eps_grid is None else np.asarray(eps_grid, float)
    curves = sweep_curves(bugs)
    rows, total, done = [], len(curves) * len(eps_grid), 0
    for name, impl in curves:
        analytic = gradient(problem.theta, problem, impl)
        for eps in eps_grid:
            numerical, _ = network_numerical_gradient(problem, impl, eps)
            rows.append(
                {
                    "curve": name,
                    "method": impl.stencil.name,
                    "dtype": np.dtype(impl.dtype).name,
                    "eps": float(eps),
                    "relative_difference": norm_relative_difference(analytic, numerical),
                }
            )
            done += 1
            if progress is not None:
                progress(done, total)
    return pd.DataFrame(rows)


def combine_sweeps(parts) -> pd.DataFrame:
    """Sweeps of single eps values, joined in `epsilon_sweep`'s row order (curve by curve)."""
    whole = pd.concat(list(parts), ignore_index=True)
    rank = {curve: i for i, curve in enumerate(dict.fromkeys(whole["curve"]))}
    return whole.sort_values("curve", key=lambda c: c.map(rank), kind="stable").reset_index(
        drop=True
    )


def best_eps(sweep: pd.DataFrame) -> pd.DataFrame:
    """The eps with the smallest relative difference, per curve."""
    index = sweep.groupby("curve", sort=False)["relative_difference"].idxmin()
    return sweep.loc[index].reset_index(drop=True)
