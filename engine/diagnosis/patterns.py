"""Level 1: patterns in the two gradients, so it works on code GradScope did not write.

Each finder measures something the gradients show (zeroed entries, exact sign flips,
a constant scale factor, a permuted unrolling, differences that are exactly a
multiple of theta, errors confined to the hidden layers, a shrunk output error, the
checker's own precision) and offers it to the catalogue as an observation: a bug
whose `detect` recognises it writes the finding; when none does, the finder says
what it saw in generic words. No bug is named here.

On the user's own arrays (a layout that is not the founding network's, see
`Layout.founding`) the finders speak of whole arrays by their names: there is no
bias column, no Theta and no output layer, so the founding-only patterns (bias
columns, layer confinement) are skipped and the catalogue's detectors, written for
the founding network, are consulted only about the checker's own settings.
"""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np

from engine.bugs.catalogue import BUGS
from engine.bugs.observations import (
    CheckerSettings,
    ConstantFactor,
    HiddenLayersOnly,
    MatrixSeen,
    MultipleOfTheta,
    Observation,
    Permutation,
    ShrunkOutputError,
    SignFlip,
    ZeroedNumerical,
    fmt,
)
from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult


def find_patterns(result: CheckResult) -> list[Finding]:
    """Every level-1 finding, in the finders' order (not yet ranked), each with its
    cause (a catalogue bug's own, else the finder's) and the arrays it concerns."""
    return [
        with_cause(finding, cause, result)
        for finder, cause in _FINDERS
        for finding in finder(result)
    ]


def with_cause(finding: Finding, cause: str | None, result: CheckResult) -> Finding:
    """`finding` with a cause (its own, its bug's, else `cause`) and, for a cause, the
    arrays (the diverging ones unless the finder named others)."""
    if finding.cause is None:
        cause = BUGS[finding.bug_id].cause if finding.bug_id else cause
        finding = replace(finding, cause=cause)
    if finding.cause is not None and not finding.arrays:
        diverging = tuple(m.name for m in result.matrices if m.n_diverging)
        finding = replace(finding, arrays=diverging)
    return finding


def _claimed_or(
    seen: Observation, generic: Finding | None = None, founding: bool = True
) -> list[Finding]:
    """The findings of the bugs that recognise `seen`, else the generic one (if any).

    `founding=False` (the user's own arrays): only the generic finding, since the
    catalogue's words are the founding network's."""
    if not founding:
        return [generic] if generic is not None else []
    named = [
        Finding(claim.message, claim.evidence, bug_id=bug.id, score=claim.score, kind=claim.kind)
        for bug in BUGS.values()
        if (claim := bug.detect(seen)) is not None
    ]
    return named or ([generic] if generic is not None else [])


# --- shared helpers -----------------------------------------------------------------


def _tolerance(result: CheckResult, reference) -> np.ndarray:
    """How close two values must be to count as equal here: the noise floor, or 1e-6 relative."""
    return result.noise.absolute + 1e-6 * np.abs(reference)


def _close(result: CheckResult, x, y) -> bool:
    return bool(np.all(np.abs(x - y) <= _tolerance(result, y)))


def _matrices(result: CheckResult):
    for m in result.matrices:
        yield m, np.asarray(m.analytic, float), np.asarray(m.numerical, float)


def _names(matrices) -> str:
    return ", ".join(m.name for m in matrices)


# --- the finders --------------------------------------------------------------------


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
                f"relative difference ||n-a||/||n+a|| = {fmt(result.relative_difference)}; "
                f"worst entry analytic {fmt(float(result.analytic[worst]))} vs numerical "
                f"{fmt(float(result.numerical[worst]))} (relative error "
                f"{fmt(float(result.rel_error[worst]))})"
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
            evidence=_agreement_evidence(result),
            score=0.5,
            kind="agreement",
        )
    ]


def _agreement_evidence(result: CheckResult) -> str:
    """The numbers behind a pass, stated as they are: an entry over the noise floor
    passes on the relative threshold, and the sentence says so."""
    largest, floor = float(result.abs_diff.max()), result.noise.absolute
    text = f"relative difference {fmt(result.relative_difference)}, largest entry difference "
    if largest <= floor:
        return text + f"{fmt(largest)} <= noise floor {fmt(floor)}"
    over = int(np.sum(result.abs_diff > floor))
    return text + (
        f"{fmt(largest)} (over the noise floor {fmt(floor)} at {over} "
        f"{'entry' if over == 1 else 'entries'}, each within the relative threshold "
        f"{fmt(result.threshold)})"
    )


