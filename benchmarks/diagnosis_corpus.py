"""How often the diagnosis names the real cause on code GradScope did not write.

    python benchmarks/diagnosis_corpus.py [--quick] [--markdown]

Every bug of the check-any-code corpus (tests/corpus: programs in the style of public
course and forum code, each bug with the cause the manifest gives it) is checked
through the Python API in this process, as a notebook user would: `engine.check_params`
with the manifest's loss, params and grads, or `engine.check_layer` for a layer's forward
call. For each bug: flagged (the check fails), right arrays (exactly the manifest's
diverging arrays), right cause (the top finding's `cause` is the manifest's), a right
line among the top finding's five, and the right line first (the buggy variant's own
statements, `manifest.bug_lines`).
The correct programs and the extras count false alarms. Printed per cause, with totals;
measured, never asserted (the tests assert what must hold).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.diagnosis.diagnose import diagnose  # noqa: E402
from engine.params.structure import expression_name  # noqa: E402
from tests.corpus.manifest import CAUSES, PROGRAMS, bug_lines  # noqa: E402
from tests.corpus.python_api import check_variant  # noqa: E402

NOT_BUGS = ("precision", "kink")  # extras whose disagreement is not a mistake
QUICK_PROGRAMS = 8  # --quick: the first programs of the manifest (CI's form)


def names_by_position(prog, result) -> list[str]:
    """The manifest's names for the result's arrays (a tuple given to the API is named
    by position; one array by its expression)."""
    names = list(result.layout.names)
    if prog.names and len(prog.names) == len(names):
        return list(prog.names)
    if names == ["params"] and prog.params:  # one array, named as check-code names it
        return [expression_name(prog.params)]
    return names


def variants(programs):
    for prog in programs:
        modes = ([False] if prog.loss is not None else []) + ([True] if prog.forward_call else [])
        for layer in modes:
            yield prog, None, layer
            for bug in (*prog.bugs, *prog.extras):
                yield prog, bug, layer


def measure(programs) -> tuple[dict, list, int, dict, float]:
    """(per cause of the real bugs, misses, false alarms, the variants that are not bugs
    (precision, kink) by cause, seconds)."""
    table = defaultdict(lambda: defaultdict(int))
    not_bugs = defaultdict(lambda: defaultdict(int))
    misses = []
    line_misses = []
    false_alarms = 0
    start = time.perf_counter()
    for prog, bug, layer in variants(programs):
        try:
            result = check_variant(prog, bug.id if bug else None, layer)
        except ImportError:  # torch or jax not installed
            continue
        findings = diagnose(result)
        real = bug is not None and bug.expect == "flag"
        if not real:
            false_alarms += not result.agrees
            if bug is not None and bug.cause in NOT_BUGS:
                row = not_bugs[bug.cause]
                row["variants"] += 1
                row["no alarm"] += result.agrees
                row["named"] += any(f.cause == bug.cause for f in findings)
            continue
        top = findings[0] if findings else None
        names = names_by_position(prog, result)
        flagged_arrays = {names[k] for k, m in enumerate(result.matrices) if m.n_diverging}
        row = table[bug.cause]
        row["bugs"] += 1
        row["flagged"] += not result.agrees
        row["right arrays"] += flagged_arrays == set(bug.diverges)
        right = top is not None and top.cause == bug.cause
        row["right cause"] += right
        lines = bug_lines(prog, bug.id)
        if lines:
            row["with lines"] += 1
            hit = bool(top and set(top.lines[:5]) & set(lines))
            row["right line"] += hit
            row["first line"] += bool(top and top.lines and top.lines[0] in lines)
            if not hit:
                line_misses.append(
                    f"{prog.file} {bug.id}{' (layer)' if layer else ''}: {lines} -> "
                    f"{top.lines if top else ()}"
                )
        if not right:
            said = top.cause if top else "nothing"
            misses.append(
                f"{prog.file} {bug.id}{' (layer)' if layer else ''}: {bug.cause} -> {said}"
            )
    seconds = time.perf_counter() - start
    return table, misses + [""] + line_misses, false_alarms, not_bugs, seconds


def render(table, false_alarms: int, not_bugs: dict, markdown: bool) -> str:
    columns = ("bugs", "flagged", "right arrays", "right cause", "right line", "first line")
    rows = [["cause", *columns]]
    totals = defaultdict(int)
    for cause in CAUSES:
        if cause not in table:
            continue
        row = table[cause]
        for key, value in row.items():
            totals[key] += value
        rows.append([cause, *(_cell(row, c) for c in columns)])
    rows.append(["all", *(_cell(totals, c) for c in columns)])
    if markdown:
        lines = ["| " + " | ".join(rows[0]) + " |", "|" + "---|" * len(rows[0])]
        lines += ["| " + " | ".join(r) + " |" for r in rows[1:]]
    else:
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)) for r in rows]
    lines.append(f"false alarms on correct programs and extras: {false_alarms}")
    for cause, row in sorted(not_bugs.items()):
        lines.append(
            f"not bugs, {cause}: {row['variants']} variants, {row['no alarm']} without an "
            f"alarm, {row['named']} with a '{cause}' finding"
        )
    return "\n".join(lines)


def _cell(row, column: str) -> str:
    if column == "bugs":
        return str(row["bugs"])
    if column in ("right line", "first line"):
        if not row["with lines"]:
            return "-"
        return f"{row[column]}/{row['with lines']}"
    return f"{row[column]}/{row['bugs']} ({100 * row[column] / max(1, row['bugs']):.0f}%)"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="the first programs only")
    parser.add_argument("--markdown", action="store_true", help="a README table")
    args = parser.parse_args(argv)
    programs = PROGRAMS[:QUICK_PROGRAMS] if args.quick else PROGRAMS
    table, misses, false_alarms, not_bugs, seconds = measure(programs)
    print(render(table, false_alarms, not_bugs, args.markdown))
    print(f"{len(programs)} programs in {seconds:.1f} s")
    if misses:
        print("\nwrong or missing cause (manifest -> top finding):")
        print("\n".join(f"  {m}" for m in misses))


if __name__ == "__main__":
    main()
