"""The child side of `usercode`: runs pasted code and reports back plain numbers.

Started by `engine.runners.usercode` as `python -m engine.runners.usercode_child --request DIR
--reply-fd N`, inside the sandbox with its limits already in place. Reads
DIR/request.json and request.npz, locks itself down further (seccomp, Landlock),
runs the user's code, and sends progress and the reply as frames over fd N
(`engine.runners.channel`): the parameters, the user's gradient, and the user's cost at
theta and at every shifted point. The finite differences are not taken here: the
parent takes them, so this process cannot forge the verdict.
Everything the user's code prints goes to a bounded buffer, never to the parent.
"""

from __future__ import annotations

import argparse
import errno
import io
import json
import os
import sys
import time
import traceback
from pathlib import Path

from engine.runners import channel

# How the user's cost and gradient are called. The founding question's convention (its
# value "seed" is what `--convention` and the Your code page take): f(theta, X, y,
# input_layer_size, hidden_layer_size, num_labels, lamb) on a 3-layer network. The
# plain one: f(theta), with the matrix shapes given apart.
FOUNDING_CONVENTION = "seed"
PLAIN_CONVENTION = "plain"
# The general contract: the user's file runs as a module, then --params, --loss and
# --grads are Python expressions evaluated in its namespace (engine.params.structure).
CONTRACT_MODE = "contract"
SOURCE_FOLDER = "src"  # in the request folder: the .py files of the user's folder
USER_FILENAME = "<your code>"
OUTPUT_LIMIT = 64 * 1024
MESSAGE_LIMIT = 2000
STARTED = time.monotonic()  # the child's start: the time limit counts from about here


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
    """The line of the user's code where `error` happened, if it happened there (for an
    exception carried back from a forked worker, the line it found there)."""
    if hasattr(error, "type_name"):  # engine.runners.forked.WorkerFailure
        return getattr(error, "line", None)
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
        kind = getattr(error, "type_name", None) or type(error).__name__
        message = f"{kind} {stage}: {_shortened(str(error))}"
    return {"ok": False, "message": message, "line": line, "line_text": text and text[:500]}


def _shortened(text: str, limit: int = MESSAGE_LIMIT) -> str:
    """Exception texts can be megabytes (a printed array): the reply keeps their start."""
    return text if len(text) <= limit else text[:limit] + " ... (cut)"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="engine.runners.usercode_child")
    parser.add_argument("--request", required=True)
    parser.add_argument("--reply-fd", type=int, required=True)
    args = parser.parse_args(argv)
    folder = Path(args.request)
    request = json.loads((folder / "request.json").read_text())
    output = BoundedOutput()
    sys.stdout = sys.stderr = output
    lock_down(folder, request)
    lines = request["source"].splitlines()
    if request.get("mode") == CONTRACT_MODE:
        reply, arrays = run_contract(request, folder, lines, args.reply_fd)
    else:
        reply, arrays = run(request, folder, lines, args.reply_fd)
    reply["output"] = output.text()
    channel.write_json(args.reply_fd, {"reply": reply})
    for values in arrays:
        channel.write_array(args.reply_fd, values)
    os.close(args.reply_fd)
    return 0


def lock_down(request_folder: Path, request: dict) -> None:
    """Capabilities, seccomp and Landlock, before any user code: what they refuse stays
    refused. Inside bubblewrap the namespaces come first; without it these are the walls."""
    from engine.runners.sandbox import (
        ENGINE_DIR,
        apply_landlock,
        apply_seccomp,
        drop_capabilities,
        python_readable_paths,
    )

    sandboxed = bool(request.get("sandboxed"))
    uses_network = bool(request.get("dask"))
    if not sandboxed and os.geteuid() == 0:
        drop_capabilities()
    import_roots = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    readable = [*python_readable_paths(), *import_roots, str(ENGINE_DIR), str(request_folder)]
    readable += ["/proc", "/sys", "/dev", "/etc/ld.so.cache", "/usr"]
    writable = [os.getcwd(), os.environ.get("TMPDIR", "/tmp"), "/dev/null"]
    if sandboxed:  # the sandbox's own /tmp and /dev/shm, private to this run
        writable += ["/tmp", "/dev/shm"]
    apply_landlock(readable, writable, allow_tcp=uses_network)
    apply_seccomp(allow_inet=uses_network and sandboxed, allow_unix=sandboxed)


