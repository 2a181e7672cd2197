"""Naive convolution layer, forward and backward, with explicit loops.

x is (N, C, H, W), the filters w are (F, C, HH, WW), b is (F,). conv_param holds the
stride and the zero padding. conv_forward_naive returns (out, cache) with out of shape
(N, F, H', W'); conv_backward_naive(dout, cache) returns (dx, dw, db).

Written for the GradScope corpus in the style of CS231n assignment 2 (ConvolutionalNetworks:
conv_forward_naive / conv_backward_naive).
"""

import numpy as np

BUG = None  # or "dx-crop-not-offset", "dw-assigned-not-accumulated", "db-averaged"


def conv_forward_naive(x, w, b, conv_param):
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[n, :, i * stride : i * stride + HH, j * stride : j * stride + WW]
                    out[n, f, i, j] = np.sum(window * w[f]) + b[f]
    cache = (x, w, b, conv_param)
    return out, cache


def conv_backward_naive(dout, cache):
    x, w, b, conv_param = cache
    stride, pad = conv_param["stride"], conv_param["pad"]
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    _, _, H_out, W_out = dout.shape
    x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    dx_pad = np.zeros_like(x_pad)
    dw = np.zeros_like(w)

    if BUG == "db-averaged":
        db = dout.mean(axis=(0, 2, 3))
    else:
        db = dout.sum(axis=(0, 2, 3))

    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    window = x_pad[n, :, hs : hs + HH, ws : ws + WW]
                    if BUG == "dw-assigned-not-accumulated":
                        dw[f] = window * dout[n, f, i, j]
                    else:
                        dw[f] += window * dout[n, f, i, j]
                    dx_pad[n, :, hs : hs + HH, ws : ws + WW] += w[f] * dout[n, f, i, j]

    # remove the padding
    if BUG == "dx-crop-not-offset":
        dx = dx_pad[:, :, :H, :W]
    else:
        dx = dx_pad[:, :, pad : pad + H, pad : pad + W]
    return dx, dw, db


np.random.seed(16)
x = np.random.randn(2, 2, 4, 4)
w = np.random.randn(3, 2, 3, 3)
b = np.random.randn(3)
conv_param = {"stride": 1, "pad": 1}
dout = np.random.randn(2, 3, 4, 4)

out, cache = conv_forward_naive(x, w, b, conv_param)
dx, dw, db = conv_backward_naive(dout, cache)
