"""`gradscope runs`: the saved runs (`check --save`, `check-code --save`), listed
newest first; `runs show ID`, `runs export ID`, `runs delete ID`, `runs compare ID1 ID2`,
and `runs team-key`, a new key to file runs under (engine.runs.team).

Nothing re-runs: a run is shown from what was stored. A run is opened by its id (runs
hold users' code); a listing never shows the code. The CLI holds the database URL, so
it lists every run there; `--team KEY` lists only the runs filed under that key, what
the app lists to whoever enters it.
"""

from __future__ import annotations

import argparse
import json
import sys
from functools import partial
from pathlib import Path

from cli.flags import add_table_flag, rows_to_show
from cli.saving import TEAM_KEY_SETTING, StoreError, add_store_flags, run_link, with_store
from cli.terminal import EXIT_AGREE, EXIT_USAGE, out, refuse
from engine.runs.record import KINDS, Run
from engine.runs.team import BadTeamKey, new_team_key, team_tag
from engine.scenario.settings import Scenario
from presentation.exports import run_document
from presentation.text import check_body

NAME = "runs"
TEAM_KEY_ACTION = "team-key"
VERDICTS = ("pass", "warn", "fail")
MAX_LIMIT = 10_000
SHOWN_ENTRIES = 5  # compare names this many entries that stopped or started diverging


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {text!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT:,}, got {text!r}")
    return value


def add_parser(commands, prog: str) -> None:
    parser = commands.add_parser(
        NAME,
        prog=f"{prog} {NAME}",
        description="The saved runs (check --save, check-code --save), newest first: id, "
        "time (UTC), verdict, diverging arrays, title. The command line holds the database, "
        "so it lists every run in it; --team KEY lists only the runs filed under that team "
        "key, as the app's Runs page does for whoever enters it. A run is opened by its id; "
        "the listing never shows code. With an action: show, export, delete or compare "
        "runs by id, or make a new team key.",
        epilog="Exit status: 0 done, 2 bad arguments, an unknown id or a database that "
        "cannot be read.",
    )
    parser.add_argument("--verdict", choices=VERDICTS, help="only runs with this verdict")
    parser.add_argument("--kind", choices=KINDS, help="only scenario checks, or only your code")
    parser.add_argument("--title", metavar="WORDS", help="only runs whose title contains WORDS")
    parser.add_argument(
        "--team",
        metavar="KEY",
        help="only runs filed under this team key (check --save --team KEY); without it, "
        f"all runs (the {TEAM_KEY_SETTING} setting is not read here)",
    )
    parser.add_argument(
        "--limit", type=_limit, default=20, help="at most this many runs (default: %(default)s)"
    )
    parser.add_argument("--json", action="store_true", help="print the list as JSON")
    add_store_flags(parser)
    parser.set_defaults(run=partial(run_list, parser=parser))

    actions = parser.add_subparsers(metavar="ACTION", title="actions (default: list the runs)")
    for name, help, function, arguments in (
        ("show", "print a run's verdict, table and findings", run_show, ("id",)),
        ("export", "write a run as JSON, gradients as lists", run_export, ("id",)),
        ("delete", "delete a run", run_delete, ("id",)),
        ("compare", "what changed from one run to another", run_compare, ("before", "after")),
    ):
        action = actions.add_parser(
            name, prog=f"{prog} {NAME} {name}", help=help, description=help[0].upper() + help[1:]
        )
        for argument in arguments:
            action.add_argument(argument, metavar=argument.upper(), help="a run's id")
        add_store_flags(action, default=argparse.SUPPRESS)
        action.set_defaults(run=partial(function, parser=action))
        if name == "show":
            add_table_flag(action, "which parameter rows to print (auto: all up to 200)")
        if name == "export":
            action.add_argument(
                "--output", "-o", metavar="FILE", help="write to FILE (default: standard output)"
            )
    key_help = "print a new team key, to file saved runs under and list them by"
    team_key = actions.add_parser(
        TEAM_KEY_ACTION,
        prog=f"{prog} {NAME} {TEAM_KEY_ACTION}",
        help=key_help,
        description=key_help[0].upper() + key_help[1:] + " (128 random bits). The key "
        "goes to standard output, how to use it to standard error, so "
        f"`{TEAM_KEY_SETTING}=$({prog} {NAME} {TEAM_KEY_ACTION})` keeps the key alone. "
        "Share it with your team like a password.",
    )
    team_key.set_defaults(run=partial(run_team_key, prog=prog))


