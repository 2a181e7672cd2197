"""Network with a pluggable cost (cross-entropy by default), backprop for one example.

Costs are classes with two static methods: fn(a, y), the cost of the output a for the
desired output y, and delta(z, a, y), the error of the output layer. Network keeps
self.weights / self.biases (biases as column vectors), initialised with variance 1/n_in.
backprop(x, y) returns (nabla_b, nabla_w) for the single example (x, y).

Written for the GradScope corpus in the style of Michael Nielsen's "Neural Networks and
Deep Learning", chapter 3 (network2.py: QuadraticCost, CrossEntropyCost, Network).
"""

import numpy as np

BUG = None  # or "quadratic-delta-with-cross-entropy", "hidden-nabla-b-not-set", "delta-sign"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    s = sigmoid(z)
    return s * (1 - s)


class QuadraticCost:
    @staticmethod
    def fn(a, y):
        return 0.5 * np.sum((a - y) ** 2)

    @staticmethod
    def delta(z, a, y):
        return (a - y) * sigmoid_prime(z)


class CrossEntropyCost:
    @staticmethod
    def fn(a, y):
        return -np.sum(y * np.log(a) + (1 - y) * np.log(1 - a))

    @staticmethod
    def delta(z, a, y):
        # for this cost the sigma'(z) of the output layer cancels out
        if BUG == "quadratic-delta-with-cross-entropy":
            return (a - y) * sigmoid_prime(z)
        if BUG == "delta-sign":
            return y - a
        return a - y


class Network:
    def __init__(self, sizes, cost=CrossEntropyCost):
        self.num_layers = len(sizes)
        self.sizes = sizes
        self.cost = cost
        self.init_weights()

    def init_weights(self):
        """Gaussian weights with standard deviation 1/sqrt(n_in), so z does not saturate."""
        self.biases = []
        self.weights = []
        for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
            self.weights.append(np.random.randn(n_out, n_in) / np.sqrt(n_in))
            self.biases.append(np.random.randn(n_out, 1))

    def forward(self, x):
        """Weighted inputs and activations of every layer (activations[0] is x)."""
        zs, activations = [], [x]
        for w, b in zip(self.weights, self.biases):
            zs.append(np.dot(w, activations[-1]) + b)
            activations.append(sigmoid(zs[-1]))
        return zs, activations

    def feedforward(self, a):
        return self.forward(a)[1][-1]

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        zs, activations = self.forward(x)
        L = len(self.weights) - 1  # index of the output layer

        delta = self.cost.delta(zs[L], activations[L + 1], y)
        nabla_b[L] = delta
        nabla_w[L] = np.dot(delta, activations[L].T)
        # hidden layers, from the last one back to the first
        for k in range(L - 1, -1, -1):
            delta = np.dot(self.weights[k + 1].T, delta) * sigmoid_prime(zs[k])
            if BUG != "hidden-nabla-b-not-set":
                nabla_b[k] = delta
            nabla_w[k] = np.dot(delta, activations[k].T)
        return (nabla_b, nabla_w)


np.random.seed(18)
net = Network([5, 4, 4, 3], cost=CrossEntropyCost)
x = np.random.rand(5, 1)
y = np.zeros((3, 1))
y[2] = 1.0
nabla_b, nabla_w = net.backprop(x, y)
