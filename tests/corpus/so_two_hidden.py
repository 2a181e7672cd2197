"""The same computeCost / gradient pair, grown to two hidden layers.

num_hidden is now a list of hidden layer sizes. theta is every Theta_l flattened row by
row, one after the other; Theta_l has a bias column 0. Labels 0..num_labels-1, sigmoid
everywhere, cross-entropy cost with L2 regularisation of the non-bias weights.

Written for the GradScope corpus in the style of the question GradScope was founded on
(Stack Overflow: computeCost(theta, X, y, num_inputs, num_hidden, num_labels, lamb) and
gradient(...) for scipy's fmin_cg), extended the way its askers extend it.
"""

import numpy as np

BUG = None  # or "hidden-delta-skips-sigmoid-gradient", "output-delta-sign", "reg-loop-starts-at-1"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_gradient(z):
    s = sigmoid(z)
    return s * (1 - s)


def unpack(theta, num_inputs, num_hidden, num_labels):
    sizes = [num_inputs] + list(num_hidden) + [num_labels]
    thetas = []
    start = 0
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        stop = start + n_out * (n_in + 1)
        thetas.append(theta[start:stop].reshape(n_out, n_in + 1))
        start = stop
    return thetas


def add_ones(a):
    return np.hstack([np.ones((a.shape[0], 1)), a])


def computeCost(theta, X, y, num_inputs, num_hidden, num_labels, lamb):
    Theta1, Theta2, Theta3 = unpack(theta, num_inputs, num_hidden, num_labels)
    m = len(X)
    Y = np.eye(num_labels)[y]
    h = sigmoid(add_ones(sigmoid(add_ones(sigmoid(add_ones(X) @ Theta1.T)) @ Theta2.T)) @ Theta3.T)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    for T in (Theta1, Theta2, Theta3):
        J += lamb / (2 * m) * np.sum(T[:, 1:] ** 2)
    return J


def gradient(theta, X, y, num_inputs, num_hidden, num_labels, lamb):
    thetas = unpack(theta, num_inputs, num_hidden, num_labels)
    Theta1, Theta2, Theta3 = thetas
    m = len(X)
    Y = np.eye(num_labels)[y]

    a1 = add_ones(X)
    z2 = a1 @ Theta1.T
    a2 = add_ones(sigmoid(z2))
    z3 = a2 @ Theta2.T
    a3 = add_ones(sigmoid(z3))
    a4 = sigmoid(a3 @ Theta3.T)

    if BUG == "output-delta-sign":
        d4 = Y - a4
    else:
        d4 = a4 - Y
    if BUG == "hidden-delta-skips-sigmoid-gradient":
        d3 = d4 @ Theta3[:, 1:]
    else:
        d3 = (d4 @ Theta3[:, 1:]) * sigmoid_gradient(z3)
    d2 = (d3 @ Theta2[:, 1:]) * sigmoid_gradient(z2)

    grads = [d2.T @ a1 / m, d3.T @ a2 / m, d4.T @ a3 / m]
    first = 1 if BUG == "reg-loop-starts-at-1" else 0
    for i in range(first, len(grads)):
        grads[i][:, 1:] += lamb / m * thetas[i][:, 1:]
    return np.concatenate([g.ravel() for g in grads])


np.random.seed(5)
num_inputs = 4
num_hidden = [5, 4]
num_labels = 3
lamb = 1.0
X = np.random.randn(7, num_inputs)
y = np.random.randint(0, num_labels, 7)

n_params = sum(
    n_out * (n_in + 1) for n_in, n_out in zip([num_inputs] + num_hidden, num_hidden + [num_labels])
)
theta = np.random.randn(n_params) * 0.5
