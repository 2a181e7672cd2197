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

from engine.network.model import Problem, add_bias, example_losses, forward, regularization_sum
from engine.network.pieces import CORRECT, Implementation, Stencil

DEFAULT_CHUNK_ELEMENTS = 1 << 18  # 2 MB of float64 per batched array: fresh 16 MB
# temporaries made the loop page-fault bound (400-100-50-10: 71 ms at 2^21, 53 ms here)


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
    base, shifted = loop_costs_at(J, theta, indices, eps, stencil, dtype, progress)
    return combine_costs(base, shifted, eps, stencil, dtype)


def loop_costs_at(
    J: Callable,
    theta,
    indices,
    eps: float = 1e-4,
    stencil: Stencil = CORRECT.stencil,
    dtype=np.float64,
    progress: Callable | None = None,
) -> tuple[float | None, np.ndarray]:
    """The loop's cost values: J(theta) if the stencil uses it, and J(theta + s_k e e_p).

    Kept apart from `combine_costs` so that untrusted code can evaluate the costs
    while the caller does the arithmetic: a child process then can lie only about
    its own cost, never about the numerical gradient.
    """
    theta = np.array(theta, dtype=dtype)
    eps = dtype(eps)
    steps = [s for s in stencil.steps if s != 0.0]
    base = J(theta.copy()) if 0.0 in stencil.steps else None
    shifted = np.zeros((len(indices), len(steps)), dtype=np.float64)
    for count, p in enumerate(indices):
        original = theta[p]
        for k, step in enumerate(steps):
            theta[p] = original + dtype(step) * eps
            shifted[count, k] = J(theta.copy())
            theta[p] = original
        if progress is not None:
            progress(count + 1, len(indices))
    return base, shifted


def combine_costs(
    base, shifted, eps: float, stencil: Stencil = CORRECT.stencil, dtype=np.float64
) -> np.ndarray:
    """sum_k w_k J_k / e per coordinate, in the loop's order of operations (same bits)."""
    shifted = np.asarray(shifted, dtype=np.float64)
    eps = dtype(eps)
    total = np.zeros(shifted.shape[0], dtype=dtype)
    k = 0
    for step, weight in zip(stencil.steps, stencil.weights):
        if step == 0.0:
            value = dtype(base)
        else:
            value = shifted[:, k].astype(dtype)
            k += 1
        total = total + dtype(weight) * value
    return (total / eps).astype(dtype)


