"""A vanilla RNN over a whole sequence: forward and backward.

x is (N, T, D) (a minibatch of N sequences of T input vectors), h0 the initial hidden
state (N, H); Wx (D, H), Wh (H, H), b (H,). Every step computes
next_h = tanh(prev_h @ Wh + x_t @ Wx + b). rnn_forward returns all hidden states h
(N, T, H) and a cache; rnn_backward(dh, cache) takes the upstream gradient of every
hidden state and returns (dx, dh0, dWx, dWh, db).

Written for the GradScope corpus in the style of CS231n assignment 3 (rnn_layers.py:
rnn_step_forward / rnn_step_backward / rnn_forward / rnn_backward).
"""

import numpy as np

BUG = None  # or "no-dnext-carry", "dWh-transposed", "dh0-zero"


def rnn_step_forward(x, prev_h, Wx, Wh, b):
    next_h = np.tanh(prev_h.dot(Wh) + x.dot(Wx) + b)
    cache = (x, prev_h, Wx, Wh, next_h)
    return next_h, cache


def rnn_step_backward(dnext_h, cache):
    x, prev_h, Wx, Wh, next_h = cache
    da = dnext_h * (1 - next_h**2)  # tanh'
    dx = da.dot(Wx.T)
    dprev_h = da.dot(Wh.T)
    dWx = x.T.dot(da)
    if BUG == "dWh-transposed":
        dWh = da.T.dot(prev_h)
    else:
        dWh = prev_h.T.dot(da)
    db = da.sum(axis=0)
    return dx, dprev_h, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    N, T, D = x.shape
    H = h0.shape[1]
    h = np.zeros((N, T, H))
    cache = []
    prev_h = h0
    for t in range(T):
        prev_h, step_cache = rnn_step_forward(x[:, t, :], prev_h, Wx, Wh, b)
        h[:, t, :] = prev_h
        cache.append(step_cache)
    return h, cache


def rnn_backward(dh, cache):
    N, T, H = dh.shape
    D = cache[0][0].shape[1]
    dx = np.zeros((N, T, D))
    dWx = np.zeros((D, H))
    dWh = np.zeros((H, H))
    db = np.zeros(H)
    dprev_h = np.zeros((N, H))
    for t in reversed(range(T)):
        # the hidden state at t gets gradient from the output at t and from step t+1
        if BUG == "no-dnext-carry":
            dcurrent = dh[:, t, :]
        else:
            dcurrent = dh[:, t, :] + dprev_h
        dx_t, dprev_h, dWx_t, dWh_t, db_t = rnn_step_backward(dcurrent, cache[t])
        dx[:, t, :] = dx_t
        dWx += dWx_t
        dWh += dWh_t
        db += db_t
    if BUG == "dh0-zero":
        dh0 = np.zeros((N, H))  # h0 is not learned anyway
    else:
        dh0 = dprev_h
    return dx, dh0, dWx, dWh, db


np.random.seed(15)
N, T, D, H = 2, 4, 3, 5
x = np.random.randn(N, T, D)
h0 = np.random.randn(N, H)
Wx = 0.5 * np.random.randn(D, H)
Wh = 0.5 * np.random.randn(H, H)
b = 0.1 * np.random.randn(H)
dh = np.random.randn(N, T, H)

h, cache = rnn_forward(x, h0, Wx, Wh, b)
dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)
