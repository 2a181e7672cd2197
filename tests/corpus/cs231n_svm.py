"""Multiclass SVM (hinge) loss, vectorized, with the gradient.

W is D x C; X has a constant 1 appended to every row (bias trick), so the last row of W
is the bias. The margin is delta = 1. L2 regularisation reg * sum(W^2) on the weights,
not on the bias row.

Written for the GradScope corpus in the style of CS231n assignment 1 (linear_svm.py:
svm_loss_vectorized).
"""

import numpy as np

BUG = None  # or "correct-class-count-once", "reg-grad-includes-bias-row",
#              "mask-without-delta", "reg-grad-skips-first-row"; "kink"


def svm_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    correct = scores[np.arange(num_train), y][:, np.newaxis]
    margins = np.maximum(0, scores - correct + 1.0)  # delta = 1
    margins[np.arange(num_train), y] = 0
    loss = np.sum(margins) / num_train + reg * np.sum(W[:-1] * W[:-1])

    # gradient: +x_i for every class with a positive margin, -count * x_i for y_i
    if BUG == "mask-without-delta":
        binary = (scores - correct > 0).astype(float)
    else:
        binary = (margins > 0).astype(float)
    binary[np.arange(num_train), y] = 0
    counts = binary.sum(axis=1)
    if BUG == "correct-class-count-once":
        binary[np.arange(num_train), y] = -1
    else:
        binary[np.arange(num_train), y] = -counts
    dW = X.T.dot(binary) / num_train

    if BUG == "reg-grad-includes-bias-row":
        dW += 2 * reg * W
    elif BUG == "reg-grad-skips-first-row":
        dW[1:] += 2 * reg * W[1:]
    else:
        dW[:-1] += 2 * reg * W[:-1]
    return loss, dW


np.random.seed(11)
num_classes = 3
X_dev = np.hstack([np.random.randn(10, 4), np.ones((10, 1))])
y_dev = np.random.randint(num_classes, size=10)
W = np.random.randn(5, num_classes) * 0.3
reg = 0.5

if BUG == "kink":
    # weights from a checkpoint where example 0 sits exactly on the margin of class j
    j = (y_dev[0] + 1) % num_classes
    s = X_dev[0].dot(W)
    W[:, j] += (s[y_dev[0]] - 1.0 - s[j]) * X_dev[0] / X_dev[0].dot(X_dev[0])

loss, grad = svm_loss_vectorized(W, X_dev, y_dev, reg)
