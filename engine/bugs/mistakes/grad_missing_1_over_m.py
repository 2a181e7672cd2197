"""The summed deltas not divided by the number of examples m."""

from __future__ import annotations

from dataclasses import replace

from engine.bugs.bug import Bug, Claim
from engine.bugs.founding import Example, answer_with
from engine.bugs.observations import ConstantFactor, Observation
from engine.network.pieces import Implementation


def no_division(m):
    return 1


def realise(impl: Implementation) -> Implementation:
    return replace(impl, gradient_scale=no_division)


def detect(seen: Observation) -> Claim | None:
    """A constant factor that is m (or, m unknown, a whole number that may be m)."""
    if not isinstance(seen, ConstantFactor):
        return None
    if not (seen.equals_m or (seen.whole_number and seen.m is None)):
        return None
    condition = "" if seen.equals_m else f"if you have {round(seen.k)} examples, "
    return Claim(
        message=(
            f"{seen.description}: {condition}the summed deltas were not divided by m "
            "(theta_grad = D instead of D / m)."
        ),
        evidence=seen.evidence,
        score=0.85,
    )


BUG = Bug(
    number=6,
    id="grad-missing-1-over-m",
    title="Accumulated gradient not divided by m",
    where="backprop",
    cause="scale",
    explanation=(
        "The cost is a mean over the m examples, so the summed deltas must be divided "
        "by m. Forgetting it makes the data part of the gradient m times too large."
    ),
    buggy_code="theta_grad = D",
    fixed_code="theta_grad = D / m",
    signature=(
        "Analytic is about m times numerical in every matrix; exactly m times in the "
        "bias columns (which carry no penalty)."
    ),
    realise=realise,
    detect=detect,
    example=(
        "missing-1-over-m",
        Example(
            "Forgetting to divide by m",
            "The summed deltas are not averaged over the examples.",
            answer_with(m_divisor="1"),
        ),
    ),
)