def run_list(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.team is not None:
        try:
            team_tag(args.team)
        except BadTeamKey as error:
            return refuse(parser.prog, f"the team key in --team is refused: {error}")
    try:
        listing, location = with_store(
            args.runs_url,
            lambda store: (
                store.list(args.limit, args.verdict, args.kind, args.title, team=args.team),
                store.location,
            ),
            "read the runs",
        )
    except StoreError as error:
        return refuse(parser.prog, str(error))
    team = " filed under this team key" if args.team is not None else ""
    if args.json:
        rows = [
            {
                "id": r.id,
                "created": r.created.isoformat(),
                "verdict": r.verdict,
                "diverging_arrays": list(r.diverging_arrays),
                "title": r.title,
                "kind": r.kind,
                "link": run_link(r.id, args.runs_base_url),
            }
            for r in listing
        ]
        out(json.dumps(rows, indent=2))
        return EXIT_AGREE
    if not listing:
        out(f"No saved runs in {location}{team}{' match' if _filtered(args) else ''}.")
        return EXIT_AGREE
    runs = "1 saved run" if len(listing) == 1 else f"{len(listing)} saved runs"
    out(f"{runs} in {location}{team}, newest first:")
    table = [("id", "time (UTC)", "verdict", "diverging arrays", "title")] + [
        (
            r.id,
            r.created.strftime("%Y-%m-%d %H:%M:%S"),
            r.verdict,
            ", ".join(r.diverging_arrays) or "-",
            r.title,
        )
        for r in listing
    ]
    widths = [max(len(row[column]) for row in table) for column in range(4)]
    for row in table:
        out("  ".join(f"{cell:<{width}}" for cell, width in zip(row, widths)) + "  " + row[4])
    return EXIT_AGREE


def run_show(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    run, failure = _load(args, parser, args.id)
    if run is None:
        return failure
    result, findings = run.result(), run.finding_objects()
    lines = [
        f"Saved run {run.id}: {run.title}",
        f"saved {run.created:%Y-%m-%d %H:%M:%S} UTC; {_what(run)}",
        f"link: {run_link(run.id, args.runs_base_url)}",
    ]
    if run.code is not None:
        lines.append(
            f"code: {len(run.code.splitlines())} lines, saved with the run "
            f"({parser.prog.rsplit(' ', 1)[0]} export {run.id} has them)"
        )
    rows = rows_to_show(result, args.table)
    out("\n".join(lines + check_body(result, findings, rows, source=run.code)))
    return EXIT_AGREE


def run_team_key(args: argparse.Namespace, prog: str) -> int:
    """A new team key on stdout, alone; how to use it on stderr (it shows in a terminal,
    and `$(...)` captures the key only)."""
    key = new_team_key()
    out(key)
    print(
        "Enter it on the app's Runs page to list the runs filed under it; share it with "
        "your team like a password.\n"
        f"To file your saved runs under it: export {TEAM_KEY_SETTING}={key} (a CI secret), "
        f"then {prog} --save, or {prog} check-code FILE --save (--team KEY does it once).",
        file=sys.stderr,
    )
    return EXIT_AGREE


def run_export(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    run, failure = _load(args, parser, args.id)
    if run is None:
        return failure
    text = json.dumps(run_document(run, run_link(run.id, args.runs_base_url)), indent=2)
    if args.output is None:
        out(text)
        return EXIT_AGREE
    try:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
    except OSError as error:
        return refuse(parser.prog, f"cannot write the run: {error}")
    print(f"run {run.id} written to {args.output}", file=sys.stderr)
    return EXIT_AGREE


def run_delete(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    try:
        deleted, location = with_store(
            args.runs_url,
            lambda store: (store.delete(args.id), store.location),
            "delete the run",
        )
    except StoreError as error:
        return refuse(parser.prog, str(error))
    if not deleted:
        return refuse(parser.prog, f"no saved run has the id {args.id!r} in {location}")
    out(f"deleted run {args.id}")
    return EXIT_AGREE


def run_compare(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from engine.runs.compare import compare_runs

    before, failure = _load(args, parser, args.before)
    if before is None:
        return failure
    after, failure = _load(args, parser, args.after)
    if after is None:
        return failure
    comparison = compare_runs(before, after)
    lines = [
        f"before: {before.id} {before.title} ({before.created:%Y-%m-%d %H:%M:%S} UTC)",
        f"after:  {after.id} {after.title} ({after.created:%Y-%m-%d %H:%M:%S} UTC)",
        comparison.describe(),
    ]
    if comparison.same_layout:
        for label, entries in (("stopped", comparison.stopped), ("started", comparison.started)):
            if entries.size:
                layout = after.result().layout
                named = [layout.describe(int(p)) for p in entries[:SHOWN_ENTRIES]]
                lines.append(f"{label} diverging ({entries.size} of {layout.n_params}):")
                lines += [f"  {name}" for name in named]
                if entries.size > len(named):
                    lines.append(f"  and {entries.size - len(named)} more")
    lines += ["", comparison.arrays.to_string(index=False, float_format=lambda v: f"{v:.3g}"), ""]
    if comparison.code_diff:
        lines += ["Code diff:", comparison.code_diff.rstrip("\n")]
    elif before.code is None and after.code is None:
        lines.append("No code in either run (scenario checks).")
    else:
        lines.append("The code is the same in both runs.")
    out("\n".join(lines))
    return EXIT_AGREE


def _load(args, parser, run_id: str) -> tuple[Run | None, int]:
    """The run with this id, or None and the exit status after saying why."""
    try:
        run, location = with_store(
            args.runs_url, lambda store: (store.get(run_id), store.location), "read the run"
        )
    except StoreError as error:
        return None, refuse(parser.prog, str(error))
    if run is None:
        return None, refuse(parser.prog, f"no saved run has the id {run_id!r} in {location}")
    return run, EXIT_USAGE


def _what(run: Run) -> str:
    """The run's settings in one line: the scenario, or the file and how it was called."""
    settings = run.settings
    if run.kind == "scenario":
        try:
            scenario = Scenario.from_dict(settings)
        except (TypeError, ValueError):
            return f"a scenario: {json.dumps(settings)}"
        bugs = ", ".join(scenario.bugs) or "none"
        return f"a scenario: {scenario.describe()}; bugs switched on: {bugs}"
    given = ", ".join(
        f"{key} {value}"
        for key, value in settings.items()
        if value is not None and key not in ("file", "mode", "scenario")
    )
    problem = ""
    if isinstance(settings.get("scenario"), dict):
        try:
            problem = f" on {Scenario.from_dict(settings['scenario']).describe()}"
        except (TypeError, ValueError):
            pass
    return f"your code, {settings.get('file', 'a file')}: {given}{problem}"


def _filtered(args) -> bool:
    return bool(args.verdict or args.kind or args.title)
