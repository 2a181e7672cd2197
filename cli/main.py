"""The command line: `gradscope` once installed, `python -m engine` from a checkout.

Four commands on argparse subparsers: `check` (GradScope's own network with catalogue
bugs switched on), `check-code FILE` (the user's own cost and gradient),
`bug-matrix` (every catalogue bug on many seeds) and `runs` (the runs the checks saved
with `--save`: list, show, export, delete, compare). `check` is the default: arguments
that do not start with a command's name are the check's, so `gradscope --bug ID`
and `gradscope --help` are the check's, as they were before there were commands.

Exit status: 0 when the gradients agree, 1 when some entry diverges, 2 on bad
arguments or work beyond the limits (with a message naming the argument or the
estimate). Output piped into a reader that stops early (`| head`) ends quietly.
"""

from __future__ import annotations

import argparse
import sys

from cli import bug_matrix, check, check_code, runs
from cli.terminal import EXIT_USAGE, discard_stdout

COMMANDS = (check, check_code, bug_matrix, runs)
COMMAND_NAMES = tuple(command.NAME for command in COMMANDS)
DEFAULT_COMMAND = check.NAME


def build_parser(prog: str) -> tuple[argparse.ArgumentParser, dict]:
    """A parser whose first argument names the command, and each command's own parser
    by name: it answers to `prog COMMAND`, except the default's, which answers to `prog`."""
    parser = argparse.ArgumentParser(prog=prog, add_help=False)
    commands = parser.add_subparsers(metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(commands, prog)
    return parser, commands.choices


def with_command(argv: list[str]) -> list[str]:
    """argv with the default command's name in front unless it starts with a command's."""
    return argv if argv[:1] and argv[0] in COMMAND_NAMES else [DEFAULT_COMMAND, *argv]


def main(argv=None, prog: str = "gradscope") -> int:
    """Run a command; argparse's exits (--help, usage errors) become return values, and a
    closed stdout pipe ends the output quietly instead of with a traceback."""
    argv = sys.argv[1:] if argv is None else list(argv)
    code = EXIT_USAGE  # kept only if stdout breaks outside the commands' own printing
    try:
        try:
            code = _run(prog, with_command(argv))
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else EXIT_USAGE
        sys.stdout.flush()
    except BrokenPipeError:
        discard_stdout()
    return code


def _run(prog: str, argv: list[str]) -> int:
    parser, command_parsers = build_parser(prog)
    args, unrecognized = parser.parse_known_args(argv)
    if unrecognized:
        # Left to itself, argparse reports these against the top parser; the command's
        # parser reports them, with the command's usage line.
        command_parsers[argv[0]].error(f"unrecognized arguments: {' '.join(unrecognized)}")
    return args.run(args)
