"""The fast screen: which matrix, and which part of it, holds a wrong gradient, from a
handful of cost evaluations.

A single random projection of the whole gradient (torch's gradcheck fast mode) can
miss a bug confined to a few entries: 35 wrong bias entries among 10,285 barely move
one projection. So the screen projects each *block* separately, each matrix's bias
column and its weights: a directional derivative along a random Gaussian direction
supported on the block, central differences on the cost against the analytic
gradient's projection. Blocks that disagree get a few sampled per-entry checks.
Cost: 2 evaluations per block and direction, plus 2 per sampled entry.

`screen_functions` screens any cost(theta) and gradient(theta) that way, each
evaluation a call of the cost. `screen_problem`, for the built-in network, makes the
same evaluations cheap (`StructuredCost`): a direction on a weights block is a sum of
RANK random outer products, V = c U W^T, so moving Theta_k along it shifts Z_k by the
low-rank s c (A_k W) U^T; the layers below are kept from one forward pass, and only
those above are re-run, for every direction of every block and both signs of the step
in one batch. RANK trades nothing measurable for detection: a bug confined to one entry
(i, j) shows through V_ij alone, and sum_r u_ir w_jr is near 0 more often than a
Gaussian for few terms (rank 1 is a product of two Gaussians). On 2,000 random
networks with one analytic entry off by 0.003 max|g|, full Gaussian directions missed
16, rank 1 56, rank 3 35, rank 6 17.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np

from engine.bugs.catalogue import implementation_with
from engine.gradcheck.noise import noise_floor
from engine.gradcheck.numerical import loop_gradient_at
from engine.network.layout import Layout
from engine.network.model import Problem, example_losses, forward, gradient
from engine.network.pieces import CENTRAL, Implementation

DIRECTIONS = 2
SAMPLES = 8
RANK = 6  # outer products per direction on a weights block (screen_problem)
CHUNK_ELEMENTS = 1 << 17  # per batched array of moved pre-activations: 1 MB, cache-sized
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


def screen_problem(
    problem: Problem,
    bugs=(),
    eps: float = 1e-4,
    directions: int = DIRECTIONS,
    samples: int = SAMPLES,
    seed: int = 0,
    threshold: float = 1e-4,
    rank: int = RANK,
) -> ScreenResult:
    """Screen the built-in network with `bugs` on (the screen is its own, correct checker,
    so bugs of the numerical loop itself, like a skipped index, do not apply to it).

    The verdicts of `screen_functions` from one analytic gradient and one forward pass:
    a direction on a block is a sum of `rank` random outer products, so its moved costs
    come from re-running only the layers above its matrix (`StructuredCost`), all
    directions of a matrix and both signs of the step in one batch. A direction whose
    move flips the sign of a ReLU pre-activation is redrawn with a 10x smaller step
    (twice); one that still crosses a kink is not counted as a disagreement.
    """
    start = time.perf_counter()
    impl = replace(
        implementation_with(bugs), stencil=CENTRAL, first_checked_index=0, dtype=np.float64
    )
    layout = problem.layout
    net = StructuredCost(problem, impl)
    analytic = np.asarray(gradient(problem.theta, problem, impl), dtype=np.float64).ravel()
    gradients = layout.split(analytic)
    rng = np.random.default_rng(seed)
    base = net.base_cost
    floor = noise_floor(np.float64, "central", eps, base).absolute
    steps = eps * KINK_RETREAT
    step_floors = np.full(steps.size, floor)  # the retreats' floors, once they are needed
    blocks = [
        (k, part)
        for k, (_, cols) in enumerate(layout.shapes)
        for part in (("bias", "weights") if cols > 1 else ("bias",))
    ]
    shape = (len(blocks), directions)
    ana, num = np.empty(shape), np.empty(shape)
    kinked, retreats = np.zeros(shape, bool), np.zeros(shape, int)
    pending = [(b, d) for b in range(len(blocks)) for d in range(directions)]
    for retreat, step in enumerate(steps):  # smaller steps, redrawn, past a ReLU kink
        moves = []
        for b in sorted(set(b for b, _ in pending)):
            count = sum(1 for block, _ in pending if block == b)
            moves += net.random_directions(*blocks[b], count, rank, rng)
        values, crossed = net.directional_derivatives(moves, step)
        where = tuple(np.array(pending).T)
        ana[where], num[where] = net.project(gradients, moves), values
        kinked[where], retreats[where] = crossed, retreat
        if retreat:
            step_floors[retreat] = noise_floor(np.float64, "central", step, base).absolute
        pending = [move for move, cross in zip(pending, crossed) if cross]
        if not pending:
            break
    fails = ~kinked & _disagree(ana, num, step_floors[retreats], threshold)
    localised = time.perf_counter() - start
    sizes = [
        layout.shapes[k][0] * (1 if part == "bias" else layout.shapes[k][1] - 1)
        for k, part in blocks
    ]
    picked = [
        np.sort(_block_index(layout, k, part, rng.choice(size, min(samples, size), replace=False)))
        if failed.any() and samples  # rng.choice(indices, ...) without making `indices`
        else np.array([], dtype=int)
        for (k, part), size, failed in zip(blocks, sizes, fails)
    ]
    everyone = np.concatenate(picked)
    sampled = net.entry_differences(everyone, eps)
    sample_fails = _disagree(analytic[everyone], sampled, floor, threshold)
    ends = np.cumsum([p.size for p in picked]).tolist()
    cuts = [slice(end - p.size, end) for p, end in zip(picked, ends)]
    evaluations = 1 + 2 * fails.size + 2 * everyone.size
    results = [
        BlockScreen(
            layout.names[k],
            part,
            size,
            ana[b],
            num[b],
            bool(fails[b].any()),
            chosen,
            analytic[chosen],
            sampled[cut],
            sample_fails[cut],
        )
        for b, ((k, part), size, chosen, cut) in enumerate(zip(blocks, sizes, picked, cuts))
    ]
    return ScreenResult(results, layout, evaluations, time.perf_counter() - start, localised)


def _block_index(layout: Layout, k: int, part: str, position):
    """The flat index of entry `position` (row-major) of a block of Theta_k, as
    `blocks_of` lists them."""
    cols = layout.shapes[k][1]
    if part == "bias":
        return layout.offsets[k] + np.asarray(position) * cols
    row, col = np.divmod(np.asarray(position), cols - 1)
    return layout.offsets[k] + row * cols + 1 + col


@dataclass(frozen=True, eq=False)
class Direction:
    """V = scale * U @ W.T on one block of Theta_k, U rows x r and W the block's columns
    x r (W = [[1]] on the bias column); `scale` makes ||V||_F = 1."""

    k: int
    part: str
    U: np.ndarray = field(repr=False)
    W: np.ndarray = field(repr=False)
    scale: float

    @property
    def columns(self) -> slice:
        return slice(0, 1) if self.part == "bias" else slice(1, None)

    def matrix(self, shape) -> np.ndarray:
        """V as a whole Theta_k-shaped matrix (for tests and mixed penalty masks)."""
        full = np.zeros(shape)
        full[:, self.columns] = self.scale * (self.U @ self.W.T)
        return full


class StructuredCost:
    """The built-in network's cost moved along one matrix, from one kept forward pass.

    Moving Theta_k by s V changes only Z_k, by s A_k V^T; for V = c U W^T that is the
    rank-r update s c (A_k W) U^T (no GEMM), so the layers below are reused and those
    above re-run for a batch of moves at once. The penalty changes by 2 s <Theta_k, V> +
    s^2 <1, V^2> over its mask. Only forward pieces enter (the implementation's
    activation, cross-entropy, penalty mask and factor), no derivative formula: the
    numerical side shares no bug of the analytic one. Each cost equals
    `cost(theta + s v, problem, impl)` to round-off.
    """

    def __init__(self, problem: Problem, impl: Implementation):
        self.problem, self.impl = problem, impl
        self.m = problem.m
        self.Y = problem.one_hot(np.float64)
        self.thetas = problem.layout.split(problem.theta.astype(np.float64, copy=False))
        self.f, _ = impl.hidden_activation(problem.activation)  # the activation only
        X = problem.X.astype(np.float64, copy=False)
        self.A, self.Z = forward(self.thetas, X, problem.activation, impl)
        self.positive = [z > 0 for z in self.Z[:-1]] if problem.activation == "relu" else None
        self.output_losses = example_losses(self.Z[-1], self.Y, impl)
        self.data_total = float(np.sum(self.output_losses))
        self.widest_above = [max(z.shape[1] for z in self.Z[k:]) for k in range(len(self.Z))]
        self.reg_factor = impl.cost_reg_factor(problem.lamb, problem.m)
        self.reg_masks = [impl.cost_regularized(t) for t in self.thetas]
        self.reg_total = sum(map(_masked_square_sum, self.thetas, self.reg_masks))
        self.base_cost = self.data_total / self.m + self.reg_factor * self.reg_total
        self._penalised = {}

    # --- directions ---------------------------------------------------------------

    def random_direction(self, k: int, part: str, rank: int, rng) -> Direction:
        return self.random_directions(k, part, 1, rank, rng)[0]

    def random_directions(self, k: int, part: str, count: int, rank: int, rng):
        """`count` Gaussian directions on a block: U and W standard normal, rank r
        (the bias column's directions are plain Gaussian vectors)."""
        rows, cols = self.thetas[k].shape
        if part == "bias":
            U, W = rng.standard_normal((count, rows, 1)), np.ones((count, 1, 1))
        else:
            U = rng.standard_normal((count, rows, rank))
            W = rng.standard_normal((count, cols - 1, rank))
        gram = (U.swapaxes(1, 2) @ U) * (W.swapaxes(1, 2) @ W)
        norms = np.sqrt(gram.sum(axis=(1, 2)))  # ||U W^T||_F
        return [
            Direction(k, part, u, w, 1.0 / norm if norm > 0 else 0.0)
            for u, w, norm in zip(U, W, norms)
        ]

    @staticmethod
    def direction(k: int, part: str, U, W) -> Direction:
        U, W = np.asarray(U, np.float64), np.asarray(W, np.float64)
        norm2 = float(np.sum((U.T @ U) * (W.T @ W)))  # ||U W^T||_F^2
        return Direction(k, part, U, W, 1.0 / np.sqrt(norm2) if norm2 > 0 else 0.0)

    @staticmethod
    def project(matrices, moves: list[Direction]) -> np.ndarray:
        """<matrices[k], V> for each move on Theta_k, without forming V: the scaled trace
        of U^T M W, one pass over each block (matrices[k] None: 0)."""
        out = np.zeros(len(moves))
        groups = {}
        for i, move in enumerate(moves):
            groups.setdefault((move.k, move.part), []).append(i)
        for (k, _), mine in groups.items():
            if matrices[k] is None:
                continue
            chosen = [moves[i] for i in mine]
            MW = matrices[k][:, chosen[0].columns] @ np.hstack([move.W for move in chosen])
            traces = (MW * np.hstack([move.U for move in chosen])).sum(axis=0)
            ranks = [move.W.shape[1] for move in chosen]
            if len(set(ranks)) == 1:
                per_move = traces.reshape(len(chosen), ranks[0]).sum(axis=1)
            else:
                per_move = np.add.reduceat(traces, np.cumsum(ranks) - ranks)
            out[mine] = np.array([move.scale for move in chosen]) * per_move
        return out

    # --- costs --------------------------------------------------------------------

    def costs(self, moves: list[Direction], steps) -> tuple[np.ndarray, np.ndarray]:
        """J(theta + s v) for each move (rows) and step s (columns), and whether each
        move crossed a ReLU kink (a hidden pre-activation changing sign) at any step.
        The moves may be on any matrices, in any order."""
        steps = np.asarray(steps, np.float64)
        data, crossed = self._data_totals(moves, steps)
        linear = self._penalty_linear(moves)
        quadratic = np.array([self._penalty_quadratic(move) for move in moves])
        reg = 2 * steps * linear[:, None] + steps**2 * quadratic[:, None]
        return data / self.m + self.reg_factor * (self.reg_total + reg), crossed

    def directional_derivatives(self, moves: list[Direction], step: float):
        """(J(theta + s v) - J(theta - s v)) / 2s for each move, and its kink flags; the
        penalty's terms are differenced in closed form (its s^2 terms cancel)."""
        data, crossed = self._data_totals(moves, np.array([step, -step]))
        linear = self._penalty_linear(moves)
        values = (data[:, 0] - data[:, 1]) / self.m + self.reg_factor * (4 * step * linear)
        return values / (2 * step), crossed

    def _data_totals(self, moves, steps):
        """Summed cross-entropy (moves x steps), and kink flags (moves). The moves may be
        on any matrices: one sweep up the layers (per chunk of moves), each layer's new
        moves joining the batch carried up from the layers below."""
        data = np.empty((len(moves), steps.size))
        crossed = np.zeros((len(moves), steps.size), bool)
        order = sorted(range(len(moves)), key=lambda i: moves[i].k)
        last = len(self.thetas) - 1
        group, load = [], 0
        for position, i in enumerate(order):
            k = moves[i].k
            group.append(i)
            load += steps.size * self.m * self.widest_above[k]
            if load >= CHUNK_ELEMENTS or position == len(order) - 1:
                z, flags = self._sweep([moves[j] for j in group], steps, last)
                data[group] = np.sum(example_losses(z, self.Y, self.impl), axis=(1, 2)).reshape(
                    len(group), steps.size
                )
                crossed[group] = flags.reshape(len(group), steps.size)
                group, load = [], 0
        return data, crossed.any(axis=1)

    def _sweep(self, moves, steps, last):
        """Output pre-activations (moves x steps, m, outputs) of moves sorted by matrix,
        and their kink flags."""
        joining = {}
        for move in moves:  # Z_k's change s c (A W) U^T
            if move.part == "bias":  # A's bias column is 1: c U^T on every row
                shift = move.scale * move.U.T
            else:
                shift = (self.A[move.k][:, 1:] @ (move.scale * move.W)) @ move.U.T
            fill = partial(np.multiply, steps[:, None, None], shift)
            joining.setdefault(move.k, []).append((steps.size, fill))
        return self._rise(joining, last)

    def _rise(self, joining, last):
        """Re-run the layers above for rows that join the batch: joining[layer] lists
        (rows, fill), fill(out=...) writing their change of Z_layer. At each layer the
        rows carried up from below and the joining ones fill one array, and Z_layer is
        added to all of them at once. Returns the output pre-activations, in joining
        order, and whether each row flipped a ReLU pre-activation's sign."""
        first = min(joining)
        crossed = np.zeros(sum(n for rows in joining.values() for n, _ in rows), bool)
        z, carried = None, 0
        for layer in range(first, last + 1):
            mine = joining.get(layer, [])
            total = carried + sum(n for n, _ in mine)
            here = np.empty((total,) + self.Z[layer].shape)
            if carried:  # the batch from below, one layer up: (f(z) - f(Z)) Theta^T
                crossed[:carried] |= self._crosses_kink(z, layer - 1)
                change = self.f(z)
                change -= self.A[layer][:, 1:]
                np.matmul(
                    change.reshape(-1, change.shape[-1]),
                    self.thetas[layer][:, 1:].T,
                    out=here[:carried].reshape(carried * self.m, -1),
                )
            start = carried
            for n, fill in mine:
                fill(out=here[start : start + n])
                start += n
            here += self.Z[layer]
            z, carried = here, total
        return z, crossed

    def _crosses_kink(self, z, layer: int) -> np.ndarray:
        if self.positive is None:
            return np.zeros(z.shape[0], bool)
        flipped = (z > 0) != self.positive[layer]
        return flipped.reshape(z.shape[0], -1).any(axis=1)

    def _penalised_theta(self, k: int, part: str):
        """Theta_k where its block's penalty mask holds, else 0 (None: nothing penalised)."""
        key = (k, part)
        if key not in self._penalised:
            columns = slice(0, 1) if part == "bias" else slice(1, None)
            mask = self.reg_masks[k][:, columns]
            theta = self.thetas[k]
            if mask.all():
                self._penalised[key] = theta
            elif not mask.any():
                self._penalised[key] = None
            else:
                self._penalised[key] = np.where(self.reg_masks[k], theta, 0.0)
        return self._penalised[key]

    def _penalty_linear(self, moves) -> np.ndarray:
        """<Theta_k, V> over the penalty's mask, for each move."""
        out = np.zeros(len(moves))
        for part in ("bias", "weights"):
            mine = [i for i, move in enumerate(moves) if move.part == part]
            if mine:
                penalised = [self._penalised_theta(k, part) for k in range(len(self.thetas))]
                out[mine] = self.project(penalised, [moves[i] for i in mine])
        return out

    def _penalty_quadratic(self, move: Direction) -> float:
        """<1, V^2> over the penalty's mask."""
        mask = self.reg_masks[move.k]
        return float(np.sum(move.matrix(mask.shape)[mask] ** 2))

    # --- single entries -------------------------------------------------------------

    def entry_costs(self, indices, steps) -> np.ndarray:
        """J(theta + s e_p) for each flat index p (rows) and step s (columns): for p in
        Theta_k[i, j], unit i of layer k+1 moves alone, then the layers above re-run
        (one batch for the entries of every matrix)."""
        indices, steps = np.asarray(indices, dtype=np.intp), np.asarray(steps, np.float64)
        data = np.empty((indices.size, steps.size))
        reg = np.empty((indices.size, steps.size))
        offsets = self.problem.layout.offsets
        last = len(self.thetas) - 1
        joining, joined = {}, []
        for k, (start, stop) in enumerate(zip(offsets, offsets[1:])):
            mine = np.flatnonzero((indices >= start) & (indices < stop))
            if not mine.size:
                continue
            theta = self.thetas[k]
            i, j = np.divmod(indices[mine] - start, theta.shape[1])
            original = theta[i, j][:, None]
            moved = original + steps[None, :]  # (entries, steps)
            reg[mine] = np.where(self.reg_masks[k][i, j][:, None], moved**2 - original**2, 0.0)
            shift = (moved - original)[:, :, None] * self.A[k][:, j].T[:, None, :]  # (e, s, m)
            z = (self.Z[k][:, i].T[:, None, :] + shift).reshape(-1, self.m)  # unit i's z
            units = np.repeat(i, steps.size)
            if k == last:  # only output unit i's losses change
                y = self.Y[:, units].T
                new = np.sum(example_losses(z, y, self.impl), axis=1)
                old = np.sum(self.output_losses[:, units], axis=0)
                data[mine] = (self.data_total - old + new).reshape(mine.size, steps.size)
                continue
            change = self.f(z) - self.A[k + 1][:, units + 1].T  # (rows, m)
            weights = self.thetas[k + 1][:, units + 1].T  # (rows, units of layer k+2)
            fill = partial(np.multiply, change[:, :, None], weights[:, None, :])
            joining[k + 1] = [(units.size, fill)]
            joined.append(mine)
        if joining:
            z, _ = self._rise(joining, last)
            totals = np.sum(example_losses(z, self.Y, self.impl), axis=(1, 2))
            data[np.concatenate(joined)] = totals.reshape(-1, steps.size)
        return data / self.m + self.reg_factor * (self.reg_total + reg)

    def entry_differences(self, indices, eps: float) -> np.ndarray:
        """Central differences (J(theta + e e_p) - J(theta - e e_p)) / 2e."""
        values = self.entry_costs(indices, [eps, -eps])
        return (0.5 * values[:, 0] - 0.5 * values[:, 1]) / eps


def _masked_square_sum(theta, mask) -> float:
    """sum(theta[mask] ** 2), without copying theta when the mask is every weight or
    every weight but the bias column."""
    if mask.all():
        return float(np.einsum("ij,ij->", theta, theta))
    if mask[:, 1:].all() and not mask[:, 0].any():
        weights = theta[:, 1:]
        return float(np.einsum("ij,ij->", weights, weights))
    return float(np.sum(theta[mask] ** 2))


def _disagree(analytic, numerical, floor, threshold) -> np.ndarray:
    analytic, numerical = np.asarray(analytic, float), np.asarray(numerical, float)
    difference = np.abs(analytic - numerical)
    scale = np.maximum(np.abs(analytic), np.abs(numerical))
    return (difference > floor) & (difference > threshold * scale)
