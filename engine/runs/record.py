"""A saved run: one check as it was, with all it takes to show it again without re-running.

A run holds the settings (a scenario, or the code's settings), the code when there is
some (the main file, and the other files of an upload), the verdict, the findings, both
gradients, the check's noise floor, threshold, kink flags and parameters: enough to
rebuild its `CheckResult` for every view and export. Its id is 128 random bits, the way
to reach it: runs hold users' code.
"""

from __future__ import annotations

import io
import secrets
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime

import numpy as np

from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.gradcheck.noise import NoiseFloor
from engine.network.layout import Layout

KINDS = ("scenario", "code")
TITLE_LENGTH = 120


def new_run_id() -> str:
    """22 URL-safe characters, 128 random bits: unguessable, and safe in `?run=`."""
    return url_safe_token()


def url_safe_token() -> str:
    """secrets.token_urlsafe(16), drawn again while it starts with '-' (1 time in 64):
    a command line would read `runs show -Xy...` as an option."""
    while (token := secrets.token_urlsafe(16)).startswith("-"):
        pass
    return token


@dataclass(frozen=True, eq=False)
class Run:
    """What one saved check holds. `arrays` are the float arrays by name (gradients,
    parameters) and the kink flags; everything else is JSON-ready."""

    id: str
    title: str
    kind: str
    created: datetime
    settings: dict
    code: str | None
    verdict: str
    diverging_arrays: tuple[str, ...]
    summary: dict
    findings: list = field(repr=False)
    check: dict = field(repr=False)  # layout, noise floor, threshold, bugs, penalty
    arrays: dict = field(repr=False)
    other_files: dict = field(default_factory=dict, repr=False)  # {path: text} beside `code`

    def result(self) -> CheckResult:
        """The check rebuilt, for every view and export (no problem: nothing re-runs)."""
        check = self.check
        layout = Layout(
            tuple(tuple(shape) for shape in check["shapes"]),
            tuple(check["array_names"]) if check["array_names"] is not None else None,
        )
        penalty = tuple(check["penalty"]) if check["penalty"] is not None else None
        return CheckResult(
            analytic=self.arrays["analytic"],
            numerical=self.arrays["numerical"],
            layout=layout,
            noise=NoiseFloor(**check["noise"]),
            threshold=check["threshold"],
            kinks=self.arrays["kinks"].astype(bool),
            theta=self.arrays["theta"],
            bugs=tuple(check["bugs"]),
            penalty=penalty,
        )

    def finding_objects(self) -> list[Finding]:
        names = {f.name for f in fields(Finding)}
        return [
            Finding(
                **{
                    **{k: v for k, v in d.items() if k in names},
                    "arrays": tuple(d["arrays"]),
                    "lines": tuple(d["lines"]),
                }
            )
            for d in self.findings
        ]


def run_from_check(
    result: CheckResult,
    findings,
    *,
    title: str,
    kind: str,
    settings: dict,
    code: str | None = None,
    other_files: dict[str, str] | None = None,
) -> Run:
    """A new run of this check (not stored yet). `code` is the main file (the one the
    findings' lines are in); `other_files` the rest of an upload, by path."""
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
    summary = result.summary()
    diverging = tuple(m["name"] for m in summary["matrices"] if m["n_diverging"])
    noise = result.noise
    check = {
        "shapes": [list(shape) for shape in result.layout.shapes],
        "array_names": list(result.layout.array_names)
        if result.layout.array_names is not None
        else None,
        "noise": {f.name: getattr(noise, f.name) for f in fields(NoiseFloor)},
        "threshold": float(result.threshold),
        "bugs": list(result.bugs),
        "penalty": list(result.lambda_and_m) if result.lambda_and_m is not None else None,
    }
    arrays = {
        "analytic": np.asarray(result.analytic, dtype=np.float64),
        "numerical": np.asarray(result.numerical, dtype=np.float64),
        "theta": np.asarray(result.theta, dtype=np.float64),
        "kinks": np.asarray(result.kinks, dtype=bool),
    }
    return Run(
        id=new_run_id(),
        title=(title.strip() or default_title(kind, summary))[:TITLE_LENGTH],
        kind=kind,
        created=datetime.now(UTC),
        settings=settings,
        code=code,
        verdict=summary["status"],
        diverging_arrays=diverging,
        summary=summary,
        findings=[f.as_dict() for f in findings],
        check=check,
        arrays=arrays,
        other_files=dict(sorted((other_files or {}).items())),
    )


def default_title(kind: str, summary: dict) -> str:
    what = "your code" if kind == "code" else "a scenario"
    return (
        f"{summary['status']}: {what}, {summary['n_diverging']} of {summary['n_params']} diverging"
    )


def pack_arrays(arrays: dict) -> bytes:
    """The arrays as one .npz (no pickle: stored bytes are loaded with allow_pickle off)."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def unpack_arrays(blob: bytes) -> dict:
    with np.load(io.BytesIO(blob), allow_pickle=False) as data:
        return {name: data[name] for name in data.files}
