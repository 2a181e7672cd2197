"""`gradscope [check]`: the check on GradScope's own network, with catalogue bugs
switched on. The default command: the bare program name runs it."""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path
from urllib.parse import urlencode

from cli.flags import (
    FULL_TABLE_LIMIT,
    add_budget_flag,
    add_problem_flags,
    add_table_flag,
    rows_to_show,
    scenario_from_flags,
)
from cli.saving import add_save_flags, finish_saving, saving, team_key_problem, with_saved_run
from cli.terminal import EXIT_AGREE, EXIT_DIVERGE, out, refuse
from engine.diagnosis.diagnose import diagnose
from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.network.pieces import HIDDEN_ACTIVATIONS
from engine.scenario.codec import scenario_to_params
from engine.scenario.settings import Scenario
from engine.scenario.workload import WorkTooLarge, check_workload
from presentation.exports import check_document
from presentation.report import build_report
from presentation.text import check_body, check_header, format_catalogue

NAME = "check"
COMMANDS_HELP = (
    "Commands: check (the default; this help), check-code FILE (the gradient of your own "
    "code), bug-matrix (each catalogue bug on many seeds), runs (the runs saved with "
    "--save). Help on each: %(prog)s COMMAND --help."
)


class _ParagraphsFormatter(argparse.HelpFormatter):
    """argparse's help, with each blank-line-separated paragraph of the epilog wrapped
    on its own (the default formatter runs them together)."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        fill = super()._fill_text
        return "\n\n".join(fill(paragraph, width, indent) for paragraph in text.split("\n\n"))


def add_parser(commands, prog: str) -> None:
    """The check's parser, answering to the bare program name (`python -m engine`)."""
    defaults = Scenario()
    parser = commands.add_parser(
        NAME,
        prog=prog,
        description=(
            "Check backprop against finite differences on GradScope's network, with known "
            "bugs switched on, and say which matrix, which entries and which bug."
        ),
        epilog="Exit status: 0 gradients agree, 1 they diverge, 2 bad arguments, a refused "
        "team key, too large to run or a run that --save could not save.\n\n" + COMMANDS_HELP,
        formatter_class=_ParagraphsFormatter,
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
        action="extend",
        type=_bug_ids,
        default=[],
        metavar="ID",
        help="switch on a catalogue bug; repeat or separate ids by commas (see --list-bugs)",
    )
    parser.add_argument(
        "--threshold",
        default=None,
        help="relative-error threshold for 'diverges' (default: depends on dtype and method)",
    )
    add_table_flag(
        parser,
        f"which parameter rows to print (auto: all up to {FULL_TABLE_LIMIT}, else diverging)",
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
    add_save_flags(parser)
    parser.set_defaults(run=partial(run, parser=parser))


def _bug_ids(text: str) -> list[str]:
    """`--bug a,b` names two bugs, as `--bug a --bug b` does."""
    return [bug.strip() for bug in text.split(",") if bug.strip()]


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.list_bugs:
        out(format_catalogue(as_json=args.json))
        return EXIT_AGREE
    if problem := team_key_problem(args):
        return refuse(parser.prog, problem)
    try:
        scenario = scenario_from_flags(
            args, activation=args.activation, threshold=args.threshold, bugs=args.bug
        )
    except ValueError as error:
        parser.error(str(error))
    try:
        check_workload(scenario, "loop" if args.loop else "check", max_seconds=args.max_seconds)
        result = scenario.run(numerical="loop" if args.loop else "fast")
        findings = diagnose(result)
    except WorkTooLarge as error:
        return refuse(parser.prog, f"this check is too large to run: {error}")
    except MemoryError:
        return refuse(parser.prog, "this check ran out of memory; use fewer examples or units")
    saved, not_saved = saving(args, result, findings, kind="scenario", settings=scenario.to_dict())
    rows = rows_to_show(result, args.table)
    if args.json:
        document = check_document(scenario, result, findings, rows)
        out(json.dumps(with_saved_run(document, saved), indent=2))
    else:
        out("\n".join(check_header(scenario) + check_body(result, findings, rows)))
    verdict = EXIT_AGREE if result.agrees else EXIT_DIVERGE
    status = finish_saving(parser.prog, saved, not_saved, args.json, verdict)
    if args.report:
        try:
            write_report(args.report, args.app_url, scenario, result, findings)
        except OSError as error:
            return refuse(parser.prog, f"cannot write the report: {error}")
        print(f"report written to {args.report}", file=sys.stderr)
    return status


def write_report(
    path, app_url: str, scenario: Scenario, result: CheckResult, findings: list[Finding]
) -> None:
    """The app's HTML report, its share link pointing at `app_url`."""
    query = urlencode(scenario_to_params(scenario))
    link = f"{app_url}?{query}" if query else app_url
    Path(path).write_text(build_report(scenario, result, findings, link), encoding="utf-8")
