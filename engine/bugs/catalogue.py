"""The bug catalogue: the mistakes people really make, as data.

Each entry says what the mistake is, the buggy and the fixed line, where it lives,
the signature it leaves on the two gradients, and carries `realise`, the small
function that swaps the correct piece of an `Implementation` for the buggy one.
Bugs compose: `implementation_with(bugs)` applies them in catalogue order.
Ids are public API (URLs, the CLI, exported files): never rename one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from engine.network import pieces as impl_
from engine.network.pieces import CORRECT, Implementation

WHERE = ("model", "backprop", "cost", "checker")
# The groups the sidebar and the Bug lab show the catalogue in, one per place a mistake lives.
WHERE_TITLES = {
    "model": "Model (shared by cost and backprop)",
    "backprop": "Backprop (analytic gradient)",
    "cost": "Cost (numerical gradient)",
    "checker": "Checker (the numerical loop)",
}

# Which gradient a mistake in each place changes: the model is shared by the cost
# (hence the numerical gradient) and by backprop (the analytic one).
SIDES = {
    "model": ("analytic", "numerical"),
    "backprop": ("analytic",),
    "cost": ("numerical",),
    "checker": ("numerical",),
}


@dataclass(frozen=True)
class Bug:
    id: str
    title: str
    where: str
    explanation: str
    buggy_code: str
    fixed_code: str
    signature: str
    realise: Callable[[Implementation], Implementation]

    @property
    def changes(self) -> tuple[str, ...]:
        """The gradients ('analytic', 'numerical') this mistake alters."""
        return SIDES[self.where]

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "where": self.where,
            "explanation": self.explanation,
            "buggy_code": self.buggy_code,
            "fixed_code": self.fixed_code,
            "signature": self.signature,
        }


_CATALOGUE = (
    Bug(
        id="sigmoid-sign-flip",
        title="Sigmoid with the sign of z flipped",
        where="model",
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
        realise=lambda impl: replace(impl, sigmoid=impl_.Sigmoid(-impl.sigmoid.sign)),
    ),
    Bug(
        id="numgrad-skips-first",
        title="Numerical loop starts at index 1",
        where="checker",
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
        realise=lambda impl: replace(impl, first_checked_index=1),
    ),
    Bug(
        id="sigmoid-gradient-on-z",
        title="Sigmoid gradient applied to z instead of g(z)",
        where="backprop",
        explanation=(
            "g'(z) = g(z)(1 - g(z)). Writing z*(1-z) is right only when the argument is "
            "already the activation a = g(z); fed the pre-activation z it is a different "
            "function, so every hidden-layer error is wrong."
        ),
        buggy_code="return z * (1 - z)",
        fixed_code="return sigmoid(z) * (1 - sigmoid(z))",
        signature=(
            "Every Theta before the last diverges (they all use hidden-layer errors); the last "
            "Theta agrees. Only with sigmoid hidden units."
        ),
        realise=lambda impl: replace(impl, sigmoid_gradient=impl_.sigmoid_gradient_from_activation),
    ),
    Bug(
        id="bias-regularized",
        title="Bias column regularised in the gradient",
        where="backprop",
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
        realise=lambda impl: replace(impl, gradient_regularized=impl_.every_entry),
    ),
    Bug(
        id="cost-reg-factor",
        title="Cost penalty lambda/m instead of lambda/(2m)",
        where="cost",
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
        realise=lambda impl: replace(impl, cost_reg_factor=impl_.lambda_over_m),
    ),
    Bug(
        id="grad-missing-1-over-m",
        title="Accumulated gradient not divided by m",
        where="backprop",
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
        realise=lambda impl: replace(impl, gradient_scale=impl_.no_division),
    ),
    Bug(
        id="column-major-unroll",
        title="Gradient unrolled column-major (Octave's (:))",
        where="backprop",
        explanation=(
            "Octave's Theta(:) unrolls column by column; NumPy's ravel() and the parameter "
            "vector go row by row. Unrolling the gradient one way and theta the other "
            "pairs each derivative with the wrong weight."
        ),
        buggy_code='grad = np.concatenate([g.ravel(order="F") for g in grads])',
        fixed_code="grad = np.concatenate([g.ravel() for g in grads])",
        signature=(
            "Within each matrix the analytic values are the numerical ones in transposed "
            "order: the right numbers in the wrong places. First and last entries agree."
        ),
        realise=lambda impl: replace(impl, unroll_gradient=impl_.unroll_column_major),
    ),
    Bug(
        id="backprop-wrong-bias-slice",
        title="Hidden error uses theta[:, :-1] instead of theta[:, 1:]",
        where="backprop",
        explanation=(
            "Propagating the error back must skip the bias column (column 0) of the next "
            "layer's weights. Dropping the last column instead shifts every weight by one unit."
        ),
        buggy_code="delta2 = (delta3 @ theta2[:, :-1]) * sigmoid_gradient(z2)",
        fixed_code="delta2 = (delta3 @ theta2[:, 1:]) * sigmoid_gradient(z2)",
        signature=(
            "Every Theta before the last diverges; the last Theta agrees (its error needs no "
            "slicing)."
        ),
        realise=lambda impl: replace(impl, hidden_error_weights=impl_.weights_without_last_column),
    ),
    Bug(
        id="forward-difference",
        title="One-sided (forward) differences in the checker",
        where="checker",
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
        realise=lambda impl: replace(impl, stencil=impl_.FORWARD),
    ),
    Bug(
        id="float32",
        title="The whole check in single precision",
        where="checker",
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
        realise=lambda impl: replace(impl, dtype=np.float32),
    ),
    Bug(
        id="output-error-times-gradient",
        title="Output error multiplied by the sigmoid gradient",
        where="backprop",
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
        realise=lambda impl: replace(impl, output_error=impl_.output_error_times_sigmoid_gradient),
    ),
)

BUGS: dict[str, Bug] = {bug.id: bug for bug in _CATALOGUE}
SEED_BUGS = ("sigmoid-sign-flip", "numgrad-skips-first")


def validate_bugs(bugs) -> tuple[str, ...]:
    """Known ids, no repeats, in catalogue order; ValueError names the unknown ones."""
    if isinstance(bugs, str):
        bugs = (bugs,)
    bugs = tuple(bugs)
    unknown = [b for b in bugs if b not in BUGS]
    if unknown:
        raise ValueError(f"bugs: unknown id(s) {unknown}; known ids are {', '.join(BUGS)}")
    return tuple(b for b in BUGS if b in bugs)


def implementation_with(bugs, base: Implementation = CORRECT) -> Implementation:
    """The correct implementation with each named bug swapped in."""
    impl = base
    for bug_id in validate_bugs(bugs):
        impl = BUGS[bug_id].realise(impl)
    return impl


def bugs_where(where: str) -> tuple[str, ...]:
    return tuple(b.id for b in _CATALOGUE if b.where == where)
