"""Check a user's own cost and gradient, run in a child process that cannot hurt the caller.

The child (`engine.usercode_child`) runs in a fresh temporary directory with a
wall-clock timeout, a CPU-time limit, an address-space limit and a file-size limit,
its output captured and bounded; results come back as files of data. Whatever the
code does (loop forever, allocate without bound, raise, sys.exit, os._exit, print
megabytes, return garbage), the caller gets a `CodeRun` with a clear message and the
user's line number where there is one.

This protects the server from crashes and runaway code. It is not a security
boundary against hostile code (the child can read files the server can): switch the
feature off on a shared server (see `code_execution_enabled`).
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .check import result_from_arrays
from .compare import CheckResult
from .layout import Layout
from .network import Problem

ROOT = Path(__file__).resolve().parents[1]
CONVENTIONS = ("seed", "plain")
ENABLE_VARIABLE = "GRADSCOPE_RUN_USER_CODE"
OUTPUT_READ_LIMIT = 64 * 1024


def code_execution_enabled() -> bool:
    """On unless GRADSCOPE_RUN_USER_CODE is 0/off/false/no (set it so on a shared server)."""
    return os.environ.get(ENABLE_VARIABLE, "on").strip().lower() not in ("0", "off", "false", "no")


@dataclass(frozen=True)
class Limits:
    wall_seconds: float = 60.0
    cpu_seconds: int = 60
    memory_bytes: int = 2 * 1024**3
    output_bytes: int = 16 * 1024**2


@dataclass(frozen=True, eq=False)
class CodeRun:
    ok: bool
    message: str = ""
    line: int | None = None
    line_text: str | None = None
    hint: str | None = None
    output: str = ""
    seconds: float = 0.0
    result: CheckResult | None = field(default=None, repr=False)
    theta_from_code: bool = False

    def describe_error(self) -> str:
        where = f" (line {self.line}: {self.line_text})" if self.line else ""
        return f"{self.message}{where}"


def seed_shapes(layer_sizes) -> list[tuple[int, int]]:
    return list(Layout.from_layer_sizes(layer_sizes).shapes)


def run_user_code(
    source: str,
    problem: Problem,
    cost_name: str = "computeCost",
    gradient_name: str = "gradient",
    convention: str = "seed",
    shapes=None,
    eps: float = 1e-4,
    label_base: int = 0,
    limits: Limits = Limits(),
    progress: Callable[[int, int], None] | None = None,
    dask: str | None = None,
) -> CodeRun:
    """Run the user's `source` in a child process and check its gradient.

    `dask`: "local" (a local cluster, one worker per core) or a scheduler address to
    spread the numerical gradient's cost evaluations. The Dask workers run the user's
    cost outside this module's resource limits: for trusted, slow code only.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if convention == "seed" and len(problem.layer_sizes) != 3:
        return CodeRun(
            False,
            "The seed's calling convention is for 3-layer networks (inputs, one hidden layer, "
            f"labels); the scenario has layers {'-'.join(map(str, problem.layer_sizes))}. "
            "Use the plain f(theta) convention or change the layer sizes.",
        )
    layout = Layout.from_shapes(shapes if shapes is not None else seed_shapes(problem.layer_sizes))
    with tempfile.TemporaryDirectory(prefix="gradscope-") as tmp:
        work = Path(tmp)
        request = {
            "source": source,
            "cost_name": cost_name,
            "gradient_name": gradient_name,
            "convention": convention,
            "shapes": [list(s) for s in layout.shapes],
            "layer_sizes": list(problem.layer_sizes),
            "lamb": problem.lamb,
            "eps": eps,
            "label_base": label_base,
            "dask": dask,
        }
        _write_request(work, request, problem)
        start = time.monotonic()
        returncode, timed_out = _run_child(work, limits, progress)
        seconds = time.monotonic() - start
        printed = _read_capped(work / "stdout.txt")
        reply_file = work / "reply.json"
        if timed_out:
            return CodeRun(
                False,
                f"Your code did not finish within {limits.wall_seconds:g} s "
                "(an endless loop, or a cost far too slow to evaluate "
                f"{2 * layout.n_params} times?). It was stopped.",
                output=printed,
                seconds=seconds,
            )
        if not reply_file.exists():
            return CodeRun(
                False, _death_message(returncode, limits), output=printed, seconds=seconds
            )
        reply = json.loads(reply_file.read_text())
        output = (reply.get("output", "") + printed).strip()
        hint = reply.get("hint") or source_label_hint(source, label_base)
        if not reply["ok"]:
            return CodeRun(
                False,
                reply["message"],
                reply.get("line"),
                reply.get("line_text"),
                hint,
                output,
                seconds,
            )
        arrays = np.load(work / "reply.npz")
        result = result_from_arrays(
            arrays["analytic"],
            arrays["numerical"],
            arrays["theta"],
            layout,
            reply["cost"],
            eps,
            penalty=(problem.lamb, problem.m),
        )
        return CodeRun(
            True,
            "",
            hint=hint,
            output=output,
            seconds=seconds,
            result=result,
            theta_from_code=reply.get("theta_from_code", False),
        )


