"""Numerical gradients from cost values only.

No derivative formula enters this module: a numerical gradient that used the
analytic side's pieces would share its bugs. Two paths give the same numbers:

* `loop_gradient`: the seed's `computeNumericalGradient`, for any black-box J(theta).
* `network_numerical_gradient`: for the built-in network. Perturbing Theta_l[i, j]
  moves only unit i of layer l+1, by +-e * a_l[:, j]. In float64 each example's loss
  is a polynomial in that shift (`engine.gradcheck.taylor`, from values of the
  implementation's own activation and loss), so all of a matrix's finite differences
  are a few matrix products; the series is checked to have converged to round-off, and
  where it has not (large eps or inputs) the costs are evaluated instead. The
  "batched" path (float32's) evaluates every perturbed cost J(theta +- e), re-running
  only the layers above the perturbed unit, summed like the loop's, so it carries the
  loop's rounding too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property

import numpy as np

from engine.gradcheck.taylor import DEGREES, LossSeries, next_term, taylor_degree
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

    `path`: "interpolated" (float64 default) takes each example's loss as a Taylor
    series in one unit's pre-activation shift and applies the stencil to it at every
    +-e*a[n, j] at once (a matrix whose series has not converged at this eps falls
    back to the batched path); "batched" evaluates every perturbed cost in full, summed
    like the loop (the float32 default, where the loop's own round-off is the point).
    Both equal the seed's loop to within its round-off.
    """
    if path == "auto":
        path = "interpolated" if impl.dtype == np.float64 else "batched"
    if path not in ("interpolated", "batched"):
        raise ValueError(f"path must be 'auto', 'interpolated' or 'batched', got {path!r}")
    if path == "interpolated" and impl.dtype != np.float64:
        raise ValueError("the interpolated path is float64; a float32 check is batched")
    net = BaseEvaluation(problem, impl)
    eps = impl.dtype(eps)
    grad = np.zeros(problem.layout.n_params, dtype=impl.dtype)
    kinks = np.zeros(problem.layout.n_params, dtype=bool)
    offsets = problem.layout.offsets
    done = 0
    for k, (rows, cols) in enumerate(problem.layout.shapes):
        if path == "interpolated":
            block = grad[offsets[k] : offsets[k + 1]].reshape(rows, cols)
            kinky_units = net.series_matrix(k, eps, chunk_elements, out=block)
            if kinky_units is None:
                evaluated = np.arange(rows * cols)
            elif kinky_units.any():
                evaluated = np.flatnonzero(np.repeat(kinky_units, cols))
            else:
                evaluated = None
        else:
            evaluated = np.arange(rows * cols)
        if evaluated is not None:
            matrix = slice(offsets[k], offsets[k + 1])
            evaluate_entries(net, k, evaluated, eps, grad[matrix], kinks[matrix], chunk_elements)
        done += rows * cols
        if progress is not None:
            progress(done, problem.layout.n_params)
    grad[: impl.first_checked_index] = 0
    return grad, kinks