def _checker_settings(result: CheckResult) -> list[Finding]:
    """The checker's precision and stencil: a coarse one is named with what it can still see."""
    seen = CheckerSettings(
        dtype=result.dtype,
        method=result.method,
        agrees=result.agrees,
        noise_absolute=result.noise.absolute,
        noise_truncation=result.noise.truncation,
        evidence=(
            f"largest entry difference {fmt(float(result.abs_diff.max()))}; "
            f"{result.noise.explain()}"
        ),
    )
    return _claimed_or(seen)


def _kinks(result: CheckResult) -> list[Finding]:
    n = int(result.kink_disagreements.sum())
    if n == 0:
        return []
    if result.layout.founding:
        message = (
            f"{n} entries disagree only because their +-e step crosses a ReLU kink "
            "(a unit's pre-activation changes sign), where the finite difference "
            "averages two slopes. They are marked 'kink', not counted as bugs; a "
            "smaller e usually removes them."
        )
    else:
        where = _entry_list(result, np.flatnonzero(result.kink_disagreements))
        message = (
            f"{n} {'entry disagrees' if n == 1 else 'entries disagree'} ({where}) only "
            "because the +-e step crosses a kink of your loss (a ReLU or max switching, a "
            "hinge's margin, abs at 0): the finite difference averages the two slopes and "
            "your gradient equals one of them. Not a bug: they are marked 'kink'; a "
            "smaller eps or another check point avoids them."
        )
    return [
        Finding(
            message=message,
            evidence=f"{int(result.kinks.sum())} entries cross a kink at e = {result.eps:g}",
            score=0.45,
            kind="noise",
        )
    ]


def _zeroed_numerical(result: CheckResult) -> list[Finding]:
    """Numerical entries exactly 0 where the analytic ones are not: on the founding
    network, a numerical loop that skipped them. On the user's own arrays GradScope took
    the differences itself, so a 0 there is a true zero derivative, not a skipped entry."""
    if not result.layout.founding:
        return _unused_by_the_loss(result)
    analytic, numerical = np.asarray(result.analytic, float), np.asarray(result.numerical, float)
    zeroed = result.diverging & (numerical == 0.0) & (analytic != 0.0)
    if not zeroed.any():
        return []
    idx = np.flatnonzero(zeroed)
    explains_all = bool(np.array_equal(zeroed, result.diverging))
    seen = ZeroedNumerical(idx, explains_all, result.layout, analytic)
    where = ", ".join(result.layout.describe(int(i)) for i in idx[:3])
    if not result.layout.founding:
        return [
            Finding(
                message=(
                    f"{idx.size} numerical entries are exactly 0.0 where the analytic gradient "
                    f"is not ({where}{'...' if idx.size > 3 else ''}): the loss does not change "
                    "when these parameters move. Are they used in the loss, or is the check "
                    "point degenerate (e.g. dead ReLU units)?"
                ),
                evidence=f"indices {idx[:10].tolist()}",
                score=0.8 if explains_all else 0.6,
            )
        ]
    generic = Finding(
        message=(
            f"{idx.size} numerical entries are exactly 0.0 where the analytic gradient is "
            f"not ({where}{'...' if idx.size > 3 else ''}): the numerical loop skipped them."
        ),
        evidence=f"indices {idx[:10].tolist()}",
        score=0.8 if explains_all else 0.6,
    )
    return _claimed_or(seen, generic)


def _unused_by_the_loss(result: CheckResult) -> list[Finding]:
    """The user's arrays: every diverging entry has a numerical derivative of exactly 0
    (the loss does not move with it) and an analytic one that is not: the gradient
    credits parameters the loss does not use (or this point leaves them unused)."""
    analytic, numerical = np.asarray(result.analytic, float), np.asarray(result.numerical, float)
    zeroed = result.diverging & (numerical == 0.0) & (analytic != 0.0)
    if not zeroed.any() or not np.array_equal(zeroed, result.diverging):
        return []
    idx = np.flatnonzero(zeroed)
    return [
        Finding(
            message=(
                f"{idx.size} entries ({_entry_list(result, idx, 3)}) have a gradient although "
                "the loss does not change when they move (numerical derivative exactly 0): "
                "are they used in the loss, or is the check point degenerate (e.g. dead ReLU "
                "units)?"
            ),
            evidence=f"numerical exactly 0.0 at every diverging entry ({idx.size})",
            score=0.8,
            cause="loss-mismatch",
            arrays=tuple(
                dict.fromkeys(result.layout.names[result.layout.position(int(i))[0]] for i in idx)
            ),
        )
    ]


