"""ex4 (neural network learning), ported from Octave to NumPy.

nnCostFunction implements the cost and the gradient of a two-layer sigmoid network
for multi-class classification. Like the Octave original, the weights are "unrolled"
column by column (Octave's Theta1(:)), so every reshape and every unroll below uses
order='F'. The labels are 1..num_labels, as in ex4data1.mat.

Written for the GradScope corpus in the style of a Coursera ML ex4 port.
"""

import numpy as np

# Which version of the code runs: None is the working one. The others are mistakes
# people make in this exercise, see tests/corpus/manifest.py.
BUG = None  # or "grad-unrolled-C", "reg-bias-column", "sigmoid-gradient-of-a2",
#              "reg-cost-includes-bias"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoidGradient(z):
    # g'(z) = g(z) * (1 - g(z))
    g = sigmoid(z)
    return g * (1 - g)


def randInitializeWeights(L_in, L_out, epsilon_init=0.12):
    # break the symmetry: weights uniform in [-epsilon_init, epsilon_init]
    return np.random.rand(L_out, 1 + L_in) * 2 * epsilon_init - epsilon_init


def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_):
    # Reshape nn_params back into Theta1 and Theta2 (column-major, as Octave unrolled them)
    Theta1 = np.reshape(
        nn_params[: hidden_layer_size * (input_layer_size + 1)],
        (hidden_layer_size, input_layer_size + 1),
        order="F",
    )
    Theta2 = np.reshape(
        nn_params[hidden_layer_size * (input_layer_size + 1) :],
        (num_labels, hidden_layer_size + 1),
        order="F",
    )
    m = X.shape[0]

    # ---- Part 1: feedforward and cost ----
    a1 = np.concatenate([np.ones((m, 1)), X], axis=1)
    z2 = a1 @ Theta1.T
    a2 = np.concatenate([np.ones((m, 1)), sigmoid(z2)], axis=1)
    z3 = a2 @ Theta2.T
    a3 = sigmoid(z3)

    # y is 1..K: label k is column k-1 of the one-hot matrix
    y_matrix = np.eye(num_labels)[y - 1]

    J = (-1 / m) * np.sum(y_matrix * np.log(a3) + (1 - y_matrix) * np.log(1 - a3))
    # regularization: not for the first column (the bias weights)
    if BUG == "reg-cost-includes-bias":
        J += (lambda_ / (2 * m)) * (np.sum(Theta1**2) + np.sum(Theta2**2))
    else:
        J += (lambda_ / (2 * m)) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))

    # ---- Part 2: backpropagation ----
    delta3 = a3 - y_matrix
    if BUG == "sigmoid-gradient-of-a2":
        delta2 = (delta3 @ Theta2)[:, 1:] * sigmoidGradient(a2[:, 1:])
    else:
        delta2 = (delta3 @ Theta2)[:, 1:] * sigmoidGradient(z2)

    Delta1 = delta2.T @ a1
    Delta2 = delta3.T @ a2
    Theta1_grad = Delta1 / m
    Theta2_grad = Delta2 / m

    # ---- Part 3: regularized gradient ----
    if BUG == "reg-bias-column":
        Theta1_grad += (lambda_ / m) * Theta1
        Theta2_grad += (lambda_ / m) * Theta2
    else:
        Theta1_grad[:, 1:] += (lambda_ / m) * Theta1[:, 1:]
        Theta2_grad[:, 1:] += (lambda_ / m) * Theta2[:, 1:]

    # Unroll gradients, in the same order as nn_params
    if BUG == "grad-unrolled-C":
        grad = np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])
    else:
        grad = np.concatenate([Theta1_grad.ravel(order="F"), Theta2_grad.ravel(order="F")])
    return J, grad


# ---- Setup: a small problem in place of ex4data1.mat ----
np.random.seed(1)
input_layer_size = 4
hidden_layer_size = 5
num_labels = 3
m = 10

X = np.random.randn(m, input_layer_size)
y = np.random.randint(1, num_labels + 1, size=m)  # labels 1..3

initial_Theta1 = randInitializeWeights(input_layer_size, hidden_layer_size)
initial_Theta2 = randInitializeWeights(hidden_layer_size, num_labels)
nn_params = np.concatenate([initial_Theta1.ravel(order="F"), initial_Theta2.ravel(order="F")])
lambda_ = 1.0

J, grad = nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_)
