"""One-sided differences in the checker: truncation error O(e) instead of O(e^2)."""

from __future__ import annotations

from dataclasses import replace

from engine.bugs.bug import Bug, Claim
from engine.bugs.observations import CheckerSettings, Observation, fmt
from engine.network.pieces import FORWARD, Implementation


def realise(impl: Implementation) -> Implementation:
    return replace(impl, stencil=FORWARD)


def detect(seen: Observation) -> Claim | None:
    """A check taken with forward differences: name its noise floor, not a bug."""
    if not (isinstance(seen, CheckerSettings) and seen.method == FORWARD.name):
        return None
    return Claim(
        message=(
            "The numerical gradient uses one-sided (forward) differences, whose "
            f"truncation error is O(e): ~{fmt(seen.noise_truncation)} per entry "
            "here. Differences of that size are the method's, not your gradient's; "
            "use central differences (J(theta+e) - J(theta-e)) / (2e)."
        ),
        evidence=seen.evidence,
        score=0.79 if seen.agrees else 0.24,
        kind="noise",
    )


BUG = Bug(
    number=9,
    id="forward-difference",
    title="One-sided (forward) differences in the checker",
    where="checker",
    cause="checker",
    explanation=(
        "(J(theta+e) - J(theta))/e has truncation error O(e); the central difference "
        "(J(theta+e) - J(theta-e))/(2e) has O(e^2). At e = 1e-4 forward differences "
        "are off by ~1e-5 in every entry, which hides small bugs and raises false alarms."
    ),
    buggy_code="numgrad[p] = (J(theta + perturb) - J(theta)) / e",
    fixed_code="numgrad[p] = (J(theta + perturb) - J(theta - perturb)) / (2 * e)",
    signature=(
        "Small differences in every entry, of order e*J''/2 (~1e-5 at e = 1e-4), "
        "shrinking linearly with e: the forward-difference noise floor, not a bug in "
        "the gradient."
    ),
    realise=realise,
    detect=detect,
)