def _sign_flips(result: CheckResult) -> list[Finding]:
    if not result.layout.founding:
        return _sign_flips_of_arrays(result)
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
    flipped = flipped_whole + flipped_bias
    detail = []
    if flipped_whole:
        detail.append(f"{', '.join(m.name for m in flipped_whole)} exactly sign-flipped throughout")
    if flipped_bias:
        detail.append(
            f"{', '.join(m.name for m in flipped_bias)} exactly sign-flipped in the bias column "
            "(the only column the penalty does not touch)"
        )
    first = flipped[0]
    seen = SignFlip(
        what="; ".join(detail),
        in_output_layer=any(m.index == last for m in flipped),
        first_matrix=first.name,
        evidence=(
            f"{first.name}[0, 0]: analytic {fmt(float(first.analytic[0, 0]))} vs numerical "
            f"{fmt(float(first.numerical[0, 0]))}; {first.name} relative difference "
            f"{fmt(first.relative_difference)}"
        ),
    )
    generic = Finding(
        message=(
            f"Sign error: {seen.what}. Look for a flipped sign in the error of "
            f"{seen.first_matrix}'s layer."
        ),
        evidence=seen.evidence,
        score=0.75,
    )
    return _claimed_or(seen, generic)


def _sign_flips_of_arrays(result: CheckResult) -> list[Finding]:
    """The user's arrays: whole arrays whose analytic gradient is minus the numerical one."""
    flipped = [
        m
        for m, a, n in _matrices(result)
        if not m.agrees and _close(result, a, -n) and np.any(np.abs(n) > _tolerance(result, n))
    ]
    if not flipped:
        return []
    first = flipped[0]
    at = np.unravel_index(int(np.argmax(np.abs(first.numerical))), first.shape)
    return [
        Finding(
            message=(
                f"Sign error: {_names(flipped)} exactly sign-flipped throughout. Look for a "
                f"flipped sign in the code that computes the gradient of {first.name}."
            ),
            evidence=(
                f"{result.layout.entry_name(first.index, at)}: analytic "
                f"{fmt(float(first.analytic[at]))} vs numerical "
                f"{fmt(float(first.numerical[at]))}; {first.name} relative difference "
                f"{fmt(first.relative_difference)}"
            ),
            score=0.75,
        )
    ]


def _scale_factor(result: CheckResult) -> list[Finding]:
    if not result.layout.founding:
        return _scale_factor_of_arrays(result)
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
    seen = ConstantFactor(k, m_known, float(ratios.min()), float(ratios.max()))
    generic = Finding(
        message=(
            f"{seen.description}: a constant factor is wrong somewhere in the gradient "
            "(or in the cost)."
        ),
        evidence=seen.evidence,
        score=0.85,
    )
    return _claimed_or(seen, generic)


def _one_factor(result: CheckResult, pairs, k: float) -> bool:
    """analytic = k * numerical explains RECONCILE_SHARE of the disagreement in every
    diverging array (user losses carry small terms of their own, log(y + 1e-7), that a
    ratio test entry by entry would hold against them)."""
    return all(_explained(a, n, k) >= RECONCILE_SHARE for a, n in pairs)


def _explained(a, n, k: float) -> float:
    """The share of |a - n|^2 that a = k * n accounts for."""
    gap = float(np.sum((a - n) ** 2))
    return 1.0 - float(np.sum((a - k * n) ** 2)) / gap if gap > 0 else 0.0


