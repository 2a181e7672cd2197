"""`gradscope check-code FILE`: the gradient of the user's own code, run in a
resource-limited child process, against finite differences.

Two modes. The general contract, `--loss EXPR --params EXPR [--grads EXPR]`: FILE runs
once as a module, the expressions are evaluated in its namespace, and the check runs at
the user's own point and data, the arrays named as the user named them. The founding
mode, `--cost/--gradient/--convention seed|plain`: two functions called on the
scenario's problem (the sidebar's network and data).
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from functools import partial
from pathlib import Path

from cli.flags import (
    add_contract_flags,
    add_dask_flag,
    add_problem_flags,
    add_table_flag,
    bounded_float,
    contract_eps,
    rows_to_show,
    scenario_from_flags,
)
from cli.saving import add_save_flags, finish_saving, saving, team_key_problem, with_saved_run
from cli.terminal import EXIT_AGREE, EXIT_DIVERGE, out, refuse
from engine.diagnosis.diagnose import diagnose
from engine.runners.usercode import (
    CONVENTIONS,
    FOUNDING_CONVENTION,
    PLAIN_CONVENTION,
    CodeRun,
    Limits,
    run_user_code,
    run_user_contract,
)
from engine.scenario.parse import parse_shapes
from engine.scenario.workload import WorkTooLarge, check_workload
from presentation.exports import check_document, result_sections
from presentation.text import check_body, screen_text

NAME = "check-code"
MAX_TIMEOUT = 3600.0  # one hour of wall and CPU time at most
# the general contract's flags that change the result, saved with a run (--eps besides)
CONTRACT_SETTINGS = (
    "loss",
    "params",
    "grads",
    "forward",
    "backward",
    "dtype",
    "segments",
    "order",
    "set_params",
)


def add_parser(commands, prog: str) -> None:
    parser = commands.add_parser(
        NAME,
        prog=f"{prog} {NAME}",
        description=(
            "Check the gradient of your own code, run in a resource-limited child process, "
            "against finite differences. With --loss and --params: FILE.py runs once as a "
            "module (its folder's .py files importable), the expressions are evaluated in "
            "its namespace, and the params are perturbed in place at your own point and "
            "data. Without them: FILE.py defines a cost and a gradient function, called on "
            "the scenario's problem (--cost, --gradient, --convention)."
        ),
        epilog="Exit status: 0 gradients agree, 1 they diverge or your code failed, 2 bad "
        "arguments, a refused team key or a run that --save could not save.",
    )
    parser.add_argument("file", help="your Python file")
    add_contract_flags(parser)
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
    add_save_flags(parser, " (with FILE's text). Put it after FILE, or write --save=TITLE")
    parser.set_defaults(run=partial(run, parser=parser))


def _shapes_from_flag(text: str | None) -> list[tuple[int, ...]]:
    if not text:
        raise ValueError("--shapes is required with --convention plain, e.g. 5x4,3x6")
    try:
        return parse_shapes(text)
    except ValueError:
        raise ValueError(f"--shapes must look like 5x4,3x6, got {text!r}") from None


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if problem := team_key_problem(args):
        return refuse(parser.prog, problem)
    if args.loss is not None or args.params is not None or args.forward is not None:
        return run_contract(args, parser)
    if args.grads is not None or args.dtype is not None or args.backward is not None:
        parser.error(
            "--grads and --dtype go with --loss EXPR --params EXPR; --backward with --forward"
        )
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
        return _report_failure(attempt, isolation, args.json, args.save is not None)
    result = attempt.result
    findings = diagnose(result)
    settings = {
        "mode": "functions",
        "file": Path(args.file).name,
        "cost": args.cost,
        "gradient": args.gradient,
        "convention": args.convention,
        "shapes": args.shapes,
        "labels": args.labels,
        "scenario": scenario.to_dict(),
    }
    saved, not_saved = saving(args, result, findings, kind="code", settings=settings, code=source)
    rows = rows_to_show(result, args.table)
    if args.json:
        document = {**check_document(scenario, result, findings, rows), **isolation}
        out(json.dumps(with_saved_run(document, saved), indent=2))
    else:
        out(f"GradScope check of {args.file} on {scenario.describe()}")
        out(isolation["isolation_description"])
        if attempt.hint:
            out(f"hint: {attempt.hint}")
        out("\n".join(check_body(result, findings, rows)))
    verdict = EXIT_AGREE if result.agrees else EXIT_DIVERGE
    return finish_saving(parser.prog, saved, not_saved, args.json, verdict)


def run_contract(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """The general contract: FILE as it is, --loss/--params/--grads in its namespace, or
    a layer pair, --forward CALL [--backward FUNC]."""
    _refuse_mixed_modes(args, parser)
    if args.dask:
        parser.error("--dask is not available with --loss/--params or --forward yet")
    for flag, value in (
        ("--loss", args.loss),
        ("--params", args.params),
        ("--grads", args.grads),
        ("--set-params", args.set_params),
        ("--forward", args.forward),
        ("--backward", args.backward),
    ):
        if value is not None and not value.strip():
            parser.error(f"{flag} needs a Python expression, got an empty one")
    options = _contract_options(args, parser)
    try:
        eps = contract_eps(args)
        if not Path(args.file).is_file():
            raise ValueError(f"{args.file}: no such file")
    except ValueError as error:
        parser.error(str(error))
    source = _source_to_save(args, parser)
    isolation = _isolation()
    limits = Limits(wall_seconds=args.timeout, cpu_seconds=max(1, math.ceil(args.timeout)))

    def print_screen(lines) -> None:
        if not args.json:  # in JSON, the screen is a section of the document
            out("\n".join(screen_text(lines)))

    attempt = run_user_contract(
        args.file,
        args.loss,
        args.params,
        args.grads,
        eps,
        args.dtype,
        limits,
        on_screen=print_screen,
        **options,
    )
    if not attempt.ok:
        return _report_failure(attempt, isolation, args.json, args.save is not None)
    result, model = attempt.result, attempt.model
    findings = diagnose(result)
    settings = {
        "mode": "contract",
        "file": Path(args.file).name,
        **{key: getattr(args, key) for key in CONTRACT_SETTINGS},
        "eps": eps,
    }
    saved, not_saved = saving(args, result, findings, kind="code", settings=settings, code=source)
    rows = rows_to_show(result, args.table)
    if args.json:
        document = {
            "model": model.as_dict(),
            "screen": [line.as_dict() for line in attempt.screen],
            **result_sections(result, findings, rows),
            **isolation,
        }
        out(json.dumps(with_saved_run(document, saved), indent=2))
    else:
        out("\n".join(model_header(model)))
        out(isolation["isolation_description"])
        out("\n".join(check_body(result, findings, rows)))
    verdict = EXIT_AGREE if result.agrees else EXIT_DIVERGE
    return finish_saving(parser.prog, saved, not_saved, args.json, verdict)


def _source_to_save(args: argparse.Namespace, parser) -> str | None:
    """FILE's text, read before it runs, when the run is to be saved (the code checked);
    the other .py files of its folder that it imports are not saved with it."""
    if args.save is None:
        return None
    try:
        return Path(args.file).read_text(encoding="utf-8")
    except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
        parser.error(f"cannot read {args.file} to save it: {error}")


def _refuse_mixed_modes(args: argparse.Namespace, parser) -> None:
    """Either --loss with --params, or --forward: a clear argument error otherwise."""
    if args.forward is not None:
        mixed = [
            flag
            for flag, value in (
                ("--loss", args.loss),
                ("--params", args.params),
                ("--grads", args.grads),
                ("--segments", args.segments),
                ("--set-params", args.set_params),
            )
            if value is not None
        ]
        if mixed:
            parser.error(
                f"--forward checks a layer pair; {', '.join(mixed)} belong to the loss mode "
                "(--loss EXPR --params EXPR): give one or the other"
            )
    elif args.backward is not None:
        parser.error("--backward goes with --forward CALL")
    elif args.loss is None or args.params is None:
        parser.error(
            "--loss EXPR and --params EXPR go together (--grads EXPR is optional); or give "
            "--forward CALL for a layer pair"
        )


def _contract_options(args: argparse.Namespace, parser) -> dict:
    """--segments, --order and --set-params, checked here (a bad --segments is an argument
    error), for the child's request."""
    from engine.params.segments import parse_segments
    from engine.params.structure import ContractError

    options = {
        key: value
        for key, value in (
            ("segments", args.segments),
            ("order", args.order),
            ("set_params", args.set_params),
            ("forward", args.forward),
            ("backward", args.backward),
        )
        if value is not None
    }
    if args.order is not None and args.segments is None:
        parser.error("--order goes with --segments (it says how they are unrolled)")
    if args.segments is not None:
        try:
            parse_segments(args.segments)
        except ContractError as error:
            parser.error(str(error))
    return options


