"""The child side of `usercode`: runs pasted code and reports back as data.

Started as `python -m engine.usercode_child WORKDIR` with resource limits already in
place. Reads WORKDIR/request.json and request.npz, writes progress to
WORKDIR/progress.txt, and finally WORKDIR/reply.json (+ reply.npz on success).
Everything the user's code prints goes to a bounded buffer, never to the parent.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import sys
import traceback
from pathlib import Path

USER_FILENAME = "<your code>"
OUTPUT_LIMIT = 64 * 1024


class BoundedOutput(io.TextIOBase):
    """Keeps the first OUTPUT_LIMIT characters of what is printed and counts the rest."""

    def __init__(self):
        self.kept: list[str] = []
        self.size = 0
        self.dropped = 0

    def write(self, text: str) -> int:
        room = OUTPUT_LIMIT - self.size
        if room > 0:
            self.kept.append(text[:room])
            self.size += min(len(text), room)
        self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def text(self) -> str:
        tail = f"\n... ({self.dropped:,} more characters not kept)" if self.dropped else ""
        return "".join(self.kept) + tail


def user_line(error: BaseException) -> int | None:
    """The line of the user's code where `error` happened, if it happened there."""
    if isinstance(error, SyntaxError) and error.filename == USER_FILENAME:
        return error.lineno
    frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == USER_FILENAME]
    return frames[-1].lineno if frames else None


def describe(error: BaseException, source_lines: list[str], stage: str) -> dict:
    line = user_line(error)
    text = source_lines[line - 1].strip() if line and 0 < line <= len(source_lines) else None
    if isinstance(error, SystemExit):
        message = f"Your code called sys.exit({error.code!r}) {stage}."
    elif isinstance(error, MemoryError):
        message = f"Your code ran out of memory {stage} (the limit is set by GradScope)."
    elif isinstance(error, SyntaxError):
        message = f"Syntax error: {error.msg}."
    elif isinstance(error, OSError) and error.errno == errno.EFBIG:
        message = f"Your code wrote more output than GradScope allows {stage}; it was stopped."
    else:
        message = f"{type(error).__name__} {stage}: {error}"
    return {"ok": False, "message": message, "line": line, "line_text": text}


def main(workdir: str) -> int:
    work = Path(workdir)
    request = json.loads((work / "request.json").read_text())
    output = BoundedOutput()
    sys.stdout = sys.stderr = output
    source = request["source"]
    lines = source.splitlines()
    reply = run(request, work, lines, output)
    reply["output"] = output.text()
    (work / "reply.json").write_text(json.dumps(reply))
    return 0


def run(request: dict, work: Path, lines: list[str], output) -> dict:
    import numpy as np

    from engine.check import check_functions

    data = np.load(work / "request.npz")
    X, y, theta = data["X"], data["y"], data["theta"]
    sizes = request["layer_sizes"]
    lamb = request["lamb"]
    namespace = {
        "__name__": "__gradscope__",
        "X": X.copy(),
        "y": y.copy(),
        "lamb": lamb,
        "layer_sizes": tuple(sizes),
    }
    try:
        code = compile(request["source"], USER_FILENAME, "exec")
        exec(code, namespace)  # noqa: S102 - running the user's code is this module's job
    except BaseException as error:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
        return describe(error, lines, "while running your file")
    functions = {}
    for role in ("cost", "gradient"):
        name = request[f"{role}_name"]
        function = namespace.get(name)
        if not callable(function):
            defined = sorted(
                k for k, v in namespace.items() if callable(v) and not k.startswith("_")
            )
            return {
                "ok": False,
                "message": f"Your code defines no function named {name!r} for the {role}; "
                f"functions found: {', '.join(defined) or 'none'}.",
                "line": None,
                "line_text": None,
            }
        functions[role] = function
    if "theta" in namespace and request.get("use_own_theta", True):
        theta = np.asarray(namespace["theta"], dtype=float).ravel()
    args = ()
    if request["convention"] == "seed":
        args = (X, y, sizes[0], sizes[1], sizes[2], lamb)

    def cost(t):
        return functions["cost"](t.copy(), *args)

    def gradient(t):
        return functions["gradient"](t.copy(), *args)

    progress_file = work / "progress.txt"

    def progress(done, total):
        if done % 25 == 0 or done == total:
            progress_file.write_text(f"{done} {total}")

    try:
        with _maybe_dask(request.get("dask")) as client:
            result = check_functions(
                cost,
                gradient,
                theta,
                request["shapes"],
                eps=request["eps"],
                progress=progress,
                client=client,
            )
    except ValueError as error:
        if user_line(error) is None:
            return {"ok": False, "message": str(error), "line": None, "line_text": None}
        return describe(error, lines, "in your cost or gradient")
    except BaseException as error:  # noqa: BLE001
        reply = describe(error, lines, "in your cost or gradient")
        reply["hint"] = label_hint(error, request)
        return reply
    np.savez(
        work / "reply.npz", analytic=result.analytic, numerical=result.numerical, theta=result.theta
    )
    return {
        "ok": True,
        "cost": float(cost(np.asarray(result.theta))),
        "theta_from_code": "theta" in namespace and request.get("use_own_theta", True),
    }


@contextlib.contextmanager
def _maybe_dask(address):
    """No cluster (None), a new local one ("local"), or the scheduler at `address`."""
    if not address:
        yield None
        return
    from engine.parallel import dask_client

    with dask_client(None if address == "local" else address) as client:
        yield client


def label_hint(error: BaseException, request: dict) -> str | None:
    """An index error with labels off by one suggests the other label convention."""
    if not isinstance(error, IndexError):
        return None
    if request["label_base"] == 1:
        return (
            "Your code indexes past the last output with 1-based labels: does it expect "
            "0-based labels (Python's y = 0..K-1)? Switch the label convention."
        )
    return (
        "Your code indexes out of range with 0-based labels: does it expect 1-based "
        "labels (Octave's y = 1..K)? Switch the label convention."
    )


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
