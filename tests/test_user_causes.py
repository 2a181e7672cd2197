"""Causes named on code GradScope did not write, where small terms of the user's own
loss (an epsilon inside a log) keep the two gradients from being exact multiples."""

from __future__ import annotations

import numpy as np

from engine.diagnosis.diagnose import diagnose
from engine.params.check import check_params

RNG = np.random.default_rng(0)
X, T = RNG.standard_normal((4, 6)), RNG.integers(0, 3, size=4)
W = 0.5 * RNG.standard_normal((6, 3))


def softmax_with_loss():
    """Cross-entropy with log(y + 1e-7), as 'from scratch' books write it, and a gradient
    not divided by the batch size."""
    scores = X @ W
    y = np.exp(scores - scores.max(axis=1, keepdims=True))
    y /= y.sum(axis=1, keepdims=True)
    loss = -np.sum(np.log(y[np.arange(len(T)), T] + 1e-7)) / len(T)
    dscores = y.copy()
    dscores[np.arange(len(T)), T] -= 1
    return loss, {"W": X.T @ dscores}  # the bug: / len(T) forgotten


def test_a_missing_batch_division_is_named_as_a_scale_despite_an_epsilon_in_the_log():
    top = diagnose(check_params(softmax_with_loss, {"W": W}))[0]
    assert top.cause == "scale" and top.arrays == ("W",)
    assert "constant 4 times" in top.message and "explains" in top.evidence
