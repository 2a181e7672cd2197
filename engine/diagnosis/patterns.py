"""Level 1: patterns in the two gradients, so it works on code GradScope did not write.

Each finder measures something the gradients show (zeroed entries, exact sign flips,
a constant scale factor, a permuted unrolling, differences that are exactly a
multiple of theta, errors confined to the hidden layers, a shrunk output error, the
checker's own precision) and offers it to the catalogue as an observation: a bug
whose `detect` recognises it writes the finding; when none does, the finder says
what it saw in generic words. No bug is named here. On the user's own arrays more
finders name the transformation that reconciles the two gradients, with the share of
the disagreement it explains: a penalty on the wrong entries or a constant added to
some, entries left at zero, a sum over the wrong axis, a slice shifted by one or by
the padding, arrays rolled in another order, a weight transposed in a product.

On the user's own arrays (a layout that is not the founding network's, see
`Layout.founding`) the finders speak of whole arrays by their names: there is no
bias column, no Theta and no output layer, so the founding-only patterns (bias
columns, layer confinement) are skipped and the catalogue's detectors, written for
the founding network, are consulted only about the checker's own settings.
"""

from __future__ import annotations

import re
from dataclasses import replace
from itertools import permutations

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
    if seen.whole_number and round(k) == 2 and not seen.equals_m:
        example = (
            "e.g. a gradient added in two places, a missing 1/2 of a squared loss, or a "
            "missing division by the batch size if it is 2"
        )
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
    exactly c times their own values, and every other entry agrees. One entry fits any c,
    so it takes two or more to say so."""
    tol = result.noise.absolute
    d = np.concatenate([x.ravel() for x in diffs])
    t = np.concatenate([x.ravel() for x in thetas])
    bad = np.asarray(result.diverging)
    if bad.all() or bad.sum() < 2 or np.any(np.abs(d[~bad]) > 10 * tol):
        return []
    c = _fit_multiple(d[bad], t[bad], tol)
    idx = np.flatnonzero(bad)
    if c is None:
        return _penalty_moved(result, d[bad], t[bad], idx)
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


def _penalty_moved(result: CheckResult, d, t, idx) -> list[Finding]:
    """Two groups of entries, -c and +c' times their values, the rest agreeing: the
    gradient's penalty leaves out the wrong entries (it skips the first row, the loss
    the last, where the bias is), so one group lacks a penalty and the other has one
    too many."""
    tol = result.noise.absolute
    fits = []
    for group in (d * t < 0, d * t > 0):
        c = _fit_multiple(d[group], t[group], tol) if group.sum() >= 2 else None
        if c is None:
            return []
        fits.append((c, idx[group]))
    (c_less, less), (c_more, more) = fits
    rest = np.where(d * t < 0, d - c_less * t, d - c_more * t)
    largest = float(np.max(np.abs(rest)))
    return [
        Finding(
            message=(
                f"{_entry_list(result, less)} differ by {fmt(c_less)} times the parameters "
                f"(penalised in the loss, not in the gradient) and {_entry_list(result, more)} "
                f"by {fmt(c_more)} times (penalised in the gradient, not in the loss); every "
                "other entry agrees: the gradient's penalty leaves out other entries than "
                "the loss's does (a slice such as [1:] where the entries to leave out are "
                "elsewhere)."
            ),
            evidence=(
                f"analytic - numerical = {c_less:.6g} x parameters at {less.size} entries and "
                f"{c_more:.6g} x parameters at {more.size}, to {fmt(largest)}; explains "
                f"{100 * (1 - float(np.sum(rest**2)) / float(np.sum(d**2))):.4g}% of the "
                "disagreement"
            ),
            score=0.8,
            cause="regularization",
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


MAX_BLOCKS = 24  # leading or trailing blocks a flat vector's penalty may leave out


def _penalty_masks(t: np.ndarray):
    """Where a penalty may act on an array: everywhere; on a 2-D array everywhere but
    its first or last column (ex4's Theta, bias first) or row (the bias trick's W,
    bias last); on a flat vector everywhere but a leading or trailing block whose
    length divides it (the bias row or column of the matrix it unrolls)."""
    everywhere = np.ones(t.shape, dtype=bool)
    yield everywhere
    if t.ndim == 2:
        for columns in (True, False):
            if t.shape[1 if columns else 0] > 1:
                for end in (0, -1):
                    mask = everywhere.copy()
                    mask[(slice(None), end) if columns else (end, slice(None))] = False
                    yield mask
    elif t.ndim == 1:
        blocks = [b for b in range(1, t.size // 2 + 1) if t.size % b == 0]
        for block in blocks[:MAX_BLOCKS]:
            yield np.arange(t.size) >= block
            yield np.arange(t.size) < t.size - block


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


# --- what the user's arrays show, reconciled ------------------------------------------
# Each finder below names one transformation that turns the numerical gradient into the
# analytic one (or the two into each other) on the user's own arrays, with the numbers:
# how closely it reconciles them and the share of the disagreement it accounts for.


def _user_failing(result: CheckResult) -> bool:
    return not result.agrees and not result.layout.founding


def _flat(result: CheckResult) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """analytic, numerical and the diverging mask as flat float vectors."""
    a, n = np.asarray(result.analytic, float), np.asarray(result.numerical, float)
    return a, n, np.asarray(result.diverging, bool)


def _zeroed_entries(result: CheckResult) -> list[Finding]:
    """The user's arrays: at every diverging entry the analytic gradient is 0 while the
    numerical one is not, and every other entry agrees: those entries' gradient is
    never filled in (a zero placeholder, an output bias left out of a flat vector).
    Whole arrays of zeros are the scale finder's k = 0; here some entries of an array
    are zero and the rest right."""
    if not _user_failing(result):
        return []
    a, n, bad = _flat(result)
    floor = result.noise.absolute
    zero = bad & (np.abs(a) <= floor) & (np.abs(n) > 10 * floor)
    if not zero.any() or not np.array_equal(zero, bad) or not _one_block(result, zero):
        return []
    if all(np.all(np.abs(x) <= floor) for m, x, _ in _matrices(result) if not m.agrees):
        return []  # whole arrays: the scale finder's k = 0 says it
    idx = np.flatnonzero(zero)
    others = float(np.max(np.abs(a - n)[~bad])) if (~bad).any() else 0.0
    return [
        Finding(
            message=(
                f"{_entry_list(result, idx)}: the analytic gradient is exactly 0 where the "
                "numerical one is not, and every other entry agrees: the gradient of "
                f"{'this entry' if idx.size == 1 else 'these entries'} is never filled in "
                "(a zero placeholder left in place, a line forgotten)."
            ),
            evidence=(
                f"analytic 0.0 at all {idx.size} diverging entries (numerical up to "
                f"{fmt(float(np.max(np.abs(n[idx]))))} there); setting them to the numerical "
                f"values explains 100% of the disagreement, the rest agrees to {fmt(others)}"
            ),
            score=0.85,
            cause="zeroed",
        )
    ]


def _one_block(result: CheckResult, entries: np.ndarray) -> bool:
    """The entries are one slice of the flat vector or one whole row or column of a 2-D
    array: the shape a forgotten assignment leaves. Zeros scattered over several arrays
    (a unit's weights and its bias) are a wrong mask's, in the backward chain."""
    idx = np.flatnonzero(entries)
    if idx[-1] - idx[0] + 1 == idx.size:
        return True
    k = result.layout.position(int(idx[0]))[0]
    part = result.layout.split(entries)[k]
    if part.ndim != 2 or part.sum() != idx.size:
        return False
    whole_row = part.all(axis=1).sum() == 1 and idx.size == part.shape[1]
    whole_column = part.all(axis=0).sum() == 1 and idx.size == part.shape[0]
    return bool(whole_row or whole_column)


def _constant_on_entries(result: CheckResult) -> list[Finding]:
    """The user's arrays: some entries (not all) differ by one and the same constant,
    analytic - numerical = c, and every other entry agrees: a term the loss does not
    have is added to those entries' gradient, as a penalty does when the matrix it
    multiplies holds ones, not zeros, at the entries it should leave out."""
    if not _user_failing(result):
        return []
    a, n, bad = _flat(result)
    d, tol = a - n, result.noise.absolute
    if bad.all() or bad.sum() < 2 or np.any(np.abs(d[~bad]) > 10 * tol):
        return []
    if np.ptp(n[bad]) <= 10 * tol + 1e-3 * np.max(np.abs(n[bad])):
        return []  # numerical constant there too: a factor would fit as well
    c = float(np.mean(d[bad]))
    residual = d[bad] - c
    largest = float(np.max(np.abs(residual)))
    if largest > 10 * tol + 1e-6 * abs(c):
        return []
    idx = np.flatnonzero(bad)
    share = 1 - float(np.sum(residual**2)) / float(np.sum(d**2))
    return [
        Finding(
            message=(
                f"{idx.size} entries ({_entry_list(result, idx)}) differ by the same constant, "
                f"analytic - numerical = {fmt(c)}, and every other entry agrees: the gradient "
                "adds a constant the loss does not have at these entries, as a penalty term "
                "does when the matrix it multiplies holds ones (not zeros) at the entries "
                "the penalty should leave out."
            ),
            evidence=(
                f"analytic - {fmt(c)} equals numerical at those entries to {fmt(largest)}; "
                f"explains {100 * share:.4g}% of the disagreement"
            ),
            score=0.8,
            cause="regularization",
        )
    ]


def _wrong_reduction(result: CheckResult) -> list[Finding]:
    """The user's vectors (a bias): the analytic gradient adds up to the numerical one's
    total but spreads it differently, or puts the whole total in every entry: the right
    numbers reduced over the wrong axis (db = dz.sum(axis=1) for axis=0, unnoticed when
    batch and layer are as wide) or over every axis (one scalar broadcast)."""
    if not _user_failing(result) or all(not m.agrees for m in result.matrices):
        return []  # a bias among arrays that agree; one flat vector cannot tell its axes
    found = [
        (m, _reduction_seen(result, a.ravel(), n.ravel()) if _vector(m.shape) else None)
        for m, a, n in _matrices(result)
        if not m.agrees
    ]
    if not found or any(seen is None for _, seen in found):
        return []
    return [
        Finding(
            message=(
                "; ".join(
                    f"{m.name}'s analytic gradient {how.format(fmt(total))}"
                    for m, (how, total, _) in found
                )
                + ": the right numbers reduced over the wrong axis (summed over the units "
                "instead of the examples, or over every axis). Check the axis of the sum "
                "that forms " + ("this gradient." if len(found) == 1 else "these gradients.")
            ),
            evidence="; ".join(
                f"{m.name}: sum of numerical {fmt(total)}, analytic's off by {fmt(off)}, while "
                f"{m.n_diverging} of {m.analytic.size} entries differ"
                for m, (_, total, off) in found
            ),
            score=0.82,
            cause="layout",
        )
    ]


def _vector(shape) -> bool:
    """One axis longer than 1: a bias (n,), or a column (n, 1) as Nielsen keeps them."""
    return sum(s > 1 for s in shape) == 1


def _reduction_seen(result: CheckResult, a, n):
    """(how, total, off) when the vector a adds up to n's total, or holds it in every
    entry; None otherwise, or when n is no vector or its total is about zero (a softmax's
    bias gradient sums to 0 whatever the bug)."""
    total, floor = float(n.sum()), result.noise.absolute
    if n.size < 2 or abs(total) <= max(100 * floor * n.size, 1e-3 * np.sum(np.abs(n))):
        return None
    if abs(a.sum() - total) <= 10 * floor * n.size + 1e-9 * abs(total):
        spread = "adds up to the numerical one's total, {}, spread over its entries differently"
        return spread, total, float(a.sum() - total)
    if np.all(np.abs(a - total) <= 10 * floor + 1e-9 * abs(total)):
        every = "holds the numerical one's total, {}, in every entry"
        return every, total, float(np.max(np.abs(a - total)))
    return None


MAX_SHIFT = 2  # places a slice may be off by: one, or a padding of one or two


def _shifted(result: CheckResult) -> list[Finding]:
    """The user's arrays: the analytic gradient is the numerical one moved by a place or
    two along some axes (analytic[i + 1, j + 1] = numerical[i, j]) on every entry the two
    share: a slice off by one or by the padding (dx_pad[:, :, :H, :W] for
    [pad:-pad, pad:-pad], theta[1:] for theta[:-1])."""
    if not _user_failing(result):
        return []
    found = []
    for m, a, n in _matrices(result):
        if m.agrees:
            continue
        fit = _best_shift(result, a, n)
        if fit is None:
            return []
        found.append((m, *fit))
    text = "; ".join(
        f"analytic {m.name}{_shift_text(s, '+')} equals numerical {m.name}{_shift_text(s, '')} "
        f"to {fmt(r)} on the {k} of {m.analytic.size} entries both hold; explains "
        f"{100 * share:.4g}% of the disagreement, the rest on the border the shift moves out"
        for m, s, r, k, share in found
    )
    moves = "; ".join(
        f"analytic {m.name}{_shift_text(s, '+')} = numerical {m.name}{_shift_text(s, '')}"
        for m, s, *_ in found
    )
    return [
        Finding(
            message=(
                f"In {_names(m for m, *_ in found)} the analytic gradient is the numerical "
                f"one moved by a place or two ({moves}): the right values in the wrong "
                "places; a slice is off by one or by the padding (cropped from the start "
                "instead of offset by it)."
            ),
            evidence=text,
            score=0.85,
            cause="layout",
        )
    ]


def _shift_text(shift, sign: str) -> str:
    """'[..., i+1, j+1]' for the shifted side, '[..., i, j]' for the other."""
    letters = "ijkl"[: len(shift)]
    parts = [
        f"{x}{'+' if s > 0 else '-'}{abs(s)}" if sign and s else x for x, s in zip(letters, shift)
    ]
    return "[" + ", ".join(parts) + "]"


def _best_shift(result: CheckResult, a, n):
    """(shift, largest residual, entries compared, share of the disagreement) for the
    smallest shift with a[i + s] = n[i] on the overlap (at least half the entries, with
    values that vary), else None."""
    if a.ndim == 0 or a.ndim > 4:
        return None
    tol = 10 * result.noise.absolute
    gap = float(np.sum((a - n) ** 2))
    ranges = [range(-min(MAX_SHIFT, L - 1), min(MAX_SHIFT, L - 1) + 1) for L in a.shape]
    shifts = sorted(np.ndindex(*(len(r) for r in ranges)), key=lambda s: sum(map(abs, s)))
    for raw in shifts:
        s = tuple(r[i] for r, i in zip(ranges, raw))
        if not any(s):
            continue
        moved = tuple(slice(max(k, 0), L + min(k, 0)) for k, L in zip(s, a.shape))
        kept = tuple(slice(max(-k, 0), L - max(k, 0)) for k, L in zip(s, a.shape))
        x, y = a[moved], n[kept]
        corner = tuple(slice(0, 3) for _ in s)  # a cheap look before the whole overlap
        if np.any(np.abs(x[corner] - y[corner]) > tol + 1e-6 * np.abs(y[corner])):
            continue
        if 2 * y.size < a.size or np.ptp(y) <= 100 * tol or np.sum(np.abs(y) > tol) < 4:
            continue
        residual = np.abs(x - y)
        if np.all(residual <= tol + 1e-6 * np.abs(y)):
            share = float(np.sum((a[moved] - n[moved]) ** 2)) / gap
            return s, float(residual.max()), y.size, share
    return None


MAX_REORDERED = 6  # arrays whose order of unrolling is searched (6! = 720 orders)


def _segments_reordered(result: CheckResult) -> list[Finding]:
    """The user's flat vector: the analytic gradient is the numerical one with whole
    arrays' segments rolled in another order (dJdW2 before dJdW1) than the parameters:
    every value right, every array in another array's place."""
    if not _user_failing(result) or not 2 <= len(result.matrices) <= MAX_REORDERED:
        return []
    a, n, _ = _flat(result)
    parts = result.layout.split(n)
    tol = 10 * result.noise.absolute
    values = np.sort(n)
    if not np.all(np.abs(np.sort(a) - values) <= tol + 1e-6 * np.abs(values)):
        return []  # not the same values: no order of the arrays can make them equal
    for order in permutations(range(len(parts))):
        if order == tuple(sorted(order)):
            continue
        rolled = np.concatenate([parts[k].ravel() for k in order])
        residual = np.abs(a - rolled)
        if np.all(residual <= tol + 1e-6 * np.abs(rolled)) and np.ptp(rolled) > tol:
            names = result.layout.names
            return [
                Finding(
                    message=(
                        "The analytic gradient holds every array's values, unrolled in the "
                        f"order {', '.join(names[k] for k in order)} where the parameters are "
                        f"{', '.join(names)}: roll the gradients in the parameters' order."
                    ),
                    evidence=(
                        f"analytic equals numerical re-rolled as "
                        f"{', '.join(names[k] for k in order)} to {fmt(float(residual.max()))}; "
                        "explains 100% of the disagreement"
                    ),
                    score=0.86,
                    cause="layout",
                )
            ]
    return []


def _transposed_factor(result: CheckResult) -> list[Finding]:
    """The user's arrays: analytic = numerical @ inv(P) @ P.T (or P.T @ inv(P) @
    numerical, or with P and P.T swapped) for a square, non-symmetric parameter P: the
    backward product multiplies by P.T where the forward multiplies by P (a weight
    stored (out, in) used as if it were (in, out))."""
    if not _user_failing(result):
        return []
    params = zip(result.layout.names, result.layout.split(np.asarray(result.theta, float)))
    square = [(name, p) for name, p in params if _invertible_asymmetric(p)]
    found = []
    for m, a, n in _matrices(result):
        if m.agrees:
            continue
        fit = next(
            (f for name, p in square if (f := _through_transpose(result, a, n, name, p))), None
        )
        if fit is None:
            return []
        how, residual, share = fit
        found.append((m, how.format(m=m.name), residual, share))
    if not found:
        return []
    return [
        Finding(
            message=(
                f"{_names(m for m, *_ in found)}: the analytic gradient is the numerical one "
                "with a weight's transpose in the product where the forward pass uses the "
                "weight itself (or the reverse): multiply by the weight as the forward pass "
                "stores it ((out, in) in torch, (in, out) in most NumPy code)."
            ),
            evidence="; ".join(
                f"analytic {m.name} = {how} to {fmt(r)}; explains {100 * share:.4g}% of the "
                "disagreement"
                for m, how, r, share in found
            ),
            score=0.85,
            cause="layout",
        )
    ]


def _invertible_asymmetric(p) -> bool:
    """A square 2-D parameter whose transpose differs from it and whose inverse is sound."""
    if p.ndim != 2 or p.shape[0] != p.shape[1] or p.shape[0] < 2:
        return False
    if np.allclose(p, p.T, rtol=1e-3, atol=0):
        return False
    return bool(np.linalg.cond(p) < 1e6)


def _through_transpose(result: CheckResult, a, n, name: str, p):
    """(how, largest residual, share of the disagreement) when a equals n with p
    swapped for p.T in a product on either side, else None."""
    if a.ndim != 2:
        return None
    k = p.shape[0]
    inv, inv_t = np.linalg.inv(p), np.linalg.inv(p.T)
    candidates = []
    if a.shape[1] == k:
        candidates += [
            (f"numerical {{m}} @ inv({name}) @ {name}.T", n @ inv @ p.T),
            (f"numerical {{m}} @ inv({name}.T) @ {name}", n @ inv_t @ p),
        ]
    if a.shape[0] == k:
        candidates += [
            (f"{name}.T @ inv({name}) @ numerical {{m}}", p.T @ inv @ n),
            (f"{name} @ inv({name}.T) @ numerical {{m}}", p @ inv_t @ n),
        ]
    tol = 10 * result.noise.absolute
    for how, predicted in candidates:
        residual = np.abs(a - predicted)
        if np.all(residual <= tol + 1e-6 * np.abs(a)):
            share = 1 - float(np.sum(residual**2)) / float(np.sum((a - n) ** 2))
            return how, float(residual.max()), share
    return None


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
    (_zeroed_entries, "zeroed"),
    (_constant_on_entries, "regularization"),
    (_wrong_reduction, "layout"),
    (_shifted, "layout"),
    (_segments_reordered, "layout"),
    (_transposed_factor, "layout"),
    (_layer_confinement, "backward-chain"),
    (_chain_boundary, "backward-chain"),
    (_all_zero_arrays, None),
    (_silent_units, None),
)
