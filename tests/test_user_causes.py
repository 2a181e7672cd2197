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


# --- one test per recogniser of what the user's arrays show ----------------------------

N_BATCH, N_HIDDEN = 4, 4  # as wide: a bias gradient summed over the wrong axis keeps its shape
XS = RNG.standard_normal((N_BATCH, 3))
YS = RNG.standard_normal((N_BATCH, 1))


def mlp(bug=None, lam=0.1):
    """A tanh regression net, dict params, L2 on the weights; `bug` switches one mistake
    in the gradient, as the user's own code would carry it."""
    rng = np.random.default_rng(3)
    p = {
        "W1": 0.5 * rng.standard_normal((3, N_HIDDEN)),
        "b1": 0.3 * rng.standard_normal(N_HIDDEN),
        "W2": 0.5 * rng.standard_normal((N_HIDDEN, 1)),
        "b2": 0.3 * rng.standard_normal(1),
    }

    def loss():
        h = np.tanh(XS @ p["W1"] + p["b1"])
        out = h @ p["W2"] + p["b2"]
        penalty = 0.5 * lam * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
        dout = (out - YS) / N_BATCH
        dz = (dout @ p["W2"].T) * (1 - h**2)
        if bug == "unit-masked":
            dz[:, 1] = 0.0  # a wrong mask shuts unit 1 off in the backward pass only
        grads = {
            "W1": XS.T @ dz + lam * p["W1"],
            "b1": dz.sum(axis=1 if bug == "db1-axis" else 0),
            **({"b1": np.full(N_HIDDEN, dz.sum())} if bug == "db1-every-axis" else {}),
            "W2": h.T @ dout + lam * p["W2"],
            "b2": np.zeros(1) if bug == "b2-zero" else dout.sum(axis=0),
        }
        return 0.5 * np.sum((out - YS) ** 2) / N_BATCH + penalty, grads

    return loss, p


def test_a_bias_gradient_summed_over_the_wrong_axis_is_named_as_layout():
    loss, params = mlp("db1-axis")
    top = diagnose(check_params(loss, params))[0]
    assert top.cause == "layout" and top.arrays == ("b1",)
    assert "wrong axis" in top.message and "sum of numerical" in top.evidence


def test_a_bias_gradient_summed_over_every_axis_and_broadcast_is_named_as_layout():
    loss, params = mlp("db1-every-axis")
    top = diagnose(check_params(loss, params))[0]
    assert top.cause == "layout" and top.arrays == ("b1",)
    assert "in every entry" in top.message


def test_a_whole_array_left_at_zero_is_zeroed_and_not_a_penalty():
    loss, params = mlp("b2-zero")
    top = diagnose(check_params(loss, params))[0]
    assert top.cause == "zeroed" and top.arrays == ("b2",)


def test_zeros_across_a_units_weights_and_bias_are_a_mask_not_a_forgotten_assignment():
    loss, params = mlp("unit-masked", lam=0.0)
    findings = diagnose(check_params(loss, params))
    assert all(f.cause != "zeroed" for f in findings)


def flat_regression(bug):
    """f(theta) over one flat vector: a 3 x 2 weight matrix unrolled with a bias row of
    ones' weights first, L2 on the other rows; `bug` in the gradient."""
    x = np.hstack([np.ones((5, 1)), RNG.standard_normal((5, 2))])
    y = RNG.standard_normal((5, 2))
    theta = 0.5 * np.random.default_rng(4).standard_normal(6)
    lam = 0.2

    def f():
        w = theta.reshape(3, 2)
        r = x @ w - y
        data = x.T @ r / 5
        if bug == "no-1/N":
            data = x.T @ r
        elif bug == "sign":
            data = -data
        grad = data.copy()
        grad[1:] += lam * w[1:]
        if bug == "last-entry-zero":
            grad[-1, -1] = 0.0
        return 0.5 * np.sum(r**2) / 5 + 0.5 * lam * np.sum(w[1:] ** 2), grad.ravel()

    return f, theta


def test_one_zero_entry_in_a_flat_vector_is_zeroed_and_one_entry_proves_no_penalty():
    f, theta = flat_regression("last-entry-zero")
    top = diagnose(check_params(f, theta))[0]
    assert top.cause == "zeroed" and "exactly 0" in top.message
    assert "100%" in top.evidence


