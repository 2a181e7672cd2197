"""The seed's second bug, in question and answer alike: the numerical loop starts at 1."""

from __future__ import annotations

from dataclasses import replace

from engine.bugs.bug import Bug, Claim
from engine.bugs.observations import Observation, ZeroedNumerical, fmt
from engine.network.pieces import Implementation


def realise(impl: Implementation) -> Implementation:
    return replace(impl, first_checked_index=1)


def detect(seen: Observation) -> Claim | None:
    """Numerical entry 0, and only it, left at 0.0: never perturbed."""
    if not (isinstance(seen, ZeroedNumerical) and seen.indices.tolist() == [0]):
        return None
    analytic = seen.analytic[0]
    return Claim(
        message=(
            f"Numerical entry 0 ({seen.layout.describe(0)}) is exactly 0.0 while the "
            f"analytic value is {fmt(analytic)}: the numerical loop never perturbed "
            "it. Does it start at 1, as in `for p in range(1, n)`?"
        ),
        evidence=(
            f"numerical[0] = 0.0, analytic[0] = {analytic:.6g}"
            + ("; every other entry agrees" if seen.explains_all else "")
        ),
        score=0.9 if seen.explains_all else 0.7,
    )


BUG = Bug(
    number=2,
    id="numgrad-skips-first",
    title="Numerical loop starts at index 1",
    where="checker",
    cause="checker",
    explanation=(
        "The seed's second bug, shared by question and answer: range(1, n) never "
        "perturbs parameter 0, so its numerical gradient stays at the initial 0.0. "
        "It alone holds the relative difference at ~1e-2 instead of ~1e-11."
    ),
    buggy_code="for p in range(1, np.size(theta)):",
    fixed_code="for p in range(np.size(theta)):",
    signature=(
        "Numerical element 0 (Theta1 row 0, bias) is exactly 0.0 while the analytic value "
        "is not; every other element agrees."
    ),
    realise=realise,
    detect=detect,
)
