"""Level 2: which catalogue bugs reproduce the two gradients.

It needs the engine's own network (`result.problem`): it re-runs backprop and the
cost with sets of catalogue bugs switched on and reports the smallest set that
reproduces the observed gradients exactly. It never reads `result.bugs`.
"""

from __future__ import annotations

import itertools
from dataclasses import replace

import numpy as np

from engine.bugs.bug import Bug
from engine.bugs.catalogue import BUGS, implementation_with
from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.gradcheck.numerical import loop_gradient_at, network_numerical_gradient
from engine.network.model import cost, gradient
from engine.network.pieces import CORRECT, STENCILS, Implementation

MAX_BUGS_PER_SIDE = 2
NUMERICAL_SAMPLE = 64


def searched_bugs(side: str) -> tuple[str, ...]:
    """The catalogue bugs level 2 switches on to reproduce one side's gradient.

    The analytic side: every mistake in the model or backprop. The numerical side: the
    mistakes only the numerical gradient sees (the cost's, then the loop's), except those
    the result already records as its checker settings (its stencil and dtype); the
    model's are taken from the analytic side's answer.
    """
    if side == "analytic":
        return tuple(b for b, bug in BUGS.items() if "analytic" in bug.changes)
    only_numerical = [
        bug for bug in BUGS.values() if bug.changes == ("numerical",) and not _a_setting(bug)
    ]
    return tuple(bug.id for bug in sorted(only_numerical, key=lambda bug: bug.where == "checker"))


def _with_settings_of(impl: Implementation, stencil, dtype) -> Implementation:
    return replace(impl, stencil=stencil, dtype=dtype)


def _a_setting(bug: Bug) -> bool:
    """The mistake is a checker setting a result records: reproduction reads it, not searches."""
    settings = (CORRECT.stencil, CORRECT.dtype)
    return _with_settings_of(bug.realise(CORRECT), *settings) == CORRECT


def _subsets(ids, max_size=MAX_BUGS_PER_SIDE):
    for size in range(max_size + 1):
        yield from itertools.combinations(ids, size)


def _observed_base(result: CheckResult, bugs) -> Implementation:
    """The implementation with `bugs`, run with the checker settings the result shows."""
    return _with_settings_of(
        implementation_with(bugs), STENCILS[result.method], np.dtype(result.dtype).type
    )


def _analytic_matches(result: CheckResult) -> list[tuple[str, ...]]:
    problem = result.problem
    observed = np.asarray(result.analytic)
    matches = []
    for subset in _subsets(searched_bugs("analytic")):
        if any(set(found) <= set(subset) for found in matches):
            continue
        candidate = gradient(problem.theta, problem, _observed_base(result, subset))
        if np.allclose(candidate, observed, rtol=1e-9, atol=0):
            matches.append(subset)
    if not matches:
        return []
    smallest = min(len(m) for m in matches)
    return [m for m in matches if len(m) == smallest]


def _sample_indices(result: CheckResult) -> np.ndarray:
    layout = result.layout
    picks = {0, layout.n_params - 1}
    for (rows, cols), start in zip(layout.shapes, layout.offsets):
        picks.update(start + r * cols for r in range(min(rows, 4)))  # bias entries
        picks.update(start + r * cols + 1 for r in range(min(rows, 4)) if cols > 1)
    rng = np.random.default_rng(0)
    extra = rng.choice(layout.n_params, size=min(layout.n_params, NUMERICAL_SAMPLE), replace=False)
    picks.update(int(i) for i in extra)
    return np.array(sorted(picks))


def _numerical_at(result: CheckResult, bugs, indices) -> np.ndarray:
    """The numerical gradient with `bugs`, at `indices` (all of it is cheap in float64)."""
    problem = result.problem
    impl = _observed_base(result, bugs)
    if impl.dtype == np.float64:
        values, _ = network_numerical_gradient(problem, impl, result.eps)
        return values[indices]
    J = lambda t: cost(t, problem, impl)  # noqa: E731
    values = loop_gradient_at(J, problem.theta, indices, result.eps, impl.stencil, impl.dtype)
    values[indices < impl.first_checked_index] = 0
    return values


def _numerical_matches(result: CheckResult, model_bugs) -> tuple[list[tuple[str, ...]], np.ndarray]:
    indices = _sample_indices(result)
    observed = np.asarray(result.numerical, float)[indices]
    matches = []
    tol = 10 * result.noise.absolute
    for subset in _subsets(searched_bugs("numerical")):
        if any(set(found) <= set(subset) for found in matches):
            continue
        candidate = _numerical_at(result, tuple(model_bugs) + subset, indices)
        if np.all(np.abs(candidate - observed) <= tol + 1e-6 * np.abs(observed)):
            matches.append(subset)
    return matches, indices


def _in_the_model(bugs) -> tuple[str, ...]:
    return tuple(b for b in bugs if BUGS[b].where == "model")


def reproduce_with_catalogue(result: CheckResult) -> list[Finding]:
    """Findings for the smallest catalogue bug set that reproduces both gradients."""
    analytic_sets = _analytic_matches(result)
    if len(analytic_sets) != 1:
        return []
    analytic_bugs = analytic_sets[0]
    numerical_sets, indices = _numerical_matches(result, _in_the_model(analytic_bugs))
    if not numerical_sets:
        return []
    numerical_bugs = min(numerical_sets, key=len)
    together = tuple(dict.fromkeys(analytic_bugs + numerical_bugs))
    if not together:
        return []
    effects = _effects(result, analytic_bugs, numerical_bugs, indices)
    total = sum(effects.values()) or 1.0
    names = ", ".join(together)
    return [
        Finding(
            message=(
                f"Reproduced exactly by GradScope's catalogue: {BUGS[b].title.lower()} "
                f"(`{BUGS[b].buggy_code}` should be `{BUGS[b].fixed_code}`)."
            ),
            evidence=(
                f"switching on [{names}] in the engine's network reproduces both gradients "
                f"(analytic bit for bit, numerical at {indices.size} sampled entries within the "
                f"noise floor); this bug accounts for {effects[b] / total:.0%} of the disagreement"
            ),
            bug_id=b,
            score=1.0 + effects[b] / total,
            kind="reproduction",
        )
        for b in together
    ]


def _effects(result, analytic_bugs, numerical_bugs, indices) -> dict[str, float]:
    """How much each bug changes its side's gradient: the size of what it explains."""
    problem = result.problem
    effects = {}
    full_analytic = np.asarray(result.analytic, float)
    model = _in_the_model(analytic_bugs)
    full_numerical = _numerical_at(result, model + numerical_bugs, indices)
    for b in analytic_bugs:
        without = tuple(x for x in analytic_bugs if x != b)
        g = gradient(problem.theta, problem, _observed_base(result, without))
        effects[b] = float(np.linalg.norm(full_analytic - g))
    for b in numerical_bugs:
        without = tuple(x for x in model + numerical_bugs if x != b)
        n = _numerical_at(result, without, indices)
        effects[b] = float(np.linalg.norm(full_numerical - n))
    return effects
