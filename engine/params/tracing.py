"""Where the user's code computed each gradient: one traced evaluation of their backward.

The diagnosis can say which array is wrong from the numbers alone; to say which *line*,
it needs to know which statements ran and where each array's final gradient came from.
Names do not tell (`dW1`, `grads['W1']`, `Theta1_grad`, `nabla_w[0]`, a torch
Function's `grad_weight`), so values do: the user's gradient evaluation runs once more
under `sys.settrace`, and after every executed line of the user's file the tracer looks
at the frame's local arrays (and the items of local dicts, lists and tuples, and the
arrays of local objects: `self.dW`) for one holding an array's final analytic gradient.
Entries are compared as a multiset, so a gradient later unrolled in another order or
reshaped is still found. Every line after which a value newly matches is kept, in
order; the diagnosis takes the first whose statement writes that value (a later copy,
`grads['W1'] = dW1` or a return, is not where it was made, nor is a loop binding an
object that already held it from an earlier call).

The trace is advisory and bounded: it stops looking after `seconds`, and any failure
gives no trace rather than an error (the check itself has already finished).
"""

from __future__ import annotations

import linecache
import sys
import time
import types
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

USER_FILE_LABEL = "<your code>"  # the pasted or uploaded file, as the sandbox names it
LAMBDA_NAMES = ("lambda_", "lamb", "lam", "lmbda", "lambd", "Lambda", "reg", "weight_decay")
M_NAMES = ("m", "num_train", "num_examples", "n_samples", "N", "batch_size")
TRACE_SECONDS = 2.0  # at most this long looking at locals; lines are still recorded
MAX_ITEMS = 64  # items of one local dict / list / tuple looked into
MAX_PLACES = 12  # places kept where one array's final gradient newly appeared


