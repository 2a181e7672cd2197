"""Two runs side by side: did the fix change anything, and where?

Per array, the relative difference before and after; per entry, which stopped and which
started diverging, and the change of the relative error (log10, for a heatmap); and the
diff of the code between the two runs. Entries are compared only when both runs checked
the same arrays with the same shapes; otherwise the arrays are matched by name alone.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from engine.runs.record import Run

TINY = 1e-300  # keeps log10 of an exact agreement finite


@dataclass(frozen=True, eq=False)
class RunComparison:
    before: Run = field(repr=False)
    after: Run = field(repr=False)
    arrays: pd.DataFrame  # one row per array name: before/after relative difference, counts
    same_layout: bool
    stopped: np.ndarray  # flat indices diverging before, not after
    started: np.ndarray  # flat indices diverging after, not before
    error_change: list  # per array (same layout): log10 relative error after - before
    code_diff: str

    def describe(self) -> str:
        """One paragraph: the verdicts, then what moved."""
        lead = f"{self.before.verdict} -> {self.after.verdict}."
        if not self.same_layout:
            return f"{lead} The arrays differ between the runs: compared by name only."
        return f"{lead} {self.stopped.size} entries stopped diverging, {self.started.size} started."


def compare_runs(before: Run, after: Run) -> RunComparison:
    first, second = before.result(), after.result()
    same = first.layout.shapes == second.layout.shapes and (
        first.layout.names == second.layout.names
    )
    rows = {}
    for label, result in (("before", first), ("after", second)):
        for matrix in result.matrices:
            row = rows.setdefault(matrix.name, {"array": matrix.name})
            row[f"relative difference {label}"] = matrix.relative_difference
            row[f"diverging {label}"] = matrix.n_diverging
    table = pd.DataFrame(list(rows.values()))
    if same:
        stopped = np.flatnonzero(first.diverging & ~second.diverging)
        started = np.flatnonzero(second.diverging & ~first.diverging)
        change = np.log10(second.rel_error + TINY) - np.log10(first.rel_error + TINY)
        error_change = second.layout.split(change)
    else:
        stopped = started = np.array([], dtype=int)
        error_change = []
    return RunComparison(
        before, after, table, same, stopped, started, error_change, code_diff(before, after)
    )


def code_diff(before: Run, after: Run) -> str:
    """The unified diff of the two runs' code ('' when neither has code or it is equal):
    the main file, then each other file by path (added or removed files in full)."""
    if not before.code and not after.code:
        return ""
    pieces = [_diff(before.code, after.code, f"before ({before.title})", f"after ({after.title})")]
    for path in sorted(set(before.other_files) | set(after.other_files)):
        pieces.append(
            _diff(
                before.other_files.get(path),
                after.other_files.get(path),
                f"before/{path}",
                f"after/{path}",
            )
        )
    return "".join(pieces)


def _diff(old: str | None, new: str | None, old_name: str, new_name: str) -> str:
    return "".join(
        difflib.unified_diff(
            (old or "").splitlines(keepends=True),
            (new or "").splitlines(keepends=True),
            fromfile=old_name,
            tofile=new_name,
        )
    )
