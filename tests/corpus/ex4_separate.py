"""ex4 neural network, cost and gradient as two functions for scipy.optimize.

nnCost(...) returns J and nnGrad(...) returns the unrolled gradient, so that they can be
passed as fun= and jac= to scipy.optimize.minimize. The labels were converted to
0..num_labels-1 when loading (the "10 means digit 0" label became 0), and the weights are
unrolled row-major.

Written for the GradScope corpus in the style of a Coursera ML ex4 port.
"""

import numpy as np

BUG = None  # or "reg-half-lambda", "delta3-sign", "theta2-grad-transposed",
#              "reg-bias-column-ones"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoidGradient(z):
    s = sigmoid(z)
    return s * (1.0 - s)


def reshape_params(nn_params, input_layer_size, hidden_layer_size, num_labels):
    n1 = hidden_layer_size * (input_layer_size + 1)
    Theta1 = nn_params[:n1].reshape((hidden_layer_size, input_layer_size + 1))
    Theta2 = nn_params[n1:].reshape((num_labels, hidden_layer_size + 1))
    return Theta1, Theta2


def feedforward(Theta1, Theta2, X):
    m = X.shape[0]
    a1 = np.hstack((np.ones((m, 1)), X))
    z2 = a1.dot(Theta1.T)
    a2 = np.hstack((np.ones((m, 1)), sigmoid(z2)))
    a3 = sigmoid(a2.dot(Theta2.T))
    return a1, z2, a2, a3


def nnCost(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_):
    Theta1, Theta2 = reshape_params(nn_params, input_layer_size, hidden_layer_size, num_labels)
    m = X.shape[0]
    _, _, _, h = feedforward(Theta1, Theta2, X)
    Y = np.eye(num_labels)[y]  # labels are 0..K-1 here
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    reg = lambda_ / (2 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))
    return J + reg


def nnGrad(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_):
    Theta1, Theta2 = reshape_params(nn_params, input_layer_size, hidden_layer_size, num_labels)
    m = X.shape[0]
    a1, z2, a2, a3 = feedforward(Theta1, Theta2, X)
    Y = np.eye(num_labels)[y]

    if BUG == "delta3-sign":
        d3 = Y - a3
    else:
        d3 = a3 - Y
    d2 = d3.dot(Theta2[:, 1:]) * sigmoidGradient(z2)

    # derivative of lambda/(2m) * sum(Theta^2) is lambda/m * Theta
    if BUG == "reg-half-lambda":
        r = lambda_ / (2 * m)
    else:
        r = lambda_ / m

    Theta1_grad = d2.T.dot(a1) / m
    if BUG == "reg-bias-column-ones":
        # Theta with its bias column replaced, so that it is not regularized
        Theta1_ = np.c_[np.ones((Theta1.shape[0], 1)), Theta1[:, 1:]]
        Theta1_grad += r * Theta1_
    else:
        Theta1_grad[:, 1:] += r * Theta1[:, 1:]
    if BUG == "theta2-grad-transposed":
        # computed as (hidden+1) x K, and the regularization made to match
        Theta2_grad = a2.T.dot(d3) / m
        Theta2_grad[1:, :] += r * Theta2[:, 1:].T
    elif BUG == "reg-bias-column-ones":
        Theta2_ = np.c_[np.ones((Theta2.shape[0], 1)), Theta2[:, 1:]]
        Theta2_grad = d3.T.dot(a2) / m + r * Theta2_
    else:
        Theta2_grad = d3.T.dot(a2) / m
        Theta2_grad[:, 1:] += r * Theta2[:, 1:]

    return np.concatenate((Theta1_grad.ravel(), Theta2_grad.ravel()))


np.random.seed(3)
input_layer_size = 5
hidden_layer_size = 4
num_labels = 3
m = 9
X = np.random.rand(m, input_layer_size) * 2 - 1
y = np.random.randint(0, num_labels, size=m)
eps_init = np.sqrt(6) / np.sqrt(input_layer_size + num_labels)
nn_params = (
    np.random.rand(
        hidden_layer_size * (input_layer_size + 1) + num_labels * (hidden_layer_size + 1)
    )
    * 2
    - 1
) * eps_init
lambda_ = 1.0


if __name__ == "__main__":
    from scipy.optimize import minimize

    args = (input_layer_size, hidden_layer_size, num_labels, X, y, lambda_)
    res = minimize(nnCost, nn_params, args=args, jac=nnGrad, method="CG", options={"maxiter": 50})
    print("cost after training:", res.fun)
