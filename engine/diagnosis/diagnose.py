"""From two gradients to a named mistake, in plain words, with the numbers behind it.

Level 1 reads only the two gradients (and theta), so it works on code GradScope
did not write: zeroed entries, exact sign flips, a constant scale factor, a
permuted unrolling, differences that are exactly a multiple of theta in the bias
or the non-bias columns, errors confined to hidden layers, or differences at the
noise floor of the dtype and method.

Level 2 needs the engine's own network (`result.problem`): it re-runs backprop and
the cost with sets of catalogue bugs switched on and reports the set that
reproduces the observed gradients exactly. It never reads `result.bugs`.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace

import numpy as np

from engine.bugs.catalogue import BUGS, implementation_with
from engine.gradcheck.compare import CheckResult
from engine.gradcheck.numerical import loop_gradient_at, network_numerical_gradient
from engine.network.model import cost, gradient
from engine.network.pieces import STENCILS

MAX_BUGS_PER_SIDE = 2
NUMERICAL_SAMPLE = 64


@dataclass(frozen=True)
class Finding:
    """One conclusion: `message` says it in words, `evidence` gives the numbers."""

    message: str
    evidence: str
    bug_id: str | None = None
    score: float = 0.0
    kind: str = "pattern"  # reproduction | pattern | noise | agreement | summary

    @property
    def bug_title(self) -> str | None:
        return BUGS[self.bug_id].title if self.bug_id else None

    def as_dict(self) -> dict:
        return {
            "message": self.message,
            "evidence": self.evidence,
            "bug_id": self.bug_id,
            "score": round(self.score, 3),
            "kind": self.kind,
        }


def diagnose(result: CheckResult, reproduce: bool = True) -> list[Finding]:
    """Ranked findings, most likely first."""
    findings = [f for detect in _DETECTORS for f in detect(result)]
    if reproduce and result.problem is not None and not _only_noise(result):
        findings = _merge(findings, reproduce_with_catalogue(result))
    return sorted(findings, key=lambda f: -f.score)


def _only_noise(result: CheckResult) -> bool:
    return result.agrees and not result.kink_disagreements.any()


def _merge(patterns: list[Finding], reproductions: list[Finding]) -> list[Finding]:
    """A reproduced bug absorbs the pattern finding that named it."""
    named = {f.bug_id: f for f in reproductions}
    merged = []
    for f in patterns:
        if f.bug_id in named:
            r = named.pop(f.bug_id)
            merged.append(
                replace(
                    r, message=f"{f.message} {r.message}", evidence=f"{f.evidence}; {r.evidence}"
                )
            )
        else:
            merged.append(f)
    return merged + list(named.values())


# --- shared helpers -----------------------------------------------------------------


def _tolerance(result: CheckResult, reference) -> np.ndarray:
    """How close two values must be to count as equal here: the noise floor, or 1e-6 relative."""
    return result.noise.absolute + 1e-6 * np.abs(reference)


def _close(result: CheckResult, x, y) -> bool:
    return bool(np.all(np.abs(x - y) <= _tolerance(result, y)))


def _matrices(result: CheckResult):
    for m in result.matrices:
        yield m, np.asarray(m.analytic, float), np.asarray(m.numerical, float)


def _fmt(x: float) -> str:
    return f"{x:.3g}"


def _diverging_names(result: CheckResult) -> list[str]:
    return [m.name for m in result.matrices if not m.agrees]


# --- level 1: patterns in the two gradients --------------------------------------


def _summary(result: CheckResult) -> list[Finding]:
    if result.agrees:
        return []
    parts = ", ".join(
        f"{m.name} {m.n_diverging}/{m.analytic.size}" for m in result.matrices if not m.agrees
    )
    worst = result.worst_index
    return [
        Finding(
            message=(
                f"{result.n_diverging} of {result.layout.n_params} gradient entries diverge "
                f"({parts}); the worst is {result.describe_worst()}."
            ),
            evidence=(
                f"relative difference ||n-a||/||n+a|| = {_fmt(result.relative_difference)}; "
                f"worst entry analytic {_fmt(float(result.analytic[worst]))} vs numerical "
                f"{_fmt(float(result.numerical[worst]))} (relative error "
                f"{_fmt(float(result.rel_error[worst]))})"
            ),
            score=0.2,
            kind="summary",
        )
    ]


def _agreement(result: CheckResult) -> list[Finding]:
    if not result.agrees or result.status != "pass":
        return []
    return [
        Finding(
            message="The gradients agree: every entry is within the noise floor of the check.",
            evidence=(
                f"relative difference {_fmt(result.relative_difference)}, largest entry "
                f"difference {_fmt(float(result.abs_diff.max()))} <= noise floor "
                f"{_fmt(result.noise.absolute)}"
            ),
            score=0.5,
            kind="agreement",
        )
    ]


def _coarse_check(result: CheckResult) -> list[Finding]:
    """float32 and forward differences: name them, and say what they can still see."""
    findings = []
    quiet = result.agrees
    largest = f"largest entry difference {_fmt(float(result.abs_diff.max()))}"
    if result.dtype == "float32":
        findings.append(
            Finding(
                message=(
                    "The check runs in float32: its numerical gradient is only good to about "
                    f"{_fmt(result.noise.absolute)} per entry, so differences below that are "
                    "round-off, not bugs, and small bugs stay hidden. Check in float64."
                ),
                evidence=f"{largest}; {result.noise.explain()}",
                bug_id="float32",
                score=0.8 if quiet else 0.25,
                kind="noise",
            )
        )
    if result.method == "forward":
        findings.append(
            Finding(
                message=(
                    "The numerical gradient uses one-sided (forward) differences, whose "
                    f"truncation error is O(e): ~{_fmt(result.noise.truncation)} per entry "
                    "here. Differences of that size are the method's, not your gradient's; "
                    "use central differences (J(theta+e) - J(theta-e)) / (2e)."
                ),
                evidence=f"{largest}; {result.noise.explain()}",
                bug_id="forward-difference",
                score=(0.79 if quiet else 0.24),
                kind="noise",
            )
        )
    return findings


def _kinks(result: CheckResult) -> list[Finding]:
    n = int(result.kink_disagreements.sum())
    if n == 0:
        return []
    return [
        Finding(
            message=(
                f"{n} entries disagree only because their +-e step crosses a ReLU kink "
                "(a unit's pre-activation changes sign), where the finite difference "
                "averages two slopes. They are marked 'kink', not counted as bugs; a "
                "smaller e usually removes them."
            ),
            evidence=f"{int(result.kinks.sum())} entries cross a kink at e = {result.eps:g}",
            score=0.45,
            kind="noise",
        )
    ]


def _zeroed_numerical(result: CheckResult) -> list[Finding]:
    analytic, numerical = np.asarray(result.analytic, float), np.asarray(result.numerical, float)
    zeroed = result.diverging & (numerical == 0.0) & (analytic != 0.0)
    if not zeroed.any():
        return []
    idx = np.flatnonzero(zeroed)
    explains_all = bool(np.array_equal(zeroed, result.diverging))
    if idx[0] == 0 and idx.size == 1:
        return [
            Finding(
                message=(
                    f"Numerical entry 0 ({result.layout.describe(0)}) is exactly 0.0 while the "
                    f"analytic value is {_fmt(analytic[0])}: the numerical loop never perturbed "
                    "it. Does it start at 1, as in `for p in range(1, n)`?"
                ),
                evidence=(
                    f"numerical[0] = 0.0, analytic[0] = {analytic[0]:.6g}"
                    + ("; every other entry agrees" if explains_all else "")
                ),
                bug_id="numgrad-skips-first",
                score=0.9 if explains_all else 0.7,
            )
        ]
    where = ", ".join(result.layout.describe(int(i)) for i in idx[:3])
    return [
        Finding(
            message=(
                f"{idx.size} numerical entries are exactly 0.0 where the analytic gradient is "
                f"not ({where}{'...' if idx.size > 3 else ''}): the numerical loop skipped them."
            ),
            evidence=f"indices {idx[:10].tolist()}",
            score=0.8 if explains_all else 0.6,
        )
    ]


def _sign_flips(result: CheckResult) -> list[Finding]:
    last = len(result.matrices) - 1
    flipped_bias, flipped_whole = [], []
    for m, a, n in _matrices(result):
        if m.agrees:
            continue
        if _close(result, a, -n) and np.any(np.abs(n) > _tolerance(result, n)):
            flipped_whole.append(m)
        elif _close(result, a[:, 0], -n[:, 0]) and np.any(
            np.abs(n[:, 0]) > _tolerance(result, n[:, 0])
        ):
            flipped_bias.append(m)
    if not (flipped_bias or flipped_whole):
        return []
    names = [m.name for m in flipped_whole + flipped_bias]
    output_flipped = any(m.index == last for m in flipped_whole + flipped_bias)
    detail = []
    if flipped_whole:
        detail.append(f"{', '.join(m.name for m in flipped_whole)} exactly sign-flipped throughout")
    if flipped_bias:
        detail.append(
            f"{', '.join(m.name for m in flipped_bias)} exactly sign-flipped in the bias column "
            "(the only column the penalty does not touch)"
        )
    first = (flipped_whole + flipped_bias)[0]
    evidence = (
        f"{first.name}[0, 0]: analytic {_fmt(float(first.analytic[0, 0]))} vs numerical "
        f"{_fmt(float(first.numerical[0, 0]))}; {first.name} relative difference "
        f"{_fmt(first.relative_difference)}"
    )
    if output_flipped:
        message = (
            f"Sign error in the output layer: {'; '.join(detail)}. Backprop's output error "
            "h - y has the opposite sign of the true derivative of the cost, which happens "
            "when the sigmoid is g(-z): check `sigmoid` for 1/(1+np.exp(z)) instead of "
            "1/(1+np.exp(-z))."
        )
        return [Finding(message, evidence, bug_id="sigmoid-sign-flip", score=0.9)]
    message = (
        f"Sign error: {'; '.join(detail)}. Look for a flipped sign in the error of "
        f"{names[0]}'s layer."
    )
    return [Finding(message, evidence, score=0.75)]


def _scale_factor(result: CheckResult) -> list[Finding]:
    ratios = []
    for m, a, n in _matrices(result):
        if m.agrees:
            continue
        bias_a, bias_n = a[:, 0], n[:, 0]
        usable = np.abs(bias_n) > 10 * _tolerance(result, bias_n)
        if usable.sum() == 0:
            return []
        ratios.append(bias_a[usable] / bias_n[usable])
    if not ratios:
        return []
    ratios = np.concatenate(ratios)
    k = float(np.median(ratios))
    if abs(k - 1) < 1e-3 or abs(k + 1) < 1e-3 or not np.allclose(ratios, k, rtol=1e-6):
        return []
    m_known = result.lambda_and_m[1] if result.lambda_and_m else None
    equals_m = m_known is not None and abs(k - m_known) < 1e-6 * m_known
    whole_number = abs(k - round(k)) < 1e-6 and round(k) >= 2
    hint = (
        f"k equals m = {m_known}, the number of examples"
        if equals_m
        else (f"is {round(k)} your number of examples m?" if whole_number else "")
    )
    message = (
        f"The analytic gradient is a constant {_fmt(k)} times the numerical one in every bias "
        f"column{' (' + hint + ')' if hint else ''}"
    )
    bug = None
    if equals_m or (whole_number and m_known is None):
        message += ": the summed deltas were not divided by m (theta_grad = D instead of D / m)."
        bug = "grad-missing-1-over-m"
    else:
        message += ": a constant factor is wrong somewhere in the gradient (or in the cost)."
    evidence = (
        f"bias-column ratios analytic/numerical span {_fmt(ratios.min())}..{_fmt(ratios.max())}"
    )
    return [Finding(message, evidence, bug_id=bug, score=0.85)]


def _permutation(result: CheckResult) -> list[Finding]:
    """Right values, wrong places: column-major unrolling, or some other permutation."""
    column_major, permuted = [], []
    for m, a, n in _matrices(result):
        if m.agrees:
            continue
        if _close(result, a, n.ravel(order="F").reshape(m.shape)):
            column_major.append(m)
        elif _close(result, np.sort(a.ravel()), np.sort(n.ravel())):
            permuted.append(m)
    findings = []
    if column_major:
        names = " and ".join(m.name for m in column_major)
        findings.append(
            Finding(
                message=(
                    f"{names}: the analytic values are the numerical values unrolled column by "
                    "column. The gradient was flattened column-major (Octave's Theta(:), "
                    "ravel(order='F')) while theta is row-major: the numbers are right, the "
                    "places are wrong."
                ),
                evidence="; ".join(
                    f"{m.name}: {m.n_diverging} of {m.analytic.size} entries diverge in place, "
                    "none after reordering"
                    for m in column_major
                ),
                bug_id="column-major-unroll",
                score=0.9,
            )
        )
    if permuted:
        findings.append(
            Finding(
                message=(
                    f"{' and '.join(m.name for m in permuted)} hold the right values in the "
                    "wrong places (a permutation): check how the gradient is reshaped and unrolled."
                ),
                evidence="sorted analytic and numerical values agree within the noise floor",
                score=0.8,
            )
        )
    return findings


def _multiple_of_theta(result: CheckResult) -> list[Finding]:
    """Differences of exactly c * theta, in the bias columns only or the weights only."""
    if result.agrees:
        return []
    thetas = result.layout.split(np.asarray(result.theta, float))
    diffs = result.layout.split(
        np.asarray(result.analytic, float) - np.asarray(result.numerical, float)
    )
    bias = [np.zeros(t.shape, dtype=bool) for t in thetas]
    for b in bias:
        b[:, 0] = True
    d_bias = np.concatenate([d[b] for d, b in zip(diffs, bias)])
    t_bias = np.concatenate([t[b] for t, b in zip(thetas, bias)])
    d_rest = np.concatenate([d[~b] for d, b in zip(diffs, bias)])
    t_rest = np.concatenate([t[~b] for t, b in zip(thetas, bias)])
    tol = result.noise.absolute
    findings = []
    c = _fit_multiple(d_bias, t_bias, tol)
    if c is not None and np.all(np.abs(d_rest) <= 10 * tol):
        findings.append(_theta_multiple_finding(result, c, in_bias=True))
    c = _fit_multiple(d_rest, t_rest, tol)
    if c is not None and np.all(np.abs(d_bias) <= 10 * tol):
        findings.append(_theta_multiple_finding(result, c, in_bias=False))
    return findings


def _fit_multiple(d, t, tol) -> float | None:
    """c with d = c * t to within the noise, if d is not itself noise."""
    if t.size == 0 or np.dot(t, t) == 0 or np.all(np.abs(d) <= 10 * tol):
        return None
    c = float(np.dot(d, t) / np.dot(t, t))
    residual = np.abs(d - c * t)
    return c if np.all(residual <= 10 * tol + 1e-6 * np.abs(d)) else None


def _theta_multiple_finding(result: CheckResult, c: float, in_bias: bool) -> Finding:
    known = result.lambda_and_m
    lam_m = f" = lambda/m = {known[0]:g}/{known[1]}" if known else " (lambda/m?)"
    if in_bias and c > 0:
        return Finding(
            message=(
                f"Only the bias columns differ, and there analytic - numerical = {_fmt(c)}{lam_m} "
                "times theta: the gradient regularises the bias weights, which the cost does not "
                "penalise. Add (lambda/m)*theta to theta_grad[:, 1:] only."
            ),
            evidence=(
                f"bias-column differences fit c * theta with c = {c:.6g}; all other entries agree"
            ),
            bug_id="bias-regularized",
            score=0.9,
        )
    if not in_bias and c < 0:
        return Finding(
            message=(
                f"Every non-bias weight differs by numerical - analytic = {_fmt(-c)}{lam_m} times "
                "theta, and the bias columns agree: the cost's penalty is twice what the gradient "
                "assumes, lambda/m instead of lambda/(2m)."
            ),
            evidence=f"non-bias differences fit c * theta with c = {c:.6g}; bias columns agree",
            bug_id="cost-reg-factor",
            score=0.9,
        )
    where = "bias columns" if in_bias else "non-bias weights"
    return Finding(
        message=(
            f"The {where} differ by exactly {_fmt(c)} times theta and nothing else does: the "
            "regularisation term is inconsistent between cost and gradient."
        ),
        evidence=f"differences fit c * theta with c = {c:.6g}",
        score=0.8,
    )


def _layer_confinement(result: CheckResult) -> list[Finding]:
    if result.agrees or len(result.matrices) < 2:
        return []
    output = result.matrices[-1]
    hidden_bad = [m.name for m in result.matrices[:-1] if not m.agrees]
    if output.agrees and hidden_bad:
        hint = (
            " and the activation derivative (g(z)(1-g(z)), not z(1-z))"
            if result.problem is None or result.problem.activation == "sigmoid"
            else ""
        )
        return [
            Finding(
                message=(
                    f"{', '.join(hidden_bad)} diverge while {output.name} (the output layer) "
                    "agrees: "
                    "the output error is right, the error carried back to the hidden layers is "
                    f"wrong. Check the slice of the weights used to propagate it (theta[:, 1:], "
                    f"skipping the bias){hint}."
                ),
                evidence=f"{output.name} relative difference {_fmt(output.relative_difference)}; "
                + ", ".join(
                    f"{m.name} {_fmt(m.relative_difference)}" for m in result.matrices[:-1]
                ),
                score=0.6,
            )
        ]
    a, n = np.asarray(output.analytic, float)[:, 0], np.asarray(output.numerical, float)[:, 0]
    usable = np.abs(n) > 10 * _tolerance(result, n)
    if not output.agrees and usable.any():
        ratio = a[usable] / n[usable]
        if np.all((ratio > 0) & (ratio <= 0.25 + 1e-9)):
            return [
                Finding(
                    message=(
                        f"{output.name}'s bias gradient has the right sign but is only "
                        f"{_fmt(ratio.min())}..{_fmt(ratio.max())} of the numerical one (at most "
                        "1/4, the largest value of g'(z)): the output error was multiplied by the "
                        "sigmoid gradient. With cross-entropy, delta = h - y exactly."
                    ),
                    evidence=(
                        f"{output.name} bias column ratios analytic/numerical "
                        f"{np.round(ratio, 4).tolist()[:6]}"
                    ),
                    bug_id="output-error-times-gradient",
                    score=0.8,
                )
            ]
    return []


_DETECTORS = (
    _summary,
    _agreement,
    _coarse_check,
    _kinks,
    _zeroed_numerical,
    _sign_flips,
    _scale_factor,
    _permutation,
    _multiple_of_theta,
    _layer_confinement,
)


# --- level 2: which catalogue bugs reproduce the gradients ------------------------


def _sides(side: str) -> list[str]:
    return [b for b, bug in BUGS.items() if side in bug.changes and bug.where != "checker"]


def _subsets(ids, max_size=MAX_BUGS_PER_SIDE):
    for size in range(max_size + 1):
        yield from itertools.combinations(ids, size)


def _observed_base(result: CheckResult, bugs):
    """The implementation with `bugs`, run with the checker settings the result shows."""
    impl = implementation_with(bugs)
    return replace(impl, stencil=STENCILS[result.method], dtype=np.dtype(result.dtype).type)


def _analytic_matches(result: CheckResult) -> list[tuple[str, ...]]:
    problem = result.problem
    observed = np.asarray(result.analytic)
    matches = []
    for subset in _subsets(_sides("analytic")):
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
    extra = [b for b in _sides("numerical") if BUGS[b].where != "model"] + ["numgrad-skips-first"]
    matches = []
    tol = 10 * result.noise.absolute
    for subset in _subsets(extra):
        if any(set(found) <= set(subset) for found in matches):
            continue
        candidate = _numerical_at(result, tuple(model_bugs) + subset, indices)
        if np.all(np.abs(candidate - observed) <= tol + 1e-6 * np.abs(observed)):
            matches.append(subset)
    return matches, indices


def reproduce_with_catalogue(result: CheckResult) -> list[Finding]:
    """Findings for the smallest catalogue bug set that reproduces both gradients."""
    analytic_sets = _analytic_matches(result)
    if len(analytic_sets) != 1:
        return []
    analytic_bugs = analytic_sets[0]
    model_bugs = tuple(b for b in analytic_bugs if BUGS[b].where == "model")
    numerical_sets, indices = _numerical_matches(result, model_bugs)
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
    model = tuple(b for b in analytic_bugs if BUGS[b].where == "model")
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