def _scale_factor_of_arrays(result: CheckResult) -> list[Finding]:
    """The user's arrays: analytic = k * numerical in every diverging array, whole."""
    ratios, diverging, pairs = [], [], []
    for m, a, n in _matrices(result):
        if m.agrees:
            continue
        usable = np.abs(n) > 10 * _tolerance(result, n)
        if usable.sum() == 0:
            return []
        ratios.append(a[usable] / n[usable])
        diverging.append(m)
        pairs.append((a.ravel(), n.ravel()))
    if not ratios:
        return []
    ratios = np.concatenate(ratios)
    k = float(np.median(ratios))
    if abs(k - 1) < 1e-3 or abs(k + 1) < 1e-3 or not _one_factor(result, pairs, k):
        return []
    if k == 0:
        names = _names(diverging)
        return [
            Finding(
                message=(
                    f"The analytic gradient of {names} is exactly 0 where the numerical one is "
                    f"not: the gradient of {names} is never filled in (left as a zero "
                    "placeholder, or computed and not stored)."
                ),
                evidence=f"every usable entry of {names} has analytic 0.0",
                score=0.85,
                cause="zeroed",
            )
        ]
    m_known = result.lambda_and_m[1] if result.lambda_and_m else None
    seen = ConstantFactor(k, m_known, float(ratios.min()), float(ratios.max()))
    hint, example = seen.hint, "e.g. a missing division by the batch size"
    inverse = 1 / k
    if abs(k) < 1 and abs(inverse - round(inverse)) < 1e-6 * abs(inverse):
        hint = f" (1/{round(inverse)})"
        example = (
            f"e.g. a division by {round(abs(inverse))} (a batch size, or a mean where the "
            "loss sums) that the loss does not have"
        )
    return [
        Finding(
            message=(
                f"The analytic gradient is a constant {fmt(k)} times the numerical one in "
                f"{_names(diverging)}{hint}: a constant factor is wrong somewhere in the "
                f"gradient (or in the loss), {example}."
            ),
            evidence=(
                f"ratios analytic/numerical in {_names(diverging)} span "
                f"{fmt(seen.lowest)}..{fmt(seen.highest)}; analytic = {fmt(k)} x numerical "
                f"explains {100 * min(_explained(a, n, k) for a, n in pairs):.4g}% of the "
                "disagreement"
            ),
            score=0.85,
        )
    ]


def _permutation(result: CheckResult) -> list[Finding]:
    """Right values, wrong places: in a column-major unrolling's order, or some other."""
    column_major, permuted = [], []
    for m, a, n in _matrices(result):
        if m.agrees:
            continue
        if _close(result, a, n.ravel(order="F").reshape(m.shape)):
            column_major.append(m)
        elif _close(result, np.sort(a.ravel()), np.sort(n.ravel())):
            permuted.append(m)
    findings = []
    if not result.layout.founding and column_major:
        findings.append(
            Finding(
                message=(
                    f"{_names(column_major)} {'holds' if len(column_major) == 1 else 'hold'} "
                    "the right values in column-major order: "
                    "the gradient was transposed or flattened with order='F' while the "
                    "parameters are row-major. The numbers are right, the places are wrong."
                ),
                evidence="; ".join(
                    f"{m.name}: {m.n_diverging} of {m.analytic.size} entries diverge in "
                    "place, none after reordering"
                    for m in column_major
                ),
                score=0.85,
            )
        )
        column_major = []
    for matrices, in_column_major_order in ((column_major, True), (permuted, False)):
        if matrices:
            seen = Permutation(
                tuple(MatrixSeen(m.name, m.n_diverging, m.analytic.size) for m in matrices),
                column_major=in_column_major_order,
            )
            hold = "holds" if len(matrices) == 1 and not result.layout.founding else "hold"
            generic = Finding(
                message=(
                    f"{seen.names} {hold} the right values in the wrong places (a permutation): "
                    "check how the gradient is reshaped and unrolled."
                ),
                evidence="sorted analytic and numerical values agree within the noise floor",
                score=0.8,
            )
            findings += _claimed_or(seen, generic, result.layout.founding)
    return findings


def _multiple_of_theta(result: CheckResult) -> list[Finding]:
    """Differences of exactly c * theta, in the bias columns only or the weights only."""
    if result.agrees:
        return []
    if not result.layout.founding:
        return _multiple_of_arrays(result)
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
        findings += _theta_multiple(
            MultipleOfTheta(c, in_bias=True, lambda_and_m=result.lambda_and_m)
        )
    c = _fit_multiple(d_rest, t_rest, tol)
    if c is not None and np.all(np.abs(d_bias) <= 10 * tol):
        findings += _theta_multiple(
            MultipleOfTheta(c, in_bias=False, lambda_and_m=result.lambda_and_m)
        )
    return findings


