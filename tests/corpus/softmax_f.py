"""Softmax regression written as one function f(theta) -> (J, grad).

The data live at module level; theta is the weight matrix W ((n+1) x K, row 0 for the
intercept feature) flattened, so that f can go straight into
scipy.optimize.minimize(f, theta, jac=True). L2 penalty on everything but the intercept.

Written for the GradScope corpus in the style of "f(theta) returns cost and gradient"
code written for scipy.optimize (UFLDL softmax exercise, scipy-based course ports).
"""

import numpy as np

BUG = None  # or "grad-no-1/N", "grad-transposed", "residual-sign", "grad-missing-reg";
#              also "no-max-shift", "float32"

np.random.seed(6)
N, n, K = 12, 4, 3
X = np.hstack([np.ones((N, 1)), np.random.randn(N, n)])  # intercept feature first
y = np.random.randint(0, K, size=N)
Y = np.eye(K)[y]
lam = 0.1
theta = 0.5 * np.random.randn((n + 1) * K)

if BUG == "float32":
    # "to save memory", as on a GPU
    X = X.astype(np.float32)
    Y = Y.astype(np.float32)
    theta = theta.astype(np.float32)


def softmax(S):
    if BUG == "no-max-shift":
        E = np.exp(S)
    else:
        E = np.exp(S - S.max(axis=1, keepdims=True))  # avoid overflow
    return E / E.sum(axis=1, keepdims=True)


def f(theta):
    W = theta.reshape(n + 1, K)
    P = softmax(X @ W)
    J = -np.sum(Y * np.log(P)) / N + 0.5 * lam * np.sum(W[1:] ** 2)

    if BUG == "grad-no-1/N":
        G = X.T @ (P - Y)
    elif BUG == "residual-sign":
        G = X.T @ (Y - P) / N
    elif BUG == "grad-transposed":
        G = (P - Y).T @ X / N  # K x (n+1)
    else:
        G = X.T @ (P - Y) / N
    if BUG == "grad-transposed":
        G[:, 1:] += lam * W[1:].T
    elif BUG != "grad-missing-reg":
        G[1:] += lam * W[1:]
    return float(J), G.ravel()  # scipy wants a float


J0, g0 = f(theta)
