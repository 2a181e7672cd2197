"""The seed's bug: a sigmoid written 1/(1+exp(z)), which computes g(-z)."""

from __future__ import annotations

from dataclasses import replace

from engine.bugs.bug import Bug, Claim
from engine.bugs.observations import Observation, SignFlip
from engine.network.pieces import Implementation, Sigmoid


def realise(impl: Implementation) -> Implementation:
    return replace(impl, sigmoid=Sigmoid(-impl.sigmoid.sign))


def detect(seen: Observation) -> Claim | None:
    """An exact sign flip in the output layer: backprop's h - y has the wrong sign."""
    if not (isinstance(seen, SignFlip) and seen.in_output_layer):
        return None
    return Claim(
        message=(
            f"Sign error in the output layer: {seen.what}. Backprop's output error "
            "h - y has the opposite sign of the true derivative of the cost, which happens "
            "when the sigmoid is g(-z): check `sigmoid` for 1/(1+np.exp(z)) instead of "
            "1/(1+np.exp(-z))."
        ),
        evidence=seen.evidence,
        score=0.9,
    )


BUG = Bug(
    number=1,
    id="sigmoid-sign-flip",
    title="Sigmoid with the sign of z flipped",
    where="model",
    cause="sign",
    explanation=(
        "The seed's bug: sigmoid written 1/(1+exp(z)) computes g(-z). Cost and backprop "
        "both use it, but backprop's output error h - y is now minus the true derivative, "
        "so the output layer's gradient points the wrong way and the optimiser stalls "
        "('Desired error not necessarily achieved due to precision loss')."
    ),
    buggy_code="return 1 / (1 + np.exp(z))",
    fixed_code="return 1 / (1 + np.exp(-z))",
    signature=(
        "The last Theta diverges: its bias column is exactly sign-flipped (analytic = "
        "-numerical) and its other columns differ in sign and size. With sigmoid hidden "
        "units the earlier Thetas agree, because two sign errors cancel there."
    ),
    realise=realise,
    detect=detect,
)
