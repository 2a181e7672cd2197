"""The fast screen: which matrix, and which part of it, holds a wrong gradient, from a
handful of cost evaluations.

A single random projection of the whole gradient (torch's gradcheck fast mode) can
miss a bug confined to a few entries: 35 wrong bias entries among 10,285 barely move
one projection. So the screen projects each *block* separately, each matrix's bias
column and its weights: a directional derivative along a random Gaussian direction
supported on the block, central differences on the cost against the analytic
gradient's projection. Blocks that disagree get a few sampled per-entry checks.
Cost: 2 evaluations per block and direction, plus 2 per sampled entry.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import numpy as np

from engine.bugs.catalogue import implementation_with
from engine.gradcheck.noise import noise_floor
from engine.gradcheck.numerical import BaseEvaluation, loop_gradient_at
from engine.network.layout import Layout
from engine.network.model import Problem, cost, forward, gradient
from engine.network.pieces import CENTRAL

DIRECTIONS = 2
SAMPLES = 8
KINK_RETREAT = np.array([1.0, 0.1, 0.01])


@dataclass(frozen=True, eq=False)
class BlockScreen:
    """One block's verdict: its directional derivatives, then its sampled entries."""

    matrix: str
    part: str  # "bias" or "weights"
    size: int
    analytic: np.ndarray = field(repr=False)  # directional derivatives, one per direction
    numerical: np.ndarray = field(repr=False)
    fails: bool
    sample_indices: np.ndarray = field(repr=False)
    sample_analytic: np.ndarray = field(repr=False)
    sample_numerical: np.ndarray = field(repr=False)
    sample_fails: np.ndarray = field(repr=False)

    @property
    def name(self) -> str:
        return f"{self.matrix} {self.part}"


@dataclass(frozen=True, eq=False)
class ScreenResult:
    blocks: list
    layout: Layout = field(repr=False)
    cost_evaluations: int = 0
    seconds: float = 0.0
    localise_seconds: float = 0.0

    @property
    def fails(self) -> bool:
        return any(b.fails for b in self.blocks)

    @property
    def failing(self) -> list:
        return [b for b in self.blocks if b.fails]

    def describe(self) -> str:
        if not self.fails:
            return (
                f"All {len(self.blocks)} blocks agree ({self.cost_evaluations} cost "
                f"evaluations, {self.seconds:.2f} s)."
            )
        parts = []
        for b in self.failing:
            bad = [
                self.layout.describe(int(i)) for i, f in zip(b.sample_indices, b.sample_fails) if f
            ]
            parts.append(
                f"{b.name} ({b.size} entries; sampled entries that differ: "
                f"{'; '.join(bad[:3]) or 'none of the sampled ones'})"
            )
        return (
            f"Wrong gradient in {', '.join(parts)}. {self.cost_evaluations} cost "
            f"evaluations, {self.seconds:.2f} s."
        )


def blocks_of(layout: Layout) -> list[tuple[str, str, np.ndarray]]:
    """(matrix, part, flat indices) for each matrix's bias column and its weights."""
    out = []
    for name, start, (rows, cols) in zip(layout.names, layout.offsets, layout.shapes):
        flat = start + np.arange(rows * cols).reshape(rows, cols)
        out.append((name, "bias", flat[:, 0].ravel()))
        if cols > 1:
            out.append((name, "weights", flat[:, 1:].ravel()))
    return out


