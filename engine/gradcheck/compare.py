"""Analytic versus numerical, overall and per parameter array, in the arrays' own shapes.

Two metrics side by side: the seed's (Ng's) ||n - a|| / ||n + a||, one number per
check or matrix, and CS231n's per-entry |a - n| / max(|a|, |n|). An entry diverges
when it is both beyond the noise floor (see `noise.py`) and beyond the relative
threshold; with ReLU, entries whose +-e step crosses a kink are set apart instead.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from engine.gradcheck.noise import NoiseFloor
from engine.network.layout import Layout
from engine.network.model import Problem


def norm_relative_difference(analytic, numerical) -> float:
    """Ng's ||n - a|| / ||n + a|| (the founding question's metric), one number for all
    entries; 0 when both are zero (nothing to disagree about)."""
    analytic, numerical = np.asarray(analytic, float), np.asarray(numerical, float)
    denominator = np.linalg.norm(numerical + analytic)
    numerator = np.linalg.norm(numerical - analytic)
    if denominator == 0:
        return 0.0 if numerator == 0 else float("inf")
    return float(numerator / denominator)


def elementwise_relative_error(analytic, numerical) -> np.ndarray:
    """|a - n| / max(|a|, |n|), and 0 where both are exactly 0."""
    analytic, numerical = np.asarray(analytic, float), np.asarray(numerical, float)
    scale = np.maximum(np.abs(analytic), np.abs(numerical))
    difference = np.abs(analytic - numerical)
    return np.divide(difference, scale, out=np.zeros_like(difference), where=scale > 0)


@dataclass(frozen=True, eq=False)
class MatrixComparison:
    """One parameter array (a Theta matrix, or the user's W1, b1, kernel...): both
    gradients in its shape (any ndim), and where they part. `name` is the array's name."""

    name: str
    index: int
    layout: Layout = field(repr=False)
    analytic: np.ndarray = field(repr=False)
    numerical: np.ndarray = field(repr=False)
    rel_error: np.ndarray = field(repr=False)
    diverging: np.ndarray = field(repr=False)
    kinks: np.ndarray = field(repr=False)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.analytic.shape

    @cached_property
    def abs_diff(self) -> np.ndarray:
        return np.abs(self.analytic - self.numerical)

    @cached_property
    def relative_difference(self) -> float:
        return norm_relative_difference(self.analytic, self.numerical)

    @property
    def n_diverging(self) -> int:
        return int(self.diverging.sum())

    @property
    def n_kinks(self) -> int:
        return int(self.kinks.sum())

    @property
    def agrees(self) -> bool:
        return self.n_diverging == 0

    @cached_property
    def worst(self) -> tuple[int, ...]:
        """Index (row, column for a matrix; any ndim) of the largest relative error, ties
        broken by absolute difference."""
        order = np.lexsort((self.abs_diff.ravel(), self.rel_error.ravel()))
        return tuple(int(v) for v in np.unravel_index(order[-1], self.shape))

    def describe_worst(self) -> str:
        if not self.layout.founding:
            return self.layout.entry_name(self.index, self.worst)
        return self.layout.describe_entry(self.index, *self.worst)

    @property
    def shape_text(self) -> str:
        """'4x10', '(10,)', '()' or '(2, 3, 2, 2)'."""
        return self.layout.shape_text(self.index)

    @property
    def row_labels(self) -> list[str]:
        return self.layout.row_labels(self.index)

    @property
    def column_labels(self) -> list[str]:
        return self.layout.column_labels(self.index)


def _entry_names(name: str, shape: tuple[int, ...]) -> np.ndarray:
    """'W1[0, 0]', 'W1[0, 1]', ... row-major, built with NumPy's string ufuncs (a
    Python loop took 1.6 s for a million entries)."""
    if not shape:
        return np.array([name])
    text = np.array([f"{name}["])
    for axis, size in enumerate(shape):
        tail = "]" if axis == len(shape) - 1 else ", "
        labels = np.strings.add(np.arange(size).astype(str), tail)
        text = np.strings.add(text[..., None], labels)
    return text.reshape(-1)


@dataclass(frozen=True, eq=False)
class CheckResult:
    """Everything one gradient check found; views and the diagnosis read only this.

    `problem` is set when the engine's own network was checked (so the diagnosis can
    re-run it); `bugs` records what was toggled, for display and export only.
    """

    analytic: np.ndarray
    numerical: np.ndarray
    layout: Layout
    noise: NoiseFloor
    threshold: float
    kinks: np.ndarray
    theta: np.ndarray
    problem: Problem | None = None
    bugs: tuple[str, ...] = ()
    penalty: tuple[float, int] | None = None  # (lambda, m) when known without `problem`
    trace: object | None = None  # engine.params.tracing.SourceTrace: where the code ran
    symmetry: object | None = None  # engine.params.symmetry.JacobianSymmetry

    @property
    def lambda_and_m(self) -> tuple[float, int] | None:
        """(lambda, m) of the checked cost, if known: from the problem or given."""
        if self.problem is not None:
            return self.problem.lamb, self.problem.m
        return self.penalty

    @property
    def eps(self) -> float:
        return self.noise.eps

    @property
    def method(self) -> str:
        return self.noise.method

    @property
    def dtype(self) -> str:
        return self.noise.dtype

    @cached_property
    def relative_difference(self) -> float:
        return norm_relative_difference(self.analytic, self.numerical)

    @cached_property
    def abs_diff(self) -> np.ndarray:
        return np.abs(np.asarray(self.analytic, float) - np.asarray(self.numerical, float))

    @cached_property
    def rel_error(self) -> np.ndarray:
        return elementwise_relative_error(self.analytic, self.numerical)

    @cached_property
    def beyond_noise(self) -> np.ndarray:
        """Entries that disagree by more than noise, kinks included."""
        return (self.abs_diff > self.noise.absolute) & (self.rel_error > self.threshold)

    @cached_property
    def diverging(self) -> np.ndarray:
        return self.beyond_noise & ~self.kinks

    @property
    def kink_disagreements(self) -> np.ndarray:
        """Entries that disagree only because their +-e step crossed a ReLU kink."""
        return self.beyond_noise & self.kinks

    @property
    def n_diverging(self) -> int:
        return int(self.diverging.sum())

    @property
    def agrees(self) -> bool:
        return self.n_diverging == 0

    @property
    def status(self) -> str:
        """'fail' if any entry diverges; 'warn' if the check is too coarse or hit kinks."""
        if not self.agrees:
            return "fail"
        coarse = self.dtype != "float64" or self.method != "central"
        return "warn" if coarse or self.kink_disagreements.any() else "pass"

    @cached_property
    def matrices(self) -> tuple[MatrixComparison, ...]:
        parts = [
            self.layout.split(np.asarray(v))
            for v in (self.analytic, self.numerical, self.rel_error, self.diverging, self.kinks)
        ]
        return tuple(
            MatrixComparison(name, k, self.layout, *pieces)
            for k, (name, *pieces) in enumerate(zip(self.layout.names, *parts))
        )

    @cached_property
    def worst_index(self) -> int:
        return int(np.lexsort((self.abs_diff, self.rel_error))[-1])

    def describe_worst(self) -> str:
        """E.g. 'Theta2 row 1 (output 1) column 0 (bias)', or 'W1[2, 3]'."""
        return self.layout.describe(self.worst_index)

    def table(self) -> pd.DataFrame:
        """The seed's side-by-side list, one row per parameter, made readable (a copy).

        Founding layouts: matrix, row, column, row unit, column unit. The user's arrays:
        array (its name) and entry (e.g. 'W1[2, 3]', 'b1[4]', 's').
        """
        return self._table.copy()

    @cached_property
    def _table(self) -> pd.DataFrame:
        layout = self.layout
        if not layout.founding:
            return self._arrays_table()
        index = np.arange(layout.n_params)
        k = np.searchsorted(layout.offsets, index, side="right") - 1
        widths = np.array([cols for _, cols in layout.shapes])[k]
        rows, cols = np.divmod(index - np.asarray(layout.offsets)[k], widths)
        names = np.array(layout.names)[k]
        row_units = np.concatenate(
            [np.repeat(layout.row_labels(i), c) for i, (_, c) in enumerate(layout.shapes)]
        )
        column_units = np.concatenate(
            [np.tile(layout.column_labels(i), r) for i, (r, _) in enumerate(layout.shapes)]
        )
        return pd.DataFrame(
            {
                "index": index,
                "matrix": names,
                "row": rows,
                "column": cols,
                "row unit": row_units,
                "column unit": column_units,
                "analytic": np.asarray(self.analytic, float),
                "numerical": np.asarray(self.numerical, float),
                "abs diff": self.abs_diff,
                "rel error": self.rel_error,
                "diverges": self.diverging,
                "kink": self.kinks,
            }
        ).set_index("index")

    def _arrays_table(self) -> pd.DataFrame:
        layout = self.layout
        names = np.repeat(np.array(layout.names), layout.sizes)
        entries = np.concatenate(
            [_entry_names(name, shape) for name, shape in zip(layout.names, layout.shapes)]
        )
        return pd.DataFrame(
            {
                "index": np.arange(layout.n_params),
                "array": names,
                "entry": entries,
                "analytic": np.asarray(self.analytic, float),
                "numerical": np.asarray(self.numerical, float),
                "abs diff": self.abs_diff,
                "rel error": self.rel_error,
                "diverges": self.diverging,
                "kink": self.kinks,
            }
        ).set_index("index")

    def summary(self) -> dict:
        """Plain numbers for JSON output and status cards."""
        return {
            "status": self.status,
            "relative_difference": self.relative_difference,
            "max_rel_error": float(self.rel_error.max()),
            "n_params": self.layout.n_params,
            "n_diverging": self.n_diverging,
            "n_kinks": int(self.kinks.sum()),
            "worst": self.describe_worst(),
            "threshold": self.threshold,
            "noise_floor": self.noise.absolute,
            "noise_explanation": self.noise.explain(),
            "eps": self.eps,
            "method": self.method,
            "dtype": self.dtype,
            "matrices": [
                {
                    "name": m.name,
                    "shape": list(m.shape),
                    "relative_difference": m.relative_difference,
                    "n_diverging": m.n_diverging,
                    "worst": m.describe_worst(),
                }
                for m in self.matrices
            ],
        }
