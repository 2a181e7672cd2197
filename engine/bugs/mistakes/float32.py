"""The whole check in single precision: a numerical gradient good to ~1e-3 at best."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.bugs.bug import Bug, Claim
from engine.bugs.observations import CheckerSettings, Observation, fmt
from engine.network.pieces import Implementation


def realise(impl: Implementation) -> Implementation:
    return replace(impl, dtype=np.float32)


def detect(seen: Observation) -> Claim | None:
    """A check run in float32: name its noise floor, not a bug."""
    if not (isinstance(seen, CheckerSettings) and seen.dtype == "float32"):
        return None
    return Claim(
        message=(
            "The check runs in float32: its numerical gradient is only good to about "
            f"{fmt(seen.noise_absolute)} per entry, so differences below that are "
            "round-off, not bugs, and small bugs stay hidden. Check in float64."
        ),
        evidence=seen.evidence,
        score=0.8 if seen.agrees else 0.25,
        kind="noise",
    )


BUG = Bug(
    number=10,
    id="float32",
    title="The whole check in single precision",
    where="checker",
    cause="precision",
    explanation=(
        "float32 keeps ~7 digits. With e = 1e-4 the cost difference J(theta+e) - "
        "J(theta-e) loses ~4 of them to cancellation, so the numerical gradient is "
        "only good to ~1e-3: float32 cannot confirm a gradient, only catch gross bugs."
    ),
    buggy_code="theta, X = theta.astype(np.float32), X.astype(np.float32)",
    fixed_code="theta, X = theta.astype(np.float64), X.astype(np.float64)",
    signature=(
        "Relative differences of 1e-4..1e-2 scattered over all entries, largest where "
        "the gradient is small: float32 round-off (~6e-8*|J|/e), not a bug."
    ),
    realise=realise,
    detect=detect,
)
