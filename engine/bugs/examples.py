"""User-style programs for the "Your code" page: the seed's question and answer, retold,
and catalogue bugs as people write them. Each is plain source text, run like pasted code.
"""

from __future__ import annotations

from dataclasses import dataclass

SEED_HEADER = '''import numpy as np


def sigmoid(z):
    return 1 / (1 + np.exp({sign}z))


def sigmoid_gradient(z):
    return sigmoid(z) * (1 - sigmoid(z))


def unpack(theta, num_inputs, num_hidden, num_labels):
    """Theta1 (hidden x inputs+1) then Theta2 (labels x hidden+1), row-major."""
    cut = num_hidden * (num_inputs + 1)
    theta1 = theta[:cut].reshape(num_hidden, num_inputs + 1)
    theta2 = theta[cut:].reshape(num_labels, num_hidden + 1)
    return theta1, theta2


def computeCost(theta, X, y, num_inputs, num_hidden, num_labels, lamb):
    m = len(X)
    theta1, theta2 = unpack(theta, num_inputs, num_hidden, num_labels)
    targets = np.eye(num_labels)[y]
    a1 = np.hstack([np.ones((m, 1)), X])
    a2 = np.hstack([np.ones((m, 1)), sigmoid(a1 @ theta1.T)])
    h = sigmoid(a2 @ theta2.T)
    cost = np.sum(-targets * np.log(h) - (1 - targets) * np.log(1 - h)) / m
    penalty = np.sum(theta1[:, 1:] ** 2) + np.sum(theta2[:, 1:] ** 2)
    return cost + {reg} * penalty
'''

QUESTION = (
    SEED_HEADER.format(sign="", reg="lamb / (2 * m)")
    + '''

def gradient(theta, *args):
    """One example at a time, as in the question."""
    X, y, num_inputs, num_hidden, num_labels, lamb = args
    m = len(X)
    theta1, theta2 = unpack(theta, num_inputs, num_hidden, num_labels)
    acc1, acc2 = np.zeros(theta1.shape), np.zeros(theta2.shape)
    for t in range(m):
        target = np.zeros((num_labels, 1))
        target[y[t]] = 1
        a1 = np.r_[[1], X[t]][:, np.newaxis]
        z2 = theta1 @ a1
        a2 = np.vstack([1, sigmoid(z2)])
        a3 = sigmoid(theta2 @ a2)
        d3 = a3 - target
        d2 = ((theta2.T @ d3) * sigmoid_gradient(np.vstack([1, z2])))[1:]
        acc1 += d2 @ a1.T
        acc2 += d3 @ a2.T
    grad1, grad2 = acc1 / m, acc2 / m
    grad1[:, 1:] += lamb / m * theta1[:, 1:]
    grad2[:, 1:] += lamb / m * theta2[:, 1:]
    return np.hstack([grad1.ravel(), grad2.ravel()])
'''
)

VECTORISED_GRADIENT = '''

def gradient(theta, *args):
    """Vectorised over all examples, as in the answer."""
    X, y, num_inputs, num_hidden, num_labels, lamb = args
    m = len(X)
    theta1, theta2 = unpack(theta, num_inputs, num_hidden, num_labels)
    targets = np.eye(num_labels)[y]
    a1 = np.hstack([np.ones((m, 1)), X])
    z2 = a1 @ theta1.T
    a2 = np.hstack([np.ones((m, 1)), sigmoid(z2)])
    h = sigmoid(a2 @ theta2.T)
    d3 = h - targets
    d2 = (d3 @ theta2[:, 1:]) * sigmoid_gradient(z2)
    grad1 = d2.T @ a1 / {m_divisor}
    grad2 = d3.T @ a2 / {m_divisor}
{regularise}    return np.hstack([grad1.ravel(), grad2.ravel()])
'''

REGULARISE_WEIGHTS = """    grad1[:, 1:] += lamb / m * theta1[:, 1:]
    grad2[:, 1:] += lamb / m * theta2[:, 1:]
"""
REGULARISE_ALL = """    grad1 += lamb / m * theta1
    grad2 += lamb / m * theta2
"""

