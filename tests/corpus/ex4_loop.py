"""ex4 in NumPy, backpropagation one training example at a time.

The exercise suggests a "for t = 1:m" loop for the backward pass; this port keeps it.
The cost is vectorised. Weights are unrolled row by row (NumPy's default order), the
labels are 1..num_labels. The check point is built like ex4's checkNNGradients: small
deterministic "debug" weights from a sine, instead of random ones.

Written for the GradScope corpus in the style of a Coursera ML ex4 port.
"""

import numpy as np

BUG = None  # or "labels-not-shifted", "no-divide-by-m", "delta2-wrong-row",
#              "delta3-times-sigmoid-gradient"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoid_gradient(z):
    return sigmoid(z) * (1 - sigmoid(z))


def debug_initialize_weights(fan_out, fan_in):
    # fixed values so the check is repeatable: sin(1), sin(2), ... scaled by 1/10
    W = np.sin(np.arange(1, fan_out * (fan_in + 1) + 1)) / 10
    return W.reshape(fan_out, fan_in + 1)


def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_):
    split = hidden_layer_size * (input_layer_size + 1)
    Theta1 = nn_params[:split].reshape(hidden_layer_size, input_layer_size + 1)
    Theta2 = nn_params[split:].reshape(num_labels, hidden_layer_size + 1)
    m = len(y)

    # cost, all examples at once
    A1 = np.c_[np.ones(m), X]
    A2 = np.c_[np.ones(m), sigmoid(A1 @ Theta1.T)]
    H = sigmoid(A2 @ Theta2.T)
    Y = np.zeros((m, num_labels))
    Y[np.arange(m), y - 1] = 1
    J = np.sum(-Y * np.log(H) - (1 - Y) * np.log(1 - H)) / m
    J += lambda_ / (2 * m) * (np.sum(np.square(Theta1[:, 1:])) + np.sum(np.square(Theta2[:, 1:])))

    # backpropagation, for t = 1:m
    Delta1 = np.zeros(Theta1.shape)
    Delta2 = np.zeros(Theta2.shape)
    for t in range(m):
        a1 = np.r_[1, X[t]]
        z2 = Theta1 @ a1
        a2 = np.r_[1, sigmoid(z2)]
        a3 = sigmoid(Theta2 @ a2)

        # recode label y(t) as a vector of 0s and 1s
        if BUG == "labels-not-shifted":
            yk = (np.arange(num_labels) == y[t]).astype(float)
        else:
            yk = (np.arange(1, num_labels + 1) == y[t]).astype(float)

        if BUG == "delta3-times-sigmoid-gradient":
            d3 = (a3 - yk) * sigmoid_gradient(Theta2 @ a2)
        else:
            d3 = a3 - yk
        d2 = (Theta2.T @ d3) * sigmoid_gradient(np.r_[1, z2])
        # skip the bias unit, like delta_2(2:end) in Octave
        if BUG == "delta2-wrong-row":
            d2 = d2[:-1]
        else:
            d2 = d2[1:]

        Delta1 += np.outer(d2, a1)
        Delta2 += np.outer(d3, a2)

    if BUG == "no-divide-by-m":
        Theta1_grad = Delta1
        Theta2_grad = Delta2
    else:
        Theta1_grad = Delta1 / m
        Theta2_grad = Delta2 / m
    Theta1_grad[:, 1:] += lambda_ / m * Theta1[:, 1:]
    Theta2_grad[:, 1:] += lambda_ / m * Theta2[:, 1:]

    grad = np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])
    return J, grad


# small network, like checkNNGradients
np.random.seed(2)
input_layer_size = 6
hidden_layer_size = 5
num_labels = 4
m = 8

Theta1 = debug_initialize_weights(hidden_layer_size, input_layer_size)
Theta2 = debug_initialize_weights(num_labels, hidden_layer_size)
X = np.random.randn(m, input_layer_size)
y = 1 + np.arange(1, m + 1) % num_labels  # 2, 3, 4, 1, 2, 3, ...
nn_params = np.concatenate([Theta1.ravel(), Theta2.ravel()])
lambda_ = 3.0

cost, grad = nnCostFunction(
    nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_
)
