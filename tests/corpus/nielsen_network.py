"""A feedforward network of sigmoid neurons trained by SGD, backprop for one example.

Network(sizes) keeps self.weights (weights[l] is sizes[l+1] x sizes[l]) and
self.biases (biases[l] is a column vector, sizes[l+1] x 1). backprop(x, y) returns
(nabla_b, nabla_w), the gradient of the quadratic cost C = 1/2 ||a - y||^2 for the single
example (x, y), as lists shaped like self.biases and self.weights.

Written for the GradScope corpus in the style of Michael Nielsen's "Neural Networks and
Deep Learning", chapter 1-2 (network.py: Network, SGD, update_mini_batch, backprop,
cost_derivative).
"""

import random

import numpy as np

BUG = None  # or "sigmoid-prime-of-activation", "nabla-w-transposed", "cost-derivative-factor-2"


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Network:
    def __init__(self, sizes):
        self.num_layers = len(sizes)
        self.sizes = sizes
        # no biases for the input layer
        self.biases = [np.random.randn(n, 1) for n in sizes[1:]]
        self.weights = [np.random.randn(n_out, n_in) for n_in, n_out in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for w, b in zip(self.weights, self.biases):
            a = sigmoid(w @ a + b)
        return a

    def SGD(self, training_data, epochs, mini_batch_size, eta):
        for _ in range(epochs):
            random.shuffle(training_data)
            for k in range(0, len(training_data), mini_batch_size):
                self.update_mini_batch(training_data[k : k + mini_batch_size], eta)

    def update_mini_batch(self, mini_batch, eta):
        sum_b = [np.zeros(b.shape) for b in self.biases]
        sum_w = [np.zeros(w.shape) for w in self.weights]
        for x, y in mini_batch:
            delta_b, delta_w = self.backprop(x, y)
            sum_b = [s + d for s, d in zip(sum_b, delta_b)]
            sum_w = [s + d for s, d in zip(sum_w, delta_w)]
        self.biases = [b - eta / len(mini_batch) * s for b, s in zip(self.biases, sum_b)]
        self.weights = [w - eta / len(mini_batch) * s for w, s in zip(self.weights, sum_w)]

    def backprop(self, x, y):
        # forward pass, keeping every weighted input z and activation
        acts = [x]
        zs = []
        for w, b in zip(self.weights, self.biases):
            zs.append(w @ acts[-1] + b)
            acts.append(sigmoid(zs[-1]))

        nabla_b = [None] * len(self.biases)
        nabla_w = [None] * len(self.weights)
        # error of the output layer (BP1)
        if BUG == "sigmoid-prime-of-activation":
            delta = self.cost_derivative(acts[-1], y) * sigmoid_prime(acts[-1])
        else:
            delta = self.cost_derivative(acts[-1], y) * sigmoid_prime(zs[-1])
        # walk back through the layers (BP2, BP3, BP4)
        for k in reversed(range(len(self.weights))):
            nabla_b[k] = delta
            if BUG == "nabla-w-transposed":
                nabla_w[k] = acts[k] @ delta.T
            else:
                nabla_w[k] = delta @ acts[k].T
            if k > 0:
                delta = (self.weights[k].T @ delta) * sigmoid_prime(zs[k - 1])
        return (nabla_b, nabla_w)

    def cost_derivative(self, output_activations, y):
        """dC/da for C = 1/2 ||a - y||^2."""
        if BUG == "cost-derivative-factor-2":
            return 2 * (output_activations - y)
        return output_activations - y


def quadratic_cost(net, x, y):
    return 0.5 * np.sum((net.feedforward(x) - y) ** 2)


np.random.seed(17)
net = Network([4, 4, 4])
x = np.random.randn(4, 1)
y = np.array([[0.0], [1.0], [0.0], [0.0]])
nabla_b, nabla_w = net.backprop(x, y)