def source_label_hint(source: str, label_base: int) -> str | None:
    """Octave habits in the source (y - 1 as an index) while labels are passed 0-based."""
    if label_base == 0 and re.search(r"\by\s*(\[[^\]]*\])?\s*-\s*1\b", source):
        return (
            "Your code subtracts 1 from the labels, as Octave code does, but labels are "
            "passed 0-based (0..K-1). If your code expects 1..K, switch the label "
            "convention to 1-based."
        )
    return None


def _write_request(work: Path, request: dict, problem: Problem) -> None:
    """The child's instructions (JSON) and its data (the problem's arrays, labels shifted)."""
    (work / "request.json").write_text(json.dumps(request))
    labels = problem.y + request["label_base"]
    np.savez(work / "request.npz", X=problem.X, y=labels, theta=problem.theta)


def _child_environment() -> dict:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TMPDIR")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    env.update(
        PYTHONPATH=str(ROOT),
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
    )
    return env


def _run_child(work: Path, limits: Limits, progress) -> tuple[int, bool]:
    def apply_limits():
        import resource

        resource.setrlimit(resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        resource.setrlimit(resource.RLIMIT_FSIZE, (limits.output_bytes, limits.output_bytes))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    with open(work / "stdout.txt", "wb") as out:
        child = subprocess.Popen(
            [sys.executable, "-m", "engine.usercode_child", str(work)],
            cwd=work,
            env=_child_environment(),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            preexec_fn=apply_limits,
            start_new_session=True,
        )
        deadline = time.monotonic() + limits.wall_seconds
        last = None
        while child.poll() is None:
            if time.monotonic() > deadline:
                _kill_group(child)
                return child.wait(), True
            last = _report_progress(work / "progress.txt", progress, last)
            time.sleep(0.05)
        _report_progress(work / "progress.txt", progress, last)
        _kill_group(child)  # anything the code left running in its process group
        return child.returncode, False


def _kill_group(child: subprocess.Popen) -> None:
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _report_progress(path: Path, progress, last):
    if progress is None or not path.exists():
        return last
    try:
        text = path.read_text()
        done, total = (int(v) for v in text.split())
    except ValueError:  # caught mid-write
        return last
    if (done, total) != last:
        progress(done, total)
    return done, total


def _death_message(returncode: int, limits: Limits) -> str:
    if returncode == -signal.SIGXCPU or returncode == -signal.SIGKILL:
        return (
            f"Your code used more than {limits.cpu_seconds} s of CPU time and was stopped "
            "(an endless loop?)."
        )
    if returncode == -signal.SIGXFSZ:
        return f"Your code printed more than {limits.output_bytes // 1024**2} MB and was stopped."
    if returncode < 0:
        name = signal.Signals(-returncode).name
        return f"Your code's process was killed by {name} before it returned results."
    return (
        f"Your code ended the process (exit status {returncode}, e.g. os._exit) before "
        "GradScope got its results."
    )


def _read_capped(path: Path) -> str:
    if not path.exists():
        return ""
    with open(path, "rb") as f:
        data = f.read(OUTPUT_READ_LIMIT)
        more = f.read(1)
    text = data.decode("utf-8", errors="replace")
    return text + ("\n... (output cut)" if more else "")
