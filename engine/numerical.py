"""Numerical gradients from cost values only.

No derivative formula enters this module: a numerical gradient that used the
analytic side's pieces would share its bugs. Two paths give the same numbers:

* `loop_gradient`: the seed's `computeNumericalGradient`, for any black-box J(theta).
* `network_numerical_gradient`: for the built-in network. Perturbing Theta_l[i, j]
  moves only unit i of layer l+1, by +-e * a_l[:, j]; so all perturbations of a
  matrix are evaluated at once, batched in chunks, re-running only the layers above
  the perturbed unit. Each perturbed cost is still a whole forward evaluation
  J(theta +- e), summed like the loop's, so it carries the loop's rounding too.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .implementation import CORRECT, Implementation, Stencil
from .network import Problem, add_bias, example_losses, forward, regularization_sum

DEFAULT_CHUNK_ELEMENTS = 1 << 21  # ~16 MB of float64 per batched array


def loop_gradient(
    J: Callable,
    theta,
    eps: float = 1e-4,
    stencil: Stencil = CORRECT.stencil,
    first_index: int = 0,
    dtype=np.float64,
    progress: Callable | None = None,
) -> np.ndarray:
    """The seed's loop over coordinates: numgrad[p] = sum_k w_k J(theta + s_k e_p) / e."""
    theta = np.array(theta, dtype=dtype)
    grad = np.zeros_like(theta)
    indices = range(first_index, theta.size)
    grad[first_index:] = loop_gradient_at(J, theta, indices, eps, stencil, dtype, progress)
    return grad


def loop_gradient_at(
    J: Callable,
    theta,
    indices,
    eps: float = 1e-4,
    stencil: Stencil = CORRECT.stencil,
    dtype=np.float64,
    progress: Callable | None = None,
) -> np.ndarray:
    """The loop's value at the given coordinates only (for sampling a few entries)."""
    theta = np.array(theta, dtype=dtype)
    eps = dtype(eps)
    base = J(theta.copy()) if 0.0 in stencil.steps else None
    values = np.zeros(len(indices), dtype=dtype)
    for count, p in enumerate(indices):
        original = theta[p]
        total = 0.0
        for step, weight in zip(stencil.steps, stencil.weights):
            if step == 0.0:
                value = base
            else:
                theta[p] = original + dtype(step) * eps
                value = J(theta.copy())
                theta[p] = original
            total = total + dtype(weight) * value
        values[count] = total / eps
        if progress is not None:
            progress(count + 1, len(indices))
    return values


def network_numerical_gradient(
    problem: Problem,
    impl: Implementation = CORRECT,
    eps: float = 1e-4,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
    progress: Callable | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Every coordinate's finite difference, and where a ReLU kink was crossed.

    Returns (numerical, kinks): `kinks[p]` is True when moving parameter p by +-e
    flips the sign of some ReLU pre-activation, so the difference straddles a kink
    and may legitimately disagree with the analytic (sub)gradient.
    """
    net = _BaseEvaluation(problem, impl)
    eps = impl.dtype(eps)
    grad = np.zeros(problem.layout.n_params, dtype=impl.dtype)
    kinks = np.zeros(problem.layout.n_params, dtype=bool)
    offsets = problem.layout.offsets
    done = 0
    for k, (rows, cols) in enumerate(problem.layout.shapes):
        widest_above = max([rows] + [s for s in problem.layer_sizes[k + 2 :]])
        chunk = max(1, chunk_elements // (problem.m * widest_above))
        for start in range(0, rows * cols, chunk):
            flat = np.arange(start, min(start + chunk, rows * cols))
            values, kinked = net.perturbed_costs(k, flat, impl.stencil, eps)
            total = sum(impl.dtype(w) * v for w, v in zip(impl.stencil.weights, values))
            grad[offsets[k] + flat] = total / eps
            kinks[offsets[k] + flat] = kinked
            done += flat.size
            if progress is not None:
                progress(done, problem.layout.n_params)
    grad[: impl.first_checked_index] = 0
    return grad, kinks


class _BaseEvaluation:
    """The unperturbed forward pass, kept so each perturbation reuses all of it."""

    def __init__(self, problem: Problem, impl: Implementation):
        self.problem, self.impl = problem, impl
        dtype = impl.dtype
        self.X = problem.X.astype(dtype, copy=False)
        self.Y = problem.one_hot(dtype)
        self.thetas = problem.layout.split(problem.theta.astype(dtype))
        self.f, _ = impl.hidden_activation(problem.activation)
        self.tracks_kinks = problem.activation == "relu"
        self.A, self.Z = forward(self.thetas, self.X, problem.activation, impl)
        self.output_losses = example_losses(self.Z[-1], self.Y, impl)
        self.data_total = np.sum(self.output_losses)
        self.reg_factor = impl.cost_reg_factor(problem.lamb, problem.m)
        self.reg_total = regularization_sum(self.thetas, impl)
        self.reg_masks = [impl.cost_regularized(t) for t in self.thetas]
        self.base_cost = self.data_total / problem.m + self.reg_factor * self.reg_total

    def perturbed_costs(self, k: int, flat: np.ndarray, stencil: Stencil, eps):
        """J at each stencil step for the entries `flat` of Theta_k; and kink flags."""
        rows, cols = self.thetas[k].shape
        i, j = np.divmod(flat, cols)
        original = self.thetas[k][i, j]
        values, kinked = [], np.zeros(flat.size, dtype=bool)
        for step in stencil.steps:
            if step == 0.0:
                values.append(np.full(flat.size, self.base_cost, dtype=self.impl.dtype))
                continue
            moved = original + self.impl.dtype(step) * eps
            shift = (moved - original)[:, None] * self.A[k][:, j].T  # (batch, m)
            data, crossed = self._data_cost_after_shift(k, i, shift)
            reg = self.reg_total + np.where(
                self.reg_masks[k][i, j], moved**2 - original**2, 0
            ).astype(self.impl.dtype)
            values.append(data / self.problem.m + self.reg_factor * reg)
            kinked |= crossed
        return values, kinked

    def _data_cost_after_shift(self, k: int, i: np.ndarray, shift: np.ndarray):
        """Summed cross-entropy when unit i of layer k+1 has its pre-activation shifted."""
        z_unit = self.Z[k][:, i].T + shift  # (batch, m)
        if k == len(self.thetas) - 1:
            y_unit = self.Y[:, i].T
            new = np.sum(example_losses(z_unit, y_unit, self.impl), axis=1)
            old = np.sum(self.output_losses[:, i], axis=0)
            return self.data_total - old + new, np.zeros(i.size, dtype=bool)
        crossed = self._crosses_kink(z_unit, self.Z[k][:, i].T)
        change = self.f(z_unit) - self.A[k + 1][:, i + 1].T  # (batch, m)
        z = self.Z[k + 1][None] + change[:, :, None] * self.thetas[k + 1][:, i + 1].T[:, None, :]
        for layer in range(k + 2, len(self.thetas)):
            crossed |= self._crosses_kink(z, self.Z[layer - 1][None])
            z = add_bias(self.f(z)) @ self.thetas[layer].T
        data = np.sum(example_losses(z, self.Y[None], self.impl), axis=(1, 2))
        return data, crossed

    def _crosses_kink(self, z_new, z_old) -> np.ndarray:
        if not self.tracks_kinks:
            return np.zeros(z_new.shape[0], dtype=bool)
        flipped = (z_new > 0) != (z_old > 0)
        return flipped.reshape(z_new.shape[0], -1).any(axis=1)