def run(request: dict, folder: Path, lines: list[str], reply_fd: int) -> tuple[dict, list]:
    """(reply, arrays): the reply says ok or what went wrong; arrays follow an ok reply."""
    import numpy as np

    from engine.gradcheck.check import cost_value, gradient_vector, parameter_vector
    from engine.gradcheck.numerical import loop_costs_at
    from engine.network.layout import Layout
    from engine.network.pieces import CENTRAL

    data = np.load(folder / "request.npz")
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
        return describe(error, lines, "while running your file"), []
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
            }, []
        functions[role] = function
    theta_from_code = "theta" in namespace
    args = ()
    if request["convention"] == FOUNDING_CONVENTION:
        args = (X, y, sizes[0], sizes[1], sizes[2], lamb)

    def cost(t):
        return cost_value(functions["cost"](t.copy(), *args))

    def gradient(t):
        return functions["gradient"](t.copy(), *args)

    layout = Layout.from_shapes(request["shapes"])
    last = [0.0]

    def progress(done, total):
        now = time.monotonic()
        if now - last[0] >= 0.2 or done == total:
            last[0] = now
            channel.write_json(reply_fd, {"progress": [done, total]})

    try:
        if theta_from_code:
            theta = namespace["theta"]
        theta = parameter_vector(theta, layout)
        analytic = gradient_vector(gradient(theta.copy()), layout)
        base = cost(theta.copy())
        evaluate = _dask_costs if request.get("dask") else loop_costs_at
        _, shifted = evaluate(
            cost, theta, range(theta.size), request["eps"], CENTRAL, np.float64, progress
        )
    except ValueError as error:
        if user_line(error) is None:
            reply = {"ok": False, "message": _shortened(str(error)), "line": None}
            return reply | {"line_text": None}, []
        return describe(error, lines, "in your cost or gradient"), []
    except BaseException as error:  # noqa: BLE001
        reply = describe(error, lines, "in your cost or gradient")
        reply["hint"] = label_hint(error, request)
        return reply, []
    reply = {"ok": True, "theta_from_code": theta_from_code}
    if time.monotonic() - STARTED < 0.5 * float(request.get("wall_seconds") or 0):
        from engine.params.tracing import gradients_by_name

        targets = gradients_by_name(layout.names, layout.sizes, analytic)
        reply["trace"] = _trace(lambda: gradient(theta.copy()), targets, float(base), request)
    return reply, [theta, analytic, np.array([float(base)]), shifted.ravel()]