ANSWER = SEED_HEADER.format(sign="-", reg="lamb / (2 * m)") + VECTORISED_GRADIENT.format(
    m_divisor="m", regularise=REGULARISE_WEIGHTS
)
BIAS_REGULARISED = SEED_HEADER.format(sign="-", reg="lamb / (2 * m)") + VECTORISED_GRADIENT.format(
    m_divisor="m", regularise=REGULARISE_ALL
)
MISSING_1_OVER_M = SEED_HEADER.format(sign="-", reg="lamb / (2 * m)") + VECTORISED_GRADIENT.format(
    m_divisor="1", regularise=REGULARISE_WEIGHTS
)

OCTAVE_PORT = """import numpy as np
from scipy.special import expit

# Plain f(theta) convention: GradScope provides X, y, lamb and layer_sizes as globals.
n_in, n_hidden, n_out = layer_sizes
m = len(X)
Y = np.eye(n_out)[y]


def unpack(theta):
    cut = n_hidden * (n_in + 1)
    return theta[:cut].reshape(n_hidden, n_in + 1), theta[cut:].reshape(n_out, n_hidden + 1)


def nnCost(theta):
    t1, t2 = unpack(theta)
    a2 = np.hstack([np.ones((m, 1)), expit(np.hstack([np.ones((m, 1)), X]) @ t1.T)])
    h = expit(a2 @ t2.T)
    J = -np.sum(Y * np.log(h) + (1 - Y) * np.log(1 - h)) / m
    return J + lamb / (2 * m) * (np.sum(t1[:, 1:] ** 2) + np.sum(t2[:, 1:] ** 2))


def nnGrad(theta):
    t1, t2 = unpack(theta)
    a1 = np.hstack([np.ones((m, 1)), X])
    z2 = a1 @ t1.T
    a2 = np.hstack([np.ones((m, 1)), expit(z2)])
    d3 = expit(a2 @ t2.T) - Y
    d2 = (d3 @ t2[:, 1:]) * expit(z2) * (1 - expit(z2))
    g1 = d2.T @ a1 / m
    g2 = d3.T @ a2 / m
    g1[:, 1:] += lamb / m * t1[:, 1:]
    g2[:, 1:] += lamb / m * t2[:, 1:]
    # ported from Octave: grad = [Theta1_grad(:); Theta2_grad(:)]
    return np.concatenate([g1.ravel(order="F"), g2.ravel(order="F")])
"""


@dataclass(frozen=True)
class Example:
    title: str
    description: str
    source: str
    cost_name: str = "computeCost"
    gradient_name: str = "gradient"
    convention: str = "seed"
    expected_bug: str | None = None


EXAMPLES = {
    "seed-question": Example(
        "The seed's question (buggy)",
        "The asker's program: a per-example backprop loop and a sigmoid written "
        "1/(1+np.exp(z)). Expect a sign error in Theta2.",
        QUESTION,
        expected_bug="sigmoid-sign-flip",
    ),
    "seed-answer": Example(
        "The seed's answer (fixed)",
        "The accepted answer: sigmoid fixed, backprop vectorised. With GradScope's own "
        "numerical loop (no range(1, n)), it passes.",
        ANSWER,
    ),
    "bias-regularised": Example(
        "Regularising the bias column",
        "Adds lambda/m * theta to the whole gradient matrices, bias column included.",
        BIAS_REGULARISED,
        expected_bug="bias-regularized",
    ),
    "missing-1-over-m": Example(
        "Forgetting to divide by m",
        "The summed deltas are not averaged over the examples.",
        MISSING_1_OVER_M,
        expected_bug="grad-missing-1-over-m",
    ),
    "octave-port": Example(
        "An Octave port, f(theta) style",
        "Plain functions of theta using globals; the gradient is unrolled column-major "
        "as Octave's (:) does.",
        OCTAVE_PORT,
        cost_name="nnCost",
        gradient_name="nnGrad",
        convention="plain",
        expected_bug="column-major-unroll",
    ),
}
