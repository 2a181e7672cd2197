"""Writing to the terminal the way a CI job or a pipe into `head` expects.

Exit status 0 when the gradients agree, 1 when they diverge, 2 on bad arguments or
work beyond the limits; a reader that goes away early ends the output quietly.
"""

from __future__ import annotations

import os
import sys

EXIT_AGREE, EXIT_DIVERGE, EXIT_USAGE = 0, 1, 2


def out(text: str = "") -> None:
    """print() to stdout that survives a reader going away (`| head`).

    As the signal module's "Note on SIGPIPE" advises: on BrokenPipeError, point stdout
    at devnull so later writes and the interpreter's final flush succeed silently; the
    command still finishes and exits with its verdict.
    """
    try:
        print(text, flush=True)
    except BrokenPipeError:
        discard_stdout()


def discard_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def refuse(prog: str, message: str) -> int:
    """An error that is not about the arguments' form (no usage line): exit status 2.

    Errors about the arguments go through `parser.error`, which adds the usage line.
    """
    print(f"{prog}: error: {message}", file=sys.stderr)
    return EXIT_USAGE