def run_contract(request: dict, folder: Path, lines: list[str], reply_fd: int):
    """(reply, arrays) for the general contract: the file runs once as a module, its
    folder importable; the params are perturbed in place, entry by entry, and the loss
    read at each step. The reply names the arrays and their shapes; the arrays are
    theta, the user's gradient, the loss at theta and at each shifted point."""
    import contextlib
    import types

    from engine.params.segments import build_params, flat_grads
    from engine.params.structure import (
        ContractError,
        autograd_grads,
        flatten_params,
        match_grads,
        read_loss,
        same_arrays,
        without_graph,
    )

    sys.path.insert(0, str(folder / SOURCE_FOLDER))
    stem = request.get("module") or "user_module"
    module = types.ModuleType(stem)
    module.__file__ = str(folder / SOURCE_FOLDER / request.get("filename", "code.py"))
    if stem.isidentifier() and stem not in sys.modules:
        sys.modules[stem] = module  # dataclasses, pickling and helpers find it by name
    namespace = module.__dict__
    try:
        code = compile(request["source"], USER_FILENAME, "exec")
        exec(code, namespace)  # noqa: S102 - running the user's code is this module's job
    except BaseException as error:  # noqa: BLE001 - SystemExit, KeyboardInterrupt included
        return describe(error, lines, "while running your file"), []
    expressions = {}
    for role in ("params", "loss", "grads"):
        text = request.get(role)
        if request.get("forward"):
            break  # a layer pair: --forward and --backward are read by _run_layer
        if text is None:
            continue
        try:
            expressions[role] = compile(text.strip(), f"<--{role}>", "eval")
        except SyntaxError as error:
            message = f"--{role} `{text}` is not a Python expression: {error.msg}."
            return {"ok": False, "message": message, "line": None, "line_text": None}, []

    def evaluate(role: str):
        return eval(expressions[role], namespace)  # noqa: S307 - the user's own expression

    if request.get("forward"):
        return _run_layer(request, namespace, lines, reply_fd)
    stage = "in --params `{}`".format(request["params"])
    try:
        value = evaluate("params")
        stage = "in --set-params / --segments"
        setter, segmentation, notes = _contract_options(request, namespace, value)
        params, vector = build_params(value, request["params"], segmentation, setter)
        stage = "in --loss `{}`".format(request["loss"])
        raw = evaluate("loss")
        base, grads = read_loss(raw, request["loss"])
        by_autograd = False
        if "grads" in expressions:
            stage = "in --grads `{}`".format(request["grads"])
            grads = evaluate("grads")
            grads_expression = request["grads"]
        elif grads is None:
            stage = "in the backward of --loss `{}`".format(request["loss"])
            grads = autograd_grads(raw, params, request["loss"])
            by_autograd = grads is not None
            if grads is None:
                raise ContractError(
                    f"--loss `{request['loss']}` returned one number and no gradient: give "
                    "--grads EXPR, or make the loss return (loss, grads)"
                    + (
                        " (or a tensor with requires_grad, for autograd)."
                        if any(a.source is not None for a in params.arrays)
                        else "."
                    )
                )
            grads_expression = f"autograd: ({request['loss']}).backward()"
        else:
            grads_expression = f"{request['loss']}[1]"
        grads = flat_grads(grads, params, segmentation)
        analytic = match_grads(grads, params, grads_expression)  # a copy, before any step
        stage = "in --params `{}` evaluated again".format(request["params"])
        if setter is None:
            before = flatten_params(value, request["params"])
            same_arrays(before, flatten_params(evaluate("params"), request["params"]))
        stage = "in --loss `{}` at a shifted point".format(request["loss"])

        def loss_at():
            if setter is not None:
                setter(vector)  # the moved copy, handed over before every loss
            return read_loss(evaluate("loss"), request["loss"])[0]

        quiet = without_graph(params) if by_autograd else contextlib.nullcontext()
        try:
            with quiet:
                stage = "in --loss `{}` along a random direction".format(request["loss"])
                per_loss = _screen(params, loss_at, analytic, base, request, reply_fd)
                stage = "in --loss `{}` at a shifted point".format(request["loss"])
                shifted = _shifted(params, loss_at, request, reply_fd, per_loss, notes)
                probe = _probe(params, loss_at, request)
        finally:
            if setter is not None:
                setter(vector)  # back at the params' own values
    except ContractError as error:
        return _refusal(error), []
    except BaseException as error:  # noqa: BLE001
        notes = getattr(error, "__notes__", None) or []
        return describe(error, lines, " ".join([stage, *notes[-1:]])), []
    reply, arrays = _contract_reply(params, params.dtype(), base, analytic, shifted, notes)
    arrays.append(probe.ravel())

    def evaluate_again():
        if setter is not None:
            setter(vector)
        raw = evaluate("loss")
        if "grads" in expressions:
            return raw, evaluate("grads")
        return raw, None

    def backward(values):
        return autograd_grads(values[0], params, request["loss"])

    def gradient_at():
        raw, grads = evaluate_again()
        if grads is None:
            grads = backward((raw, None)) if by_autograd else read_loss(raw, request["loss"])[1]
        return match_grads(flat_grads(grads, params, segmentation), params, grads_expression)

    traced = (evaluate_again, backward if by_autograd else None)
    try:
        _explain(reply, params, analytic, base, request, per_loss, gradient_at, *traced)
    finally:
        if setter is not None:
            setter(vector)
    if by_autograd:
        reply["expressions"] = {"grads": grads_expression}
    return reply, arrays


