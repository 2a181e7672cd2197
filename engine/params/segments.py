"""One flat params vector cut into named arrays (segments), and setters for getter copies.

Pure logic (NumPy and the standard library only): the sandboxed child imports it.

Segments. Ng's ex4 and the founding question keep Theta1, Theta2 unrolled in one vector
(`nn_params`, `theta`), often column by column (Octave's `(:)`, NumPy's order='F').
`--segments "Theta1:5x4,Theta2:3x6" [--order F]` names them; `segment_views` gives each
as a view of the vector in its own shape and order, so a step on `Theta2[0, 0]` moves
exactly the vector entry the user's reshape reads there. Where a call in the loss
shows the layer sizes (ex4's `nnCostFunction(nn_params, input_layer_size,
hidden_layer_size, num_labels, ...)`, the founding `computeCost(theta, X, y,
num_inputs, num_hidden, num_labels, lamb)`), `detect_network_segments` finds them; the
order is then read from the user's source (`order='F'` in a reshape of the vector),
and C (NumPy's default) otherwise. Every choice comes with a sentence saying how it was
made, for the header.

The segments keep the user's wording (`Theta2[0, 0]`), not the founding network's
("column 0 (bias)"): the sizes say how big each matrix is, not that the bias is in its
column 0 (a port may append it last), so nothing here claims a bias column.

Setters. A getter returning a copy (`NN.getParams()`) cannot be moved in place; with a
setter (`NN.setParams`, given or found as the getter's `get` -> `set` twin), the check
moves a vector of its own and hands it to the setter before every loss.
"""

from __future__ import annotations

import ast
import inspect
import re
from dataclasses import dataclass

import numpy as np

from engine.params.structure import ContractError

ORDERS = ("C", "F")
MAX_SEGMENTS = 1000
_SEGMENT = re.compile(r"^\s*([A-Za-z_][\w.\[\]']*)\s*:\s*(\d+(?:\s*[x,]\s*\d+)*)\s*$")

# Names of the layer sizes in the calls people write (parameter or argument names).
INPUT_NAMES = ("input_layer_size", "num_inputs", "input_size", "n_input", "n_inputs", "n_in")
HIDDEN_NAMES = (
    "hidden_layer_size",
    "num_hidden",
    "hidden_size",
    "n_hidden",
    "hidden_layer_sizes",
    "hidden_sizes",
)
LABEL_NAMES = (
    "num_labels",
    "num_outputs",
    "output_size",
    "n_labels",
    "n_outputs",
    "num_classes",
    "n_classes",
)


@dataclass(frozen=True)
class Segment:
    name: str
    shape: tuple[int, ...]

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))


@dataclass(frozen=True)
class Segmentation:
    """How one flat vector is cut: segments in order, the order, and why (for headers)."""

    segments: tuple[Segment, ...]
    order: str = "C"
    how: str = ""

    def describe(self, expression: str) -> str:
        arrays = ", ".join(
            f"{s.name} {'x'.join(map(str, s.shape)) if len(s.shape) > 1 else s.shape}"
            for s in self.segments
        )
        words = "column-major (order='F')" if self.order == "F" else "row-major (order='C')"
        return f"`{expression}` cut into {arrays}, each unrolled {words}; {self.how}"


def parse_segments(text: str) -> tuple[Segment, ...]:
    """'Theta1:5x4,Theta2:3x6' -> segments; ValueError (ContractError) says what is wrong."""
    if not isinstance(text, str) or not text.strip():
        raise ContractError("--segments needs NAME:SHAPE items, e.g. Theta1:5x4,Theta2:3x6")
    items = re.split(r"[;,](?=\s*[A-Za-z_])", text.strip())
    if len(items) > MAX_SEGMENTS:
        raise ContractError(f"--segments names more than {MAX_SEGMENTS} arrays")
    segments = []
    for item in items:
        match = _SEGMENT.match(item)
        if match is None:
            raise ContractError(
                f"--segments: {item.strip()!r} is not NAME:SHAPE (e.g. Theta1:5x4, b:10)"
            )
        shape = tuple(int(d) for d in re.split(r"\s*[x,]\s*", match.group(2)))
        if any(d < 1 for d in shape):
            raise ContractError(f"--segments: {item.strip()!r} has an empty dimension")
        segments.append(Segment(match.group(1), shape))
    names = [s.name for s in segments]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise ContractError(f"--segments names {', '.join(twice)} more than once")
    return tuple(segments)


def check_order(order: str | None) -> str:
    order = "C" if order is None else str(order).upper()
    if order not in ORDERS:
        raise ContractError(f"--order must be C (row-major) or F (column-major), got {order!r}")
    return order


def check_sizes(segments, length: int, expression: str) -> None:
    """ContractError unless the segments' sizes add up to the vector's length."""
    total = sum(s.size for s in segments)
    if total != length:
        sizes = " + ".join(f"{s.size} ({s.name})" for s in segments)
        raise ContractError(
            f"--segments add up to {sizes} = {total:,} entries, but `{expression}` has "
            f"{length:,}: the shapes must cover the vector exactly."
        )


