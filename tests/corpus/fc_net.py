"""Two-layer net built from layer functions imported from a helper module (layers.py).

affine - relu - affine - softmax. self.params holds W1, b1, W2, b2; loss(X, y) returns
(loss, grads) with L2 regularisation 0.5 * reg * sum(W^2) on the weights.

Written for the GradScope corpus in the style of CS231n assignment 2 (fc_net.py,
TwoLayerNet using layers.py / layer_utils.py).
"""

import numpy as np
from layers import (
    affine_backward,
    affine_forward,
    affine_relu_backward,
    affine_relu_forward,
    softmax_loss,
)

BUG = None  # or "W1-missing-reg", "backprop-scores-not-dscores", "dscores-divided-twice"


class TwoLayerNet:
    def __init__(
        self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0
    ):
        self.params = {}
        self.reg = reg
        self.params["W1"] = weight_scale * np.random.randn(input_dim, hidden_dim)
        self.params["b1"] = np.zeros(hidden_dim)
        self.params["W2"] = weight_scale * np.random.randn(hidden_dim, num_classes)
        self.params["b2"] = np.zeros(num_classes)

    def loss(self, X, y=None):
        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        h, cache1 = affine_relu_forward(X, W1, b1)
        scores, cache2 = affine_forward(h, W2, b2)
        if y is None:
            return scores

        grads = {}
        loss, dscores = softmax_loss(scores, y)
        if BUG == "dscores-divided-twice":
            dscores /= X.shape[0]  # average over the batch
        loss += 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

        if BUG == "backprop-scores-not-dscores":
            dh, grads["W2"], grads["b2"] = affine_backward(scores, cache2)
        else:
            dh, grads["W2"], grads["b2"] = affine_backward(dscores, cache2)
        _, grads["W1"], grads["b1"] = affine_relu_backward(dh, cache1)

        grads["W2"] += self.reg * W2
        if BUG != "W1-missing-reg":
            grads["W1"] += self.reg * W1
        return loss, grads


np.random.seed(12)
N, D, H, C = 5, 6, 7, 3
X = np.random.randn(N, D)
y = np.random.randint(C, size=N)
model = TwoLayerNet(input_dim=D, hidden_dim=H, num_classes=C, weight_scale=0.5, reg=0.3)
loss, grads = model.loss(X, y)