def _run_layer(request: dict, namespace: dict, lines: list[str], reply_fd: int):
    """(reply, arrays) for `--forward CALL [--backward FUNC]`: the call's float inputs
    checked as a vector-Jacobian product (engine.params.layer)."""
    from engine.params.layer import LayerCheck, parse_forward
    from engine.params.structure import ContractError

    def evaluate(text: str):
        return eval(compile(text, "<--forward>", "eval"), namespace)  # noqa: S307

    stage = "in --forward `{}`".format(request["forward"])
    try:
        layer = LayerCheck(parse_forward(request["forward"]), evaluate, request.get("backward"))
        stage = "in the backward of `{}`".format(request["forward"])
        analytic = layer.gradient()
        stage = "in --forward `{}`".format(request["forward"])
        base = layer.loss()
        stage = "in --forward `{}` along a random direction".format(request["forward"])
        per_loss = _screen(layer.params, layer.loss, analytic, base, request, reply_fd)
        stage = "in --forward `{}` at a shifted point".format(request["forward"])
        notes = [layer.describe()]
        shifted = _shifted(layer.params, layer.loss, request, reply_fd, per_loss, notes)
        probe = _probe(layer.params, layer.loss, request)
    except ContractError as error:
        return _refusal(error), []
    except BaseException as error:  # noqa: BLE001
        notes = getattr(error, "__notes__", None) or []
        return describe(error, lines, " ".join([stage, *notes[-1:]])), []
    dtype = layer.dtype() or layer.params.dtype()
    reply, arrays = _contract_reply(layer.params, dtype, base, analytic, shifted, notes)
    reply["expressions"] = layer.expressions()
    arrays.append(probe.ravel())
    _explain(reply, layer.params, analytic, None, request, per_loss, layer.gradient)
    return reply, arrays


EXPLAIN_EVALUATIONS = 8  # the trace and the symmetry probe: about this many gradients


def _explain(
    reply, params, analytic, base, request, per_loss, gradient_at, evaluate=None, backward=None
) -> None:
    """What the numbers alone cannot say, added to the reply when the time limit leaves
    room: where the user's file made each gradient (engine.params.tracing) and whether
    their gradient is the gradient of some function (engine.params.symmetry)."""
    from engine.params.symmetry import jacobian_symmetry
    from engine.params.tracing import gradients_by_name

    left = float(request.get("wall_seconds") or 0) - (time.monotonic() - STARTED)
    if left < 3 * (EXPLAIN_EVALUATIONS * per_loss + 1):
        return  # the check itself matters more: its numbers go back without these
    sizes = [a.size for a in params.arrays]
    targets = gradients_by_name(params.names, sizes, analytic)
    try:
        reply["trace"] = _trace(evaluate or gradient_at, targets, base, request, backward)
        symmetry = jacobian_symmetry(params, gradient_at, params.dtype())
    except Exception:  # noqa: BLE001 - advisory: the check's own numbers still go back
        return
    if symmetry is not None and symmetry.informative:  # finite numbers only, for JSON
        reply["symmetry"] = symmetry.as_dict()


def _trace(evaluate, targets: dict, base, request: dict, backward=None) -> dict | None:
    """Where the user's file made each gradient, as JSON for the reply (or None)."""
    from engine.params.tracing import trace_gradient

    trace = trace_gradient(
        evaluate,
        targets,
        lambda filename: filename == USER_FILENAME,
        loss=base,
        filename=USER_FILENAME,
        source=request["source"],
        backward=backward,
    )
    return trace.as_reply() if trace is not None else None


def _refusal(error: BaseException) -> dict:
    return {"ok": False, "message": _shortened(str(error)), "line": None, "line_text": None}


