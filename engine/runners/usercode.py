"""Check a user's own cost and gradient, run in a child process that cannot hurt the caller.

The child (`engine.runners.usercode_child`) runs inside the sandbox of `engine.runners.sandbox`
(bubblewrap namespaces, a cgroup, resource limits, seccomp, Landlock: whatever this
machine supports), with a wall-clock timeout. Whatever the code does (loop forever,
allocate without bound, fork, raise, exit, print megabytes, read or write where it
should not, return garbage), the caller gets a `CodeRun` with a clear message and
the user's line number where there is one.

The verdict cannot be forged: the child sends back plain numbers over a pipe
(`engine.runners.channel`, no pickle, a hard byte limit, sizes fixed by the parent): the
parameters, the user's gradient and the user's cost at each shifted point. The
finite differences, the comparison, the noise floor and the diagnosis are computed
here. The code can still lie about its own cost, which is its own loss.
"""

from __future__ import annotations

import dataclasses
import io
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np

from engine.gradcheck.check import result_from_arrays
from engine.gradcheck.compare import CheckResult
from engine.gradcheck.noise import measured_noise, noise_floor
from engine.gradcheck.numerical import combine_costs
from engine.network.layout import Layout, shape_text
from engine.network.model import Problem
from engine.network.pieces import CENTRAL
from engine.params.screen import MAX_SCREEN_ARRAYS, ScreenLine, judge
from engine.params.structure import DTYPE_NAMES, PROBE_ENTRIES, PROBE_STEPS, probe_indices
from engine.params.symmetry import JacobianSymmetry
from engine.params.tracing import SourceTrace
from engine.runners.channel import ChannelError, FrameReader, decode_array, decode_json
from engine.runners.sandbox import (
    ENGINE_DIR,
    SANDBOX_ENGINE_PARENT,
    SANDBOX_REQUEST_DIR,
    CgroupRun,
    Limits,
    child_preexec,
    detect_isolation,
    protect_server_process,
    sandbox_command,
)
from engine.runners.usercode_child import (
    CONTRACT_MODE,
    FOUNDING_CONVENTION,
    PLAIN_CONVENTION,
    SOURCE_FOLDER,
)

__all__ = [
    "CONVENTIONS",
    "FOUNDING_CONVENTION",
    "PLAIN_CONVENTION",
    "CodeRun",
    "ContractModel",
    "Limits",
    "check_sources",
    "sources_from_zip",
    "run_user_code",
    "run_user_contract",
]

CONVENTIONS = (FOUNDING_CONVENTION, PLAIN_CONVENTION)
OUTPUT_READ_LIMIT = 64 * 1024
# The general contract: what the parent accepts from the child and ships to it.
MAX_CONTRACT_PARAMS = 1_000_000  # entries; each costs two loss evaluations
MAX_CONTRACT_ARRAYS = 10_000
MAX_NAME_CHARS = 200
MAX_NDIM = 8
MAX_SOURCE_FILES = 200  # .py files shipped from the user's folder
MAX_SOURCE_BYTES = 8 * 1024**2
MAX_SOURCE_DEPTH = 3  # folders below the user's file's folder
MAX_ZIP_ENTRIES = 2000  # entries of an uploaded archive, .py or not
MESSAGE_LIMIT = 4000
HEARTBEAT_SECONDS = 0.25


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
    isolation: str = ""
    model: ContractModel | None = None  # the general contract: what the user's code holds
    screen: tuple[ScreenLine, ...] = ()  # the contract's per-array screen, when it ran

    def describe_error(self) -> str:
        where = f" (line {self.line}: {self.line_text})" if self.line else ""
        return f"{self.message}{where}"


@dataclass(frozen=True)
class ContractModel:
    """The user's model as the general contract found it, for headers and exports."""

    file: str
    loss: str
    params: str
    grads: str | None
    names: tuple[str, ...]
    shapes: tuple[tuple[int, ...], ...]
    params_dtype: str  # the params' own precision
    dtype: str  # the check's precision: --dtype, else the params'
    notes: tuple[str, ...] = ()  # how segments, their order and a setter were chosen

    @property
    def n_params(self) -> int:
        return sum(int(np.prod(shape, dtype=np.int64)) for shape in self.shapes)

    def describe_arrays(self) -> str:
        """'W1 4x10, b1 (10,), ...': the arrays found, in order."""
        return ", ".join(f"{n} {shape_text(s)}" for n, s in zip(self.names, self.shapes))

    def as_dict(self) -> dict:
        """The model section of an export (the app's JSON, check-code --json): file,
        expressions, arrays, count, precision, and how the choices were made."""
        return {
            "file": self.file,
            "loss": self.loss,
            "params": self.params,
            "grads": self.grads,
            "arrays": [{"name": n, "shape": list(s)} for n, s in zip(self.names, self.shapes)],
            "n_params": self.n_params,
            "dtype": self.dtype,
            "params_dtype": self.params_dtype,
            "notes": list(self.notes),
        }