def segment_views(vector: np.ndarray, segmentation: Segmentation) -> list[np.ndarray]:
    """Each segment as a view of the 1-D `vector` in its shape and order (a step on a
    view moves the vector's own entry)."""
    views, start = [], 0
    for segment in segmentation.segments:
        stop = start + segment.size
        view = vector[start:stop].reshape(segment.shape, order=segmentation.order)
        if not np.shares_memory(view, vector):  # a contiguous slice always reshapes as a view
            raise ContractError(f"{segment.name} could not be cut as a view of the vector")
        views.append(view)
        start = stop
    return views


def reorder_flat(values: np.ndarray, segmentation: Segmentation) -> np.ndarray:
    """A flat vector in the user's order (e.g. a gradient unrolled like the params) as
    the segments raveled row-major, the order the check lists entries in."""
    return np.concatenate([v.ravel() for v in segment_views(np.asarray(values), segmentation)])


def flat_vector(value, expression: str) -> np.ndarray:
    """The params as one 1-D float vector (segments and setters need one)."""
    array = value if isinstance(value, np.ndarray) else None
    if array is None or array.ndim != 1 or array.dtype.type not in (np.float32, np.float64):
        shape = getattr(value, "shape", None)
        raise ContractError(
            f"`{expression}` must be one 1-D float vector to be cut into segments or set "
            f"through a setter (got {type(value).__name__}"
            f"{' of shape ' + str(shape) if shape is not None else ''})."
        )
    return array


# --- detection -----------------------------------------------------------------------


def _parse(text: str) -> ast.expr | None:
    try:
        return ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None


def _sizes(value) -> tuple[int, ...] | None:
    """A layer size (a whole number) or a list of them, else None."""
    items = value if isinstance(value, (list, tuple)) else [value]
    sizes = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (int, np.integer)) or item < 1:
            return None
        sizes.append(int(item))
    return tuple(sizes) if sizes else None


def _call_arguments(call: ast.Call, namespace: dict) -> dict[str, ast.expr]:
    """Argument expressions by name: the called function's parameter names where its
    signature binds them, and each argument's own name (`input_layer_size`)."""
    named: dict[str, ast.expr] = {}
    for arg in call.args:
        if isinstance(arg, ast.Name):
            named.setdefault(arg.id, arg)
    for keyword in call.keywords:
        if keyword.arg:
            named[keyword.arg] = keyword.value
    try:
        function = eval(compile(ast.Expression(call.func), "<loss>", "eval"), namespace)  # noqa: S307
        signature = inspect.signature(function)
        bound = signature.bind_partial(
            *call.args, **{k.arg: k.value for k in call.keywords if k.arg}
        )
    except Exception:  # noqa: BLE001 - not introspectable: argument names only
        return named
    for name, value in bound.arguments.items():
        if isinstance(value, ast.expr):
            named[name] = value
    return named


def detect_network_segments(
    loss: str, params: str, namespace: dict, length: int, names=("loss",)
) -> Segmentation | None:
    """Theta1..K from a call `f(<params>, ..., input sizes, hidden sizes, labels, ...)`
    in the loss (or grads) expressions, when the sizes give exactly `length` entries."""
    for text in (loss, *names[1:]):
        tree = _parse(text) if text else None
        if tree is None:
            continue
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
            if not call.args or ast.unparse(call.args[0]) != ast.unparse(_parse(params) or call):
                continue
            found = _network_from_call(call, namespace, length)
            if found is not None:
                return found
    return None


def _network_from_call(call: ast.Call, namespace: dict, length: int) -> Segmentation | None:
    named = _call_arguments(call, namespace)
    picked = {}
    for role, candidates in (("in", INPUT_NAMES), ("hidden", HIDDEN_NAMES), ("out", LABEL_NAMES)):
        name = next((n for n in candidates if n in named), None)
        if name is None:
            return None
        try:
            value = eval(compile(ast.Expression(named[name]), "<loss>", "eval"), namespace)  # noqa: S307
        except Exception:  # noqa: BLE001
            return None
        sizes = _sizes(value)
        if sizes is None or (role != "hidden" and len(sizes) != 1):
            return None
        picked[role] = (name, ast.unparse(named[name]), sizes)
    layers = (*picked["in"][2], *picked["hidden"][2], *picked["out"][2])
    segments = tuple(
        Segment(f"Theta{k + 1}", (n_out, n_in + 1))
        for k, (n_in, n_out) in enumerate(zip(layers[:-1], layers[1:]))
    )
    if sum(s.size for s in segments) != length:
        return None
    function = ast.unparse(call.func)
    given = ", ".join(f"{name}={'-'.join(map(str, sizes))}" for name, _, sizes in picked.values())
    how = f"shapes from {function}'s {given} (layers {'-'.join(map(str, layers))})"
    return Segmentation(segments, "C", how)