def _shifted(params, loss_at, request: dict, reply_fd: int, seconds_per_loss: float, notes):
    """The loss at every entry moved by -eps and +eps, with progress frames, stopped
    early (with the numbers) when it cannot finish in the time left; spread over
    forked workers when the loop is long enough (engine.runners.forked), which `notes`
    (the header's) then says."""
    import numpy as np

    from engine.network.pieces import CENTRAL
    from engine.params.structure import ContractError, shifted_losses
    from engine.runners.forked import WorkerFailure, forked_map, worker_count

    last = [0.0]
    loop_start = time.monotonic()
    budget = float(request.get("wall_seconds") or 0) - (loop_start - STARTED)

    def progress(done, total):
        now = time.monotonic()
        if now - last[0] >= 0.2 or done == total:
            last[0] = now
            channel.write_json(reply_fd, {"progress": [done, total]})
            _refuse_if_too_slow(done, total, now - loop_start, budget)

    steps = [s for s in CENTRAL.steps if s != 0.0]
    workers = worker_count(params.size, len(steps) * seconds_per_loss)
    if workers == 1:
        return shifted_losses(params, loss_at, request["eps"], steps, progress)
    notes.append(
        f"the exact loop ran in {workers} processes (forked copies of your module's state, "
        f"{params.size:,} entries shared out)"
    )

    def compute(chunk, report):
        return shifted_losses(params, loss_at, request["eps"], steps, report, indices=chunk)

    try:
        return forked_map(compute, np.arange(params.size), workers, progress, user_line)
    except WorkerFailure as failure:
        if failure.type_name == "ContractError":
            raise ContractError(str(failure)) from None
        raise


def _seconds_per_loss(loss_at) -> float:
    """One loss evaluation, timed (how long the exact loop will be)."""
    start = time.monotonic()
    loss_at()
    return time.monotonic() - start


def _screen(params, loss_at, analytic, base: float, request: dict, reply_fd: int) -> float:
    """The per-array screen, sent as soon as it is known (engine.params.screen): the
    parent can name the arrays that disagree long before the exact check ends. Returns
    the seconds one loss evaluation took."""
    from engine.params.screen import MAX_SCREEN_ARRAYS, directional_values

    if len(params.arrays) > MAX_SCREEN_ARRAYS:
        return _seconds_per_loss(loss_at)
    start = time.monotonic()
    try:
        rows = directional_values(params, loss_at, analytic, request["eps"])
    except Exception:  # noqa: BLE001 - the screen is advisory: the exact loop says where
        return _seconds_per_loss(loss_at)
    seconds = (time.monotonic() - start) / (2 * len(params.arrays))
    screen = {"names": params.names, "values": rows, "base": base, "dtype": params.dtype()}
    channel.write_json(reply_fd, {"screen": screen})
    return seconds


def _probe(params, loss_at, request: dict):
    """The loss at a second step, +-2 eps, for a sample of entries (the same the parent
    computes from the shapes): the parent measures the loss's own noise from it."""
    from engine.params.structure import PROBE_STEPS, probe_indices, shifted_losses

    indices = probe_indices([a.size for a in params.arrays])
    return shifted_losses(params, loss_at, request["eps"], PROBE_STEPS, indices=indices)


def _contract_reply(params, dtype: str, base: float, analytic, shifted, notes: list[str]):
    """(reply, arrays) of a finished contract check: names, shapes, the check's dtype
    (float32 for a loss whose every value is a float32 number) and the numbers."""
    import numpy as np

    from engine.params.structure import (
        FLOAT32_LOSS_NOTE,
        FLOAT32_NAME,
        FLOAT64_NAME,
        float32_valued,
    )

    if dtype == FLOAT64_NAME and float32_valued(base, shifted):
        dtype = FLOAT32_NAME  # the loss's own precision: the noise floor is float32's
        notes.append(FLOAT32_LOSS_NOTE)
    reply = {
        "ok": True,
        "names": params.names,
        "shapes": [list(shape) for shape in params.shapes],
        "dtype": dtype,
        "notes": notes,
    }
    return reply, [params.vector(), analytic, np.array([base]), shifted.ravel()]


