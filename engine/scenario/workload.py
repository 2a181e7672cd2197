"""What a page's or a command's work on a scenario costs, and whether it fits here.

A cost model calibrated on timings (seconds per unit evaluation, per multiply-add,
per pass) counts what each work runs: one exact check, the seed's coordinate loop,
the epsilon sweep, the bug lab, training, the bug matrix, a check of user code. The
app and the CLI refuse, with the estimate in words, work beyond `MAX_SECONDS`,
`MAX_BYTES` or `MAX_PARAMS` before starting it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from engine.bugs.catalogue import BUGS, implementation_with
from engine.diagnosis.reproduction import MAX_BUGS_PER_SIDE, NUMERICAL_SAMPLE, searched_bugs
from engine.gradcheck.sweep import default_eps_grid, sweep_curves
from engine.network.layout import Layout
from engine.network.pieces import Implementation
from engine.scenario.settings import Scenario

# One cost model for every page's work, calibrated on 2 cores (process time, one BLAS
# thread). The numerical paths: per evaluation and example, each re-evaluated unit
# costs ~3.5e-8 s (activation, cross-entropy), each elementwise multiply-add ~1.5e-9 s.
# The series path against its real time (one thread): 400-25-10, m = 100, estimated
# 1.1 ms (took 0.8 to 1 ms); 1000-990-10 34 ms (17 to 21 ms), the safe side. Plain passes (the
# cost, backprop, fmin_cg's evaluations) run as BLAS matrix products: ~1e-10 s per
# multiply-add and ~1.2e-8 s per unit and example (fitted on nine networks from 3-5-3
# to 20-1000-1000-10; 1x to 2.3x over). Small networks are all Python overhead: fixed
# costs per pass, numerical gradient, comparison and diagnosis (measured on 3-5-3).
SECONDS_PER_UNIT = 3.5e-8
SECONDS_PER_MULTIPLY_ADD = 1.5e-9
SECONDS_PER_PASS_UNIT = 1.2e-8
SECONDS_PER_DENSE_MULTIPLY_ADD = 1e-10
SECONDS_PER_PARAMETER = 2e-8  # comparing, noise floor and level-1 patterns, per parameter
OVERHEAD_SECONDS = {"pass": 4e-5, "numerical": 3e-4, "check": 4e-4, "diagnosis": 1.5e-3}
SERIES_DEGREE = 3  # the series' usual degree at eps = 1e-4 (central; forward: 5)
SERIES_EPS_LIMIT = 0.03  # past this, the sweep's eps = 0.1 included, costs are evaluated
MAX_SECONDS = 30.0
MAX_BYTES = 2 * 1024**3
MAX_PARAMS = 2_000_000  # what the app's views (tables, figures) are built to show

# fmin_cg's evaluations, counted on digits and generated problems: 2.7 to 3.2 costs and
# 1.6 to 2.2 gradients per iteration, and ~60 and ~50 in a line search that fails at the
# start (the seed's sign flip). Runs that stop early cost less than this bound.
CG_COSTS_PER_ITERATION, CG_GRADIENTS_PER_ITERATION = 3.5, 2.5
CG_FAILED_SEARCH_COSTS, CG_FAILED_SEARCH_GRADIENTS = 70, 60
# scikit-learn's bundled digits: 1,797 8x8 images, 10 classes, a quarter held out.
DIGITS_INPUTS, DIGITS_CLASSES, DIGITS_TRAIN = 64, 10, 1797 - round(1797 * 0.25)
MAX_SEEDS = 10_000  # bug-matrix rows are kept in memory: 11 bugs x 10,000 seeds ~ 50 MB


class WorkTooLarge(ValueError):
    """The scenario is valid but would take too long or too much memory here."""


@dataclass(frozen=True)
class Workload:
    """What some work costs, in the model's counts, so different works add up."""

    n_params: int
    unit_evaluations: float
    multiply_adds: float
    bytes: float
    pass_units: float = 0.0
    dense_multiply_adds: float = 0.0
    overhead_seconds: float = 0.0
    what: str = "one exact check"

    @property
    def seconds(self) -> float:
        return (
            self.unit_evaluations * SECONDS_PER_UNIT
            + self.multiply_adds * SECONDS_PER_MULTIPLY_ADD
            + self.pass_units * SECONDS_PER_PASS_UNIT
            + self.dense_multiply_adds * SECONDS_PER_DENSE_MULTIPLY_ADD
            + self.overhead_seconds
        )

    def __add__(self, other: Workload) -> Workload:
        """Both works, one after the other: times add, memory is the larger."""
        return Workload(
            max(self.n_params, other.n_params),
            self.unit_evaluations + other.unit_evaluations,
            self.multiply_adds + other.multiply_adds,
            max(self.bytes, other.bytes),
            self.pass_units + other.pass_units,
            self.dense_multiply_adds + other.dense_multiply_adds,
            self.overhead_seconds + other.overhead_seconds,
            self.what,
        )

    def times(self, count: float) -> Workload:
        """The same work `count` times over, one after the other."""
        return replace(
            self,
            unit_evaluations=self.unit_evaluations * count,
            multiply_adds=self.multiply_adds * count,
            pass_units=self.pass_units * count,
            dense_multiply_adds=self.dense_multiply_adds * count,
            overhead_seconds=self.overhead_seconds * count,
        )

    def describe(self) -> str:
        return (
            f"{self.what}: {self.n_params:,} parameters, about {self.seconds:,.1f} s and "
            f"{self.bytes / 1024**2:,.0f} MB"
        )


