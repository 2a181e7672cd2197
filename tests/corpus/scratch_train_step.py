"""A one-hidden-layer binary classifier in NumPy whose backward pass is fused with the SGD step.

net.params holds W1 (D x H), b1 (H,), W2 (H x 1) and b2 (1,). net.loss(X, y) is the
mean binary cross-entropy of the sigmoid output (tanh hidden units). net.train_step(X,
y, learning_rate) runs forward and backward once and returns (grads, new_params): the
gradients of that loss at the current parameters, in a dict with the same keys, and the
parameters after one step of gradient descent. fit() assigns the new parameters; nothing
is changed in place, so the gradients can be checked on their own.

Written for the GradScope corpus in the style of "neural network from scratch" tutorials
and blog posts that update each layer as soon as its gradient is known. A batch of 4
examples and 4 hidden units, as in a hand-worked example.
"""

import numpy as np

BUG = None  # or "hidden-delta-through-updated-W2", "db1-summed-over-units",
#              "grads-not-averaged"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


class TinyNet:
    def __init__(self, n_in, n_hidden, seed=0):
        rng = np.random.RandomState(seed)
        self.params = {
            "W1": rng.randn(n_in, n_hidden) / np.sqrt(n_in),
            "b1": 0.1 * rng.randn(n_hidden),
            "W2": rng.randn(n_hidden, 1) / np.sqrt(n_hidden),
            "b2": 0.1 * rng.randn(1),
        }

    def forward(self, X, params=None):
        p = self.params if params is None else params
        h = np.tanh(X @ p["W1"] + p["b1"])  # N x H
        out = sigmoid(h @ p["W2"] + p["b2"])[:, 0]  # N
        return h, out

    def loss(self, X, y):
        _, out = self.forward(X)
        return -np.mean(y * np.log(out) + (1 - y) * np.log(1 - out))

    def train_step(self, X, y, learning_rate):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N = X.shape[0]
        h, out = self.forward(X)

        # output layer: dL/dz2 for the mean cross-entropy of a sigmoid
        if BUG == "grads-not-averaged":
            dz2 = (out - y)[:, None]
        else:
            dz2 = (out - y)[:, None] / N  # N x 1
        dW2 = h.T @ dz2
        db2 = dz2.sum(axis=0)
        new_W2 = W2 - learning_rate * dW2
        new_b2 = b2 - learning_rate * db2

        # hidden layer
        if BUG == "hidden-delta-through-updated-W2":
            dh = dz2 @ new_W2.T
        else:
            dh = dz2 @ W2.T  # N x H
        dz1 = dh * (1 - h**2)
        dW1 = X.T @ dz1
        if BUG == "db1-summed-over-units":
            db1 = dz1.sum(axis=1)
        else:
            db1 = dz1.sum(axis=0)
        new_W1 = W1 - learning_rate * dW1
        new_b1 = b1 - learning_rate * db1

        grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}
        new_params = {"W1": new_W1, "b1": new_b1, "W2": new_W2, "b2": new_b2}
        return grads, new_params

    def fit(self, X, y, learning_rate=0.5, epochs=100):
        for _ in range(epochs):
            _, self.params = self.train_step(X, y, learning_rate)


np.random.seed(21)
X = np.random.randn(4, 3)
y = np.array([0.0, 1.0, 1.0, 0.0])
learning_rate = 0.5
net = TinyNet(3, 4, seed=5)
grads, _ = net.train_step(X, y, learning_rate)
