"""A small sigmoid network as a class with getParams / setParams / computeGradients.

Two inputs, three hidden units, one output, no biases; inputs and targets are scaled to
[0, 1] (hours of study and of sleep -> exam mark). costFunction(X, y) is
0.5 * sum((y - yHat)^2) / N + Lambda / 2 * (sum(W1^2) + sum(W2^2)). getParams()
returns W1 and W2 rolled into one vector, setParams(params) puts such a vector back,
and computeGradients(X, y) returns the gradient rolled the same way, ready for a
numerical gradient check or scipy.optimize.

Written for the GradScope corpus in the style of Welch Labs' "Neural Networks
Demystified" video series (a network class with getParams / setParams /
computeGradients and a separate numerical-gradient function).
"""

import numpy as np

BUG = None  # or "delta3-sign", "sigmoid-prime-of-a2", "gradients-rolled-in-wrong-order"


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def sigmoidPrime(z):
    s = sigmoid(z)
    return s * (1 - s)


class SmallNet:
    def __init__(self, n_in=2, n_hidden=3, n_out=1, Lambda=0.0):
        self.shapes = [(n_in, n_hidden), (n_hidden, n_out)]
        self.Lambda = Lambda
        self.W1 = np.random.randn(n_in, n_hidden)
        self.W2 = np.random.randn(n_hidden, n_out)

    def forward(self, X):
        self.z2 = X @ self.W1
        self.a2 = sigmoid(self.z2)
        self.z3 = self.a2 @ self.W2
        return sigmoid(self.z3)

    def costFunction(self, X, y):
        yHat = self.forward(X)
        squares = np.sum(self.W1**2) + np.sum(self.W2**2)
        return 0.5 * np.sum((y - yHat) ** 2) / len(X) + self.Lambda / 2 * squares

    def costFunctionPrime(self, X, y):
        yHat = self.forward(X)
        n = len(X)
        # dJ/dyHat = -(y - yHat)
        if BUG == "delta3-sign":
            delta3 = (y - yHat) * sigmoidPrime(self.z3)
        else:
            delta3 = -(y - yHat) * sigmoidPrime(self.z3)
        dJdW2 = self.a2.T @ delta3 / n + self.Lambda * self.W2
        if BUG == "sigmoid-prime-of-a2":
            delta2 = (delta3 @ self.W2.T) * sigmoidPrime(self.a2)
        else:
            delta2 = (delta3 @ self.W2.T) * sigmoidPrime(self.z2)
        dJdW1 = X.T @ delta2 / n + self.Lambda * self.W1
        return dJdW1, dJdW2

    def getParams(self):
        return np.hstack([self.W1.flatten(), self.W2.flatten()])

    def setParams(self, params):
        start = 0
        weights = []
        for shape in self.shapes:
            stop = start + shape[0] * shape[1]
            weights.append(np.reshape(params[start:stop], shape))
            start = stop
        self.W1, self.W2 = weights

    def computeGradients(self, X, y):
        dJdW1, dJdW2 = self.costFunctionPrime(X, y)
        if BUG == "gradients-rolled-in-wrong-order":
            return np.hstack([dJdW2.flatten(), dJdW1.flatten()])
        return np.hstack([dJdW1.flatten(), dJdW2.flatten()])


np.random.seed(19)
# hours of study, hours of sleep -> exam mark out of 100
X = np.array([[2.0, 9.0], [1.0, 5.0], [4.5, 7.0], [6.0, 4.0], [3.0, 8.0], [5.0, 6.5]])
y = np.array([[62.0], [48.0], [85.0], [71.0], [77.0], [80.0]])
X = X / X.max(axis=0)
y = y / 100

NN = SmallNet(Lambda=1e-3)
cost1 = NN.costFunction(X, y)
grad1 = NN.computeGradients(X, y)
