"""The founding story as user-style programs: the seed's question (buggy) and its answer
(fixed), plus the answer as a template whose slots a catalogue bug's example fills.

`Example` is a program the "Your code" page can load and run like pasted code.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Example:
    title: str
    description: str
    source: str
    cost_name: str = "computeCost"
    gradient_name: str = "gradient"
    convention: str = "seed"
    expected_bug: str | None = None


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


def answer_with(m_divisor: str = "m", regularise: str = REGULARISE_WEIGHTS) -> str:
    """The seed's answer with its gradient's divisor or regularisation lines swapped."""
    return SEED_HEADER.format(sign="-", reg="lamb / (2 * m)") + VECTORISED_GRADIENT.format(
        m_divisor=m_divisor, regularise=regularise
    )


ANSWER = answer_with()