def screen_functions(
    cost_fn: Callable,
    gradient_fn: Callable,
    theta,
    shapes,
    eps: float = 1e-4,
    directions: int = DIRECTIONS,
    samples: int = SAMPLES,
    seed: int = 0,
    threshold: float = 1e-4,
    sample_numerical: Callable | None = None,
    crosses_kink: Callable | None = None,
) -> ScreenResult:
    """Screen any cost(theta) and gradient(theta); matrices are cut from `shapes`.

    `crosses_kink(theta_plus, theta_minus)`, when given, says whether a move crosses a
    ReLU kink; such a direction is redrawn with a 10x smaller step (twice), and a
    direction that still crosses one is not counted as a disagreement.
    """
    start = time.perf_counter()
    layout = Layout.from_shapes(shapes)
    theta = np.asarray(theta, dtype=np.float64).ravel()
    analytic = np.asarray(gradient_fn(theta.copy()), dtype=np.float64).ravel()
    rng = np.random.default_rng(seed)
    evaluations = 1
    base = float(cost_fn(theta.copy()))
    floor = noise_floor(np.float64, "central", eps, base).absolute  # for sampled entries
    verdicts = []
    for name, part, indices in blocks_of(layout):
        ana, num, fails = np.empty(directions), np.empty(directions), np.zeros(directions, bool)
        for d in range(directions):
            for step in eps * KINK_RETREAT:  # smaller steps if the move crosses a ReLU kink
                v = np.zeros_like(theta)
                v[indices] = rng.standard_normal(indices.size) / np.sqrt(indices.size)
                kinked = crosses_kink is not None and crosses_kink(
                    theta + step * v, theta - step * v
                )
                if not kinked:
                    break
            plus, minus = float(cost_fn(theta + step * v)), float(cost_fn(theta - step * v))
            num[d], ana[d] = (plus - minus) / (2 * step), analytic @ v
            evaluations += 2
            step_floor = noise_floor(np.float64, "central", step, base).absolute
            fails[d] = not kinked and bool(_disagree(ana[d], num[d], step_floor, threshold))
        verdicts.append((name, part, indices, ana, num, fails))
    localised = time.perf_counter() - start
    blocks = []
    for name, part, indices, ana, num, fails in verdicts:
        picked = (
            np.sort(rng.choice(indices, min(samples, indices.size), replace=False))
            if fails.any() and samples
            else np.array([], dtype=int)
        )
        if picked.size:
            sampled = (
                sample_numerical(picked)
                if sample_numerical is not None
                else loop_gradient_at(cost_fn, theta, picked, eps)
            )
            evaluations += 2 * picked.size
        else:
            sampled = np.array([])
        blocks.append(
            BlockScreen(
                name,
                part,
                indices.size,
                ana,
                num,
                bool(fails.any()),
                picked,
                analytic[picked],
                sampled,
                _disagree(analytic[picked], sampled, floor, threshold),
            )
        )
    return ScreenResult(blocks, layout, evaluations, time.perf_counter() - start, localised)


def screen_problem(problem: Problem, bugs=(), eps: float = 1e-4, **options) -> ScreenResult:
    """Screen the built-in network with `bugs` on (the screen is its own, correct checker,
    so bugs of the numerical loop itself, like a skipped index, do not apply to it)."""
    impl = replace(
        implementation_with(bugs), stencil=CENTRAL, first_checked_index=0, dtype=np.float64
    )
    net = BaseEvaluation(problem, impl)

    def sample_numerical(indices):
        """Per-entry central differences, only the layers above each entry re-run."""
        out = np.empty(indices.size)
        for k, (start, stop) in enumerate(zip(problem.layout.offsets, problem.layout.offsets[1:])):
            mine = (indices >= start) & (indices < stop)
            if mine.any():
                values, _ = net.perturbed_costs(k, indices[mine] - start, CENTRAL, eps)
                out[mine] = (0.5 * values[0] - 0.5 * values[1]) / eps
        return out

    def signs(t):
        _, Z = forward(problem.layout.split(t), problem.X, problem.activation, impl)
        return np.concatenate([(z > 0).ravel() for z in Z[:-1]])

    has_kinks = problem.activation == "relu" and len(problem.layer_sizes) > 2
    base_signs = signs(problem.theta) if has_kinks else None

    def crosses_kink(plus, minus) -> bool:
        return bool(np.any(signs(plus) != base_signs) or np.any(signs(minus) != base_signs))

    return screen_functions(
        lambda t: cost(t, problem, impl),
        lambda t: gradient(t, problem, impl),
        problem.theta,
        problem.layout.shapes,
        eps,
        sample_numerical=sample_numerical,
        crosses_kink=crosses_kink if has_kinks else None,
        **options,
    )


def _disagree(analytic, numerical, floor, threshold) -> np.ndarray:
    analytic, numerical = np.asarray(analytic, float), np.asarray(numerical, float)
    difference = np.abs(analytic - numerical)
    scale = np.maximum(np.abs(analytic), np.abs(numerical))
    return (difference > floor) & (difference > threshold * scale)
