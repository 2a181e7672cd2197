"""Examples for the Your code page's "your model as it is" mode: one per convention the
general contract covers, written for GradScope in the style of course material (none is
copied from a course). Each fills the code and either the loss, params and grads
expressions or, in layer mode, the forward call (and a backward). Examples that need
PyTorch or JAX are offered only where that library is importable.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

LOSS, LAYER = "loss", "layer"  # the two ways of saying what to check


@dataclass(frozen=True)
class ContractExample:
    title: str
    convention: str  # the public convention it imitates
    description: str
    source: str
    loss: str = ""
    params: str = ""
    grads: str = ""
    dtype: str = ""  # "" = the params' own
    diverging: tuple[str, ...] = ()  # the arrays its bug makes diverge (tested)
    forward: str = ""  # layer mode: the forward call
    backward: str = ""  # layer mode: the backward, when its name is not the forward's twin
    needs: str | None = None  # a library the example imports (torch, jax)

    @property
    def check(self) -> str:
        return LAYER if self.forward else LOSS


TWO_LAYER_NET = '''"""A two-layer fully connected net, the way CS231n's assignments build one:
weights in a params dict, loss(X, y) returning (loss, grads) with the same keys."""
import numpy as np


class TwoLayerNet:
    def __init__(self, input_size, hidden_size, output_size, std=0.1, seed=0):
        rng = np.random.default_rng(seed)
        self.params = {
            "W1": std * rng.standard_normal((input_size, hidden_size)),
            "b1": std * rng.standard_normal(hidden_size),
            "W2": std * rng.standard_normal((hidden_size, output_size)),
            "b2": std * rng.standard_normal(output_size),
        }

    def loss(self, X, y, reg=0.05):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N = X.shape[0]

        # forward: affine - ReLU - affine - softmax
        h = np.maximum(0, X @ W1 + b1)
        scores = h @ W2 + b2
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        loss = -np.log(probs[np.arange(N), y]).mean()
        loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

        # backward
        grads = {}
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads["W2"] = h.T @ dscores + 2 * reg * W2
        grads["b2"] = dscores.sum(axis=0)
        dh = dscores @ W2.T
        dh[h <= 0] = 0
        grads["W1"] = X.T @ dh + 2 * reg * W1
        grads["b1"] = dh.sum(axis=0)
        return loss, grads


rng = np.random.default_rng(1)
X = rng.standard_normal((5, 4))
y = np.array([0, 1, 2, 2, 1])
net = TwoLayerNet(input_size=4, hidden_size=10, output_size=3)
'''

NETWORK = '''"""A feed-forward network in the style of Nielsen's network.py: biases and weights as
lists of column vectors and matrices, backprop(x, y) returning (nabla_b, nabla_w).
This copy has a bug in backprop."""
import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_prime(z):
    return sigmoid(z) * (1 - sigmoid(z))


class Network:
    def __init__(self, sizes, seed=2):
        rng = np.random.default_rng(seed)
        self.sizes = sizes
        self.biases = [rng.standard_normal((n, 1)) for n in sizes[1:]]
        self.weights = [rng.standard_normal((n, m)) for m, n in zip(sizes[:-1], sizes[1:])]

    def feedforward(self, a):
        for b, w in zip(self.biases, self.weights):
            a = sigmoid(w @ a + b)
        return a

    def backprop(self, x, y):
        nabla_b = [np.zeros(b.shape) for b in self.biases]
        nabla_w = [np.zeros(w.shape) for w in self.weights]
        activation, activations, zs = x, [x], []
        for b, w in zip(self.biases, self.weights):
            z = w @ activation + b
            zs.append(z)
            activation = sigmoid(z)
            activations.append(activation)
        delta = (activations[-1] - y) * sigmoid_prime(zs[-1])
        nabla_b[-1] = delta
        nabla_w[-1] = delta @ activations[-2].T
        for layer in range(2, len(self.sizes)):
            sp = sigmoid_prime(zs[-layer])
            delta = (self.weights[-layer + 1].T @ delta) * sp
            nabla_b[-layer] = delta
            nabla_w[-layer] = (delta @ activations[-layer - 1].T).T  # bug: transposed
        return nabla_b, nabla_w


def quadratic_cost(net, x, y):
    return 0.5 * np.sum((net.feedforward(x) - y) ** 2)


net = Network([4, 4, 2])
x = np.random.default_rng(3).standard_normal((4, 1))
y = np.array([[1.0], [0.0]])
'''

FLAT_THETA = '''"""Logistic regression with L2, written as f(theta) -> (J, grad) on one
flat parameter vector, as scipy.optimize.minimize(jac=True) and Ng's fminunc exercises take it."""
import numpy as np

rng = np.random.default_rng(4)
X = np.hstack([np.ones((20, 1)), rng.standard_normal((20, 3))])
y = (rng.random(20) > 0.5).astype(float)
lam = 0.1


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def cost_function(theta):
    m = len(y)
    h = sigmoid(X @ theta)
    J = -(y @ np.log(h) + (1 - y) @ np.log(1 - h)) / m
    J += lam / (2 * m) * np.sum(theta[1:] ** 2)
    grad = X.T @ (h - y) / m
    grad[1:] += lam / m * theta[1:]
    return J, grad


