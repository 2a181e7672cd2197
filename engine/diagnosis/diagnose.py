"""From two gradients to a named mistake, in plain words, with the numbers behind it.

`diagnose` combines the two levels: the patterns the gradients show on their own
(`patterns.py`, for any code), and, when the engine's own network produced them,
the catalogue bugs that reproduce them exactly (`reproduction.py`). A reproduced
bug absorbs the pattern finding that named it; the findings come ranked.
"""

from __future__ import annotations

from dataclasses import replace

from engine.diagnosis.finding import Finding
from engine.diagnosis.patterns import find_patterns, with_cause
from engine.diagnosis.reproduction import reproduce_with_catalogue
from engine.gradcheck.compare import CheckResult


def diagnose(result: CheckResult, reproduce: bool = True) -> list[Finding]:
    """Ranked findings, most likely first."""
    findings = find_patterns(result)
    if reproduce and result.problem is not None and not _only_noise(result):
        reproduced = [with_cause(f, None, result) for f in reproduce_with_catalogue(result)]
        findings = _merge(findings, reproduced)
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
