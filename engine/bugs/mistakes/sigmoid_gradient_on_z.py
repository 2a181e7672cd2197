"""z(1 - z) used as the sigmoid's derivative, fed the pre-activation z instead of g(z).

No pattern of its own: its hidden-layers-only divergence is shared with
`backprop_wrong_bias_slice`, so only level 2 tells the two apart.
"""

from __future__ import annotations

from dataclasses import replace

from engine.bugs.bug import Bug
from engine.network.pieces import Implementation


def sigmoid_gradient_from_activation(z, sigmoid):
    """The bug: z (1 - z), which is g'(z) only when it is fed g(z), not z."""
    return z * (1 - z)


def realise(impl: Implementation) -> Implementation:
    return replace(impl, sigmoid_gradient=sigmoid_gradient_from_activation)


BUG = Bug(
    number=3,
    id="sigmoid-gradient-on-z",
    title="Sigmoid gradient applied to z instead of g(z)",
    where="backprop",
    cause="backward-chain",
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
    realise=realise,
)