def run_user_code(
    source: str,
    problem: Problem,
    cost_name: str = "computeCost",
    gradient_name: str = "gradient",
    convention: str = FOUNDING_CONVENTION,
    shapes=None,
    eps: float = 1e-4,
    label_base: int = 0,
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
    dask: bool = False,
    heartbeat: Callable[[], None] | None = None,
) -> CodeRun:
    """Run the user's `source` in a sandboxed child process and check its gradient.

    `dask`: spread the cost evaluations over a local Dask cluster inside the same
    sandbox (its limits cover the workers too). `heartbeat` is called a few times a
    second while the child runs; an exception from it (a closed browser session)
    ends the child. Whether code may run here at all is `sandbox.code_policy`'s call.
    """
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")
    if convention == FOUNDING_CONVENTION and len(problem.layer_sizes) != 3:
        return CodeRun(
            False,
            "The seed's calling convention is for 3-layer networks (inputs, one hidden layer, "
            f"labels); the scenario has layers {'-'.join(map(str, problem.layer_sizes))}. "
            "Use the plain f(theta) convention or change the layer sizes.",
        )
    layout = (
        Layout.from_layer_sizes(problem.layer_sizes)
        if shapes is None
        else Layout.from_shapes(shapes)
    )
    limits = limits or Limits()
    isolation = detect_isolation()
    if dask and not isolation.sandboxed:
        return CodeRun(
            False,
            "Dask workers for pasted code run only inside the sandbox, which this machine "
            f"lacks. {isolation.describe()}",
        )
    protect_server_process()
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
        "dask": bool(dask),
        "sandboxed": isolation.sandboxed,
        "wall_seconds": limits.wall_seconds,
    }
    with tempfile.TemporaryDirectory(prefix="gradscope-") as tmp:
        work = _work_folder(Path(tmp))
        _write_request(work / "request", request, problem)
        start = time.monotonic()
        expect = Expected(layout.n_params, lambda reply: layout, exact_total=True)
        outcome = _run_child(work, isolation, limits, expect, progress, heartbeat)
        seconds = time.monotonic() - start
        printed = _read_capped(work / "stdout.txt")
    return _code_run(outcome, source, label_base, layout, problem, eps, printed, seconds)


def _code_run(outcome, source, label_base, layout, problem, eps, printed, seconds):
    """The CodeRun for what came back: a message, or the result computed here."""
    isolation = detect_isolation().describe()
    common = {"seconds": seconds, "isolation": isolation}
    if outcome.failure is not None:
        return CodeRun(False, outcome.failure, output=printed, **common)
    reply = outcome.reply
    output = (_text(reply.get("output"), OUTPUT_READ_LIMIT + 1000) + printed).strip()
    hint = _text(reply.get("hint"), MESSAGE_LIMIT) or source_label_hint(source, label_base)
    if not reply.get("ok"):
        return _failed_run(reply, output, common, hint)
    arrays = outcome.arrays
    base = arrays["cost"][0]
    if not (np.all(np.isfinite(arrays["shifted"])) and np.isfinite(base)):
        return CodeRun(
            False,
            "Your cost returned NaN or an infinite value near theta: the cost must be "
            "finite at theta and nearby.",
            output=output,
            **common,
        )
    for name in ("analytic", "theta"):
        if not np.all(np.isfinite(arrays[name])):
            what = "gradient" if name == "analytic" else "theta"
            return CodeRun(
                False, f"Your {what} contains NaN or infinite values.", output=output, **common
            )
    shifted = arrays["shifted"].reshape(layout.n_params, -1)
    result = result_from_arrays(
        arrays["analytic"],
        combine_costs(None, shifted, eps, CENTRAL),
        arrays["theta"],
        layout,
        float(base),
        eps,
        penalty=(problem.lamb, problem.m),
    )
    result = _explained(result, reply, source, layout.names)
    return CodeRun(
        True,
        "",
        hint=hint or None,
        output=output,
        result=result,
        theta_from_code=reply.get("theta_from_code") is True,
        **common,
    )


