"""`python -m engine`: a gradient check from flags, fit for a terminal or a CI job.

Exit status: 0 when the gradients agree, 1 when some entry diverges, 2 on bad
arguments or work beyond the limits (with a message naming the argument or the
estimate). Output piped into a reader that stops early (`| head`) ends quietly.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlencode

import numpy as np

from engine.bugs.catalogue import BUGS
from engine.diagnosis.diagnose import Finding, diagnose
from engine.gradcheck.compare import CheckResult
from engine.network.pieces import HIDDEN_ACTIVATIONS
from engine.scenario.codec import scenario_to_params
from engine.scenario.settings import MAX_SECONDS, MAX_SEEDS, Scenario, WorkTooLarge, check_workload
from presentation.report import build_report

EXIT_AGREE, EXIT_DIVERGE, EXIT_USAGE = 0, 1, 2
FULL_TABLE_LIMIT = 200
MAX_TIMEOUT = 3600.0  # check-code: one hour of wall and CPU time at most


def _out(text: str = "") -> None:
    """print() to stdout that survives a reader going away (`| head`).

    As the signal module's "Note on SIGPIPE" advises: on BrokenPipeError, point stdout
    at devnull so later writes and the interpreter's final flush succeed silently; the
    command still finishes and exits with its verdict.
    """
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _discard_stdout()


def _discard_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _error(prog: str, parser: argparse.ArgumentParser | None, message: str) -> int:
    if parser is not None:
        parser.print_usage(sys.stderr)
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE


def _bounded_float(low: float, high: float):
    """An argparse type: a finite number of seconds in (low, high] (argparse names the flag)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a number, got {text!r}") from None
        if not (math.isfinite(value) and low < value <= high):
            bound = f" and at most {high:g}" if math.isfinite(high) else ""
            raise argparse.ArgumentTypeError(
                f"must be a finite number of seconds above {low:g}{bound}, got {text!r}"
            )
        return value

    return parse


def _seed_count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_SEEDS:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_SEEDS:,}, got {text!r}")
    return value


def add_budget_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--max-seconds",
        type=_bounded_float(0.0, math.inf),
        default=MAX_SECONDS,
        help="refuse work estimated above this many CPU seconds, as the app does "
        "(default: %(default)s; memory stays capped)",
    )


def add_problem_flags(
    parser: argparse.ArgumentParser, flags=("sizes", "m", "seed", "lambda", "eps")
) -> None:
    """The scenario's problem settings, shared by the main command and the subcommands."""
    defaults = Scenario()
    helps = {
        "sizes": (
            ",".join(map(str, defaults.layer_sizes)),
            "layer sizes, inputs first, comma-separated (default: %(default)s, the seed's)",
        ),
        "m": (defaults.m, "number of examples (default: %(default)s)"),
        "seed": (defaults.seed, "random seed (default: %(default)s)"),
        "lambda": (defaults.lamb, "regularisation strength (default: %(default)s)"),
        "eps": (defaults.eps, "finite-difference step (default: %(default)s)"),
    }
    for flag in flags:
        default, text = helps[flag]
        dest = "lamb" if flag == "lambda" else flag
        parser.add_argument(f"--{flag}", dest=dest, default=default, help=text)


def build_parser() -> argparse.ArgumentParser:
    defaults = Scenario()
    parser = argparse.ArgumentParser(
        prog="python -m engine",
        description=(
            "Check backprop against finite differences on GradScope's network, with known "
            "bugs switched on, and say which matrix, which entries and which bug."
        ),
        epilog="Exit status: 0 gradients agree, 1 they diverge, 2 bad arguments or too "
        "large to run.",
    )
    add_problem_flags(parser)
    parser.add_argument(
        "--activation",
        default=defaults.activation,
        choices=HIDDEN_ACTIVATIONS,
        help="hidden-unit activation (default: %(default)s)",
    )
    parser.add_argument(
        "--bug",
        action="append",
        default=[],
        metavar="ID",
        help="switch on a catalogue bug; repeat or separate ids by commas (see --list-bugs)",
    )
    parser.add_argument(
        "--threshold",
        default=None,
        help="relative-error threshold for 'diverges' (default: depends on dtype and method)",
    )
    parser.add_argument(
        "--table",
        choices=("auto", "all", "diverging", "none"),
        default="auto",
        help=f"which parameter rows to print (auto: all up to {FULL_TABLE_LIMIT}, else diverging)",
    )
    parser.add_argument(
        "--loop", action="store_true", help="use the seed's coordinate loop (slow reference)"
    )
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    parser.add_argument(
        "--report", metavar="FILE", help="also write a self-contained HTML report to FILE"
    )
    parser.add_argument(
        "--app-url",
        default="http://localhost:8501/Gradient_check",
        help="GradScope page the report's share link points to (default: %(default)s)",
    )
    parser.add_argument("--list-bugs", action="store_true", help="print the bug catalogue")
    add_budget_flag(parser)
    return parser