def _memory(sizes, m: int) -> float:
    """A check's peak: activations, a dozen parameter-sized arrays, the interpreter's share."""
    activations = m * sum(s + 1 for s in sizes) * 8 * 4
    return activations + Layout.from_layer_sizes(sizes).n_params * 8 * 12 + 64 * 1024**2


def _nothing(sizes, m: int) -> Workload:
    return Workload(Layout.from_layer_sizes(sizes).n_params, 0.0, 0.0, _memory(sizes, m))


def _stencil_steps(impl: Implementation) -> int:
    """Costs per entry of the checker's stencil: 2 central, 1 forward."""
    return sum(step != 0.0 for step in impl.stencil.steps)


def _numerical_gradient(sizes, m: int, checker: Implementation, eps: float = 1e-4) -> Workload:
    """One `network_numerical_gradient` on the path the checker's dtype and eps choose.

    float64 takes each example's loss as a series in one unit's shift: the activation
    and the loss sampled at degree + 1 points per entry of each layer at and above the
    unit, a few matrix products for the layer just above it, compositions per
    (example, unit, output) higher up, and the stencil as one product per kept power
    over the matrix. Past SERIES_EPS_LIMIT (inputs scaled to about 1), the series may
    not converge and the costs are evaluated ("batched"), as float32 always does:
    two per entry, one when forward, re-running the layers above the entry's unit.
    """
    if checker.dtype == np.float32 or eps > SERIES_EPS_LIMIT:
        return _batched_numerical_gradient(sizes, m, checker)
    n_matrices = len(sizes) - 1
    central = _stencil_steps(checker) == 2
    degree = SERIES_DEGREE if central else SERIES_DEGREE + 2
    kept_powers = (degree + 1) // 2 if central else degree
    units, madds, dense = 0.0, 0.0, 0.0
    for k in range(n_matrices):
        rows, cols = sizes[k + 1], sizes[k] + 1
        units += (degree + 1) * m * sum(sizes[k + 1 :])  # the local fits
        dense += kept_powers * rows * m * cols
        if k + 2 < n_matrices:  # a rank-one step over the next layer, one product per power
            dense += degree * m * sizes[k + 3] * sizes[k + 2] * rows
            madds += degree**2 * m * rows * sum(sizes[k + 3 :])  # compositions above
    return replace(
        _nothing(sizes, m),
        unit_evaluations=units,
        multiply_adds=madds,
        dense_multiply_adds=dense,
        overhead_seconds=OVERHEAD_SECONDS["numerical"],
    )


def _batched_numerical_gradient(sizes, m: int, checker: Implementation) -> Workload:
    """Every perturbed cost evaluated: the layers above each entry's unit, per example."""
    n_matrices = len(sizes) - 1
    steps = _stencil_steps(checker)
    units, madds = 0.0, 0.0
    for k in range(n_matrices):
        rows, cols = sizes[k + 1], sizes[k] + 1
        evaluations = steps * cols * rows * m
        if k == n_matrices - 1:
            units += evaluations  # one output unit moves
        else:
            units += evaluations * (1 + sum(sizes[k + 2 :]))
            # a rank-one update of the next layer, then full layers above it
            madds += evaluations * (
                sizes[k + 2]
                + sum(sizes[layer] * sizes[layer + 1] for layer in range(k + 2, n_matrices))
            )
    return replace(
        _nothing(sizes, m),
        unit_evaluations=units,
        multiply_adds=madds,
        overhead_seconds=OVERHEAD_SECONDS["numerical"],
    )


def _passes(sizes, m: int, costs: float = 0, gradients: float = 0) -> Workload:
    """Plain cost evaluations (a forward pass) and backprop runs (forward and backward)."""
    units = m * sum(sizes[1:])
    madds = m * sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    return replace(
        _nothing(sizes, m),
        pass_units=units * (costs + 3 * gradients),
        dense_multiply_adds=madds * (costs + 2 * gradients),
        overhead_seconds=OVERHEAD_SECONDS["pass"] * (costs + gradients),
    )