def _multiple_of_arrays(result: CheckResult) -> list[Finding]:
    """The user's arrays: the diverging arrays differ by exactly c times their own values,
    and every other array agrees (a regularisation term that cost and gradient disagree on)."""
    thetas = result.layout.split(np.asarray(result.theta, float))
    diffs = result.layout.split(
        np.asarray(result.analytic, float) - np.asarray(result.numerical, float)
    )
    tol = result.noise.absolute
    bad = [not m.agrees for m in result.matrices]
    if not any(bad):
        return []
    d_bad = np.concatenate([d.ravel() for d, b in zip(diffs, bad) if b])
    t_bad = np.concatenate([t.ravel() for t, b in zip(thetas, bad) if b])
    others = [d.ravel() for d, b in zip(diffs, bad) if not b]
    if others and not np.all(np.abs(np.concatenate(others)) <= 10 * tol):
        return []
    c = _fit_multiple(d_bad, t_bad, tol)
    if c is None:
        return _multiple_on_entries(result, diffs, thetas)
    names = _names(m for m, b in zip(result.matrices, bad) if b)
    verb = "differs" if sum(bad) == 1 else "differ"
    seen = MultipleOfTheta(c, in_bias=False, lambda_and_m=result.lambda_and_m)
    rest = ", and every other array agrees" if others else ""
    penalty = seen.as_lambda_over_m if result.lambda_and_m else " (the regularisation strength?)"
    biases = all(result.layout.is_bias(m.index) for m, b in zip(result.matrices, bad) if b)
    if biases and c > 0 and others:
        why = (
            "the gradient penalises the biases, which the loss does not: most code "
            "regularises the weights only, so drop the penalty from the biases' gradient "
            "(or add it to the loss)."
        )
    else:
        why = (
            "the regularisation term is inconsistent between loss and gradient (a penalty "
            "in one and not the other, or a different factor)."
        )
    return [
        Finding(
            message=(
                f"{names} {verb} by exactly analytic - numerical = {fmt(c)}"
                f"{penalty} times the parameters themselves{rest}: {why}"
            ),
            evidence=f"differences fit c * parameters with c = {c:.6g}",
            score=0.8,
        )
    ]


def _multiple_on_entries(result: CheckResult, diffs, thetas) -> list[Finding]:
    """The user's arrays: only some entries (e.g. a bias row folded into W) differ, by
    exactly c times their own values, and every other entry agrees."""
    tol = result.noise.absolute
    d = np.concatenate([x.ravel() for x in diffs])
    t = np.concatenate([x.ravel() for x in thetas])
    bad = np.asarray(result.diverging)
    if bad.all() or np.any(np.abs(d[~bad]) > 10 * tol):
        return []
    c = _fit_multiple(d[bad], t[bad], tol)
    if c is None:
        return []
    idx = np.flatnonzero(bad)
    where = _entry_list(result, idx)
    return [
        Finding(
            message=(
                f"{idx.size} entries ({where}) differ by exactly analytic - numerical = "
                f"{fmt(c)} times the parameters themselves, and every other entry agrees: "
                "these entries are penalised in one of loss and gradient and not in the "
                "other (a bias folded into the weights, regularised by mistake?)."
            ),
            evidence=f"differences of the diverging entries fit c * parameters with c = {c:.6g}",
            score=0.8,
        )
    ]


def _fit_multiple(d, t, tol) -> float | None:
    """c with d = c * t to within the noise, if d is not itself noise."""
    if t.size == 0 or np.dot(t, t) == 0 or np.all(np.abs(d) <= 10 * tol):
        return None
    c = float(np.dot(d, t) / np.dot(t, t))
    residual = np.abs(d - c * t)
    return c if np.all(residual <= 10 * tol + 1e-6 * np.abs(d)) else None


def _theta_multiple(seen: MultipleOfTheta) -> list[Finding]:
    where = "bias columns" if seen.in_bias else "non-bias weights"
    generic = Finding(
        message=(
            f"The {where} differ by exactly {fmt(seen.c)} times theta and nothing else does: "
            "the regularisation term is inconsistent between cost and gradient."
        ),
        evidence=f"differences fit c * theta with c = {seen.c:.6g}",
        score=0.8,
    )
    return _claimed_or(seen, generic)