theta = rng.standard_normal(4) * 0.5
'''

AFFINE_LAYER = '''"""A layer as a forward/backward pair, in the style of CS231n's layers.py.
The check takes sum(forward(x, w, b) * dout) as the loss, with a fixed random dout:
its gradient is exactly what backward(dout, cache) returns (x included)."""
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(x.shape[0], -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(x.shape[0], -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


rng = np.random.default_rng(5)
x = rng.standard_normal((3, 2, 3))  # 3 examples of 2x3 inputs
w = rng.standard_normal((6, 4))
b = rng.standard_normal(4)
dout = rng.standard_normal((3, 4))


def layer_loss():
    out, _ = affine_forward(x, w, b)
    return np.sum(out * dout)
'''

RELU_LAYER_BUG = '''"""A ReLU layer as a forward/backward pair (CS231n layers.py style), with
a bug: the backward pass lets the gradient through where the input was negative."""
import numpy as np


def relu_forward(x):
    return np.maximum(0, x), x


def relu_backward(dout, cache):
    x = cache
    return dout * (x >= -0.5)  # bug: should be x > 0


rng = np.random.default_rng(6)
x = rng.standard_normal((4, 5))
dout = rng.standard_normal((4, 5))
'''

AFFINE_RELU_LAYER_BUG = '''"""An affine-ReLU "sandwich" layer made of two modular layers, in
the style of CS231n's layer_utils.py: each forward returns (out, cache), each backward
takes dout and that cache. Checked in layer mode from the forward call alone: GradScope
draws dout and calls affine_relu_backward(dout, cache), found by its name.
This copy has a bug in the sandwich's backward pass."""
import numpy as np


def affine_forward(x, w, b):
    out = x.reshape(len(x), -1) @ w + b
    return out, (x, w, b)


def affine_backward(dout, cache):
    x, w, b = cache
    dx = (dout @ w.T).reshape(x.shape)
    dw = x.reshape(len(x), -1).T @ dout
    db = dout.sum(axis=0)
    return dx, dw, db


def relu_forward(a):
    return np.maximum(a, 0), a


def relu_backward(dout, a):
    return dout * (a > 0)


def affine_relu_forward(x, w, b):
    a, fc_cache = affine_forward(x, w, b)
    out, relu_cache = relu_forward(a)
    return out, (fc_cache, relu_cache)


def affine_relu_backward(dout, cache):
    fc_cache, relu_cache = cache
    da = relu_backward(dout, relu_cache)
    dx, _, db = affine_backward(da, fc_cache)
    _, dw, _ = affine_backward(dout, fc_cache)  # bug: dw from dout, the ReLU's mask skipped
    return dx, dw, db


rng = np.random.default_rng(7)
x = rng.standard_normal((4, 3, 2))  # 4 examples of 3x2 inputs
w = rng.standard_normal((6, 5))
b = rng.standard_normal(5)
'''

TORCH_FUNCTION_BUG = '''"""A tanh layer written as a torch.autograd.Function with a hand-written
backward, the way PyTorch's "Extending PyTorch" notes teach it: forward(ctx, ...) saves what the
backward needs, backward(ctx, grad_output) returns one gradient per input. Layer mode
checks TanhLinear.apply(x, weight): autograd runs this backward with a random
grad_output. This copy has a bug in the weight's gradient."""
import torch
from torch.autograd import Function


class TanhLinear(Function):
    """out = tanh(x @ weight.T), weight in torch's (out_features, in_features) layout."""

    @staticmethod
    def forward(ctx, x, weight):
        out = torch.tanh(x @ weight.T)
        ctx.save_for_backward(x, weight, out)
        return out

    @staticmethod
    def backward(ctx, grad_output):
        x, weight, out = ctx.saved_tensors
        grad_z = grad_output * (1 - out**2)  # through the tanh
        grad_x = grad_z @ weight
        grad_weight = grad_output.T @ x  # bug: grad_z.T @ x, the tanh's derivative dropped
        return grad_x, grad_weight


torch.manual_seed(8)
x = torch.randn(6, 3, dtype=torch.float64)
weight = torch.randn(4, 3, dtype=torch.float64) * 0.5
'''

TORCH_MODULE = '''"""A small torch.nn.Module whose activation is a custom autograd.Function (a
softplus with a hand-written backward), fitted with a regression loss. Loss mode with
params `model`: GradScope moves each of model.named_parameters() and takes the gradient
from loss.backward(), which runs the Function's backward. Correct: it passes."""
import torch
from torch import nn
from torch.autograd import Function


class Softplus(Function):
    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return nn.functional.softplus(z)

    @staticmethod
    def backward(ctx, grad_output):
        (z,) = ctx.saved_tensors
        return grad_output * torch.sigmoid(z)  # d/dz log(1 + e^z)


class SoftplusNet(nn.Module):
    def __init__(self, n_in, n_hidden, n_out):
        super().__init__()
        self.hidden = nn.Linear(n_in, n_hidden)
        self.out = nn.Linear(n_hidden, n_out)

    def forward(self, inputs):
        return self.out(Softplus.apply(self.hidden(inputs)))


torch.manual_seed(9)
model = SoftplusNet(3, 5, 2).double()  # float64, as gradient checks want
inputs = torch.randn(8, 3, dtype=torch.float64)
targets = torch.randn(8, 2, dtype=torch.float64)


def compute_loss():
    return torch.mean((model(inputs) - targets) ** 2)
'''

ALL_CONTRACT_EXAMPLES = {
    "cs231n-two-layer": ContractExample(
        "CS231n-style two-layer net (params dict, loss returns grads)",
        "CS231n: model.params and model.loss(X, y) -> (loss, grads)",
        "A softmax classifier with one ReLU hidden layer and L2 regularisation; the loss "
        "returns (loss, grads) with the params' keys. Correct: it passes.",
        TWO_LAYER_NET,
        loss="net.loss(X, y)",
        params="net.params",
    ),
    "nielsen-network": ContractExample(
        "Nielsen-style network (lists, backprop call), with a bug",
        "Nielsen's network.py: biases and weights lists, backprop(x, y) -> (nabla_b, nabla_w)",
        "Biases and weights as lists; the gradient comes from a separate backprop call that "
        "returns (nabla_b, nabla_w), the same structure as (biases, weights). The hidden "
        "layer's weight gradient is transposed.",
        NETWORK,
        loss="quadratic_cost(net, x, y)",
        params="(net.biases, net.weights)",
        grads="net.backprop(x, y)",
        diverging=("weights[0]",),
    ),
    "flat-theta": ContractExample(
        "f(theta) on one flat vector (logistic regression)",
        "f(theta) -> (J, grad), as scipy.optimize.minimize(jac=True) and fminunc take it",
        "Regularised logistic regression written as one function of a flat theta that "
        "returns the cost and its gradient. Correct: it passes.",
        FLAT_THETA,
        loss="cost_function(theta)",
        params="theta",
    ),
    "affine-layer": ContractExample(
        "Layer forward/backward pair as sum(forward * dout)",
        "CS231n layers.py: affine_forward(x, w, b) / affine_backward(dout, cache)",
        "A layer is checked as a vector-Jacobian product: the loss is sum(forward * dout) "
        "for a fixed random dout, and backward(dout, cache) gives its gradient for x, w "
        "and b (input included). Correct: it passes.",
        AFFINE_LAYER,
        loss="layer_loss()",
        params="(x, w, b)",
        grads="affine_backward(dout, affine_forward(x, w, b)[1])",
    ),
    "relu-layer-bug": ContractExample(
        "ReLU layer pair with a wrong mask",
        "CS231n layers.py: relu_forward(x) / relu_backward(dout, cache)",
        "The same layer check on a ReLU whose backward pass uses the wrong mask; the "
        "entries of x between -0.5 and 0 diverge.",
        RELU_LAYER_BUG,
        loss="np.sum(relu_forward(x)[0] * dout)",
        params="x",
        grads="relu_backward(dout, relu_forward(x)[1])",
        diverging=("x",),
    ),
    "cs231n-affine-relu-layer": ContractExample(
        "CS231n-style affine-ReLU layer, checked from its forward call, with a bug",
        "CS231n layer_utils.py: affine_relu_forward(x, w, b) / affine_relu_backward(dout, cache)",
        "Layer mode: only the forward call is typed; GradScope draws dout and calls the "
        "backward found by name. The sandwich's backward takes dw from dout, skipping the "
        "ReLU's mask, so w diverges (x and b agree).",
        AFFINE_RELU_LAYER_BUG,
        forward="affine_relu_forward(x, w, b)",
        diverging=("w",),
    ),
    "torch-function": ContractExample(
        "PyTorch autograd.Function (tanh layer), checked from its apply call, with a bug",
        "PyTorch 'Extending PyTorch': a Function with forward(ctx, ...) and "
        "backward(ctx, grad_output)",
        "Layer mode on torch tensors: autograd runs the hand-written backward with a random "
        "grad_output. The weight's gradient forgets the tanh's derivative, so weight "
        "diverges (x agrees).",
        TORCH_FUNCTION_BUG,
        forward="TanhLinear.apply(x, weight)",
        diverging=("weight",),
        needs="torch",
    ),
    "torch-module": ContractExample(
        "PyTorch nn.Module with a custom Function, gradient by loss.backward()",
        "PyTorch: an nn.Module, a custom autograd.Function inside, loss.backward()",
        "Loss mode with the module itself as params: its named parameters are checked, "
        "with the gradient from loss.backward() (no grads expression). Correct: it passes.",
        TORCH_MODULE,
        loss="compute_loss()",
        params="model",
        needs="torch",
    ),
}


def offered(examples: dict[str, ContractExample]) -> dict[str, ContractExample]:
    """What this server can run: an example needing torch or jax is left out without it."""
    return {
        key: example
        for key, example in examples.items()
        if example.needs is None or importlib.util.find_spec(example.needs) is not None
    }


CONTRACT_EXAMPLES = offered(ALL_CONTRACT_EXAMPLES)