def _exact_check(sizes, m: int, bugs, eps: float = 1e-4) -> Workload:
    """`check_problem`: backprop, the cost, the numerical gradient and the comparison."""
    n = Layout.from_layer_sizes(sizes).n_params
    comparison = replace(
        _nothing(sizes, m),
        overhead_seconds=OVERHEAD_SECONDS["check"] + n * SECONDS_PER_PARAMETER,
    )
    checker = implementation_with(bugs)
    return _numerical_gradient(sizes, m, checker, eps) + _passes(sizes, m, 1, 1) + comparison


def _loop_check(sizes, m: int, bugs) -> Workload:
    """The seed's coordinate loop: one full cost per entry and stencil step."""
    steps = _stencil_steps(implementation_with(bugs))
    n = Layout.from_layer_sizes(sizes).n_params
    return _exact_check(sizes, m, bugs) + _passes(sizes, m, costs=steps * n + 1)


def diagnosis_reruns(bugs, activation: str = "sigmoid") -> tuple[int, int]:
    """(backprop runs, numerical-gradient runs) of `diagnose`'s level 2 for a scenario
    with `bugs`: an upper bound counted from engine/diagnosis/reproduction.py.

    Correct code that agrees stops at level 1 (ReLU kinks may still ask for one re-run
    of each). Otherwise backprop re-runs for every set of up to MAX_BUGS_PER_SIDE
    analytic-side bugs, plus one per bug found; the numerical gradient re-runs for the
    sets of the numerical-only bugs: 1 when the scenario has none of them (the empty
    set matches and ends the search), else all of them, plus 1 + one per bug found.
    """
    if not bugs:
        return (1, 1) if activation == "relu" else (0, 0)
    analytic_sets = _subset_count(searched_bugs("analytic"))
    numerical_only = searched_bugs("numerical")
    found = sum(b in numerical_only for b in bugs)
    searched = _subset_count(numerical_only) if found else 1
    return analytic_sets + MAX_BUGS_PER_SIDE, searched + 1 + found


def _subset_count(ids) -> int:
    """How many sets of at most MAX_BUGS_PER_SIDE of `ids` level 2 tries."""
    return sum(math.comb(len(ids), k) for k in range(MAX_BUGS_PER_SIDE + 1))


def _diagnosis(sizes, m: int, bugs, activation: str) -> Workload:
    """`diagnose`: level-1 patterns, then level 2's re-runs (`diagnosis_reruns`); float32
    results re-run the seed's loop at ~80 sampled entries instead of the whole numerical
    gradient."""
    n = Layout.from_layer_sizes(sizes).n_params
    work = replace(
        _nothing(sizes, m),
        overhead_seconds=OVERHEAD_SECONDS["diagnosis"] + 5 * n * SECONDS_PER_PARAMETER,
        what="the diagnosis",
    )
    gradients, numericals = diagnosis_reruns(bugs, activation)
    if gradients + numericals == 0:
        return work
    work = work + _passes(sizes, m, gradients=gradients)
    checker = implementation_with(bugs)
    if checker.dtype == np.float32:
        steps = _stencil_steps(checker)
        sampled = min(n, NUMERICAL_SAMPLE) + 2 + 8 * (len(sizes) - 1)
        return work + _passes(sizes, m, costs=numericals * (steps * sampled + 1))
    return work + _numerical_gradient(sizes, m, checker).times(numericals)


def _check_work(scenario: Scenario) -> Workload:
    return _exact_check(scenario.layer_sizes, scenario.m, scenario.bugs, scenario.eps)


def _loop_work(scenario: Scenario) -> Workload:
    work = _loop_check(scenario.layer_sizes, scenario.m, scenario.bugs)
    return replace(work, what="one check with the seed's coordinate loop")


def _sweep_work(scenario: Scenario) -> Workload:
    """`epsilon_sweep`: each curve (4, and "your check" when bugs are on) runs backprop
    once and the numerical gradient once per eps of the grid."""
    grid = default_eps_grid()
    n_eps = len(grid)
    curves = [impl for _, impl in sweep_curves(scenario.bugs)]
    sizes, m = scenario.layer_sizes, scenario.m
    work = _nothing(sizes, m)
    for checker in curves:
        work = work + _passes(sizes, m, gradients=1)
        for eps in grid:
            work = work + _numerical_gradient(sizes, m, checker, float(eps))
    return replace(
        work,
        what=f"the epsilon sweep ({len(curves)} curves x {n_eps} eps = "
        f"{len(curves) * n_eps} numerical gradients)",
    )