def _layer_confinement(result: CheckResult) -> list[Finding]:
    """Errors only in the hidden layers, or an output error of the right sign but too small."""
    if result.agrees or len(result.matrices) < 2 or not result.layout.founding:
        return []
    output = result.matrices[-1]
    hidden_bad = [m.name for m in result.matrices[:-1] if not m.agrees]
    if output.agrees and hidden_bad:
        return _hidden_layers_only(result, output, hidden_bad)
    a, n = np.asarray(output.analytic, float)[:, 0], np.asarray(output.numerical, float)[:, 0]
    usable = np.abs(n) > 10 * _tolerance(result, n)
    if not output.agrees and usable.any():
        ratio = a[usable] / n[usable]
        if np.all((ratio > 0) & (ratio < 1)):
            return _claimed_or(ShrunkOutputError(output.name, ratio))
    return []


def _hidden_layers_only(result: CheckResult, output, hidden_bad: list[str]) -> list[Finding]:
    seen = HiddenLayersOnly(
        output=output.name,
        diverging=tuple(hidden_bad),
        sigmoid_hidden=result.problem is None or result.problem.activation == "sigmoid",
        evidence=f"{output.name} relative difference {fmt(output.relative_difference)}; "
        + ", ".join(f"{m.name} {fmt(m.relative_difference)}" for m in result.matrices[:-1]),
    )
    hint = (
        " and the activation derivative (g(z)(1-g(z)), not z(1-z))" if seen.sigmoid_hidden else ""
    )
    generic = Finding(
        message=(
            f"{', '.join(seen.diverging)} diverge while {seen.output} (the output layer) "
            "agrees: the output error is right, the error carried back to the hidden layers is "
            "wrong. Check the slice of the weights used to propagate it (theta[:, 1:], "
            f"skipping the bias){hint}."
        ),
        evidence=seen.evidence,
        score=0.6,
    )
    return _claimed_or(seen, generic)


RECONCILE_SHARE = 0.999  # a transformation must explain this share of the disagreement


def _reconciled(result: CheckResult) -> list[Finding]:
    """The user's arrays: analytic = k * numerical + c * params in every diverging array
    (least squares, per array), explaining all the disagreement. k = -1: the data part of
    the gradient is negated; k constant: scaled (1/m, a mean against a sum, the factor
    2 of a square); k = 1: only the penalty differs. The pure cases (c = 0, or k = 1)
    are the other finders'; this one names the mixtures, where a penalty term rides on
    top of a negated or scaled gradient."""
    if result.agrees or result.layout.founding:
        return []
    thetas = result.layout.split(np.asarray(result.theta, float))
    fits = []
    for (m, a, n), t in zip(_matrices(result), thetas):
        if m.agrees:
            continue
        fit = next(
            (
                found
                for penalised in _penalty_masks(t)
                if (found := _fit_linear(a, n, np.where(penalised, t, 0.0), result)) is not None
            ),
            None,
        )
        if fit is None:
            return []
        fits.append((m, *fit))
    ks = np.array([k for _, k, _, _ in fits])
    if np.all(np.abs(ks - 1) < 1e-3) or all(
        _fit_linear(a, n, np.zeros_like(a), result) is not None
        for m, a, n in _matrices(result)
        if not m.agrees
    ):
        return []  # a pure sign, scale or penalty: the dedicated finders word it
    if np.all(np.abs(ks + 1) < 1e-3):
        cause, what = "sign", "negated"
    elif np.allclose(ks, ks[0], rtol=1e-3) and abs(ks[0]) > 1e-9:
        cause, what = "scale", f"{fmt(float(ks[0]))} times the loss's{_inverse_hint(ks[0])}"
    else:
        return []
    names = tuple(m.name for m, *_ in fits)
    fitted = "; ".join(
        f"analytic {m.name} = {fmt(k)} x numerical {'+' if c >= 0 else '-'} {fmt(abs(c))} x "
        f"{m.name} to {fmt(r)}"
        for m, k, c, r in fits
    )
    return [
        Finding(
            message=(
                f"In {', '.join(names)} the gradient's data part is {what}, while a term "
                "proportional to the parameters (the penalty) is not: look where the "
                "gradient of the loss's data term is formed (its sign, a division by the "
                "number of examples, a mean against a sum), not at the penalty."
            ),
            evidence=f"{fitted}; explains over {100 * RECONCILE_SHARE:g}% of the disagreement",
            score=0.86,
            cause=cause,
            arrays=names,
        )
    ]


