"""A two-layer fully-connected network with a softmax classifier.

input -> fully connected -> ReLU -> fully connected -> softmax. Weights W1 (D x H) and
W2 (H x C), 1-D biases b1 (H,) and b2 (C,), all kept in the dict self.params. loss(X, y,
reg) returns the data loss plus reg * (||W1||^2 + ||W2||^2) and the gradients in a dict
with the same keys. Biases start at zero, as in the course.

Written for the GradScope corpus in the style of CS231n assignment 1 (TwoLayerNet,
neural_net.py). Toy sizes, like the notebook's init_toy_model.
"""

import numpy as np

BUG = None  # or "reg-grad-missing-2", "relu-mask-from-upstream", "db2-not-averaged",
#              "softmax-over-batch-axis"; "no-max-shift"


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, std=1e-4):
        self.params = {}
        self.params["W1"] = std * np.random.randn(input_size, hidden_size)
        self.params["b1"] = np.zeros(hidden_size)
        self.params["W2"] = std * np.random.randn(hidden_size, output_size)
        self.params["b2"] = np.zeros(output_size)

    def loss(self, X, y=None, reg=0.0):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N, D = X.shape

        # forward pass
        hidden = np.maximum(0, X.dot(W1) + b1)  # N x H
        scores = hidden.dot(W2) + b2  # N x C
        if y is None:
            return scores

        # softmax loss
        if BUG == "no-max-shift":
            exp_scores = np.exp(scores)
        else:
            exp_scores = np.exp(scores - np.max(scores, axis=1, keepdims=True))
        if BUG == "softmax-over-batch-axis":
            probs = exp_scores / np.sum(exp_scores, axis=0, keepdims=True)
        else:
            probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        loss = -np.sum(np.log(probs[np.arange(N), y])) / N
        loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

        # backward pass
        grads = {}
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1  # N x C, not yet divided by N

        grads["W2"] = hidden.T.dot(dscores) / N
        if BUG == "db2-not-averaged":
            grads["b2"] = np.sum(dscores, axis=0)
        else:
            grads["b2"] = np.sum(dscores, axis=0) / N

        dhidden = dscores.dot(W2.T) / N
        if BUG == "relu-mask-from-upstream":
            dhidden[dhidden <= 0] = 0
        else:
            dhidden[hidden <= 0] = 0
        grads["W1"] = X.T.dot(dhidden)
        grads["b1"] = np.sum(dhidden, axis=0)

        if BUG == "reg-grad-missing-2":
            grads["W2"] += reg * W2
            grads["W1"] += reg * W1
        else:
            grads["W2"] += 2 * reg * W2
            grads["W1"] += 2 * reg * W1
        return loss, grads


# a toy model and toy data, to check the implementation
input_size = 5
hidden_size = 8
num_classes = 3
num_inputs = 6

np.random.seed(8)
net = TwoLayerNet(input_size, hidden_size, num_classes, std=1e-1)
X = 5 * np.random.randn(num_inputs, input_size)
y = np.array([0, 1, 2, 2, 1, 0])

loss, grads = net.loss(X, y, reg=0.05)