def run_user_contract(
    file,
    loss: str | None,
    params: str | None,
    grads: str | None = None,
    eps: float = 1e-4,
    dtype: str | None = None,
    limits: Limits | None = None,
    progress: Callable[[int, int], None] | None = None,
    heartbeat: Callable[[], None] | None = None,
    *,
    main: str | None = None,
    segments: str | None = None,
    order: str | None = None,
    set_params: str | None = None,
    forward: str | None = None,
    backward: str | None = None,
    on_screen: Callable[[list[ScreenLine]], None] | None = None,
) -> CodeRun:
    """The general contract: run the user's main file once as a module in the sandboxed
    child (the .py files of its folder importable), evaluate `params`, `loss` and `grads`
    (Python expressions) in its namespace, and check the gradient at the user's own point.
    With `forward` (a call, `affine_forward(x, w, b)`) instead of loss and params: the
    call's float inputs checked as a vector-Jacobian product (engine.params.layer),
    against `backward` or the forward's twin, or autograd / jax.vjp.
    `on_screen` receives the per-array screen (engine.params.screen) as soon as the
    child sends it, before the exact check; the CodeRun keeps it too (`screen`).

    `file` is a path (its folder's .py files are shipped, as `check-code FILE` does), or
    the sources themselves, `{relative path: bytes}` (pasted or uploaded in the app),
    with `main` naming the file to run; both are bounded by `check_sources`.
    The child perturbs the params in place and sends theta, the user's gradient and the
    loss at theta and at every shifted point, with the arrays' names and shapes; the
    names and shapes are validated here, the differences and the verdict computed here.
    `dtype` (float32 or float64) overrides the params' own precision.
    """
    if dtype is not None and dtype not in DTYPE_NAMES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    if isinstance(file, dict):
        label = main or (next(iter(file)) if len(file) == 1 else "your code")
        try:
            shipped, main = check_sources(file, main)
            source = shipped[main].decode("utf-8")
        except ValueError as error:  # UnicodeDecodeError is a ValueError
            return CodeRun(False, f"{label}: {error}")
    else:
        path = Path(file)
        try:
            source = path.read_text(encoding="utf-8")
            shipped = _sources_to_ship(path)
        except (OSError, ValueError) as error:  # UnicodeDecodeError is a ValueError
            return CodeRun(False, f"{path}: {error}")
        main, label = path.name, str(file)
    limits = limits or Limits()
    isolation = detect_isolation()
    protect_server_process()
    main_path = PurePosixPath(main)
    request = {
        "mode": CONTRACT_MODE,
        "source": source,
        "filename": main_path.name,
        "module": main_path.stem,
        "params": params,
        "loss": loss,
        "grads": grads,
        "segments": segments,  # checked and applied by the child (usercode_child)
        "order": order,
        "set_params": set_params,
        "forward": forward,
        "backward": backward,
        "eps": float(eps),
        "wall_seconds": limits.wall_seconds,
        "dask": False,
        "sandboxed": isolation.sandboxed,
    }
    with tempfile.TemporaryDirectory(prefix="gradscope-") as tmp:
        work = _work_folder(Path(tmp))
        (work / "request" / "request.json").write_text(json.dumps(request))
        (work / "request" / "request.json").chmod(0o644)
        _write_sources(work / "request" / SOURCE_FOLDER, shipped)
        screen: list[ScreenLine] = []

        def receive(sent) -> None:
            lines = screen_lines(sent, float(eps))
            if lines is not None and not screen:
                screen.extend(lines)
                if on_screen is not None:
                    on_screen(lines)

        expect = Expected(MAX_CONTRACT_PARAMS, contract_layout, probe=True, on_screen=receive)
        start = time.monotonic()
        outcome = _run_child(work, isolation, limits, expect, progress, heartbeat)
        seconds = time.monotonic() - start
        printed = _read_capped(work / "stdout.txt")
    run = _contract_run(outcome, request, label, dtype, printed, seconds)
    return dataclasses.replace(run, screen=tuple(screen))


def check_sources(files: dict, main: str | None = None) -> tuple[dict[str, bytes], str]:
    """Sources given as `{relative path: bytes}` (pasted or uploaded), and the main file,
    as the child gets them: the .py files of the main file's folder and below, by their
    path relative to it (as `check-code FILE` ships FILE's folder). ValueError with the
    reason for paths that are absolute or climb out ('..'), more than MAX_SOURCE_FILES
    files, MAX_SOURCE_BYTES bytes or MAX_SOURCE_DEPTH folders, or a main file that is
    not among them. `main` may be left out when there is one file."""
    if not isinstance(files, dict) or not files:
        raise ValueError("no .py file was given")
    if len(files) > MAX_SOURCE_FILES:
        raise ValueError(
            f"{len(files)} files were given; at most {MAX_SOURCE_FILES} .py files are shipped"
        )
    clean: dict[str, bytes] = {}
    total = 0
    for name, data in files.items():
        path = safe_relative_path(name)
        if not isinstance(data, bytes):
            raise ValueError(f"{path}: its content is not bytes")
        total += len(data)
        if total > MAX_SOURCE_BYTES:
            raise ValueError(
                f"the files are over {MAX_SOURCE_BYTES // 1024**2} MB together: keep the "
                "model and its helper modules only"
            )
        clean[str(path)] = data
    if main is None and len(clean) == 1:
        main = next(iter(clean))
    main_path = safe_relative_path(main) if main else None
    if main_path is None or str(main_path) not in clean:
        raise ValueError(f"the main file {main!r} is not among the files given")
    folder = main_path.parent
    shipped = {
        str(PurePosixPath(name).relative_to(folder)): data
        for name, data in clean.items()
        if PurePosixPath(name).is_relative_to(folder) and name.endswith(".py")
    }
    for name in shipped:
        if len(PurePosixPath(name).parts) - 1 > MAX_SOURCE_DEPTH:
            raise ValueError(
                f"{name} lies more than {MAX_SOURCE_DEPTH} folders below the main file"
            )
    return shipped, str(main_path.relative_to(folder))


