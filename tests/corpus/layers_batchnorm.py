"""Batch normalization, forward and backward (training mode), step by step.

batchnorm_forward(x, gamma, beta, bn_param) normalises each feature of x (N x D) over
the batch, then scales by gamma and shifts by beta; it returns (out, cache) and updates
the running averages in bn_param. batchnorm_backward(dout, cache) returns
(dx, dgamma, dbeta), following the computational graph node by node.

Written for the GradScope corpus in the style of CS231n assignment 2 (BatchNormalization,
batchnorm_forward / batchnorm_backward).
"""

import numpy as np

BUG = None  # or "missing-dvar-term", "dgamma-uses-x", "dbeta-averaged"


def batchnorm_forward(x, gamma, beta, bn_param):
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D))
    running_var = bn_param.get("running_var", np.zeros(D))

    mu = x.mean(axis=0)
    xc = x - mu
    var = np.mean(xc**2, axis=0)
    std = np.sqrt(var + eps)
    xhat = xc / std
    out = gamma * xhat + beta

    bn_param["running_mean"] = momentum * running_mean + (1 - momentum) * mu
    bn_param["running_var"] = momentum * running_var + (1 - momentum) * var
    cache = (x, xc, std, xhat, gamma)
    return out, cache


def batchnorm_backward(dout, cache):
    x, xc, std, xhat, gamma = cache
    N = x.shape[0]

    if BUG == "dbeta-averaged":
        dbeta = dout.mean(axis=0)
    else:
        dbeta = dout.sum(axis=0)
    if BUG == "dgamma-uses-x":
        dgamma = np.sum(dout * x, axis=0)
    else:
        dgamma = np.sum(dout * xhat, axis=0)

    dxhat = dout * gamma
    # xhat = xc / std, std = sqrt(var + eps), var = mean(xc^2), xc = x - mu
    dxc = dxhat / std
    dstd = -np.sum(dxhat * xc, axis=0) / std**2
    dvar = 0.5 * dstd / std
    if BUG != "missing-dvar-term":
        dxc += 2 * xc * dvar / N
    dmu = -np.sum(dxc, axis=0)
    dx = dxc + dmu / N
    return dx, dgamma, dbeta


np.random.seed(14)
N, D = 6, 4
x = 3 * np.random.randn(N, D) + 2
gamma = np.random.randn(D)
beta = np.random.randn(D)
bn_param = {"mode": "train"}
dout = np.random.randn(N, D)

out, cache = batchnorm_forward(x, gamma, beta, bn_param)
dx, dgamma, dbeta = batchnorm_backward(dout, cache)