def _contract_options(request: dict, namespace: dict, value):
    """(setter, segmentation, notes) for the params value: `set_params` and `segments`
    / `order` from the request, else what the code shows unambiguously (a getter call
    whose object has the `set` twin; ex4's or the founding question's layer sizes in
    the loss call; the object's own arrays behind a getter). The notes say how each
    choice was made, for the header."""
    import numpy as np

    from engine.params.segments import (
        Segmentation,
        attribute_segments,
        check_order,
        detect_network_segments,
        detect_order,
        parse_segments,
        setter_for,
    )
    from engine.params.structure import ContractError

    expression = request["params"]
    notes = []
    setter = None
    if request.get("set_params"):
        text = request["set_params"]
        try:
            setter = eval(compile(text.strip(), "<--set-params>", "eval"), namespace)  # noqa: S307
        except SyntaxError as error:
            message = f"--set-params `{text}` is not a Python expression: {error.msg}."
            raise ContractError(message) from None
        if not callable(setter):
            raise ContractError(
                f"--set-params `{text}` is not callable: give the setter itself, e.g. "
                "NN.setParams (GradScope calls it with the moved vector)."
            )
        notes.append(f"each step handed to `{text}(vector)` before the loss (--set-params)")
    elif isinstance(value, np.ndarray) and value.ndim == 1:
        found = setter_for(expression, namespace)
        if found is not None:
            setter = found[0]
            notes.append(
                f"`{expression}` returns a copy: each step handed to `{found[1]}(vector)` "
                f"before the loss (found as the getter's twin; --set-params overrides)"
            )
    order = request.get("order")
    segmentation = None
    if request.get("segments"):
        segments = parse_segments(request["segments"])
        if order:
            how = f"order {check_order(order)} from --order"
        else:
            order, how = detect_order(request.get("source", ""), expression)
        how = f"shapes from --segments; {how}"
        segmentation = Segmentation(segments, check_order(order), how)
    elif order:
        raise ContractError("--order goes with --segments (it says how they are unrolled)")
    elif isinstance(value, np.ndarray) and value.ndim == 1:
        found = detect_network_segments(
            request["loss"], expression, namespace, value.size, ("loss", request.get("grads"))
        )
        if found is not None:
            order, how = detect_order(request.get("source", ""), expression)
            segmentation = Segmentation(found.segments, order, f"{found.how}; {how}")
        elif setter is not None:
            owner_text = expression.rsplit(".", 1)[0]
            try:
                owner = eval(compile(owner_text, "<--params>", "eval"), namespace)  # noqa: S307
            except Exception:  # noqa: BLE001
                owner = None
            segmentation = attribute_segments(owner, value) if owner is not None else None
    if segmentation is not None:
        notes.insert(0, segmentation.describe(expression))
    return setter, segmentation, notes


def _refuse_if_too_slow(done: int, total: int, elapsed: float, budget: float) -> None:
    """Stop early, with the numbers, when the loop clearly cannot finish in the time
    the run has (rather than be killed at the limit without a word on why)."""
    from engine.params.structure import ContractError

    if budget <= 0 or done >= total or elapsed < 1.0:
        return
    projected = elapsed / done * total
    if projected > 1.2 * budget:
        per_loss = elapsed / (2 * done)
        raise ContractError(
            f"your loss takes about {per_loss * 1000:.3g} ms; {2 * total:,} evaluations (two "
            f"per parameter, {total:,} parameters) need about {projected:.0f} s, more than "
            f"the {budget:.0f} s left of the time limit: raise --timeout, or check a smaller "
            "model or fewer examples."
        )


def _dask_costs(cost, theta, indices, eps, stencil, dtype, progress):
    """`loop_costs_at` over a local Dask cluster started inside this sandbox."""
    from engine.gradcheck.distributed import parallel_loop_costs
    from engine.runners.cluster import dask_client

    with dask_client(None) as client:
        return parallel_loop_costs(
            cost, theta, client, indices, eps, stencil, dtype, chunks=8, progress=progress
        )


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
    sys.exit(main(sys.argv[1:]))