def detect_order(source: str, params: str) -> tuple[str, str]:
    """(order, why): F when the user's reshapes of the params vector say order='F'."""
    node = _parse(params)
    name = node.id if isinstance(node, ast.Name) else None
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return "C", "order C (NumPy's default; your file could not be read for order='F')"
    orders: dict[str, list[int]] = {"C": [], "F": []}
    for call in (n for n in ast.walk(tree) if isinstance(n, ast.Call)):
        func = call.func
        if not (isinstance(func, ast.Attribute) and func.attr == "reshape"):
            continue
        reads = ast.unparse(call)
        if name is None or not re.search(rf"\b{re.escape(name)}\b", reads):
            continue
        order = next(
            (
                k.value.value
                for k in call.keywords
                if k.arg == "order" and isinstance(k.value, ast.Constant)
            ),
            "C",
        )
        if order in orders:
            orders[order].append(call.lineno)
    if orders["F"] and not orders["C"]:
        lines = ", ".join(map(str, orders["F"][:3]))
        where = f"line{'s' if len(orders['F']) > 1 else ''} {lines}"
        return "F", f"order F from order='F' in your reshape of {name} ({where})"
    if orders["F"]:
        return "C", (
            f"order C: your reshapes of {name} use both orders (order='F' on line "
            f"{orders['F'][0]}, C on line {orders['C'][0]}); give --order F if the "
            "vector is column-major"
        )
    return "C", f"order C (NumPy's default: no reshape of {name or 'the vector'} says order='F')"


def setter_for(params: str, namespace: dict):
    """(setter, expression) for a getter call `obj.getX()` whose object has `setX`
    (`get_params` -> `set_params`), else None."""
    node = _parse(params)
    if not (
        isinstance(node, ast.Call)
        and not node.args
        and not node.keywords
        and isinstance(node.func, ast.Attribute)
    ):
        return None
    getter = node.func.attr
    match = re.match(r"^(get)(_?[A-Za-z]\w*)$", getter, flags=re.IGNORECASE)
    if match is None:
        return None
    prefix = {"get": "set", "Get": "Set", "GET": "SET"}.get(match.group(1), "set")
    owner = ast.unparse(node.func.value)
    expression = f"{owner}.{prefix}{match.group(2)}"
    try:
        setter = eval(compile(expression, "<--set-params>", "eval"), namespace)  # noqa: S307
    except Exception:  # noqa: BLE001
        return None
    return (setter, expression) if callable(setter) else None


def attribute_segments(owner, vector: np.ndarray) -> Segmentation | None:
    """The owner's float arrays (consecutive attributes) whose values, unrolled C or F,
    are exactly the vector a getter returned: the segments, by attribute name."""
    try:
        attrs = [
            (k, v)
            for k, v in vars(owner).items()
            if isinstance(v, np.ndarray) and v.dtype.kind == "f" and v.size and v.ndim >= 1
        ]
    except TypeError:
        return None
    for start in range(len(attrs)):
        total = 0
        for stop in range(start, len(attrs)):
            total += attrs[stop][1].size
            if total > vector.size:
                break
            if total < vector.size:
                continue
            chosen = attrs[start : stop + 1]
            for order in ORDERS:
                rolled = np.concatenate([v.ravel(order=order) for _, v in chosen])
                if np.array_equal(rolled, vector):
                    segments = tuple(Segment(k, tuple(v.shape)) for k, v in chosen)
                    how = "shapes and order from the object's arrays the getter returned"
                    return Segmentation(segments, order, how)
            break
    return None


def build_params(value, expression: str, segmentation: Segmentation | None, setter=None):
    """(params, vector): the Params the check moves, and the flat vector behind them
    (None without segments or setter). With a setter the vector is a copy of the getter's
    value, handed to the setter before each loss; without, the user's own vector, cut
    into views."""
    from engine.params.structure import Node, ParamArray, Params, flatten_params

    if segmentation is None and setter is None:
        return flatten_params(value, expression), None
    vector = flat_vector(value, expression)
    if setter is not None:
        vector = vector.copy()
    if segmentation is None:
        return flatten_params(vector, expression), vector
    check_sizes(segmentation.segments, vector.size, expression)
    views = segment_views(vector, segmentation)
    arrays = [ParamArray(s.name, v) for s, v in zip(segmentation.segments, views)]
    tree = Node("sequence", "")
    tree.children = [(i, Node("array", a.name, index=i)) for i, a in enumerate(arrays)]
    return Params(expression, arrays, tree), vector


def flat_grads(grads, params, segmentation: Segmentation | None):
    """A flat gradient in the vector's own order, re-read in the segments' order (the
    user unrolls the gradient as the params); anything else unchanged."""
    if segmentation is None:
        return grads
    from engine.params.structure import as_numpy

    values = as_numpy(grads)
    if isinstance(values, np.ndarray) and values.ndim == 1 and values.size == params.size:
        return reorder_flat(values, segmentation)
    return grads