@dataclass(frozen=True)
class SourceTrace:
    """What one traced gradient evaluation showed about the user's file."""

    filename: str
    source: str
    executed: frozenset[int]
    # array -> every (line, key) where its final value newly appeared, in order: the
    # diagnosis keeps the first whose statement writes that key (engine.diagnosis.lines)
    roots: dict[str, tuple[tuple[int, str], ...]] = field(default_factory=dict)
    loss_root: tuple[int, str] | None = None
    values: dict[str, float] = field(default_factory=dict)  # scalar locals seen (m, reg)
    backward_lines: frozenset[int] = frozenset()  # ran only while autograd ran the backward
    zeros: frozenset[str] = frozenset()  # arrays whose gradient is all zeros
    # probabilities normalised along one axis: (line, key, that axis's length, the other's)
    normalised: tuple[tuple[int, str, int, int], ...] = ()

    @property
    def penalty(self) -> tuple[float, int] | None:
        """(lambda, m) from the user's own names, when their code has both (the
        diagnosis then words a factor in their numbers, not the sidebar's)."""
        lamb = next((self.values[n] for n in LAMBDA_NAMES if n in self.values), None)
        m = next((self.values[n] for n in M_NAMES if n in self.values), None)
        if lamb is None or m is None or m < 1 or m != int(m):
            return None
        return lamb, int(m)

    def as_reply(self) -> dict:
        """Plain JSON for a child's reply (the source stays with the parent)."""
        return {
            "executed": sorted(self.executed),
            "roots": {name: [list(p) for p in places] for name, places in self.roots.items()},
            "zeros": sorted(self.zeros),
            "normalised": [list(n) for n in self.normalised],
            "loss_root": list(self.loss_root) if self.loss_root else None,
            "values": self.values,
            "backward_lines": sorted(self.backward_lines),
        }

    @classmethod
    def from_reply(cls, data, source: str, names) -> SourceTrace | None:
        """The trace a child sent, checked as untrusted input: line numbers within the
        source, the arrays' own names, short keys; None when it does not fit."""
        try:
            count = source.count("\n") + 1
            executed = frozenset(int(n) for n in data["executed"] if 1 <= int(n) <= count)
            roots = {
                str(name): tuple(
                    (int(line), str(key)[:200])
                    for line, key in places[:MAX_PLACES]
                    if 1 <= int(line) <= count
                )
                for name, places in data["roots"].items()
                if name in names or name == WHOLE
            }
            zeros = frozenset(str(n) for n in data.get("zeros", ()) if n in names)
            normalised = tuple(
                (int(line), str(key)[:200], int(along), int(other))
                for line, key, along, other in list(data.get("normalised", ()))[:MAX_PLACES]
                if 1 <= int(line) <= count
            )
            loss_root = data.get("loss_root")
            if loss_root is not None:
                loss_root = (int(loss_root[0]), str(loss_root[1])[:200])
            values = {str(k)[:100]: float(v) for k, v in list(data.get("values", {}).items())[:200]}
            backward_lines = frozenset(
                int(n) for n in data.get("backward_lines", ()) if 1 <= int(n) <= count
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            return None
        return cls(
            USER_FILE_LABEL,
            source,
            executed,
            roots,
            loss_root,
            values,
            backward_lines,
            zeros,
            normalised,
        )


class _Targets:
    """The final gradients, keyed by array name, with what makes a comparison cheap."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self.by_size: dict[int, list[tuple[str, float, np.ndarray]]] = {}
        self.zero = {name for name, a in arrays.items() if not np.any(a)}
        for name, array in arrays.items():
            flat = np.asarray(array, dtype=np.float64).ravel()
            if flat.size == 0:
                continue
            entry = (name, float(flat.sum()), np.sort(flat))
            self.by_size.setdefault(flat.size, []).append(entry)

    def matching(self, value) -> set[str]:
        array = _as_array(value)
        if array is None or array.size not in self.by_size:
            return set()
        flat = array.astype(np.float64, copy=False).ravel()
        total = float(flat.sum())
        found = set()
        for name, target_sum, ordered in self.by_size[array.size]:
            if abs(total - target_sum) > 1e-9 * (np.abs(ordered).sum() + 1e-300):
                continue
            if np.allclose(np.sort(flat), ordered, rtol=1e-12, atol=0.0):
                found.add(name)
        return found


def _as_array(value):
    """A float array for NumPy, torch or jax values, else None (never imports torch)."""
    if isinstance(value, np.ndarray):
        return value if value.dtype.kind == "f" else None
    module = type(value).__module__ or ""
    if module.startswith("torch") and hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
        return value if value.dtype.kind == "f" else None
    if module.startswith(("jax", "jaxlib")) and hasattr(value, "dtype"):
        value = np.asarray(value)
        return value if value.dtype.kind == "f" else None
    return None


def _candidates(local_vars: dict):
    """(key, value) for each local and the items of local containers, keyed as the
    source writes them: `dW1`, `grads['W1']`, `nabla_w[0]`."""
    for name, value in local_vars.items():
        yield name, value
        if isinstance(value, dict) and "__builtins__" not in value:  # not a module's globals
            for k, item in list(value.items())[:MAX_ITEMS]:
                if isinstance(k, (str, int)):
                    yield f"{name}[{k!r}]", item
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value[:MAX_ITEMS]):
                yield f"{name}[{i}]", item
        elif _plain_object(value):  # a layer object's own arrays: self.dW, layer.db
            for attribute, item in list(vars(value).items())[:MAX_ITEMS]:
                if isinstance(item, np.ndarray):
                    yield f"{name}.{attribute}", item


def _plain_object(value) -> bool:
    """An instance of a user's class (not a module, class, function or NumPy array)."""
    if isinstance(value, (np.ndarray, type, types.ModuleType, types.FunctionType)):
        return False
    return isinstance(getattr(value, "__dict__", None), dict) and not callable(value)


def _normalised_axis(value) -> tuple[int, int] | None:
    """(length of the axis it sums to 1 along, length of the other) for a 2-D array of
    probabilities normalised along exactly one axis, as a softmax's output is."""
    if not (isinstance(value, np.ndarray) and value.ndim == 2 and value.dtype.kind == "f"):
        return None
    if value.size > 1_000_000 or min(value.shape) < 2 or value.shape[0] == value.shape[1]:
        return None
    if value.min() < 0 or value.max() > 1:
        return None
    ones = [bool(np.allclose(value.sum(axis=a), 1.0, rtol=0, atol=1e-6)) for a in (0, 1)]
    if ones[0] == ones[1]:
        return None
    along = 0 if ones[0] else 1
    return value.shape[along], value.shape[1 - along]


def _scalar_values(local_vars: dict, into: dict[str, float]) -> None:
    for name, value in local_vars.items():
        if isinstance(value, (int, float, np.floating, np.integer)) and not isinstance(value, bool):
            if np.isfinite(value) and (name in into or len(into) < MAX_ITEMS):  # JSON, bounded
                into[name] = float(value)


def trace_gradient(
    evaluate: Callable[[], object],
    arrays: dict[str, np.ndarray],
    is_user_file: Callable[[str], bool],
    loss: float | None = None,
    seconds: float = TRACE_SECONDS,
    filename: str | None = None,
    source: str | None = None,
    backward: Callable[[object], object] | None = None,
) -> SourceTrace | None:
    """Run `evaluate()` (the user's loss-and-gradient evaluation) under a tracer that
    watches frames of the user's file(s) for the final gradients `arrays`; the trace of
    the file where they were found (or `filename`), or None. `backward(value)`, for a
    loss whose gradient autograd computes, runs next: the user lines that run then are
    their hand-written backward (an `autograd.Function`'s), kept apart."""
    targets = _Targets(arrays)
    executed: dict[str, set[int]] = {}
    phase = {"backward": False}
    seen_ids: dict[tuple[str, str], int] = {}
    normalised: dict[str, list] = {}  # file -> [(line, key, axis length, other length)]
    in_backward: dict[str, set[int]] = {}
    roots: dict[str, dict[str, list]] = {}  # file -> array -> [(time, line, key)], in order
    loss_roots: dict[str, tuple] = {}
    scalars: dict[str, dict[str, float]] = {}
    state: dict[int, tuple[int, dict[str, set[str]]]] = {}  # frame -> (last line, matches)
    deadline = time.monotonic() + seconds

    def look(frame, line: int, extra=None) -> None:
        file = frame.f_code.co_filename
        local_vars = dict(frame.f_locals)
        if extra is not None:
            local_vars["<return>"] = extra
        _, before = state.get(id(frame), (0, {}))
        now: dict[str, set[str]] = {}
        for key, value in _candidates(local_vars):
            if id(value) != seen_ids.get((file, key)):  # a new value: is it a softmax?
                seen_ids[(file, key)] = id(value)
                axis = _normalised_axis(value)
                if axis is not None and len(normalised.setdefault(file, [])) < MAX_PLACES:
                    normalised[file].append((line, key, *axis))
            found = targets.matching(value)
            if loss is not None and _equals_number(value, loss):
                found = found | {"<loss>"}
            if found:
                now[key] = found
            for name in found - before.get(key, set()):
                place = (time.monotonic(), line, key)
                if name == "<loss>":
                    loss_roots.setdefault(file, place)
                    continue
                places = roots.setdefault(file, {}).setdefault(name, [])
                if len(places) < MAX_PLACES and place[1:] not in [p[1:] for p in places]:
                    places.append(place)
        _scalar_values(frame.f_locals, scalars.setdefault(file, {}))
        state[id(frame)] = (line, now)

    def local(frame, event, arg):
        lines = executed.setdefault(frame.f_code.co_filename, set())
        looking = time.monotonic() <= deadline
        last, matches = state.get(id(frame), (0, {}))
        if event == "line":
            lines.add(frame.f_lineno)
            if phase["backward"]:
                in_backward.setdefault(frame.f_code.co_filename, set()).add(frame.f_lineno)
            if looking and last:
                look(frame, last)
                matches = state[id(frame)][1]
            state[id(frame)] = (frame.f_lineno, matches)
        elif event == "return":
            if looking:
                look(frame, last or frame.f_lineno, arg)
            state.pop(id(frame), None)
        return local

    def on_call(frame, event, arg):
        if event == "call" and is_user_file(frame.f_code.co_filename):
            return local
        return None

    previous = sys.gettrace()
    sys.settrace(on_call)
    try:
        value = evaluate()
        if backward is not None:
            phase["backward"] = True
            backward(value)
    except Exception:  # noqa: BLE001 - the trace is advisory; the check already ran
        return None
    finally:
        sys.settrace(previous)
    zeros = targets.zero
    trace = _trace_of(filename, source, executed, roots, loss_roots, scalars, in_backward, zeros)
    if trace is None:
        return None
    return replace(trace, normalised=tuple(normalised.get(trace.filename, ())))


def _equals_number(value, number: float) -> bool:
    if isinstance(value, (float, np.floating)) or (
        isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind == "f"
    ):
        x = float(np.asarray(value).ravel()[0])
        return x == number or abs(x - number) <= 1e-12 * abs(number)
    return False


def _trace_of(
    filename, source, executed, roots, loss_roots, scalars, in_backward, zeros
) -> SourceTrace | None:
    """The trace of `filename`, else of the file where most gradients were found (the
    first to hold them, when several hold as many: a caller's copy is not the source),
    else of the file where most of a hand-written backward ran."""
    if filename is None and roots:
        filename = min(roots, key=lambda f: (-len(roots[f]), min(roots[f].values())[0]))
    elif filename is None and in_backward:
        filename = max(in_backward, key=lambda f: len(in_backward[f]))
    if filename is None:
        return None
    if filename not in executed:
        return None
    if source is None:
        source = "".join(linecache.getlines(filename)) or _read(filename)
    if not source:
        return None
    loss_root = loss_roots.get(filename)
    return SourceTrace(
        filename=filename,
        source=source,
        executed=frozenset(executed[filename]),
        roots={
            name: tuple((line, key) for _, line, key in places)
            for name, places in roots.get(filename, {}).items()
        },
        zeros=frozenset(zeros),
        loss_root=loss_root[1:] if loss_root else None,
        values=scalars.get(filename, {}),
        backward_lines=frozenset(in_backward.get(filename, ())),
    )


def _read(filename: str) -> str:
    try:
        return Path(filename).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""


def user_file_outside(*folders: str) -> Callable[[str], bool]:
    """A predicate for the Python API: a real file that is not in the standard library,
    site-packages or the given folders (GradScope's own)."""
    skipped = tuple(str(Path(f).resolve()) for f in (*folders, sys.prefix, sys.base_prefix))

    def is_user_file(filename: str) -> bool:
        if filename.startswith("<"):
            return False
        resolved = str(Path(filename).resolve())
        return not resolved.startswith(skipped) and "site-packages" not in resolved

    return is_user_file


WHOLE = "<all arrays>"  # the whole flat gradient, where the user's code makes one


def gradients_by_name(names, sizes, analytic) -> dict[str, np.ndarray]:
    """The flat analytic gradient cut into the arrays the tracer looks for, and whole
    (WHOLE): an array cut from a flat vector the code unrolled in the wrong order holds
    values no variable holds; the statement that made the vector is then its root."""
    bounds = np.cumsum([0, *sizes])
    flat = np.asarray(analytic)
    arrays = {name: flat[a:b] for name, a, b in zip(names, bounds[:-1], bounds[1:])}
    if len(arrays) > 1:
        arrays[WHOLE] = flat
    return arrays