def _penalty_masks(t: np.ndarray):
    """Where a penalty may act on an array: everywhere, or (a 2-D array with a bias
    column, ex4's Theta) everywhere but its first or its last column."""
    everywhere = np.ones(t.shape, dtype=bool)
    yield everywhere
    if t.ndim == 2 and t.shape[1] > 1:
        for column in (0, -1):
            mask = everywhere.copy()
            mask[:, column] = False
            yield mask


def _fit_linear(a, n, t, result: CheckResult) -> tuple[float, float, float] | None:
    """(k, c, largest residual) with a = k n + c t by least squares, when the fit
    explains RECONCILE_SHARE of |a - n|^2 and leaves no residual over 10 noise floors."""
    a, n, t = a.ravel(), n.ravel(), t.ravel()
    tol = result.noise.absolute
    basis = np.column_stack([n, t]) if np.any(t) else n[:, None]
    if np.linalg.matrix_rank(basis) < basis.shape[1]:
        return None
    coefficients, *_ = np.linalg.lstsq(basis, a, rcond=None)
    k, c = (coefficients[0], coefficients[1] if len(coefficients) > 1 else 0.0)
    residual = a - (k * n + c * t)
    gap = float(np.sum((a - n) ** 2))
    if gap == 0 or float(np.sum(residual**2)) > (1 - RECONCILE_SHARE) * gap:
        return None
    largest = float(np.max(np.abs(residual)))
    if largest > 10 * tol + 1e-6 * float(np.max(np.abs(a))):
        return None
    return float(k), float(c), largest


def _inverse_hint(k: float) -> str:
    inverse = 1 / k
    if abs(k) < 1 and abs(inverse - round(inverse)) < 1e-6 * abs(inverse):
        return f" (1/{round(inverse)}: a division the loss does not have?)"
    if abs(k - round(k)) < 1e-6 * abs(k):
        return f" ({round(k)}: a batch size or m the gradient is not divided by?)"
    return ""


def _layer_of(name: str) -> int | None:
    """A layer number in an array's name: W1 -> 1, weights[0] -> 0, fc2.weight -> 2."""
    digits = re.findall(r"\d+", name)
    return int(digits[-1]) if digits else None


INPUT_NAMES = {"x", "X", "input", "inputs", "h0", "prev_h", "prev_c", "c0"}


def _chain_boundary(result: CheckResult) -> list[Finding]:
    """The user's arrays: those of the lower layers disagree while every array of the
    layers above agrees (or only a layer's input disagrees): the error enters the
    backward pass at a boundary, the delta passed down there (an activation
    derivative, a missing or extra term, the weights it is multiplied by)."""
    if result.agrees or result.layout.founding:
        return []
    matrices = list(result.matrices)
    bad = [m for m in matrices if not m.agrees]
    good = [m for m in matrices if m.agrees]
    if not good:
        return []
    if all(m.name in INPUT_NAMES for m in bad):
        below, above = _names(bad), _names(good)
        where = f"the gradient passed down to {below}"
    else:
        layers = {m.name: _layer_of(m.name) for m in matrices}
        if any(layers[m.name] is None for m in bad + good):
            return []
        top_bad = max(layers[m.name] for m in bad)
        if not any(layers[m.name] > top_bad for m in good) or any(
            layers[m.name] <= top_bad for m in good
        ):
            return []
        below, above = _names(bad), _names(m for m in good if layers[m.name] > top_bad)
        where = f"the delta passed from layer {top_bad + 1} down to layer {top_bad}"
    return [
        Finding(
            message=(
                f"{below} disagree while {above} agree: the backward pass goes wrong at "
                f"{where} (an activation derivative taken of the wrong quantity, a missing "
                "or extra term, stale or wrong weights in the product)."
            ),
            evidence=f"diverging: {below}; agreeing above them: {above}",
            score=0.7,
            cause="backward-chain",
            arrays=tuple(m.name for m in bad),
        )
    ]


