"""A neural network from scratch, one object per layer.

Each layer has forward(x) and backward(grad): backward takes the gradient of the loss
with respect to the layer's output and returns the gradient with respect to its input.
Dense keeps its weights W (n_in, n_out) and bias b (n_out,) and stores dW, db during
backward. Network chains the layers; its loss is the mean softmax cross-entropy plus an
L2 weight decay 0.5 * weight_decay * ||W||^2 on every Dense layer's W (not on b).
Network.gradients(X, y) runs a forward and a backward pass and returns
[dW, db, dW, db, ...] in the order of Network.params().

Written for the GradScope corpus in the style of the "neural network from scratch in
NumPy" blog posts and tutorials built around layer classes (Dense, ReLU, Tanh, a
Network holding a list of layers).
"""

import numpy as np

BUG = None  # or "db-local-not-self", "decay-on-bias", "tanh-backward-from-input",
#              "label-subtracted-at-columns", "grad-not-divided-by-batch"


class Layer:
    params: list = []

    def forward(self, x):
        raise NotImplementedError

    def backward(self, grad):
        raise NotImplementedError


class Dense(Layer):
    def __init__(self, n_in, n_out, rng):
        self.W = rng.randn(n_in, n_out) * np.sqrt(2.0 / n_in)  # He initialisation
        self.b = 0.1 * rng.randn(n_out)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)

    @property
    def params(self):
        return [self.W, self.b]

    @property
    def grads(self):
        return [self.dW, self.db]

    def forward(self, x):
        self.x = x
        return x @ self.W + self.b

    def backward(self, grad):
        self.dW = self.x.T @ grad
        if BUG == "db-local-not-self":
            db = np.sum(grad, axis=0)  # noqa: F841
        else:
            self.db = np.sum(grad, axis=0)
        return grad @ self.W.T


class ReLU(Layer):
    def forward(self, x):
        self.mask = x > 0
        return x * self.mask

    def backward(self, grad):
        return grad * self.mask


class Tanh(Layer):
    def forward(self, x):
        self.x = x
        self.out = np.tanh(x)
        return self.out

    def backward(self, grad):
        if BUG == "tanh-backward-from-input":
            return grad * (1 - self.x**2)
        return grad * (1 - self.out**2)


def softmax_cross_entropy(logits, y):
    """Mean cross-entropy of integer labels y and its gradient with respect to logits."""
    N = logits.shape[0]
    shifted = logits - logits.max(axis=1, keepdims=True)
    probs = np.exp(shifted)
    probs /= probs.sum(axis=1, keepdims=True)
    loss = -np.mean(np.log(probs[np.arange(N), y]))
    grad = probs.copy()
    if BUG == "label-subtracted-at-columns":
        grad[:, y] -= 1
    else:
        grad[np.arange(N), y] -= 1
    if BUG != "grad-not-divided-by-batch":
        grad /= N
    return loss, grad


class Network:
    def __init__(self, layers, weight_decay=0.0):
        self.layers = layers
        self.weight_decay = weight_decay

    def forward(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, grad):
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def params(self):
        return [p for layer in self.layers for p in layer.params]

    def loss(self, X, y):
        data_loss, _ = softmax_cross_entropy(self.forward(X), y)
        decay = sum(np.sum(layer.W**2) for layer in self.layers if isinstance(layer, Dense))
        return data_loss + 0.5 * self.weight_decay * decay

    def gradients(self, X, y):
        _, dlogits = softmax_cross_entropy(self.forward(X), y)
        self.backward(dlogits)
        grads = []
        for layer in self.layers:
            if not isinstance(layer, Dense):
                continue
            layer.dW += self.weight_decay * layer.W
            if BUG == "decay-on-bias":
                layer.db += self.weight_decay * layer.b
            grads += layer.grads
        return grads

    def step(self, X, y, learning_rate=0.1):
        for p, g in zip(self.params(), self.gradients(X, y)):
            p -= learning_rate * g


rng = np.random.RandomState(4)
n_features, n_hidden, n_classes, batch = 4, 5, 3, 6
net = Network(
    [
        Dense(n_features, n_hidden, rng),
        Tanh(),
        Dense(n_hidden, n_hidden, rng),
        ReLU(),
        Dense(n_hidden, n_classes, rng),
    ],
    weight_decay=0.05,
)
X = rng.randn(batch, n_features)
y = np.array([0, 2, 1, 2, 0, 1])

if __name__ == "__main__":
    for epoch in range(200):
        net.step(X, y)
        if epoch % 50 == 0:
            print(epoch, net.loss(X, y))
