"""Planar data classification with one hidden layer (tanh hidden, sigmoid output).

Column convention: X is (n_x, m), one example per column, Y is (1, m). The parameters
live in a dict {"W1": (n_h, n_x), "b1": (n_h, 1), "W2": (n_y, n_h), "b2": (n_y, 1)};
forward_propagation returns A2 and a cache, compute_cost the cross-entropy, and
backward_propagation a dict of gradients keyed "dW1", "db1", "dW2", "db2".

Written for the GradScope corpus in the style of the deeplearning.ai "Neural Networks
and Deep Learning" course, week 3 programming assignment (planar data classification
with one hidden layer). The data set is a small two-petal "flower" of 8 points.
"""

import numpy as np

BUG = None  # or "tanh-derivative-1-minus-A1", "dW2-missing-1/m", "cost-missing-minus",
#              "cost-log-A2-twice"


def load_flower(m=8, seed=1):
    """m points in the plane, label 1 on the petals along one diagonal, 0 elsewhere."""
    rng = np.random.RandomState(seed)
    angles = np.linspace(0, 2 * np.pi, m, endpoint=False) + 0.3 * rng.randn(m)
    radius = 2.0 + np.abs(np.sin(2 * angles)) + 0.2 * rng.randn(m)
    X = np.vstack([radius * np.cos(angles), radius * np.sin(angles)])  # (2, m)
    Y = (np.sin(2 * angles) > 0).astype(float).reshape(1, m)  # (1, m)
    return X, Y


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def layer_sizes(X, Y, n_h=4):
    n_x = X.shape[0]  # size of input layer
    n_y = Y.shape[0]  # size of output layer
    return n_x, n_h, n_y


def initialize_parameters(n_x, n_h, n_y):
    np.random.seed(2)
    W1 = np.random.randn(n_h, n_x) * 0.5
    b1 = np.random.randn(n_h, 1) * 0.1
    W2 = np.random.randn(n_y, n_h) * 0.5
    b2 = np.random.randn(n_y, 1) * 0.1
    assert W1.shape == (n_h, n_x)
    assert b1.shape == (n_h, 1)
    assert W2.shape == (n_y, n_h)
    assert b2.shape == (n_y, 1)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def forward_propagation(X, parameters):
    W1 = parameters["W1"]
    b1 = parameters["b1"]
    W2 = parameters["W2"]
    b2 = parameters["b2"]

    Z1 = np.dot(W1, X) + b1
    A1 = np.tanh(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = sigmoid(Z2)

    assert A2.shape == (1, X.shape[1])
    cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
    return A2, cache


def compute_cost(A2, Y):
    m = Y.shape[1]  # number of examples
    if BUG == "cost-log-A2-twice":
        logprobs = np.multiply(np.log(A2), Y) + np.multiply(1 - Y, np.log(A2))
    else:
        logprobs = np.multiply(np.log(A2), Y) + np.multiply(1 - Y, np.log(1 - A2))
    if BUG == "cost-missing-minus":
        cost = 1 / m * np.sum(logprobs)
    else:
        cost = -1 / m * np.sum(logprobs)
    cost = float(np.squeeze(cost))  # makes sure cost is the dimension we expect
    return cost


def backward_propagation(parameters, cache, X, Y):
    m = X.shape[1]
    W2 = parameters["W2"]
    A1 = cache["A1"]
    A2 = cache["A2"]

    dZ2 = A2 - Y
    if BUG == "dW2-missing-1/m":
        dW2 = np.dot(dZ2, A1.T)
    else:
        dW2 = 1 / m * np.dot(dZ2, A1.T)
    db2 = 1 / m * np.sum(dZ2, axis=1, keepdims=True)
    if BUG == "tanh-derivative-1-minus-A1":
        dZ1 = np.dot(W2.T, dZ2) * (1 - A1)
    else:
        dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))
    dW1 = 1 / m * np.dot(dZ1, X.T)
    db1 = 1 / m * np.sum(dZ1, axis=1, keepdims=True)

    grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
    return grads


def update_parameters(parameters, grads, learning_rate=1.2):
    return {k: parameters[k] - learning_rate * grads["d" + k] for k in parameters}


def nn_model(X, Y, n_h, num_iterations=10000, print_cost=False):
    n_x, n_h, n_y = layer_sizes(X, Y, n_h)
    parameters = initialize_parameters(n_x, n_h, n_y)
    for i in range(num_iterations):
        A2, cache = forward_propagation(X, parameters)
        cost = compute_cost(A2, Y)
        grads = backward_propagation(parameters, cache, X, Y)
        parameters = update_parameters(parameters, grads)
        if print_cost and i % 1000 == 0:
            print(f"Cost after iteration {i}: {cost:f}")
    return parameters


X, Y = load_flower()
n_x, n_h, n_y = layer_sizes(X, Y)
parameters = initialize_parameters(n_x, n_h, n_y)
A2, cache = forward_propagation(X, parameters)
cost = compute_cost(A2, Y)
grads = backward_propagation(parameters, cache, X, Y)

if __name__ == "__main__":
    trained = nn_model(X, Y, n_h=4, num_iterations=2000, print_cost=True)
    predictions = forward_propagation(X, trained)[0] > 0.5
    print("Accuracy:", float(np.mean(predictions == Y)))