def _entry_list(result: CheckResult, indices, shown: int = 4) -> str:
    """'W1[0, 2], b1[3]...': the first entries by their names."""
    where = ", ".join(result.layout.describe(int(i)) for i in indices[:shown])
    return where + ("..." if len(indices) > shown else "")


def _silent_units(result: CheckResult) -> list[Finding]:
    """Rows or columns of the user's 2-D arrays (and entries of 1-D ones) whose gradient
    is exactly zero on both sides while the parameters are not: nothing reaches them at
    this point (a dead ReLU unit, a saturated activation, a feature that is zero in every
    example), so a bug on them cannot show. Named, with the remedy."""
    if result.layout.founding:
        return []
    numerical = result.layout.split(np.asarray(result.numerical, float))
    analytic = result.layout.split(np.asarray(result.analytic, float))
    theta = result.layout.split(np.asarray(result.theta, float))
    floor = result.noise.absolute
    silent = []
    for name, n, a, t in zip(result.layout.names, numerical, analytic, theta):
        quiet = (n == 0.0) & (np.abs(a) <= floor)
        if quiet.all() or not np.any(t):
            continue  # a whole array: the all-zero or the summary's findings speak of it
        if quiet.ndim == 1 and quiet.size > 1:
            silent += [f"{name}[{i}]" for i in np.flatnonzero(quiet & (t != 0))]
        elif quiet.ndim == 2 and min(quiet.shape) > 1:
            silent += [f"{name}[{i}, :]" for i in np.flatnonzero(quiet.all(axis=1))]
            silent += [f"{name}[:, {j}]" for j in np.flatnonzero(quiet.all(axis=0))]
    if not silent:
        return []
    shown = ", ".join(silent[:6]) + ("..." if len(silent) > 6 else "")
    return [
        Finding(
            message=(
                f"{shown}: the gradient is exactly zero there on both sides, though the "
                "parameters are not: at this point nothing reaches them (a dead ReLU unit, "
                "a saturated activation, an input that is zero in every example), so a bug "
                "on them cannot show. Check again at another point or with more examples."
            ),
            evidence=f"{len(silent)} rows, columns or entries with numerical gradient "
            f"exactly 0.0 and analytic within the noise floor {fmt(floor)}",
            score=0.5 if result.agrees else 0.12,  # below the summary when failing
            kind="noise",
        )
    ]


def _all_zero_arrays(result: CheckResult) -> list[Finding]:
    """Arrays that are all zeros at the check point: their penalty's gradient (c * array)
    is zero there, so a regularisation mistake on them cannot show, and symmetric units
    may hide others. Named, with the remedy."""
    if result.layout.founding:
        return []
    zero = [
        name
        for name, part in zip(
            result.layout.names, result.layout.split(np.asarray(result.theta, float))
        )
        if not np.any(part)
    ]
    if not zero:
        return []
    are = "is" if len(zero) == 1 else "are"
    return [
        Finding(
            message=(
                f"{', '.join(zero)} {are} all zeros at the check point: a penalty on "
                f"{'it' if len(zero) == 1 else 'them'} (c * value) is zero there, so a "
                "regularisation mistake on "
                f"{'it' if len(zero) == 1 else 'them'} cannot show. Check again at non-zero "
                "values (e.g. small random numbers)."
            ),
            evidence=f"every entry of {', '.join(zero)} is exactly 0.0",
            score=0.55 if result.agrees else 0.15,  # below the summary when failing
            kind="noise",
        )
    ]


# Each finder with the cause it establishes (a catalogue bug's claim carries its own);
# None: not about a disagreement (agreement, a degenerate check point).
_FINDERS = (
    (_summary, "unknown"),
    (_agreement, None),
    (_checker_settings, "precision"),
    (_kinks, "kink"),
    (_zeroed_numerical, "checker"),
    (_sign_flips, "sign"),
    (_scale_factor, "scale"),
    (_permutation, "layout"),
    (_multiple_of_theta, "regularization"),
    (_reconciled, None),  # sign or scale, by what the fit shows
    (_layer_confinement, "backward-chain"),
    (_chain_boundary, "backward-chain"),
    (_all_zero_arrays, None),
    (_silent_units, None),
)