def sources_from_zip(data: bytes) -> dict[str, bytes]:
    """The .py files of a zip archive (a folder with helper modules), by path, read no
    further than the bounds; ValueError saying why for a damaged archive, more than
    MAX_ZIP_ENTRIES entries, paths leaving the folder, or more files or bytes than a run
    takes. Hidden folders, __pycache__ and __MACOSX are left out; nothing is extracted."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ValueError(f"not a readable zip archive ({error})") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise ValueError(
            f"it holds {len(entries):,} entries; archives of up to {MAX_ZIP_ENTRIES:,} are read"
        )
    found: dict[str, bytes] = {}
    total = 0
    with archive:
        for entry in entries:
            path = safe_relative_path(entry.filename.rstrip("/") or ".")
            skipped = any(
                part.startswith(".") or part in ("__pycache__", "__MACOSX") for part in path.parts
            )
            if entry.is_dir() or skipped or path.suffix != ".py":
                continue
            if len(found) >= MAX_SOURCE_FILES:
                raise ValueError(f"it holds more than {MAX_SOURCE_FILES} .py files")
            try:
                with archive.open(entry) as member:  # never more than the bound allows
                    content = member.read(MAX_SOURCE_BYTES - total + 1)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError) as error:
                raise ValueError(f"{path} cannot be read from it ({error})") from None
            total += len(content)
            if total > MAX_SOURCE_BYTES:
                raise ValueError(
                    f"its .py files are over {MAX_SOURCE_BYTES // 1024**2} MB together"
                )
            found[str(path)] = content
    if not found:
        raise ValueError("it holds no .py file")
    return found


def safe_relative_path(name) -> PurePosixPath:
    """`name` as a relative POSIX path inside its folder, or ValueError: absolute paths,
    '..', drive letters, backslashes and control characters are refused."""
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
        raise ValueError("a file name must be 1 to 200 characters")
    if "\\" in name or ":" in name or any(ord(ch) < 32 for ch in name):
        raise ValueError(f"the path {name!r} has a backslash, a colon or a control character")
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("..", ".", "") for part in name.split("/")):
        raise ValueError(f"the path {name!r} leaves its folder (absolute, '.' or '..' parts)")
    return path


def _sources_to_ship(path: Path) -> dict[str, bytes]:
    """The .py files of the user's folder (subfolders up to MAX_SOURCE_DEPTH deep, hidden
    folders and symbolic links left out), by relative path; ValueError past the bounds."""
    folder = path.resolve().parent
    found: dict[str, bytes] = {}
    total = 0
    for root, dirs, files in os.walk(folder):
        here = Path(root)
        depth = len(here.relative_to(folder).parts)
        dirs[:] = sorted(
            d
            for d in dirs
            if depth < MAX_SOURCE_DEPTH
            and not d.startswith(".")
            and d != "__pycache__"
            and not (here / d).is_symlink()
        )
        for name in sorted(files):
            target = here / name
            if not name.endswith(".py") or target.is_symlink() or not target.is_file():
                continue
            if len(found) >= MAX_SOURCE_FILES:
                raise ValueError(
                    f"its folder holds more than {MAX_SOURCE_FILES} .py files (GradScope ships "
                    "the folder's .py files so helpers import): put the file and its helper "
                    "modules in a folder of their own"
                )
            with open(target, "rb") as source:  # never more than the bound allows
                data = source.read(MAX_SOURCE_BYTES - total + 1)
            total += len(data)
            if total > MAX_SOURCE_BYTES:
                raise ValueError(
                    f"the .py files of its folder are over {MAX_SOURCE_BYTES // 1024**2} MB "
                    "together: put the file and its helper modules in a folder of their own"
                )
            found[str(target.relative_to(folder))] = data
    return found


def _write_sources(folder: Path, files: dict[str, bytes]) -> None:
    """Copies (never the user's folder itself) of the .py files, read-only to the child."""
    folder.mkdir(mode=0o755)
    for relative, data in files.items():
        target = folder / relative
        for parent in reversed(target.relative_to(folder).parents[:-1]):
            (folder / parent).mkdir(mode=0o755, exist_ok=True)
        target.write_bytes(data)
        target.chmod(0o644)


def screen_lines(sent, eps: float) -> list[ScreenLine] | None:
    """The child's per-array screen, judged here (engine.params.screen); None for a
    frame that does not hold one (wrong types, sizes, or numbers that are not finite)."""
    if not isinstance(sent, dict):
        return None
    names, values, base, dtype = (sent.get(k) for k in ("names", "values", "base", "dtype"))
    if not (
        isinstance(names, list)
        and isinstance(values, list)
        and 1 <= len(names) == len(values) <= MAX_SCREEN_ARRAYS
        and all(isinstance(n, str) and 0 < len(n) <= MAX_NAME_CHARS for n in names)
        and all(isinstance(v, list) and len(v) == 2 for v in values)
        and dtype in DTYPE_NAMES
    ):
        return None
    try:
        numbers = np.array(values, dtype=np.float64)
        base = float(base)
    except (TypeError, ValueError):
        return None
    if not (np.all(np.isfinite(numbers)) and np.isfinite(base)):
        return None
    floor = noise_floor(dtype, "central", eps, base).absolute
    return judge(names, numbers.tolist(), dtype, floor)


def contract_layout(reply: dict) -> Layout:
    """The layout a child's reply names, or ChannelError: names and shapes checked for
    type, count and size here, so the child cannot make the parent allocate beyond
    MAX_CONTRACT_PARAMS."""
    names, shapes = reply.get("names"), reply.get("shapes")
    if not (isinstance(names, list) and isinstance(shapes, list)):
        raise ChannelError("the reply did not name the arrays and their shapes")
    if not 1 <= len(names) == len(shapes) <= MAX_CONTRACT_ARRAYS:
        raise ChannelError(
            f"the reply named {len(names)} arrays and {len(shapes)} shapes (1 to "
            f"{MAX_CONTRACT_ARRAYS:,} expected)"
        )
    total = 0
    for name, shape in zip(names, shapes):
        if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME_CHARS:
            raise ChannelError("an array name was not a string of 1 to 200 characters")
        if not (
            isinstance(shape, list)
            and len(shape) <= MAX_NDIM
            and all(isinstance(d, int) and not isinstance(d, bool) and d >= 1 for d in shape)
        ):
            raise ChannelError(f"the shape of {name[:50]!r} was not a list of positive integers")
        size = 1
        for d in shape:
            size *= d
            if size > MAX_CONTRACT_PARAMS:
                break
        total += size
        if total > MAX_CONTRACT_PARAMS:
            raise ChannelError(
                f"the params have more than {MAX_CONTRACT_PARAMS:,} entries, more than a "
                "check-code run takes"
            )
    try:
        return Layout.from_arrays(names, [tuple(shape) for shape in shapes])
    except ValueError as error:
        raise ChannelError(str(error)) from None


def _failed_run(reply: dict, output: str, common: dict, hint: str | None = None) -> CodeRun:
    """The child's refusal or the user's error, its message, line and text bounded."""
    line = reply.get("line")
    return CodeRun(
        False,
        _text(reply.get("message"), MESSAGE_LIMIT) or "Your code failed.",
        line if isinstance(line, int) and not isinstance(line, bool) else None,
        _text(reply.get("line_text"), 500) or None,
        hint or None,
        output,
        **common,
    )


def _contract_run(outcome, request, file, dtype, printed, seconds) -> CodeRun:
    isolation = detect_isolation().describe()
    common = {"seconds": seconds, "isolation": isolation}
    if outcome.failure is not None:
        return CodeRun(False, outcome.failure, output=printed, **common)
    reply = outcome.reply
    output = (_text(reply.get("output"), OUTPUT_READ_LIMIT + 1000) + printed).strip()
    if not reply.get("ok"):
        return _failed_run(reply, output, common)
    layout, arrays = outcome.layout, outcome.arrays
    base = arrays["cost"][0]
    for name, what in (
        ("cost", "the loss at the params"),
        ("shifted", "the loss near the params"),
        ("analytic", "the gradient"),
        ("theta", "the params"),
    ):
        if not np.all(np.isfinite(arrays[name])):
            return CodeRun(
                False,
                f"{what.capitalize()} contained NaN or infinite values.",
                output=output,
                **common,
            )
    params_dtype = reply.get("dtype") if reply.get("dtype") in DTYPE_NAMES else DTYPE_NAMES[-1]
    check_dtype = dtype or params_dtype
    shifted = arrays["shifted"].reshape(layout.n_params, -1)
    eps = request["eps"]
    numerical = combine_costs(None, shifted, eps, CENTRAL, np.dtype(check_dtype).type)
    analytic = arrays["analytic"].astype(check_dtype)
    measured = measured_noise(
        numerical, arrays["probe"], probe_indices(_sizes(layout)), eps, PROBE_STEPS
    )
    result = result_from_arrays(
        analytic,
        numerical,
        arrays["theta"],
        layout,
        float(base),
        eps,
        measured=measured,
        shifted=shifted,
    )
    result = _explained(result, reply, request["source"], layout.names)
    expressions = _expressions(request, reply)
    model = ContractModel(
        file,
        expressions["loss"],
        expressions["params"],
        expressions["grads"],
        layout.names,
        layout.shapes,
        params_dtype,
        check_dtype,
        _notes(reply.get("notes")),
    )
    return CodeRun(True, "", output=output, result=result, model=model, **common)


def _explained(result: CheckResult, reply: dict, source: str, names) -> CheckResult:
    """The result with the child's trace of the user's file and the symmetry of their
    gradient (both checked as untrusted input), for the diagnosis."""
    trace = SourceTrace.from_reply(reply["trace"], source, names) if reply.get("trace") else None
    symmetry = None
    if reply.get("symmetry") and not result.agrees:
        symmetry = JacobianSymmetry.from_dict(reply["symmetry"])
    penalty = result.penalty or (trace.penalty if trace is not None else None)
    return dataclasses.replace(result, trace=trace, symmetry=symmetry, penalty=penalty)


def _expressions(request: dict, reply: dict) -> dict:
    """The loss, params and grads the check used: the request's expressions, or what the
    child found in their place (a layer's VJP loss and inputs, autograd for the grads),
    each a bounded string."""
    sent = reply.get("expressions")
    sent = sent if isinstance(sent, dict) else {}
    return {
        role: _text(sent.get(role), 500) or request.get(role)
        for role in ("loss", "params", "grads")
    }


def source_label_hint(source: str, label_base: int) -> str | None:
    """Octave habits in the source (y - 1 as an index) while labels are passed 0-based."""
    if label_base == 0 and re.search(r"\by\s*(\[[^\]]*\])?\s*-\s*1\b", source):
        return (
            "Your code subtracts 1 from the labels, as Octave code does, but labels are "
            "passed 0-based (0..K-1). If your code expects 1..K, switch the label "
            "convention to 1-based."
        )
    return None


def _work_folder(work: Path) -> Path:
    """A run's folders: its request (read-only to the child), scratch, and an import root
    holding GradScope's engine alone, not the project."""
    (work / "request").mkdir(mode=0o755)
    (work / "scratch").mkdir(mode=0o700)
    (work / "import").mkdir(mode=0o755)
    (work / "import" / "engine").symlink_to(ENGINE_DIR)
    return work


def _write_request(folder: Path, request: dict, problem: Problem) -> None:
    """The child's instructions (JSON) and its data (the problem's arrays, labels shifted)."""
    (folder / "request.json").write_text(json.dumps(request))
    labels = problem.y + request["label_base"]
    np.savez(folder / "request.npz", X=problem.X, y=labels, theta=problem.theta)
    for path in folder.iterdir():
        path.chmod(0o644)


def _child_environment(sandboxed: bool, scratch: Path) -> dict:
    """A clean environment: nothing of the server's (secrets, paths) reaches the child."""
    keep = ("LANG", "LC_ALL", "OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
    env = {k: os.environ[k] for k in keep if k in os.environ}
    home = "/work" if sandboxed else str(scratch)
    env.update(
        PATH="/usr/local/bin:/usr/bin:/bin",
        HOME=home,
        TMPDIR="/tmp" if sandboxed else str(scratch),
        PYTHONPATH=SANDBOX_ENGINE_PARENT if sandboxed else str(scratch.parent / "import"),
        OPENBLAS_NUM_THREADS="1",
        OMP_NUM_THREADS="1",
        MKL_NUM_THREADS="1",
        PYTHONDONTWRITEBYTECODE="1",
        PYTHONHASHSEED="0",
        MPLBACKEND="Agg",
    )
    return env


@dataclass
class ChildOutcome:
    failure: str | None = None  # a message when no usable reply came back
    reply: dict = field(default_factory=dict)
    arrays: dict = field(default_factory=dict)
    layout: Layout | None = None


@dataclass(frozen=True)
class Expected:
    """What the parent accepts from a child: at most `max_params` entries (this bounds
    the pipe), the layout the reply's arrays must have (`layout_from_reply` raises
    ChannelError for a reply it refuses), and whether progress must count exactly
    `max_params`."""

    max_params: int
    layout_from_reply: Callable[[dict], Layout]
    exact_total: bool = False
    probe: bool = False  # a contract run: the loss at a second step follows
    on_screen: Callable[[object], None] | None = None  # receives the child's screen frame


class ReplyChannel:
    """Reads the child's frames on a thread (so the child never blocks on a full pipe).

    The thread polls with a timeout, so `close` can stop it even while a leftover
    process still holds the pipe's other end; the fd is closed only after the thread
    has stopped reading it (a closed fd number can be reused by the next open).
    """

    def __init__(self, fd: int, max_bytes: int):
        self.fd = fd
        self.reader = FrameReader(max_bytes)
        self.error: str | None = None
        self.closed = threading.Event()
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            while not self.stopping.is_set():
                ready, _, _ = select.select([self.fd], [], [], 0.1)
                if not ready:
                    continue
                data = os.read(self.fd, 1 << 16)
                if not data:
                    self.reader.finish()
                    break
                with self.lock:
                    self.reader.feed(data)
        except ChannelError as error:
            self.error = str(error)
        except OSError:
            pass
        finally:
            self.closed.set()

    def take_frames(self) -> list[tuple[bytes, bytes]]:
        with self.lock:
            frames, self.reader.frames = self.reader.frames, []
        return frames

    def close(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=2.0)
        if not self.thread.is_alive():
            os.close(self.fd)


def _run_child(work, isolation, limits, expect, progress, heartbeat) -> ChildOutcome:
    """Start the child, feed progress and heartbeats, and always end its whole tree."""
    read_fd, write_fd = os.pipe()
    probe = 8 * PROBE_ENTRIES * len(PROBE_STEPS) if expect.probe else 0
    max_bytes = 8 * expect.max_params * (2 + len(CENTRAL.steps)) + probe + 8 * 16 + 4 * 1024**2
    channel = ReplyChannel(read_fd, max_bytes)
    child_args = ["-m", "engine.runners.usercode_child", "--reply-fd", str(write_fd)]
    cgroup = CgroupRun(isolation, limits) if isolation.cgroup else None
    env = _child_environment(isolation.sandboxed, work / "scratch")
    if isolation.sandboxed:
        child_args += ["--request", SANDBOX_REQUEST_DIR]
        argv = sandbox_command(isolation, child_args, work / "request", limits, env)
    else:
        argv = [sys.executable, "-s", *child_args, "--request", str(work / "request")]
    frames: list = []
    started = time.monotonic()
    child = None
    try:
        with open(work / "stdout.txt", "wb") as out:
            child = subprocess.Popen(
                argv,
                cwd=work / "scratch",
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                pass_fds=(write_fd,),
                preexec_fn=child_preexec(limits, cgroup),
                start_new_session=True,
            )
        os.close(write_fd)
        write_fd = -1
        outcome = _watch(child, channel, frames, limits, expect, progress, heartbeat, started)
        if outcome is not None:
            return outcome
        returncode = child.returncode
        channel.closed.wait(2.0)  # the reply's last bytes; a grandchild may hold the pipe
        if channel.error:
            return ChildOutcome(f"GradScope could not read your code's reply: {channel.error}.")
        frames += channel.take_frames()
        elapsed = time.monotonic() - started
        return _outcome_from_frames(frames, expect, returncode, limits, cgroup, elapsed, isolation)
    finally:
        if child is not None:
            _end_tree(child)
        if write_fd >= 0:
            os.close(write_fd)
        if cgroup is not None:
            cgroup.close()
        channel.close()


def _watch(child, channel, frames, limits, expect, progress, heartbeat, started):
    """Wait for the child, passing on progress; an outcome if it must be stopped early."""
    deadline = started + limits.wall_seconds
    last_beat = 0.0
    while child.poll() is None:
        now = time.monotonic()
        if now > deadline:
            return ChildOutcome(
                f"Your code did not finish within {limits.wall_seconds:g} s (an endless loop, "
                "or a cost far too slow to evaluate twice per parameter?). It was stopped."
            )
        if channel.error:
            return ChildOutcome(f"GradScope could not read your code's reply: {channel.error}.")
        new = channel.take_frames()
        frames += [f for f in new if not _report_progress(f, progress, expect)]
        if heartbeat is not None and now - last_beat >= HEARTBEAT_SECONDS:
            last_beat = now
            heartbeat()
        time.sleep(0.05)
    return None


def _report_progress(frame, progress, expect) -> bool:
    """True if `frame` was a progress or a screen message (passed on only when it makes
    sense)."""
    try:
        message = decode_json(*frame)
    except ChannelError:
        return False
    if set(message) == {"screen"}:
        if expect.on_screen is not None:
            expect.on_screen(message["screen"])
        return True
    if set(message) != {"progress"}:
        return False
    value = message["progress"]
    if (
        progress is not None
        and isinstance(value, list)
        and len(value) == 2
        and all(isinstance(v, int) and not isinstance(v, bool) for v in value)
        and 0 <= value[0] <= value[1] <= expect.max_params
        and (value[1] == expect.max_params or not expect.exact_total)
    ):
        progress(value[0], value[1])
    return True


def _sizes(layout: Layout) -> list[int]:
    return [int(np.prod(shape, dtype=np.int64)) for shape in layout.shapes]


def _outcome_from_frames(frames, expect, returncode, limits, cgroup, elapsed, isolation):
    """Exactly one reply, then its arrays in order, in the sizes the parent expects."""
    frames = [f for f in frames if not _report_progress(f, None, expect)]
    if not frames:
        return ChildOutcome(_death_message(returncode, limits, cgroup, elapsed, isolation))
    try:
        message = decode_json(*frames[0])
        reply = message.get("reply")
        if not isinstance(reply, dict):
            raise ChannelError("the reply had no result")
        if not reply.get("ok"):
            if len(frames) > 1:
                raise ChannelError("more data followed the reply")
            return ChildOutcome(reply=reply)
        layout = expect.layout_from_reply(reply)
        sizes = {
            "theta": layout.n_params,
            "analytic": layout.n_params,
            "cost": 1,
            "shifted": layout.n_params * len(CENTRAL.steps),
        }
        if expect.probe:  # the contract's loss at +-2 eps for the sampled entries
            sizes["probe"] = len(PROBE_STEPS) * len(probe_indices(_sizes(layout)))
        if len(frames) != 1 + len(sizes):
            raise ChannelError(
                f"expected {len(sizes)} arrays after the reply, got {len(frames) - 1}"
            )
        arrays = {
            name: decode_array(*frame, sizes[name], name) for name, frame in zip(sizes, frames[1:])
        }
    except ChannelError as error:
        return ChildOutcome(f"GradScope could not read your code's reply: {error}.")
    return ChildOutcome(reply=reply, arrays=arrays, layout=layout)


def _end_tree(child: subprocess.Popen) -> None:
    """SIGKILL the child's session and reap it (the PID namespace takes the rest)."""
    for kill in (os.killpg, os.kill):
        try:
            kill(child.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    try:
        child.wait(timeout=5)
    except subprocess.TimeoutExpired:
        pass


def _death_message(returncode, limits: Limits, cgroup, elapsed: float, isolation) -> str:
    """Why the child ended without a reply, as far as the evidence tells."""
    signum = -returncode if returncode < 0 else None
    if isolation.sandboxed and returncode > 128:  # bubblewrap reports 128 + signal
        signum = returncode - 128
    if cgroup is not None and cgroup.memory_limit_hit():
        return (
            f"Your code used more than {limits.memory_bytes / 1024**3:g} GB of memory "
            "(all its processes together) and was stopped."
        )
    if cgroup is not None and cgroup.process_limit_hit() and signum is not None:
        return f"Your code tried to start more than {limits.processes} processes and was stopped."
    if signum == signal.SIGXCPU:
        return (
            f"Your code used more than {limits.cpu_seconds} s of CPU time and was stopped "
            "(an endless loop?)."
        )
    if signum == signal.SIGXFSZ:
        return f"Your code printed more than {limits.output_bytes // 1024**2} MB and was stopped."
    if signum == signal.SIGKILL:
        cores = os.cpu_count() or 1
        if elapsed * cores < limits.cpu_seconds:
            return (
                "Your code's process was killed (SIGKILL) from outside GradScope after "
                f"{elapsed:.1f} s, before it returned results."
            )
        return (
            "Your code's process was killed (SIGKILL): by its CPU-time limit of "
            f"{limits.cpu_seconds} s if it ignored SIGXCPU, or from outside GradScope."
        )
    if signum is not None:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        return f"Your code's process was killed by {name} before it returned results."
    return (
        f"Your code ended the process (exit status {returncode}, e.g. os._exit) before "
        "GradScope got its results."
    )


def _notes(value) -> tuple[str, ...]:
    """The child's notes on the params (at most 8 strings of 1,000 characters)."""
    if not isinstance(value, list):
        return ()
    return tuple(t for t in (_text(item, 1000) for item in value[:8]) if t)


def _text(value, limit: int) -> str:
    """A string from the child, or '' for anything else; cut to `limit` characters."""
    if not isinstance(value, str):
        return ""
    return value if len(value) <= limit else value[:limit] + " ... (cut)"


def _read_capped(path: Path) -> str:
    if not path.exists() or not path.is_file():
        return ""
    with open(path, "rb") as f:
        data = f.read(OUTPUT_READ_LIMIT)
        more = f.read(1)
    text = data.decode("utf-8", errors="replace")
    return text + ("\n... (output cut)" if more else "")
