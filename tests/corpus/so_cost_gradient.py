"""Neural network for fmin_cg: computeCost(theta, ...) and gradient(theta, *args).

One hidden layer of sigmoid units. theta holds Theta1 (num_hidden x num_inputs+1) then
Theta2 (num_labels x num_hidden+1), each flattened row by row; column 0 multiplies the
bias unit. Labels are 0..num_labels-1. The gradient loops over the examples, the way
the backprop algorithm is usually written down.

Written for the GradScope corpus in the style of the question GradScope was founded on
(a Stack Overflow post: computeCost(theta, X, y, num_inputs, num_hidden, num_labels, lamb)
and gradient(theta, *args) passed to scipy's fmin_cg).
"""

import numpy as np

BUG = None  # or "grad-missing-reg", "tanh-derivative-for-sigmoid", "theta1-not-averaged",
#              "sigmoid-gradient-of-z2"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def reshape_theta(theta, num_inputs, num_hidden, num_labels):
    n = num_hidden * (num_inputs + 1)
    theta1 = np.reshape(theta[:n], (num_hidden, num_inputs + 1))
    theta2 = np.reshape(theta[n:], (num_labels, num_hidden + 1))
    return theta1, theta2


def one_hot(label, num_labels):
    v = np.zeros(num_labels)
    v[label] = 1.0
    return v


def computeCost(theta, X, y, num_inputs, num_hidden, num_labels, lamb):
    theta1, theta2 = reshape_theta(theta, num_inputs, num_hidden, num_labels)
    m = X.shape[0]
    J = 0.0
    for i in range(m):
        a1 = np.insert(X[i], 0, 1)
        a2 = np.insert(sigmoid(theta1.dot(a1)), 0, 1)
        h = sigmoid(theta2.dot(a2))
        yi = one_hot(y[i], num_labels)
        J += -np.sum(yi * np.log(h) + (1 - yi) * np.log(1 - h))
    J = J / m
    J += lamb / (2.0 * m) * (np.sum(theta1[:, 1:] ** 2) + np.sum(theta2[:, 1:] ** 2))
    return J


def gradient(theta, *args):
    X, y, num_inputs, num_hidden, num_labels, lamb = args
    theta1, theta2 = reshape_theta(theta, num_inputs, num_hidden, num_labels)
    m = X.shape[0]
    D1 = np.zeros(theta1.shape)
    D2 = np.zeros(theta2.shape)
    for i in range(m):
        # forward
        a1 = np.insert(X[i], 0, 1)
        z2 = theta1.dot(a1)
        a2 = np.insert(sigmoid(z2), 0, 1)
        a3 = sigmoid(theta2.dot(a2))
        # backward
        d3 = a3 - one_hot(y[i], num_labels)
        if BUG == "tanh-derivative-for-sigmoid":
            d2 = theta2[:, 1:].T.dot(d3) * (1 - a2[1:] ** 2)
        elif BUG == "sigmoid-gradient-of-z2":
            d2 = theta2[:, 1:].T.dot(d3) * z2 * (1 - z2)
        else:
            d2 = theta2[:, 1:].T.dot(d3) * a2[1:] * (1 - a2[1:])
        D1 += np.outer(d2, a1)
        D2 += np.outer(d3, a2)

    if BUG == "theta1-not-averaged":
        grad1 = D1
    else:
        grad1 = D1 / m
    grad2 = D2 / m
    if BUG != "grad-missing-reg":
        grad1[:, 1:] += (lamb / m) * theta1[:, 1:]
        grad2[:, 1:] += (lamb / m) * theta2[:, 1:]
    return np.concatenate((grad1.flatten(), grad2.flatten()))


np.random.seed(4)
num_inputs = 3
num_hidden = 4
num_labels = 3
lamb = 0.5
X = np.random.randn(6, num_inputs)
y = np.array([0, 1, 2, 2, 1, 0])
theta = np.random.uniform(-0.5, 0.5, num_hidden * (num_inputs + 1) + num_labels * (num_hidden + 1))


if __name__ == "__main__":
    from scipy.optimize import fmin_cg

    args = (X, y, num_inputs, num_hidden, num_labels, lamb)
    theta_opt = fmin_cg(computeCost, theta, fprime=gradient, args=args, maxiter=50)
