"""Softmax classifier loss, naive (with loops) and vectorized.

W is D x C; X is N x D with a constant 1 appended to every row (the "bias trick"), so
the last row of W holds the biases. Both functions return (loss, dW) with L2
regularisation reg * sum(W^2).

Written for the GradScope corpus in the style of CS231n assignment 1 (softmax.py:
softmax_loss_naive / softmax_loss_vectorized).
"""

import numpy as np

BUG = None  # or "dW-not-averaged", "reg-grad-missing-2", "correct-class-sign"; "no-max-shift"


def softmax_loss_naive(W, X, y, reg):
    loss = 0.0
    dW = np.zeros_like(W)
    num_train = X.shape[0]
    num_classes = W.shape[1]

    for i in range(num_train):
        scores = X[i].dot(W)
        if BUG != "no-max-shift":
            scores -= np.max(scores)  # numeric stability
        p = np.exp(scores) / np.sum(np.exp(scores))
        loss += -np.log(p[y[i]])
        for j in range(num_classes):
            dW[:, j] += p[j] * X[i]
        if BUG == "correct-class-sign":
            dW[:, y[i]] += X[i]
        else:
            dW[:, y[i]] -= X[i]

    loss /= num_train
    if BUG != "dW-not-averaged":
        dW /= num_train

    loss += reg * np.sum(W * W)
    if BUG == "reg-grad-missing-2":
        dW += reg * W
    else:
        dW += 2 * reg * W
    return loss, dW


def softmax_loss_vectorized(W, X, y, reg):
    num_train = X.shape[0]
    scores = X.dot(W)
    scores -= scores.max(axis=1, keepdims=True)
    p = np.exp(scores)
    p /= p.sum(axis=1, keepdims=True)
    loss = -np.log(p[np.arange(num_train), y]).sum() / num_train + reg * np.sum(W * W)
    p[np.arange(num_train), y] -= 1
    dW = X.T.dot(p) / num_train + 2 * reg * W
    return loss, dW


np.random.seed(10)
num_classes = 4
X_dev = np.random.randn(8, 5)
X_dev = np.hstack([X_dev, np.ones((X_dev.shape[0], 1))])  # bias trick
y_dev = np.random.randint(num_classes, size=8)

# small random weights, as in the notebook
W = np.random.randn(X_dev.shape[1], num_classes) * 0.01
reg = 5.0

loss, grad = softmax_loss_naive(W, X_dev, y_dev, reg)
loss_vec, grad_vec = softmax_loss_vectorized(W, X_dev, y_dev, reg)
