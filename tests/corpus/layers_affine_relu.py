"""Modular layers: affine and ReLU, forward and backward, and the affine-relu sandwich.

Each forward returns (out, cache); each backward takes the upstream derivative dout and
that cache and returns the gradients with respect to the forward's inputs. affine_forward
accepts x of any shape (N, d_1, ..., d_k) and flattens it to N x D.

Written for the GradScope corpus in the style of CS231n assignment 2 (layers.py,
layer_utils.py), checked the way its notebook does: against finite differences of
sum(forward(...) * dout) for a random dout.
"""

import numpy as np

BUG = None  # or "relu-mask-from-dout", "dw-transposed", "db-divided-by-N"; also "kink"


def affine_forward(x, w, b):
    N = x.shape[0]
    out = x.reshape(N, -1).dot(w) + b
    cache = (x, w, b)
    return out, cache


def affine_backward(dout, cache):
    x, w, b = cache
    N = x.shape[0]
    x_rows = x.reshape(N, -1)
    dx = dout.dot(w.T).reshape(x.shape)
    if BUG == "dw-transposed":
        dw = dout.T.dot(x_rows)
    else:
        dw = x_rows.T.dot(dout)
    if BUG == "db-divided-by-N":
        db = np.sum(dout, axis=0) / N
    else:
        db = np.sum(dout, axis=0)
    return dx, dw, db


def relu_forward(x):
    out = np.maximum(0, x)
    cache = x
    return out, cache


def relu_backward(dout, cache):
    x = cache
    if BUG == "relu-mask-from-dout":
        dx = dout * (dout > 0)
    else:
        dx = dout * (x > 0)
    return dx


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    return affine_backward(da, fc_cache)


# test the affine_relu sandwich on a small random input
np.random.seed(13)
x = np.random.randn(3, 2, 4)  # N = 3, D = 8
w = np.random.randn(8, 8)
b = np.random.randn(8)
dout = np.random.randn(3, 8)

if BUG == "kink":
    # a checkpoint where unit 0 of example 0 sits exactly at the ReLU's corner
    b[0] = -x.reshape(3, -1)[0].dot(w[:, 0])

out, cache = affine_relu_forward(x, w, b)
dx, dw, db = affine_relu_backward(dout, cache)
