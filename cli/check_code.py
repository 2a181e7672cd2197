"""`gradscope check-code FILE`: the gradient of the user's own code, run in a
resource-limited child process on the scenario's problem, against finite differences."""

from __future__ import annotations

import argparse
import json
import math
import sys
from functools import partial
from pathlib import Path

from cli.flags import (
    add_dask_flag,
    add_problem_flags,
    add_table_flag,
    bounded_float,
    rows_to_show,
    scenario_from_flags,
)
from cli.terminal import EXIT_AGREE, EXIT_DIVERGE, out, refuse
from cli.text import check_body
from engine.diagnosis.diagnose import diagnose
from engine.runners.usercode import (
    CONVENTIONS,
    FOUNDING_CONVENTION,
    PLAIN_CONVENTION,
    Limits,
    run_user_code,
)
from engine.scenario.parse import parse_shapes
from engine.scenario.workload import WorkTooLarge, check_workload
from presentation.exports import check_document

NAME = "check-code"
MAX_TIMEOUT = 3600.0  # one hour of wall and CPU time at most


def add_parser(commands, prog: str) -> None:
    parser = commands.add_parser(
        NAME,
        prog=f"{prog} {NAME}",
        description=(
            "Check the gradient of your own code: FILE.py defines a cost and a gradient "
            "function; GradScope runs it in a resource-limited child process on the "
            "scenario's problem and compares your gradient with finite differences."
        ),
        epilog="Exit status: 0 gradients agree, 1 they diverge or your code failed, 2 bad "
        "arguments.",
    )
    parser.add_argument("file", help="Python file defining the cost and gradient functions")
    parser.add_argument("--cost", default="computeCost", help="cost function name (%(default)s)")
    parser.add_argument(
        "--gradient", default="gradient", help="gradient function name (%(default)s)"
    )
    parser.add_argument(
        "--convention",
        choices=CONVENTIONS,
        default=FOUNDING_CONVENTION,
        help="seed: f(theta, X, y, inputs, hidden, labels, lamb); plain: f(theta) with "
        "globals X, y, lamb, layer_sizes (default: %(default)s)",
    )
    parser.add_argument("--shapes", help="plain convention: matrix shapes, e.g. 5x4,3x6")
    parser.add_argument(
        "--labels",
        type=int,
        choices=(0, 1),
        default=0,
        help="label base passed to your code: 0 (Python) or 1 (Octave)",
    )
    add_problem_flags(parser)
    parser.add_argument(
        "--timeout",
        type=bounded_float(0.0, MAX_TIMEOUT),
        default=60.0,
        help="wall-clock and CPU seconds your code may use, at most "
        f"{MAX_TIMEOUT:g} (default: %(default)s)",
    )
    add_table_flag(parser)
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    add_dask_flag(
        parser,
        "spread your cost's evaluations over a local Dask cluster inside the same sandbox "
        "(only where the sandbox is available)",
    )
    parser.set_defaults(run=partial(run, parser=parser))


def _shapes_from_flag(text: str | None) -> list[tuple[int, ...]]:
    if not text:
        raise ValueError("--shapes is required with --convention plain, e.g. 5x4,3x6")
    try:
        return parse_shapes(text)
    except ValueError:
        raise ValueError(f"--shapes must look like 5x4,3x6, got {text!r}") from None


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:

    try:
        source = Path(args.file).read_text(encoding="utf-8")
        scenario = scenario_from_flags(args)
        shapes = _shapes_from_flag(args.shapes) if args.convention == PLAIN_CONVENTION else None
    except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        parser.error(str(error))
    try:
        check_workload(scenario, "user-code")
        problem = scenario.problem()
    except WorkTooLarge as error:
        return refuse(parser.prog, f"this check is too large to run: {error}")
    isolation = _isolation()
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, math.ceil(args.timeout)))
    attempt = run_user_code(
        source,
        problem,
        args.cost,
        args.gradient,
        args.convention,
        shapes,
        scenario.eps,
        args.labels,
        limits,
        dask=args.dask,
    )
    if not attempt.ok:
        payload = {
            "ok": False,
            "message": attempt.message,
            "line": attempt.line,
            "line_text": attempt.line_text,
            "hint": attempt.hint,
            "output": attempt.output,
            **isolation,
        }
        if args.json:
            out(json.dumps(payload, indent=2))
        else:
            print(f"Your code could not be checked: {attempt.describe_error()}", file=sys.stderr)
            if attempt.hint:
                print(f"hint: {attempt.hint}", file=sys.stderr)
            print(isolation["isolation_description"], file=sys.stderr)
        return EXIT_DIVERGE
    result = attempt.result
    findings = diagnose(result)
    rows = rows_to_show(result, args.table)
    if args.json:
        out(json.dumps({**check_document(scenario, result, findings, rows), **isolation}, indent=2))
    else:
        out(f"GradScope check of {args.file} on {scenario.describe()}")
        out(isolation["isolation_description"])
        if attempt.hint:
            out(f"hint: {attempt.hint}")
        out("\n".join(check_body(result, findings, rows)))
    return EXIT_AGREE if result.agrees else EXIT_DIVERGE


def _isolation() -> dict:
    """What confines the user's code here, for the output: the level and one line."""
    from engine.runners.sandbox import detect_isolation

    isolation = detect_isolation()
    return {"isolation": isolation.level, "isolation_description": isolation.describe()}