def evaluate_entries(net, k: int, entries, eps, out, kinks, chunk_elements: int) -> None:
    """The batched path for some flat `entries` of Theta_k: each perturbed cost
    evaluated, re-running the layers above; written into the matrix's slices of the
    gradient (`out`) and of the kink flags."""
    impl, problem = net.impl, net.problem
    rows = net.thetas[k].shape[0]
    widest_above = max([rows] + [s for s in problem.layer_sizes[k + 2 :]])
    chunk = max(1, chunk_elements // (problem.m * widest_above))
    for start in range(0, entries.size, chunk):
        flat = entries[start : start + chunk]
        values, kinked = net.perturbed_costs(k, flat, impl.stencil, eps)
        total = sum(impl.dtype(w) * v for w, v in zip(impl.stencil.weights, values))
        out[flat] = total / eps
        kinks[flat] = kinked


class BaseEvaluation:
    """The unperturbed forward pass, kept so each perturbation reuses all of it."""

    def __init__(self, problem: Problem, impl: Implementation):
        self.problem, self.impl = problem, impl
        dtype = impl.dtype
        self.X = problem.X.astype(dtype, copy=False)
        self.Y = problem.one_hot(dtype)
        self.thetas = problem.layout.split(problem.theta.astype(dtype, copy=False))
        self.f, _ = impl.hidden_activation(problem.activation)
        self.tracks_kinks = problem.activation == "relu"
        self.A, self.Z = forward(self.thetas, self.X, problem.activation, impl)
        self.output_losses = example_losses(self.Z[-1], self.Y, impl)
        self.data_total = self.output_losses.sum()
        self.reg_factor = impl.cost_reg_factor(problem.lamb, problem.m)
        self.reg_masks = [impl.cost_regularized(t) for t in self.thetas]
        self.moments = stencil_moments(impl.stencil)
        values = [a[:, 1:] for a in self.A[1:]] + [self.output_losses]  # f(Z[l]), losses
        self.series = LossSeries(
            self.f, self._losses, self.Z, values, self.thetas, self.tracks_kinks
        )

    @cached_property
    def reg_total(self):
        """The penalty's sum of squares (the batched path's costs need it; the series don't)."""
        return regularization_sum(self.thetas, self.impl)

    @cached_property
    def base_cost(self):
        return self.data_total / self.problem.m + self.reg_factor * self.reg_total

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

    def series_matrix(self, k: int, eps, chunk_elements: int, out: np.ndarray):
        """All finite differences of Theta_k, written into `out`, from each example's
        loss as a polynomial in one unit's shift.

        L_n(t) - L_n(0), unit i of layer k+1 shifted by t, comes as Taylor coefficients
        c_p in tau = t / T for |t| <= T = e * max|s a| (`LossSeries`). The stencil at
        t = s e a[n, j] for every j is then one matrix product over (power, example):
        sum_p M_p c_p[n, i] (e a[n, j] / T)^p / (e m), M_p = sum_k w_k s_k^p, over the
        powers the stencil keeps (odd ones for central differences) whose whole term
        exceeds a thousandth of the cost's round-off. Returns the units whose shifts
        may cross a ReLU kink (to be redone the batched way). `out` is written in
        place: fresh blocks of this size made the check page-fault bound.
        """
        a = self.A[k]
        moments = self.moments
        reach = eps * moments.largest_step * max(float(np.abs(a).max()), 1e-300)
        data_cost = abs(float(self.data_total)) / self.problem.m
        negligible = 1e-3 * np.finfo(np.float64).eps * max(data_cost, 1.0) / eps
        scale = 1.0 / (eps * self.problem.m)
        degree = taylor_degree(reach, moments.central)
        output_scale = max(float(np.abs(self.A[-1]).max()), 1.0)
        loss_reach = eps * moments.largest_step * output_scale  # the output layer's own
        while True:
            coefficients, kinky = self.series.coefficients(
                k, reach, degree, chunk_elements, loss_reach
            )
            sizes = (np.abs(coefficients).sum(axis=1).max(axis=1) * scale).tolist()
            step = 2 if moments.central else 1
            if next_term(sizes, moments.central) * abs(moments.of_powers[degree + step]) < (
                negligible
            ):
                break
            if degree == DEGREES[-1]:
                return None  # the loss is no polynomial at this reach: evaluate costs
            degree = DEGREES[DEGREES.index(degree) + 1]
        kept = [  # |tau| <= 1, so sizes bound each power's whole term
            (power, moments.of_powers[power] * scale)
            for power, size in enumerate(sizes, start=1)
            if size * abs(moments.of_powers[power]) >= negligible
        ]
        if kept:
            left = np.empty((len(kept),) + coefficients.shape[1:])
            right = np.empty((len(kept),) + a.shape)
            scaled = a * (eps / reach)
            for row, (power, weight) in enumerate(kept):
                np.multiply(coefficients[power - 1], weight, out=left[row])
                np.power(scaled, power, out=right[row])
            np.matmul(left.reshape(-1, left.shape[2]).T, right.reshape(-1, a.shape[1]), out=out)
        else:
            out[:] = 0.0
        self._add_penalty_differences(k, eps, out)
        return kinky

    def _losses(self, z_out):
        return example_losses(z_out, self.Y, self.impl)

    def _add_penalty_differences(self, k: int, eps, out, rows_per_pass: int = 256):
        """The stencil applied to the penalty, added to `out` a few rows at a time.

        factor * sum_k w_k ((t + s_k e)^2 - t^2) / e is exactly
        factor * (2 t sum w s + e sum w s^2): the finite difference in closed form,
        with no cost to evaluate and no whole-matrix temporaries.
        """
        moments = self.moments
        linear = 2 * moments.of_powers[1] * self.reg_factor
        constant = eps * moments.of_powers[2] * self.reg_factor
        theta, mask = self.thetas[k], self.reg_masks[k]
        for start in range(0, theta.shape[0], rows_per_pass):
            rows = slice(start, start + rows_per_pass)
            change = theta[rows] * linear
            change += constant
            change *= mask[rows]
            out[rows] += change

    def _crosses_kink(self, z_new, z_old) -> np.ndarray:
        if not self.tracks_kinks:
            return np.zeros(z_new.shape[0], dtype=bool)
        flipped = (z_new > 0) != (z_old > 0)
        return flipped.reshape(z_new.shape[0], -1).any(axis=1)


@dataclass(frozen=True)
class StencilMoments:
    """M_p = sum_k w_k s_k**p for p = 0..MAX: what the stencil makes of a t**p term."""

    of_powers: tuple[float, ...]
    largest_step: float

    @property
    def central(self) -> bool:
        """Even powers cancel (M_0 = M_2 = 0), as in central differences."""
        return self.of_powers[0] == 0 and self.of_powers[2] == 0


@cache
def stencil_moments(stencil: Stencil, highest: int = 12) -> StencilMoments:
    powers = tuple(
        float(sum(w * s**p for w, s in zip(stencil.weights, stencil.steps)))
        for p in range(highest + 1)
    )
    return StencilMoments(powers, max(abs(s) for s in stencil.steps))
