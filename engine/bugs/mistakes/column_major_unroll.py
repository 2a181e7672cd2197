"""The gradient unrolled column-major, as Octave's Theta(:) does, against a row-major theta."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from engine.bugs.bug import Bug, Claim
from engine.bugs.founding import Example
from engine.bugs.observations import Observation, Permutation
from engine.network.pieces import Implementation

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


def unroll_column_major(matrices):
    """Octave's `Theta(:)`: column-major, while the parameter vector is row-major."""
    return np.concatenate([m.ravel(order="F") for m in matrices])


def realise(impl: Implementation) -> Implementation:
    return replace(impl, unroll_gradient=unroll_column_major)


def detect(seen: Observation) -> Claim | None:
    """Right values, in the places a column-major unrolling puts them."""
    if not (isinstance(seen, Permutation) and seen.column_major):
        return None
    return Claim(
        message=(
            f"{seen.names}: the analytic values are the numerical values unrolled column by "
            "column. The gradient was flattened column-major (Octave's Theta(:), "
            "ravel(order='F')) while theta is row-major: the numbers are right, the "
            "places are wrong."
        ),
        evidence="; ".join(
            f"{m.name}: {m.n_diverging} of {m.size} entries diverge in place, none after reordering"
            for m in seen.matrices
        ),
        score=0.9,
    )


BUG = Bug(
    number=7,
    id="column-major-unroll",
    title="Gradient unrolled column-major (Octave's (:))",
    where="backprop",
    cause="layout",
    explanation=(
        "Octave's Theta(:) unrolls column by column; NumPy's ravel() and the parameter "
        "vector go row by row. Unrolling the gradient one way and theta the other "
        "pairs each derivative with the wrong weight."
    ),
    buggy_code='grad = np.concatenate([g.ravel(order="F") for g in grads])',
    fixed_code="grad = np.concatenate([g.ravel() for g in grads])",
    signature=(
        "Within each matrix the analytic values are the numerical ones in transposed "
        "order: the right numbers in the wrong places. First and last entries agree."
    ),
    realise=realise,
    detect=detect,
    example=(
        "octave-port",
        Example(
            "An Octave port, f(theta) style",
            "Plain functions of theta using globals; the gradient is unrolled column-major "
            "as Octave's (:) does.",
            OCTAVE_PORT,
            cost_name="nnCost",
            gradient_name="nnGrad",
            convention="plain",
        ),
    ),
)
