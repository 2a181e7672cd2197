"""The output error multiplied by g'(z): a squared-error habit, wrong for cross-entropy."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.bugs.bug import Bug, Claim
from engine.bugs.observations import Observation, ShrunkOutputError, fmt
from engine.network.pieces import Implementation

LARGEST_SIGMOID_GRADIENT = 0.25  # g'(0) = 1/4


def output_error_times_sigmoid_gradient(z, Y, sigmoid):
    """The squared-error habit: (h - y) * g'(z), wrong for a cross-entropy cost."""
    h = sigmoid(z)
    return (h - Y) * h * (1 - h)


def realise(impl: Implementation) -> Implementation:
    return replace(impl, output_error=output_error_times_sigmoid_gradient)


def detect(seen: Observation) -> Claim | None:
    """The output bias gradient shrunk by a factor no larger than g'(z) can be."""
    if not isinstance(seen, ShrunkOutputError):
        return None
    ratio = seen.ratios
    if not np.all(ratio <= LARGEST_SIGMOID_GRADIENT + 1e-9):
        return None
    return Claim(
        message=(
            f"{seen.output}'s bias gradient has the right sign but is only "
            f"{fmt(ratio.min())}..{fmt(ratio.max())} of the numerical one (at most "
            "1/4, the largest value of g'(z)): the output error was multiplied by the "
            "sigmoid gradient. With cross-entropy, delta = h - y exactly."
        ),
        evidence=(
            f"{seen.output} bias column ratios analytic/numerical {np.round(ratio, 4).tolist()[:6]}"
        ),
        score=0.8,
    )


BUG = Bug(
    number=11,
    id="output-error-times-gradient",
    title="Output error multiplied by the sigmoid gradient",
    where="backprop",
    cause="backward-chain",
    explanation=(
        "With a sigmoid output and cross-entropy cost, dJ/dz = h - y exactly: the "
        "sigmoid's derivative cancels. Multiplying by g'(z) again, a habit from "
        "squared-error losses, shrinks every error by h(1-h) <= 1/4."
    ),
    buggy_code="delta3 = (h - y_bin) * sigmoid_gradient(z3)",
    fixed_code="delta3 = h - y_bin",
    signature=(
        "Every matrix diverges, analytic smaller than numerical (by a factor h(1-h) "
        "per example, at most 1/4) but of the same sign."
    ),
    realise=realise,
    detect=detect,
)