def test_a_flat_vector_scaled_under_a_penalty_that_skips_its_first_block_is_a_scale():
    f, theta = flat_regression("no-1/N")
    top = diagnose(check_params(f, theta))[0]
    assert top.cause == "scale" and "5 times" in top.message
    assert "explains over 99.9%" in top.evidence


def test_a_flat_vector_negated_under_a_penalty_that_skips_its_first_block_is_a_sign():
    f, theta = flat_regression("sign")
    top = diagnose(check_params(f, theta))[0]
    assert top.cause == "sign" and "negated" in top.message


def bias_trick(bug):
    """A linear model with the bias as W's last row (CS231n's bias trick); the loss
    leaves that row out of the penalty."""
    x = np.hstack([RNG.standard_normal((6, 3)), np.ones((6, 1))])
    y = RNG.standard_normal((6, 2))
    w = 0.5 * np.random.default_rng(5).standard_normal((4, 2))
    lam = 0.5

    def loss():
        r = x @ w - y
        grad = x.T @ r / 6
        if bug == "skips-first-row":
            grad[1:] += 2 * lam * w[1:]
        elif bug == "ones-in-bias":
            grad += 2 * lam * np.vstack([w[:-1], np.ones((1, 2))])
        return 0.5 * np.sum(r**2) / 6 + lam * np.sum(w[:-1] ** 2), {"W": grad}

    return loss, {"W": w}


def test_a_penalty_on_the_wrong_rows_is_a_regularization_with_both_groups_named():
    loss, params = bias_trick("skips-first-row")
    top = diagnose(check_params(loss, params))[0]
    assert top.cause == "regularization" and top.arrays == ("W",)
    assert "W[0, 0]" in top.message and "W[3, 0]" in top.message
    assert "bias column" not in top.message


def test_a_constant_added_to_some_entries_is_a_regularization():
    loss, params = bias_trick("ones-in-bias")
    top = diagnose(check_params(loss, params))[0]
    assert top.cause == "regularization" and "same constant" in top.message
    assert "analytic - 1 equals numerical" in top.evidence and "explains" in top.evidence


def test_a_crop_that_does_not_offset_the_padding_is_a_shift():
    k = RNG.standard_normal((7, 7))
    x = RNG.standard_normal((5, 5))

    def loss():
        pad = np.pad(x, 1)
        return np.sum(k * pad**2), {"x": 2 * (k * pad)[:5, :5]}  # the bug: [1:-1, 1:-1]

    top = diagnose(check_params(loss, {"x": x}))[0]
    assert top.cause == "layout" and "moved by" in top.message
    assert "x[i+1, j+1]" in top.evidence


def test_gradients_rolled_in_another_order_than_the_parameters_are_named():
    x, y = RNG.standard_normal((3, 2)), RNG.standard_normal((3, 1))
    theta = np.random.default_rng(6).standard_normal(9)

    def loss():
        w1, w2 = theta[:6].reshape(2, 3), theta[6:].reshape(3, 1)
        h = np.tanh(x @ w1)
        r = h @ w2 - y
        dw2 = h.T @ r
        dw1 = x.T @ ((r @ w2.T) * (1 - h**2))
        return 0.5 * np.sum(r**2), np.concatenate([dw2.ravel(), dw1.ravel()])

    top = diagnose(check_params(loss, theta, segments="W1:2x3,W2:3x1"))[0]
    assert top.cause == "layout" and "order W2, W1" in top.message


def test_a_weight_transposed_in_the_backward_product_is_a_layout():
    x = RNG.standard_normal((5, 4))
    weight = RNG.standard_normal((4, 4))
    upstream = RNG.standard_normal((5, 4))

    def loss():
        grads = {"x": upstream @ weight.T, "weight": upstream.T @ x}  # x's: upstream @ weight
        return np.sum(upstream * (x @ weight.T)), grads

    top = diagnose(check_params(loss, {"x": x, "weight": weight}))[0]
    assert top.cause == "layout" and top.arrays == ("x",)
    assert "inv(weight)" in top.evidence and "transpose" in top.message
