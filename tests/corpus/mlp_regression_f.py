"""A one-hidden-layer tanh network for regression, as cost(theta) and grad(theta).

All weights are packed into one vector theta = [W1, b1, W2, b2] (W1 is n_in x n_hidden,
row-major) so that scipy.optimize.minimize(cost, theta, jac=grad) can train it. Mean
squared error over the N examples held at module level, computed as r.T @ r / N: cost
returns a 1 x 1 array, not a float.

Written for the GradScope corpus in the style of "from scratch" tutorials that pack a
small MLP into a flat vector for scipy.optimize (f(theta) -> J with a separate gradient).
"""

import numpy as np

BUG = None  # or "tanh-derivative-of-z", "mse-missing-factor-2", "b2-grad-missing";
#              also "float32"

np.random.seed(7)
N, n_in, n_hidden = 10, 3, 4
X = np.random.randn(N, n_in)
t = np.sin(X.sum(axis=1, keepdims=True))  # targets, N x 1

shapes = [(n_in, n_hidden), (n_hidden,), (n_hidden, 1), (1,)]


def unpack(theta):
    parts, i = [], 0
    for s in shapes:
        size = int(np.prod(s))
        parts.append(theta[i : i + size].reshape(s))
        i += size
    return parts


def predict(theta, X):
    W1, b1, W2, b2 = unpack(theta)
    return np.tanh(X @ W1 + b1) @ W2 + b2


def cost(theta):
    r = predict(theta, X) - t  # N x 1 residuals
    return r.T @ r / N  # a 1 x 1 array


def grad(theta):
    W1, b1, W2, b2 = unpack(theta)
    Z = X @ W1 + b1
    A = np.tanh(Z)
    out = A @ W2 + b2

    # d/d out of mean((out - t)^2)
    if BUG == "mse-missing-factor-2":
        dout = (out - t) / N
    else:
        dout = 2 * (out - t) / N
    dW2 = A.T @ dout
    db2 = dout.sum(axis=0)
    if BUG == "b2-grad-missing":
        db2 = np.zeros(1)  # TODO: bias of the output

    dA = dout @ W2.T
    if BUG == "tanh-derivative-of-z":
        dZ = dA * (1 - Z**2)
    else:
        dZ = dA * (1 - A**2)
    dW1 = X.T @ dZ
    db1 = dZ.sum(axis=0)
    return np.concatenate([dW1.ravel(), db1, dW2.ravel(), db2])


theta = np.concatenate([0.5 * np.random.randn(int(np.prod(s))) for s in shapes])

if BUG == "float32":
    # single precision everywhere, as a GPU port would have it
    X, t, theta = X.astype(np.float32), t.astype(np.float32), theta.astype(np.float32)
