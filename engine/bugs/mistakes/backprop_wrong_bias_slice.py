"""The hidden error carried back through theta[:, :-1], dropping the last column, not the bias.

No pattern of its own: its hidden-layers-only divergence is shared with
`sigmoid_gradient_on_z`, so only level 2 tells the two apart.
"""

from __future__ import annotations

from dataclasses import replace

from engine.bugs.bug import Bug
from engine.network.pieces import Implementation


def weights_without_last_column(theta):
    return theta[:, :-1]


def realise(impl: Implementation) -> Implementation:
    return replace(impl, hidden_error_weights=weights_without_last_column)


BUG = Bug(
    number=8,
    id="backprop-wrong-bias-slice",
    title="Hidden error uses theta[:, :-1] instead of theta[:, 1:]",
    where="backprop",
    cause="backward-chain",
    explanation=(
        "Propagating the error back must skip the bias column (column 0) of the next "
        "layer's weights. Dropping the last column instead shifts every weight by one unit."
    ),
    buggy_code="delta2 = (delta3 @ theta2[:, :-1]) * sigmoid_gradient(z2)",
    fixed_code="delta2 = (delta3 @ theta2[:, 1:]) * sigmoid_gradient(z2)",
    signature=(
        "Every Theta before the last diverges; the last Theta agrees (its error needs no slicing)."
    ),
    realise=realise,
)
