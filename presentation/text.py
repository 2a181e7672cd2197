"""Plain-text output, for the CLI and for `gradscope` in a notebook, assembled from
parts: the check's header, its body (the seed-style table, the per-matrix or per-array
lines, the verdict, the diagnosis), the catalogue. Entries and arrays are named as the
layout names them: 'Theta1 row 0 (hidden 0) column 0 (bias)' for the founding network,
'W1[2, 3]' for the user's arrays.

`check` prints the header and the body; `check-code` prints its own header (the file
and the isolation in force) above the same body.
"""

from __future__ import annotations

import json
import textwrap

from engine.bugs.catalogue import BUGS
from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.scenario.settings import Scenario
from presentation.report import source_excerpt, source_lines


def format_catalogue(as_json: bool = False) -> str:
    if as_json:
        return json.dumps([bug.as_dict() for bug in BUGS.values()], indent=2)
    blocks = []
    for bug in BUGS.values():
        blocks.append(
            f"{bug.id}  [{bug.where}]  {bug.title}\n"
            + textwrap.indent(
                textwrap.fill(bug.explanation, 88)
                + f"\nbuggy: {bug.buggy_code}\nfixed: {bug.fixed_code}\n"
                + textwrap.fill("signature: " + bug.signature, 88),
                "    ",
            )
        )
    return "\n\n".join(blocks)


def check_header(scenario: Scenario) -> list[str]:
    return [
        f"GradScope check: {scenario.describe()}",
        f"bugs switched on: {', '.join(scenario.bugs) or 'none'}",
    ]


def check_body(
    result: CheckResult, findings: list[Finding], rows, source: str | None = None
) -> list[str]:
    """Everything below the header, starting with the blank line that follows it.

    `source` is the code the findings' lines number (default: the traced file of a live
    check; a saved run, which keeps no trace, passes its stored code)."""
    if source is None and result.trace is not None:
        source = result.trace.source
    return [
        "",
        *_seed_table(result, rows),
        "",
        *_per_matrix(result),
        "",
        *_verdict(result),
        "",
        *_diagnosis(findings, source),
    ]


def screen_text(lines) -> list[str]:
    """The per-array screen (engine.params.screen), printed before the exact check ends."""
    width = max(len(line.name) for line in lines)
    out = [
        "Screen: each array along one direction, its gradient's mixed with a random one "
        "(2 evaluations each; the exact check follows)"
    ]
    for line in lines:
        verdict = "agrees " if line.agrees else "DIFFERS"
        out.append(
            f"  {line.name:<{width}}  {verdict}  directional derivative "
            f"{line.numerical:.6g}, analytic {line.analytic:.6g}"
        )
    return out


def _seed_table(result: CheckResult, rows) -> list[str]:
    if len(rows) == 0:
        return ["(parameter table omitted)"]
    width = max(len(result.layout.describe(int(p))) for p in rows)
    lines = [
        f"{'#':>6}  {'parameter':<{width}}  {'Function Gradient':>20}  {'Numerical Gradient':>20}"
    ]
    for p in rows:
        p = int(p)
        mark = "  <- diverges" if result.diverging[p] else ("  (kink)" if result.kinks[p] else "")
        lines.append(
            f"{p:>6}  {result.layout.describe(p):<{width}}  {float(result.analytic[p]):>20.12g}  "
            f"{float(result.numerical[p]):>20.12g}{mark}"
        )
    if len(rows) < result.layout.n_params:
        lines.append(f"({len(rows)} of {result.layout.n_params} rows shown: use --table all)")
    return lines


def _per_matrix(result: CheckResult) -> list[str]:
    if not result.layout.founding:
        return _per_array(result)
    lines = ["Per weight matrix:"]
    for m in result.matrices:
        lines.append(
            f"  {m.name:<8} {m.shape[0]}x{m.shape[1]:<5} relative difference "
            f"{m.relative_difference:<10.3g} {m.n_diverging}/{m.analytic.size} diverge"
            + (f"   worst: {m.describe_worst()}" if not m.agrees else "")
        )
    return lines


def _per_array(result: CheckResult) -> list[str]:
    """The user's arrays, by their names: 'W1  4x10', 'b1  (10,)', 's  ()'."""
    name_width = max(8, *(len(m.name) for m in result.matrices))
    shape_width = max(5, *(len(m.shape_text) for m in result.matrices))
    lines = ["Per array:"]
    for m in result.matrices:
        lines.append(
            f"  {m.name:<{name_width}} {m.shape_text:<{shape_width}}  relative difference "
            f"{m.relative_difference:<10.3g} {m.n_diverging}/{m.analytic.size} diverge"
            + (f"   worst: {m.describe_worst()}" if not m.agrees else "")
        )
    return lines


def _verdict(result: CheckResult) -> list[str]:
    return [
        f"Relative Difference: {result.relative_difference:.6g}   status: "
        f"{result.status.upper()} ({result.n_diverging} of {result.layout.n_params} entries "
        f"diverge; relative threshold {result.threshold:g}, noise floor "
        f"{result.noise.absolute:.1e})",
        textwrap.fill(result.noise.explain(), 100),
    ]


def _diagnosis(findings: list[Finding], source: str | None = None) -> list[str]:
    """The ranked findings; the first one with lines quotes them from the user's
    `source`, so the terminal shows where to look, not only line numbers (a number that
    is not a line of `source` is named, not quoted)."""
    lines = ["Diagnosis (most likely first):"]
    quoted = False
    for rank, f in enumerate(findings, 1):
        tag = f" [{f.bug_id}]" if f.bug_id else ""
        lines.append(textwrap.fill(f"{rank}.{tag} {f.message}", 100, subsequent_indent="   "))
        lines.append(
            textwrap.fill(
                f"evidence: {f.evidence}", 100, initial_indent="   ", subsequent_indent="   "
            )
        )
        if f.cause is not None:
            where = f"; arrays: {', '.join(f.arrays)}" if f.arrays else ""
            look = f"; lines: {', '.join(map(str, f.lines))}" if f.lines else ""
            lines.append(
                textwrap.fill(
                    f"cause: {f.cause}{where}{look}",
                    100,
                    initial_indent="   ",
                    subsequent_indent="   ",
                )
            )
        if not source or not f.lines or quoted:
            continue
        excerpt = source_excerpt(source, f.lines)
        if excerpt:
            lines += [f"   {row}" for row in excerpt.splitlines()]
            quoted = True
        lines += _outside(source, f.lines)
    return lines


def _outside(source: str, numbers) -> list[str]:
    """A note naming the `numbers` that are not lines of `source` (a run saved with
    other code than its findings name), instead of quoting nothing without a word."""
    shown = set(source_lines(source, numbers))
    missing = [str(n) for n in numbers if n not in shown]
    if not missing:
        return []
    which = f"line {missing[0]} is" if len(missing) == 1 else f"lines {', '.join(missing)} are"
    return [f"   ({which} not in the code, so not quoted)"]