def model_header(model) -> list[str]:
    """What was checked: the user's file and arrays (not the sidebar's scenario)."""
    arrays = model.describe_arrays()
    grads = (
        f"grads `{model.grads}`"
        if model.grads is not None
        else "grads returned by the loss as (loss, grads)"
    )
    precision = (
        model.dtype
        if model.dtype == model.params_dtype
        else f"{model.dtype} (--dtype; the params and loss values are {model.params_dtype})"
    )
    return [
        f"GradScope check of {model.file}: your model at its own point and data",
        f"params `{model.params}`: {arrays}",
        f"{model.n_params:,} parameters in {len(model.names)} "
        f"{'array' if len(model.names) == 1 else 'arrays'}, checked in {precision}",
        f"loss `{model.loss}`; {grads}",
        *model.notes,
    ]


def _report_failure(attempt: CodeRun, isolation: dict, as_json: bool, save: bool) -> int:
    """Why the code could not be checked: on stderr, or as JSON; exit status 1. There is
    no check to save: `--save` says so on stderr."""
    payload = {
        "ok": False,
        "message": attempt.message,
        "line": attempt.line,
        "line_text": attempt.line_text,
        "hint": attempt.hint,
        "output": attempt.output,
        **isolation,
    }
    if as_json:
        out(json.dumps(payload, indent=2))
    else:
        print(f"Your code could not be checked: {attempt.describe_error()}", file=sys.stderr)
        if attempt.hint:
            print(f"hint: {attempt.hint}", file=sys.stderr)
        print(isolation["isolation_description"], file=sys.stderr)
    if save:
        print("no run saved: there is no check to save when the code fails", file=sys.stderr)
    return EXIT_DIVERGE


def _isolation() -> dict:
    """What confines the user's code here, for the output: the level and one line."""
    from engine.runners.sandbox import detect_isolation

    isolation = detect_isolation()
    return {"isolation": isolation.level, "isolation_description": isolation.describe()}