def scenario_from_args(args: argparse.Namespace) -> Scenario:
    try:
        sizes = tuple(int(s) for s in str(args.sizes).replace("-", ",").split(",") if s.strip())
    except ValueError:
        raise ValueError(
            f"--sizes must be whole numbers separated by commas, got {args.sizes!r}"
        ) from None
    bugs = [b.strip() for item in args.bug for b in item.split(",") if b.strip()]
    return Scenario.create(
        layer_sizes=sizes,
        m=args.m,
        seed=args.seed,
        lamb=args.lamb,
        eps=args.eps,
        activation=args.activation,
        threshold=args.threshold,
        bugs=bugs,
    )


def main(argv=None) -> int:
    """Run a command; argparse's exits (--help, usage errors) become return values, and a
    closed stdout pipe ends the output quietly instead of with a traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    code = EXIT_USAGE  # kept only if stdout breaks outside the commands' own printing
    try:
        try:
            code = _dispatch(argv)
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else EXIT_USAGE
        sys.stdout.flush()
    except BrokenPipeError:
        _discard_stdout()
    return code


def _dispatch(argv) -> int:
    if argv[:1] == ["check-code"]:
        return check_code_main(argv[1:])
    if argv[:1] == ["bug-matrix"]:
        return bug_matrix_main(argv[1:])
    return check_main(argv)


def check_main(argv) -> int:
    prog = "python -m engine"
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_bugs:
        _out(format_catalogue(as_json=args.json))
        return EXIT_AGREE
    try:
        scenario = scenario_from_args(args)
    except ValueError as error:
        return _error(prog, parser, str(error))
    try:
        check_workload(scenario, "loop" if args.loop else "check", max_seconds=args.max_seconds)
        result = scenario.run(numerical="loop" if args.loop else "fast")
        findings = diagnose(result)
    except WorkTooLarge as error:
        return _error(prog, None, f"this check is too large to run: {error}")
    except MemoryError:
        return _error(prog, None, "this check ran out of memory; use fewer examples or units")
    rows = _rows_to_show(result, args.table)
    if args.json:
        _out(json.dumps(as_json(scenario, result, findings, rows), indent=2))
    else:
        _out(format_report(scenario, result, findings, rows))
    if args.report:
        try:
            write_report(args.report, args.app_url, scenario, result, findings)
        except OSError as error:
            return _error(prog, None, f"cannot write the report: {error}")
        print(f"report written to {args.report}", file=sys.stderr)
    return EXIT_AGREE if result.agrees else EXIT_DIVERGE


def write_report(path, app_url: str, scenario: Scenario, result: CheckResult, findings) -> None:
    query = urlencode(scenario_to_params(scenario))
    link = f"{app_url}?{query}" if query else app_url
    Path(path).write_text(build_report(scenario, result, findings, link), encoding="utf-8")


def _rows_to_show(result: CheckResult, choice: str) -> np.ndarray:
    if choice == "none":
        return np.array([], dtype=int)
    if choice == "all" or (choice == "auto" and result.layout.n_params <= FULL_TABLE_LIMIT):
        return np.arange(result.layout.n_params)
    return np.flatnonzero(result.diverging | result.kinks)


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


def format_report(scenario: Scenario, result: CheckResult, findings, rows) -> str:
    lines = [f"GradScope check: {scenario.describe()}"]
    lines.append(f"bugs switched on: {', '.join(scenario.bugs) or 'none'}")
    lines.append("")
    lines += _seed_table(result, rows)
    lines.append("")
    lines.append("Per weight matrix:")
    for m in result.matrices:
        lines.append(
            f"  {m.name:<8} {m.shape[0]}x{m.shape[1]:<5} relative difference "
            f"{m.relative_difference:<10.3g} {m.n_diverging}/{m.analytic.size} diverge"
            + (f"   worst: {m.describe_worst()}" if not m.agrees else "")
        )
    lines.append("")
    lines.append(
        f"Relative Difference: {result.relative_difference:.6g}   status: "
        f"{result.status.upper()} ({result.n_diverging} of {result.layout.n_params} entries "
        f"diverge; relative threshold {result.threshold:g}, noise floor "
        f"{result.noise.absolute:.1e})"
    )
    lines.append(textwrap.fill(result.noise.explain(), 100))
    lines.append("")
    lines.append("Diagnosis (most likely first):")
    lines += _format_findings(findings)
    return "\n".join(lines)


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


def _format_findings(findings: list[Finding]) -> list[str]:
    lines = []
    for rank, f in enumerate(findings, 1):
        tag = f" [{f.bug_id}]" if f.bug_id else ""
        lines.append(textwrap.fill(f"{rank}.{tag} {f.message}", 100, subsequent_indent="   "))
        lines.append(
            textwrap.fill(
                f"evidence: {f.evidence}", 100, initial_indent="   ", subsequent_indent="   "
            )
        )
    return lines


def as_json(scenario: Scenario, result: CheckResult, findings, rows) -> dict:
    table = result.table().iloc[rows].reset_index()
    return {
        "scenario": scenario.to_dict(),
        "result": result.summary(),
        "findings": [f.as_dict() for f in findings],
        "parameters": json.loads(table.to_json(orient="records")),
    }


def build_check_code_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m engine check-code",
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
        choices=("seed", "plain"),
        default="seed",
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
        type=_bounded_float(0.0, MAX_TIMEOUT),
        default=60.0,
        help="wall-clock and CPU seconds your code may use, at most "
        f"{MAX_TIMEOUT:g} (default: %(default)s)",
    )
    parser.add_argument("--table", choices=("auto", "all", "diverging", "none"), default="auto")
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")
    add_dask_flag(
        parser,
        "spread your cost's evaluations over a local Dask cluster inside the same sandbox "
        "(only where the sandbox is available)",
    )
    return parser


def add_dask_flag(parser: argparse.ArgumentParser, help: str) -> None:
    """A plain switch: the CLI never takes a scheduler address from its arguments (one
    comes only from the GRADSCOPE_DASK_SCHEDULER setting, see engine.runners.cluster)."""
    parser.add_argument("--dask", action="store_true", help=help)


def bug_matrix_main(argv) -> int:
    """Every catalogue bug on many seeds: is it named first, how big is its signal."""
    from engine.diagnosis.seed_matrix import bug_seed_matrix
    from engine.runners.cluster import dask_client

    prog = "python -m engine bug-matrix"
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Switch on each catalogue bug alone on N seeds of a network and report "
        "how often the diagnosis names it first.",
        epilog="Exit status: 0 every bug named first, 1 some not, 2 bad arguments or too "
        "large to run.",
    )
    parser.add_argument(
        "--seeds",
        type=_seed_count,
        default=20,
        help=f"number of seeds, 1 to {MAX_SEEDS:,} (%(default)s)",
    )
    add_problem_flags(parser, ("sizes", "m", "lambda"))
    add_dask_flag(
        parser,
        "run the cells on Dask: the scheduler the GRADSCOPE_DASK_SCHEDULER setting names, "
        "else a local cluster (one worker per core)",
    )
    add_budget_flag(parser)
    args = parser.parse_args(argv)
    try:
        args.seed, args.eps, args.activation, args.threshold, args.bug = (
            0,
            1e-4,
            "sigmoid",
            None,
            [],
        )
        scenario = scenario_from_args(args)
    except ValueError as error:
        return _error(prog, parser, str(error))
    try:
        check_workload(scenario, "bug-matrix", max_seconds=args.max_seconds, seeds=args.seeds)
    except WorkTooLarge as error:
        return _error(prog, None, f"this bug matrix is too large to run: {error}")
    options = dict(layer_sizes=scenario.layer_sizes, m=scenario.m, lamb=scenario.lamb)
    if args.dask:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        from engine.runners.cluster import (
            LOCAL_SCHEDULER,
            DaskUnavailable,
            configured_scheduler,
        )

        address = configured_scheduler()  # None: a cluster of its own, on the user's machine
        try:
            with dask_client(None if address == LOCAL_SCHEDULER else address) as client:
                table = bug_seed_matrix(range(args.seeds), client=client, **options)
        except (DaskUnavailable, OSError, KilledWorker, CancelledError) as error:
            return _error(
                prog,
                None,
                f"Dask failed ({error or type(error).__name__}); run without --dask, or check "
                "the GRADSCOPE_DASK_SCHEDULER setting.",
            )
    else:
        table = bug_seed_matrix(range(args.seeds), **options)
    summary = table.groupby("bug", sort=False).agg(
        named_first=("named_first", "mean"),
        median_relative_difference=("relative_difference", "median"),
    )
    _out(f"{args.seeds} seeds of {scenario.describe()}")
    _out(summary.to_string(float_format=lambda v: f"{v:.3g}"))
    return EXIT_AGREE if table["named_first"].all() else EXIT_DIVERGE


def check_code_main(argv) -> int:
    from engine.runners.usercode import Limits, run_user_code

    prog = "python -m engine check-code"
    parser = build_check_code_parser()
    args = parser.parse_args(argv)
    try:
        source = Path(args.file).read_text(encoding="utf-8")
        args.activation, args.threshold, args.bug = "sigmoid", None, []
        scenario = scenario_from_args(args)
        shapes = _parse_shapes(args.shapes) if args.convention == "plain" else None
    except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        return _error(prog, parser, str(error))
    try:
        check_workload(scenario, "user-code")
        problem = scenario.problem()
    except WorkTooLarge as error:
        return _error(prog, None, f"this check is too large to run: {error}")
    isolation = _isolation()
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, math.ceil(args.timeout)))
    run = run_user_code(
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
    if not run.ok:
        payload = {
            "ok": False,
            "message": run.message,
            "line": run.line,
            "line_text": run.line_text,
            "hint": run.hint,
            "output": run.output,
            **isolation,
        }
        if args.json:
            _out(json.dumps(payload, indent=2))
        else:
            print(f"Your code could not be checked: {run.describe_error()}", file=sys.stderr)
            if run.hint:
                print(f"hint: {run.hint}", file=sys.stderr)
            print(isolation["isolation_description"], file=sys.stderr)
        return EXIT_DIVERGE
    findings = diagnose(run.result)
    rows = _rows_to_show(run.result, args.table)
    if args.json:
        _out(json.dumps({**as_json(scenario, run.result, findings, rows), **isolation}, indent=2))
    else:
        _out(f"GradScope check of {args.file} on {scenario.describe()}")
        _out(isolation["isolation_description"])
        if run.hint:
            _out(f"hint: {run.hint}")
        _out(format_report(scenario, run.result, findings, rows).split("\n", 2)[2])
    return EXIT_AGREE if run.result.agrees else EXIT_DIVERGE


def _isolation() -> dict:
    """What confines the user's code here, for the output: the level and one line."""
    from engine.runners.sandbox import detect_isolation

    isolation = detect_isolation()
    return {"isolation": isolation.level, "isolation_description": isolation.describe()}


def _parse_shapes(text):
    if not text:
        raise ValueError("--shapes is required with --convention plain, e.g. 5x4,3x6")
    try:
        return [tuple(int(v) for v in part.lower().split("x")) for part in text.split(",")]
    except ValueError:
        raise ValueError(f"--shapes must look like 5x4,3x6, got {text!r}") from None