def _bug_lab_work(scenario: Scenario, compare: str | None = None) -> Workload:
    """The Bug lab: the scenario's check and diagnosis, and `compare` switched the other
    way (the page's first choice by default); both results are kept."""
    compare = next(iter(BUGS)) if compare is None else compare
    other = tuple(b for b in BUGS if (b in scenario.bugs) != (b == compare))
    sizes, m = scenario.layer_sizes, scenario.m
    work = (
        _exact_check(sizes, m, scenario.bugs)
        + _diagnosis(sizes, m, scenario.bugs, scenario.activation)
        + _exact_check(sizes, m, other)
    )
    return replace(
        work,
        bytes=work.bytes + Layout.from_layer_sizes(sizes).n_params * 8 * 12,
        what=f"the bug lab (the check, its diagnosis and {compare} switched "
        f"{'off' if compare in scenario.bugs else 'on'})",
    )


def _training_work(
    scenario: Scenario, data: str = "generated", hidden: int = 25, maxiter: int = 50
) -> Workload:
    """fmin_cg on the page's data, once per variant (with the bugs, and fixed)."""
    if data == "digits":
        sizes, m = (DIGITS_INPUTS, int(hidden), DIGITS_CLASSES), DIGITS_TRAIN
    else:
        sizes, m = scenario.layer_sizes, scenario.m
    variants = 2 if scenario.bugs else 1
    one = _passes(
        sizes,
        m,
        costs=CG_COSTS_PER_ITERATION * maxiter + CG_FAILED_SEARCH_COSTS + 3,
        gradients=CG_GRADIENTS_PER_ITERATION * maxiter + CG_FAILED_SEARCH_GRADIENTS,
    )
    return replace(
        one.times(variants),
        what=f"training ({variants} run{'s' if variants > 1 else ''} of up to {maxiter} "
        f"fmin_cg iterations on {'-'.join(map(str, sizes))}, m = {m})",
    )


def _bug_matrix_work(scenario: Scenario, seeds: int = 20) -> Workload:
    """Every catalogue bug alone on each seed: a check and its diagnosis per cell."""
    sizes, m = scenario.layer_sizes, scenario.m
    one_seed = _nothing(sizes, m)
    for bug in BUGS:
        one_seed = (
            one_seed
            + _exact_check(sizes, m, (bug,))
            + _diagnosis(sizes, m, (bug,), scenario.activation)
        )
    return replace(
        one_seed.times(seeds),
        what=f"the bug matrix ({len(BUGS)} bugs x {seeds:,} seeds = {len(BUGS) * seeds:,} "
        "checks, CPU time)",
    )


def _user_code_work(scenario: Scenario) -> Workload:
    """The problem handed to your code and the comparison of what comes back; the time
    is your code's, bounded by its own timeout."""
    return replace(_nothing(scenario.layer_sizes, scenario.m), what="the check of your code")


WORKS = {
    "check": (_check_work, "Use fewer examples or smaller layers."),
    "loop": (_loop_work, "Use fewer examples or smaller layers, or the fast path."),
    "sweep": (_sweep_work, "Use fewer examples or smaller layers."),
    "bug-lab": (_bug_lab_work, "Use fewer examples or smaller layers."),
    "training": (_training_work, "Use fewer iterations, hidden units or examples."),
    "bug-matrix": (_bug_matrix_work, "Use fewer seeds, examples or smaller layers."),
    "user-code": (_user_code_work, "Use fewer examples or smaller layers."),
}


def estimate_workload(scenario: Scenario, work: str = "check", **options) -> Workload:
    """What `work` on `scenario` costs. `work` is one of WORKS: "check" is one exact check
    on the numerical path it will take; the others are what a page or command runs
    (e.g. options `compare` for "bug-lab", `data`, `hidden`, `maxiter` for "training",
    `seeds` for "bug-matrix")."""
    if work not in WORKS:
        raise ValueError(f"work must be one of {tuple(WORKS)}, got {work!r}")
    return WORKS[work][0](scenario, **options)


def check_workload(
    scenario: Scenario,
    work: str = "check",
    max_seconds=MAX_SECONDS,
    max_bytes=MAX_BYTES,
    max_params=MAX_PARAMS,
    **options,
) -> Workload:
    """The workload, or WorkTooLarge with the estimate when it exceeds the limits."""
    estimate = estimate_workload(scenario, work, **options)
    if (
        estimate.seconds > max_seconds
        or estimate.bytes > max_bytes
        or estimate.n_params > max_params
    ):
        raise WorkTooLarge(
            f"{estimate.describe()}; the limits here are {max_seconds:g} s, "
            f"{max_bytes / 1024**3:g} GB and {max_params:,} parameters. {WORKS[work][1]}"
        )
    return estimate
