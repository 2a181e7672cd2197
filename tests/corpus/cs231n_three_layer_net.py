"""A three-layer fully-connected network: {affine - relu} x 2 - affine - softmax.

Parameters W1, b1, W2, b2, W3, b3 in self.params (weights D x H, 1-D biases, biases
initialised to zero). loss(X, y) returns (loss, grads) with L2 regularisation
0.5 * reg * sum(W^2) on the weights only; the regularisation strength lives in self.reg.

Written for the GradScope corpus in the style of CS231n assignment 2 (FullyConnectedNet
with two hidden layers, written out by hand without the layer helpers).
"""

import numpy as np

BUG = None  # or "relu2-missing-upstream", "softmax-grad-sign", "b2-grad-not-filled",
#              "db1-mean"; "reg-biases"


def softmax(scores, y):
    """Average cross-entropy loss and its gradient with respect to the scores."""
    N = scores.shape[0]
    shifted = scores - scores.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.sum(np.exp(shifted), axis=1, keepdims=True))
    probs = np.exp(log_probs)
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    onehot = np.zeros_like(probs)
    onehot[np.arange(N), y] = 1
    if BUG == "softmax-grad-sign":
        dscores = (onehot - probs) / N
    else:
        dscores = (probs - onehot) / N
    return loss, dscores


class ThreeLayerNet:
    def __init__(self, input_dim, hidden_dims, num_classes, weight_scale=1e-2, reg=0.0):
        self.reg = reg
        self.params = {}
        dims = [input_dim] + list(hidden_dims) + [num_classes]
        for i in range(3):
            self.params[f"W{i + 1}"] = weight_scale * np.random.randn(dims[i], dims[i + 1])
            self.params[f"b{i + 1}"] = np.zeros(dims[i + 1])

    def loss(self, X, y=None):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        W3, b3 = self.params["W3"], self.params["b3"]

        a1 = X.dot(W1) + b1
        h1 = np.maximum(0, a1)
        a2 = h1.dot(W2) + b2
        h2 = np.maximum(0, a2)
        scores = h2.dot(W3) + b3
        if y is None:
            return scores

        grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        loss, dscores = softmax(scores, y)
        loss += 0.5 * self.reg * (np.sum(W1**2) + np.sum(W2**2) + np.sum(W3**2))

        grads["W3"] = h2.T.dot(dscores)
        grads["b3"] = dscores.sum(axis=0)
        dh2 = dscores.dot(W3.T)

        if BUG == "relu2-missing-upstream":
            da2 = (a2 > 0).astype(float)
        else:
            da2 = dh2 * (a2 > 0)
        grads["W2"] = h1.T.dot(da2)
        if BUG != "b2-grad-not-filled":
            grads["b2"] = da2.sum(axis=0)
        dh1 = da2.dot(W2.T)

        da1 = dh1 * (a1 > 0)
        grads["W1"] = X.T.dot(da1)
        if BUG == "db1-mean":
            grads["b1"] = da1.mean(axis=0)
        else:
            grads["b1"] = da1.sum(axis=0)

        for k in ("W1", "W2", "W3"):
            grads[k] += self.reg * self.params[k]
        if BUG == "reg-biases":
            for k in ("b1", "b2", "b3"):
                grads[k] += self.reg * self.params[k]
        return loss, grads


np.random.seed(9)
N, D, H1, H2, C = 7, 5, 6, 5, 4
X = np.random.randn(N, D)
y = np.random.randint(C, size=N)

model = ThreeLayerNet(D, [H1, H2], C, weight_scale=5e-1, reg=0.1)
loss, grads = model.loss(X, y)
