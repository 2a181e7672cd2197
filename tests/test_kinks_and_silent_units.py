"""A black-box loss's kinks and silent units: told apart from bugs, and named.

Kinks: a +-e step across a point where the loss is not differentiable averages two
slopes, while a correct gradient equals one of them; such entries are marked 'kink'
and do not fail the check, while a wrong gradient at the same point still does.
Silent units: rows, columns or entries whose gradient is exactly zero on both sides
at the check point (a dead ReLU unit) are named, since no bug there could show.
"""

from __future__ import annotations

import numpy as np

from engine.diagnosis.diagnose import diagnose
from engine.gradcheck.kinks import kinks_from_steps
from engine.params.check import check_params

RNG = np.random.default_rng(11)
X = RNG.normal(size=(8, 3))


def relu_net(W, b):
    """sum(relu(X @ W + b)) and its gradient, with the ReLU's kink at 0."""
    z = X @ W + b
    mask = (z > 0).astype(float)
    return float(np.maximum(z, 0).sum()), {"W": X.T @ mask, "b": mask.sum(axis=0)}


def test_an_entry_whose_step_crosses_a_kink_is_marked_and_does_not_fail():
    W, b = RNG.normal(size=(3, 2)), np.zeros(2)
    z = X @ W
    b[0] = -z[0, 0] + 2e-5  # example 0's unit 0 sits 2e-5 above its kink: a 1e-4 step crosses
    params = {"W": W, "b": b}
    result = check_params(lambda: relu_net(W, b), params, eps=1e-4)
    assert result.agrees and result.status == "warn"
    assert result.kinks[6]  # b[0], after the 6 entries of W
    assert any("kink of your loss" in f.message for f in diagnose(result))


def test_a_wrong_gradient_at_a_kinked_point_still_fails():
    W, b = RNG.normal(size=(3, 2)), np.zeros(2)
    b[0] = -(X @ W)[0, 0] + 2e-5

    def loss():
        value, grads = relu_net(W, b)
        grads["W"] = grads["W"] * 1.5  # a scale bug in W
        return value, grads

    result = check_params(loss, {"W": W, "b": b}, eps=1e-4)
    assert not result.agrees
    assert {m.name for m in result.matrices if m.diverging.any()} == {"W"}


def test_one_sided_slopes_that_straddle_the_gradient_are_a_smooth_loss_not_a_kink():
    base, eps = 1.0, 1e-3
    curvature = 50.0  # J'' large: the slopes differ by e J'' but straddle the gradient
    gradient = 2.0
    shifted = np.array(
        [
            [
                base + gradient * eps + curvature * eps**2 / 2,
                base - gradient * eps + curvature * eps**2 / 2,
            ]
        ]
    )
    assert not kinks_from_steps([gradient], base, shifted, eps, 1e-10)[0]
    one_side = np.array([[base + 3.0 * eps, base - gradient * eps]])  # slopes 3 and 2
    assert kinks_from_steps([gradient], base, one_side, eps, 1e-10)[0]


def test_a_dead_relu_unit_is_named_as_a_silent_column_and_bias_entry():
    W = RNG.normal(size=(3, 4))
    b = np.array([0.3, -0.2, -50.0, 0.1])  # unit 2 is off for every example
    result = check_params(lambda: relu_net(W, b), {"W": W, "b": b})
    assert result.agrees
    said = " ".join(f.message for f in diagnose(result))
    assert "W[:, 2]" in said and "b[2]" in said and "dead ReLU unit" in said
