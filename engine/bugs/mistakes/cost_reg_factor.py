"""The cost's penalty written lambda/m instead of lambda/(2m): counted twice."""

from __future__ import annotations

from dataclasses import replace

from engine.bugs.bug import Bug, Claim
from engine.bugs.observations import MultipleOfTheta, Observation, fmt
from engine.network.pieces import Implementation


def lambda_over_m(lamb, m):
    return lamb / m


def realise(impl: Implementation) -> Implementation:
    return replace(impl, cost_reg_factor=lambda_over_m)


def detect(seen: Observation) -> Claim | None:
    """Only the non-bias weights differ, numerical exceeding analytic by (lambda/m) * theta."""
    if not (isinstance(seen, MultipleOfTheta) and not seen.in_bias and seen.c < 0):
        return None
    return Claim(
        message=(
            f"Every non-bias weight differs by numerical - analytic = {fmt(-seen.c)}"
            f"{seen.as_lambda_over_m} times theta, and the bias columns agree: the cost's "
            "penalty is twice what the gradient assumes, lambda/m instead of lambda/(2m)."
        ),
        evidence=f"non-bias differences fit c * theta with c = {seen.c:.6g}; bias columns agree",
        score=0.9,
    )


BUG = Bug(
    number=5,
    id="cost-reg-factor",
    title="Cost penalty lambda/m instead of lambda/(2m)",
    where="cost",
    cause="regularization",
    explanation=(
        "The penalty is lambda/(2m)*sum(theta^2) so that its derivative is "
        "(lambda/m)*theta. With lambda/m the cost (hence the numerical gradient) counts "
        "the penalty twice while backprop adds it once."
    ),
    buggy_code="cost += lamb / m * np.sum(theta[:, 1:] ** 2)",
    fixed_code="cost += lamb / (2 * m) * np.sum(theta[:, 1:] ** 2)",
    signature=(
        "Every non-bias entry diverges, numerical exceeding analytic by exactly "
        "(lambda/m)*theta; bias columns agree. Invisible when lambda = 0."
    ),
    realise=realise,
    detect=detect,
)
