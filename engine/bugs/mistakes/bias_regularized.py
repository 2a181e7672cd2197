"""The gradient's penalty added to the bias column, which the cost leaves unpenalised."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.bugs.bug import Bug, Claim
from engine.bugs.founding import Example, answer_with
from engine.bugs.observations import MultipleOfTheta, Observation, fmt
from engine.network.pieces import Implementation

# The answer's regularisation, written over the whole matrices.
REGULARISE_ALL = """    grad1 += lamb / m * theta1
    grad2 += lamb / m * theta2
"""


def every_entry(theta):
    return np.ones(theta.shape, dtype=bool)


def realise(impl: Implementation) -> Implementation:
    return replace(impl, gradient_regularized=every_entry)


def detect(seen: Observation) -> Claim | None:
    """Only the bias columns differ, by +(lambda/m) * theta."""
    if not (isinstance(seen, MultipleOfTheta) and seen.in_bias and seen.c > 0):
        return None
    return Claim(
        message=(
            f"Only the bias columns differ, and there analytic - numerical = {fmt(seen.c)}"
            f"{seen.as_lambda_over_m} times theta: the gradient regularises the bias weights, "
            "which the cost does not penalise. Add (lambda/m)*theta to theta_grad[:, 1:] only."
        ),
        evidence=(
            f"bias-column differences fit c * theta with c = {seen.c:.6g}; all other entries agree"
        ),
        score=0.9,
    )


BUG = Bug(
    number=4,
    id="bias-regularized",
    title="Bias column regularised in the gradient",
    where="backprop",
    cause="regularization",
    explanation=(
        "The cost leaves bias weights out of the penalty, so the gradient must too. "
        "Adding (lambda/m)*theta to the whole matrix adds it to column 0 as well."
    ),
    buggy_code="theta_grad += (lamb / m) * theta",
    fixed_code="theta_grad[:, 1:] += (lamb / m) * theta[:, 1:]",
    signature=(
        "Only bias columns (column 0) diverge, by exactly (lambda/m)*theta; all other "
        "entries agree. Invisible when lambda = 0."
    ),
    realise=realise,
    detect=detect,
    example=(
        "bias-regularised",
        Example(
            "Regularising the bias column",
            "Adds lambda/m * theta to the whole gradient matrices, bias column included.",
            answer_with(regularise=REGULARISE_ALL),
        ),
    ),
)