def network_numerical_gradient(
    problem: Problem,
    impl: Implementation = CORRECT,
    eps: float = 1e-4,
    chunk_elements: int = DEFAULT_CHUNK_ELEMENTS,
    progress: Callable | None = None,
    path: str = "auto",
) -> tuple[np.ndarray, np.ndarray]:
    """Every coordinate's finite difference, and where a ReLU kink was crossed.

    Returns (numerical, kinks): `kinks[p]` is True when moving parameter p by +-e
    flips the sign of some ReLU pre-activation, so the difference straddles a kink
    and may legitimately disagree with the analytic (sub)gradient.

    `path`: "interpolated" (float64 default) samples each example's loss as a function
    of one unit's pre-activation shift at a few points and evaluates its interpolating
    polynomial at every +-e*a[n, j] at once; "batched" evaluates every perturbed cost
    in full, summed like the loop (the float32 default, where the loop's own round-off
    is the point). Both equal the seed's loop to within its round-off.
    """
    if path == "auto":
        path = "interpolated" if impl.dtype == np.float64 else "batched"
    if path not in ("interpolated", "batched"):
        raise ValueError(f"path must be 'auto', 'interpolated' or 'batched', got {path!r}")
    net = BaseEvaluation(problem, impl)
    eps = impl.dtype(eps)
    grad = np.zeros(problem.layout.n_params, dtype=impl.dtype)
    kinks = np.zeros(problem.layout.n_params, dtype=bool)
    offsets = problem.layout.offsets
    done = 0
    for k, (rows, cols) in enumerate(problem.layout.shapes):
        widest_above = max([rows] + [s for s in problem.layer_sizes[k + 2 :]])
        flat_all = np.arange(rows * cols)
        if path == "interpolated":
            block, kinky_units = net.interpolated_matrix(k, eps, chunk_elements)
            grad[offsets[k] : offsets[k + 1]] = block.ravel()
            redo = flat_all[np.repeat(kinky_units, cols)]
        else:
            redo = flat_all
        chunk = max(1, chunk_elements // (problem.m * widest_above))
        for start in range(0, redo.size, chunk):
            flat = redo[start : start + chunk]
            values, kinked = net.perturbed_costs(k, flat, impl.stencil, eps)
            total = sum(impl.dtype(w) * v for w, v in zip(impl.stencil.weights, values))
            grad[offsets[k] + flat] = total / eps
            kinks[offsets[k] + flat] = kinked
        done += rows * cols
        if progress is not None:
            progress(done, problem.layout.n_params)
    grad[: impl.first_checked_index] = 0
    return grad, kinks


INTERPOLATION_NODES = 7  # a degree-6 polynomial: exact far below round-off for |t| <= e


class BaseEvaluation:
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
        self.example_totals = np.sum(self.output_losses, axis=1)
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

    def interpolated_matrix(self, k: int, eps, chunk_elements: int):
        """All finite differences of Theta_k from a few forward passes per unit.

        Each example's loss, as a function of the shift t of unit i's pre-activation,
        is sampled at Chebyshev-Lobatto nodes in [-T, T] (T = e * max|a|) and interpolated;
        the stencil is then applied to the polynomial at t = s * e * a[n, j] for every
        j at once, which is a few matrix products. Returns the (rows, cols) block and
        the units whose shifts crossed a ReLU kink (to be redone the batched way).
        """
        rows, cols = self.thetas[k].shape
        a = self.A[k]
        reach = eps * max(float(np.abs(a).max()), 1e-300)
        # Chebyshev-Lobatto nodes: the ends +-T are sampled too, so a kink that any
        # actual shift reaches is seen (pre-activations move monotonically with t)
        tau = np.cos(np.pi * np.arange(INTERPOLATION_NODES) / (INTERPOLATION_NODES - 1))
        tau[np.abs(tau) < 1e-12] = 0.0  # the middle node, cos(pi/2) up to rounding: exactly 0
        to_coefficients = np.linalg.inv(np.vander(tau, INTERPOLATION_NODES, increasing=True))
        widest_above = max(self.problem.layer_sizes[k + 2 :], default=1)
        per_unit = INTERPOLATION_NODES * self.problem.m * widest_above
        chunk = max(1, chunk_elements // per_unit)
        stencil = self.impl.stencil
        moments = [
            sum(w * s**p for w, s in zip(stencil.weights, stencil.steps))
            for p in range(INTERPOLATION_NODES)
        ]
        scaled = eps * a / reach  # (m, cols), |scaled| <= 1
        block = np.zeros((rows, cols))
        kinky = np.zeros(rows, dtype=bool)
        for start in range(0, rows, chunk):
            units = np.arange(start, min(start + chunk, rows))
            samples, crossed = [], np.zeros(units.size, dtype=bool)
            for t in reach * tau:
                if t == 0.0:  # L(0) - L(0): nothing to evaluate (a seventh of the passes)
                    samples.append(np.zeros((units.size, self.problem.m)))
                    continue
                change, flipped = self._example_loss_changes(k, units, t)
                samples.append(change)
                crossed |= flipped
            coefficients = np.tensordot(to_coefficients, np.stack(samples), axes=(1, 0))
            power = np.ones_like(scaled)
            for p in range(1, INTERPOLATION_NODES):
                power = power * scaled
                if moments[p] != 0:
                    block[units] += moments[p] * (coefficients[p] @ power)
            kinky[units] = crossed
        block /= eps * self.problem.m
        block += self._penalty_differences(k, eps)
        return block, kinky

    def _penalty_differences(self, k: int, eps):
        """The stencil applied to the penalty directly: factor * sum w ((t + s e)^2 - t^2) / e."""
        theta = self.thetas[k]
        total = sum(
            w * ((theta + s * eps) ** 2 - theta**2)
            for w, s in zip(self.impl.stencil.weights, self.impl.stencil.steps)
        )
        return np.where(self.reg_masks[k], self.reg_factor * total / eps, 0.0)

    def _example_loss_changes(self, k: int, units: np.ndarray, t: float):
        """L_n(t) - L_n(0) per (unit, example): unit i of layer k+1 shifted by t."""
        z_unit = self.Z[k][:, units].T + t  # (units, m)
        if k == len(self.thetas) - 1:
            y_unit = self.Y[:, units].T
            new = example_losses(z_unit, y_unit, self.impl)
            return new - self.output_losses[:, units].T, np.zeros(units.size, dtype=bool)
        crossed = self._crosses_kink(z_unit, self.Z[k][:, units].T)
        change = self.f(z_unit) - self.A[k + 1][:, units + 1].T
        z = (
            self.Z[k + 1][None]
            + change[:, :, None] * self.thetas[k + 1][:, units + 1].T[:, None, :]
        )
        for layer in range(k + 2, len(self.thetas)):
            crossed |= self._crosses_kink(z, self.Z[layer - 1][None])
            z = add_bias(self.f(z)) @ self.thetas[layer].T
        new = np.sum(example_losses(z, self.Y[None], self.impl), axis=2)
        return new - self.example_totals[None], crossed

    def _crosses_kink(self, z_new, z_old) -> np.ndarray:
        if not self.tracks_kinks:
            return np.zeros(z_new.shape[0], dtype=bool)
        flipped = (z_new > 0) != (z_old > 0)
        return flipped.reshape(z_new.shape[0], -1).any(axis=1)
