"""From two gradients to a named mistake, in plain words, with the numbers behind it.

`diagnose` combines the two levels: the patterns the gradients show on their own
(`patterns.py`, for any code), and, when the engine's own network produced them,
the catalogue bugs that reproduce them exactly (`reproduction.py`). A reproduced
bug absorbs the pattern finding that named it; the findings come ranked.
"""

from __future__ import annotations

from dataclasses import replace

from engine.bugs.catalogue import BUGS
from engine.diagnosis.code_patterns import code_findings
from engine.diagnosis.finding import Finding
from engine.diagnosis.integrability import symmetry_findings
from engine.diagnosis.lines import (
    MAX_LINES,
    backward_lines,
    catalogue_lines,
    made_at,
    suspect_lines,
)
from engine.diagnosis.patterns import find_patterns, with_cause
from engine.diagnosis.reproduction import reproduce_with_catalogue
from engine.gradcheck.compare import CheckResult
from engine.params.tracing import WHOLE

NOT_A_BUG = {None, "precision", "kink"}  # findings that point at no line


def diagnose(result: CheckResult, reproduce: bool = True) -> list[Finding]:
    """Ranked findings, most likely first."""
    findings = find_patterns(result) + symmetry_findings(result) + code_findings(result)
    if reproduce and result.problem is not None and not _only_noise(result):
        reproduced = [with_cause(f, None, result) for f in reproduce_with_catalogue(result)]
        findings = _merge(findings, reproduced)
    return with_lines(sorted(findings, key=lambda f: -f.score), result)


def with_lines(findings: list[Finding], result: CheckResult) -> list[Finding]:
    """Each finding about a disagreement with the lines of the user's file to look at,
    when the check traced where their code computed the gradients."""
    trace = result.trace
    if trace is None:
        return findings
    roots = {  # name -> (line, key) where the user's code made its final gradient
        name: made_at(trace.source, trace.executed, places, last=name in trace.zeros)
        for name, places in trace.roots.items()
    }
    roots = {name: root for name, root in roots.items() if root is not None}
    agreeing = [roots[m.name] for m in result.matrices if not m.n_diverging and m.name in roots]
    loss_root = trace.loss_root[0] if trace.loss_root else None
    located = []
    for f in findings:
        if f.cause in NOT_A_BUG or f.lines:
            located.append(f)
            continue
        diverging = [roots[name] for name in f.arrays if name in roots]
        if len(diverging) < len(f.arrays) and WHOLE in roots:  # cut from a flat vector
            diverging.append(roots[WHOLE])
        if diverging:
            lines = suspect_lines(
                trace.source, trace.executed, diverging, agreeing, f.cause, loss_root
            )
        else:  # made by autograd from a hand-written backward: that backward's lines
            lines = backward_lines(trace.source, trace.backward_lines)
        if f.bug_id:  # a catalogue bug: the user's own copy of its buggy line comes first
            written = catalogue_lines(trace.source, BUGS[f.bug_id].buggy_code, trace.executed)
            lines = tuple(dict.fromkeys((*written, *lines)))[:MAX_LINES]
        located.append(replace(f, lines=lines))
    return located


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
