"""Params, loss and grads as users write them, turned into named arrays and numbers.

Pure logic (NumPy and the standard library only): the sandboxed child imports it.

Names. Every array is named by its path in the structure, written as Python would,
without a prefix for the top-level container: `W1` for a dict key (`model.params`),
`weights[0]` for an object's list attribute or for a list given as `net.weights`,
`biases[1]` for the elements of a tuple display `(net.biases, net.weights)` (each part
named by its own expression), `layers[0].W` for an object inside a list,
`blocks['conv']` for a dict inside a dict. A single array is named by its expression
(`theta`, `W`, `nn_params`), or `params` when the expression is not a plain name.

Objects: every float array among `vars(obj)` (in definition order), and the dicts,
lists, tuples and objects there that hold float arrays; other attributes (sizes,
labels, functions, strings) are left alone.

Tensors. A CPU float tensor (PyTorch) is taken as the NumPy view `t.detach().numpy()`,
which shares its memory, so a step in place reaches the tensor; the tensor itself is
kept (`ParamArray.source`) for its `.grad`. A module (`nn.Module`) gives its
`named_parameters()`, named as PyTorch names them (`fc1.weight`). When the loss is a
tensor that carries a graph and no grads are given, `autograd_grads` asks the tensor
library's own backward, which runs the user's hand-written `autograd.Function`s.
Nothing here imports torch: tensors are recognised by their methods.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

MAX_ARRAYS = 10_000
MAX_DEPTH = 12
FLOAT_DTYPES = (np.float32, np.float64)
DTYPE_NAMES = tuple(np.dtype(kind).name for kind in FLOAT_DTYPES)  # the check's precisions
FLOAT32_NAME, FLOAT64_NAME = DTYPE_NAMES


class ContractError(ValueError):
    """The user's params, loss or grads do not fit the contract: the message says how."""


@dataclass(frozen=True, eq=False)
class ParamArray:
    """One array of the params, its name and its place in the structure."""

    name: str
    array: np.ndarray = field(repr=False)
    source: object = field(default=None, repr=False)  # the tensor behind a NumPy view

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self.array.shape)

    @property
    def size(self) -> int:
        return int(self.array.size)


@dataclass(eq=False)
class Node:
    """The params' structure: an array (`index` into the arrays), a sequence
    (children by position) or a mapping (a dict's keys or an object's attributes)."""

    kind: str  # "array", "sequence", "dict" or "object"
    name: str
    index: int = -1
    children: list[tuple[object, Node]] = field(default_factory=list)


@dataclass(eq=False)
class Params:
    """The flattened params: arrays in unrolling order, and the structure they came from."""

    expression: str
    arrays: list[ParamArray]
    tree: Node

    @property
    def names(self) -> list[str]:
        return [a.name for a in self.arrays]

    @property
    def shapes(self) -> list[tuple[int, ...]]:
        return [a.shape for a in self.arrays]

    @property
    def size(self) -> int:
        return sum(a.size for a in self.arrays)

    def vector(self) -> np.ndarray:
        """Every array raveled row-major, concatenated, as float64 (a copy)."""
        return np.concatenate([a.array.astype(np.float64).ravel() for a in self.arrays])

    def dtype(self) -> str:
        """float64 when every array is float64, else float32 (the check's precision)."""
        kinds = {a.array.dtype for a in self.arrays}
        return np.dtype(np.float64 if kinds == {np.dtype(np.float64)} else np.float32).name


# --- params --------------------------------------------------------------------------


def expression_name(expression: str) -> str:
    """The name an expression gives its value: `net.weights` -> `weights`, `W` -> `W`;
    else the expression itself when short, else 'params'."""
    node = _parse(expression)
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    text = " ".join(expression.split())
    return text if len(text) <= 40 else "params"


def _parse(expression: str) -> ast.expr | None:
    try:
        return ast.parse(expression.strip(), mode="eval").body
    except (SyntaxError, ValueError):
        return None


def display_names(expression: str) -> list[str] | None:
    """For a tuple or list display, `(net.biases, net.weights)`: each part's own name;
    where those repeat (`(net.layers[0].W, net.layers[2].W)`), the shortest tails of
    the parts that tell them apart (`layers[0].W`, `layers[2].W`)."""
    node = _parse(expression)
    if not isinstance(node, (ast.Tuple, ast.List)) or not node.elts:
        return None
    if any(isinstance(element, ast.Starred) for element in node.elts):
        return None
    names = [expression_name(ast.unparse(element)) for element in node.elts]
    if len(set(names)) == len(names):
        return names
    tails = [_tails(element) for element in node.elts]
    for level in range(max(len(t) for t in tails)):
        names = [t[min(level, len(t) - 1)] for t in tails]
        if len(set(names)) == len(names):
            return names
    return None


def _tails(element: ast.expr) -> list[str]:
    """`net.layers[0].W` -> ['W', 'layers[0].W', 'net.layers[0].W']: the expression
    without each of its leading parts, cut at an attribute's dot."""
    full = ast.unparse(element)
    tails = [full]
    node = element
    while isinstance(node, (ast.Attribute, ast.Subscript)):
        node = node.value
        head = ast.unparse(node)
        if full.startswith(head + "."):
            tails.append(full[len(head) + 1 :])
    return sorted(set(tails), key=len)


def flatten_params(value, expression: str = "params") -> Params:
    """The float arrays in `value` (an array, nested containers, an object), named.

    ContractError names the expression and what is wrong: no arrays, a non-float or
    read-only array, a Python number, two entries sharing memory.
    """
    arrays: list[ParamArray] = []
    walker = _Walker(expression, arrays)
    parts = display_names(expression)
    if isinstance(value, (tuple, list)) and parts is not None and len(parts) == len(value):
        tree = Node("sequence", "")
        for i, (part, item) in enumerate(zip(parts, value)):
            tree.children.append((i, walker.walk(item, part, depth=1, strict=True)))
    elif isinstance(value, (list, tuple)):
        base = expression_name(expression)
        tree = walker.walk(value, base, depth=0, strict=True)
    elif isinstance(value, dict) or _is_object(value):
        tree = walker.walk(value, "", depth=0, strict=True)
    else:
        tree = walker.walk(value, expression_name(expression), depth=0, strict=True)
    if not arrays:
        raise ContractError(
            f"--params `{expression}` holds no float arrays ({_kind(value)}): give an array, "
            "a dict / list / tuple of arrays, or an object whose attributes hold them."
        )
    _refuse_shared_memory(arrays, expression)
    return Params(expression, arrays, tree)


class _Walker:
    def __init__(self, expression: str, arrays: list[ParamArray]):
        self.expression = expression
        self.arrays = arrays
        self.seen: set[int] = set()

    def walk(self, value, name: str, depth: int, strict: bool) -> Node | None:
        """The node for `value`; None for an attribute that holds no arrays (strict=False)."""
        if depth > MAX_DEPTH:
            raise ContractError(
                f"--params `{self.expression}` is nested more than {MAX_DEPTH} levels deep "
                f"(at {name or 'the top'})."
            )
        if isinstance(value, np.ndarray):
            return self._array(value, name, strict)
        if is_tensor(value):
            return self._tensor(value, name, strict)
        if is_module(value):
            if id(value) in self.seen:
                return None if not strict else self._cycle(name)
            self.seen.add(id(value))
            return self._module(value, name, depth, strict)
        if isinstance(value, (dict, list, tuple)) or _is_object(value):
            if id(value) in self.seen:
                return None if not strict else self._cycle(name)
            self.seen.add(id(value))
            return self._container(value, name, depth, strict)
        if strict:
            raise ContractError(
                f"--params `{self.expression}`: {name or 'the value'} is {_kind(value)}, not "
                "an array. GradScope perturbs the params in place, so each must be a NumPy "
                "float array (a Python number cannot be changed in place)."
            )
        return None

    def _cycle(self, name: str):
        raise ContractError(f"--params `{self.expression}`: {name or 'the value'} contains itself.")

    def _tensor(self, value, name: str, strict: bool) -> Node | None:
        shown = name or expression_name(self.expression)
        if id(value) in self.seen:
            if not strict:
                return None
            raise ContractError(
                f"--params `{self.expression}`: {shown} is the same tensor as an earlier entry."
            )
        try:
            view = value.detach().numpy()
        except (RuntimeError, TypeError) as error:  # on a GPU, or a dtype NumPy lacks
            if not strict:
                return None
            raise ContractError(
                f"--params `{self.expression}`: {shown} is a tensor GradScope cannot move in "
                f"place ({_shortened(error)}); use a CPU float32 or float64 tensor."
            ) from None
        self.seen.add(id(value))
        return self._array(view, name, strict, source=value)

    def _module(self, value, name: str, depth: int, strict: bool) -> Node | None:
        """An nn.Module: its named parameters, by PyTorch's names (`fc1.weight`)."""
        node = Node("module", name)
        for key, parameter in value.named_parameters():
            child = self.walk(parameter, _child_name(name, key, "object"), depth + 1, strict)
            if child is not None:
                node.children.append((key, child))
        if node.children or not strict:
            return node if node.children else None
        raise ContractError(
            f"--params `{self.expression}`: {name or 'the module'} ({_kind(value)}) has no "
            "float parameters."
        )

    def _array(
        self, value: np.ndarray, name: str, strict: bool, source: object = None
    ) -> Node | None:
        shown = name or expression_name(self.expression)
        if value.dtype.type not in FLOAT_DTYPES:
            if not strict:
                return None
            raise ContractError(
                f"--params `{self.expression}`: {shown} has dtype {value.dtype.name}; params "
                "must be float32 or float64 arrays (finite differences move them by a small "
                "step)."
            )
        if id(value) in self.seen:
            if not strict:
                return None
            raise ContractError(
                f"--params `{self.expression}`: {shown} is the same array as an earlier entry."
            )
        if not value.flags.writeable:
            raise ContractError(
                f"--params `{self.expression}`: {shown} is read-only; GradScope perturbs the "
                "params in place (use a writable array, e.g. np.array(...) or .copy())."
            )
        if value.size == 0:
            if not strict:
                return None
            raise ContractError(f"--params `{self.expression}`: {shown} is empty.")
        if len(self.arrays) >= MAX_ARRAYS:
            raise ContractError(
                f"--params `{self.expression}` holds more than {MAX_ARRAYS:,} arrays."
            )
        self.seen.add(id(value))
        self.arrays.append(ParamArray(shown, value, source))
        return Node("array", shown, index=len(self.arrays) - 1)

    def _container(self, value, name: str, depth: int, strict: bool) -> Node | None:
        strict_children = strict  # an object's attributes are taken where they hold arrays
        if isinstance(value, dict):
            node = Node("dict", name)
            items = [(key, item, _child_name(name, key, "dict")) for key, item in value.items()]
        elif isinstance(value, (list, tuple)):
            node = Node("sequence", name)
            items = [(i, item, f"{name}[{i}]") for i, item in enumerate(value)]
        else:
            node = Node("object", name)
            items = [(key, item, _child_name(name, key, "object")) for key, item in _attrs(value)]
            strict_children = False
        for key, item, child_name in items:
            child = self.walk(item, child_name, depth + 1, strict_children)
            if child is not None:
                node.children.append((key, child))
        if not node.children and not strict:
            return None
        if not node.children:
            raise ContractError(
                f"--params `{self.expression}`: {name or 'the value'} ({_kind(value)}) holds "
                "no float arrays."
            )
        return node


def _child_name(parent: str, key, kind: str) -> str:
    if kind == "object":
        return f"{parent}.{key}" if parent else str(key)
    if not parent:
        return key if isinstance(key, str) else repr(key)
    return f"{parent}[{key!r}]"


def is_tensor(value) -> bool:
    """A tensor of a library with NumPy views (PyTorch), recognised without importing it."""
    return (
        not isinstance(value, np.ndarray)
        and callable(getattr(value, "detach", None))
        and callable(getattr(value, "numpy", None))
        and hasattr(type(value), "grad")  # on the class: a non-leaf's .grad warns
    )


def is_module(value) -> bool:
    """A PyTorch module (anything with `named_parameters()` and `zero_grad()`)."""
    return callable(getattr(value, "named_parameters", None)) and callable(
        getattr(value, "zero_grad", None)
    )


def _shortened(error: BaseException, limit: int = 200) -> str:
    text = str(error)
    return text if len(text) <= limit else text[:limit] + " ..."


def _attrs(value) -> list[tuple[str, object]]:
    try:
        return list(vars(value).items())
    except TypeError:
        return []


def _is_object(value) -> bool:
    """A user's object whose attributes may hold arrays (not a module, class or function)."""
    import types

    if isinstance(value, (type, types.ModuleType, types.FunctionType, types.MethodType)):
        return False
    if isinstance(value, (str, bytes, int, float, complex, bool)) or value is None:
        return False
    return hasattr(value, "__dict__")


def _kind(value) -> str:
    if isinstance(value, np.ndarray):
        return f"an array of dtype {value.dtype.name}"
    if callable(value) and not _is_object(value):
        return f"a function ({type(value).__name__}); did you mean to call it?"
    module = type(value).__module__
    prefix = "" if module == "builtins" else f"{module}."
    return f"a {prefix}{type(value).__name__}"


def _refuse_shared_memory(arrays: list[ParamArray], expression: str) -> None:
    """Two params that share memory would be perturbed together: refuse, naming them."""
    for i, a in enumerate(arrays):
        for b in arrays[i + 1 :]:
            if np.may_share_memory(a.array, b.array) and np.shares_memory(a.array, b.array):
                raise ContractError(
                    f"--params `{expression}`: {a.name} and {b.name} share memory (one is a "
                    "view of the other), so a step in one moves the other."
                )


def same_arrays(params: Params, again: Params) -> None:
    """ContractError unless `again` (the params expression evaluated after the loss)
    holds the very arrays of `params`: only then does a step in place reach the loss."""
    for before, after in zip(params.arrays, again.arrays):
        same_tensor = before.source is not None and after.source is before.source
        if after.array is not before.array and not same_tensor:
            raise ContractError(
                f"--params `{params.expression}` gave a new array for {before.name} when "
                "evaluated again after the loss: GradScope moves the params in place, so they "
                "must be the arrays the loss reads (a getter returning a copy, or a loss that "
                "replaces its arrays, cannot be checked this way)."
            )
    if again.names != params.names:
        raise ContractError(
            f"--params `{params.expression}` held {params.names} before the loss and "
            f"{again.names} after it."
        )


# --- loss ----------------------------------------------------------------------------


def as_numpy(value):
    """A tensor-like value (torch, jax) as a NumPy array, when it converts without copying
    more than it is; anything else unchanged."""
    for method in ("detach", "cpu"):
        call = getattr(value, method, None)
        if callable(call) and not isinstance(value, np.ndarray):
            try:
                value = call()
            except Exception:  # noqa: BLE001 - not a tensor after all
                break
    return value


def _scalar(value) -> float | None:
    """The number in a scalar-like value (float, 0-d or 1-element array), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.number)):
        return float(value)
    value = as_numpy(value)
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001
        return None
    if array.dtype.kind not in "iuf" or array.size != 1:
        return None
    return float(array.reshape(()))


def read_loss(value, expression: str = "loss") -> tuple[float, object | None]:
    """(loss, grads or None) from what the loss expression returned.

    Accepted: a number, a 0-d or 1-element array (or tensor), or a pair (loss, grads).
    """
    grads = None
    if isinstance(value, (tuple, list)) and len(value) == 2 and _scalar(value[0]) is not None:
        value, grads = value
    number = _scalar(value)
    if number is None:
        raise ContractError(
            f"--loss `{expression}` returned {_describe_value(value)}, not a single number: "
            "the loss must be a number, a 0-d or 1-element array, or a pair (loss, grads)."
        )
    if not np.isfinite(number):
        raise ContractError(f"--loss `{expression}` returned {number} at the params' values.")
    return number, grads


def autograd_grads(value, params: Params, expression: str = "loss") -> np.ndarray | None:
    """The gradient by the tensor library's own backward, for a loss that is a tensor
    carrying a graph (PyTorch, `requires_grad`): the params' `.grad` after
    `loss.backward()`, cleared first, as one float64 vector in the params' order. A
    param the loss does not reach gets zeros, as torch's gradcheck reads None. None when
    the value is not such a tensor (the grads must then come from the user)."""
    if not (is_tensor(value) and getattr(value, "requires_grad", False)):
        return None
    if any(a.source is None for a in params.arrays):
        plain = [a.name for a in params.arrays if a.source is None]
        raise ContractError(
            f"--loss `{expression}` is a tensor with a graph, but {', '.join(plain[:3])} "
            "are not tensors, so autograd cannot give their gradient: give tensors (or the "
            "module) as --params, or the grads with --grads."
        )
    for entry in params.arrays:
        entry.source.grad = None
    value.backward()
    parts = []
    for entry in params.arrays:
        grad = entry.source.grad
        parts.append(
            np.zeros(entry.size) if grad is None else np.asarray(as_numpy(grad), np.float64).ravel()
        )
    return np.concatenate(parts)


def without_graph(params: Params):
    """A context in which the loss builds no autograd graph (`torch.no_grad()` for tensor
    params, nothing otherwise): the shifted losses need only their values."""
    for entry in params.arrays:
        if entry.source is not None:
            library = importlib.import_module(type(entry.source).__module__.split(".")[0])
            no_grad = getattr(library, "no_grad", None)
            return no_grad() if callable(no_grad) else contextlib.nullcontext()
    return contextlib.nullcontext()


def _describe_value(value) -> str:
    if isinstance(value, (tuple, list)):
        return f"a {type(value).__name__} of {len(value)} items"
    value = as_numpy(value)
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}"
    return f"a {type(value).__name__}"


def float32_valued(base: float, shifted: np.ndarray) -> bool:
    """True when every loss value is exactly a float32 number: a loss computed in float32
    and returned as a Python float (PyTorch's `.item()`, `float(J)` of a float32 array).
    Its round-off is float32's, whatever the params' dtype; a float64 computation lands
    on a float32 number with probability 2**-29 per value, so over the 2n + 1 values of a
    check this does not happen by chance."""
    values = np.concatenate([[base], np.asarray(shifted, dtype=np.float64).ravel()])
    if values.size < 3 or not np.all(np.isfinite(values)):
        return False
    with np.errstate(over="ignore"):
        return bool(np.all(values.astype(np.float32).astype(np.float64) == values))


FLOAT32_LOSS_NOTE = (
    "every loss value is a float32 number (a float32 computation returned as a Python "
    "float, e.g. .item()): checked at float32's noise floor (--dtype float64 overrides)"
)


# --- grads ---------------------------------------------------------------------------


def match_grads(grads, params: Params, expression: str = "grads") -> np.ndarray:
    """The user's gradient as one float64 vector in the params' order.

    `grads` is either in the params' structure (dict keys or object attributes matched
    by name, lists and tuples by position; a tuple matches an object's attributes by
    position too, as Nielsen's `backprop` returns `(nabla_b, nabla_w)`), or one flat
    vector of all entries in the params' order. Shapes must match up to axes of
    length 1 (a bias (3,) against (3, 1)).
    """
    out = np.empty(params.size, dtype=np.float64)
    offsets = np.cumsum([0] + [a.size for a in params.arrays])
    flat = as_numpy(grads)
    single = params.tree.kind == "array"
    if isinstance(flat, np.ndarray) and (not single or flat.ndim == 1):
        values = _numbers(flat, "the flat gradient", expression)
        if values.ndim == 1 and values.size == params.size:
            out[:] = values
            _refuse_nonfinite(out, params, offsets, expression)
            return out
        if not single:
            raise ContractError(
                f"--grads `{expression}` is one array of shape {values.shape}, but the params "
                f"are {len(params.arrays)} arrays with {params.size:,} entries in all: give "
                "grads in the params' structure, or one flat vector of that length."
            )
    _match(params.tree, grads, params, expression, out, offsets)
    _refuse_nonfinite(out, params, offsets, expression)
    return out


def _match(node: Node, value, params: Params, expression, out, offsets) -> None:
    label = node.name or "the top level"
    if node.kind == "array":
        entry = params.arrays[node.index]
        values = _numbers(as_numpy(value), entry.name, expression)
        if not _same_shape(values.shape, entry.shape):
            raise ContractError(
                f"--grads `{expression}`: the gradient of {entry.name} has shape "
                f"{values.shape}, but {entry.name} has shape {entry.shape}."
            )
        out[offsets[node.index] : offsets[node.index + 1]] = values.ravel()
        return
    if node.kind == "sequence" or (node.kind == "object" and isinstance(value, (list, tuple))):
        if not isinstance(value, (list, tuple)):
            raise ContractError(
                f"--grads `{expression}`: {label} of the params is a "
                f"{'list or tuple' if node.kind == 'sequence' else node.kind} of "
                f"{len(node.children)}, the grads have {_describe_value(value)} there."
            )
        expected = len(node.children) if node.kind == "object" else _sequence_length(node)
        if len(value) != expected:
            raise ContractError(
                f"--grads `{expression}`: {label} of the params has {expected} items, the "
                f"grads have {len(value)}."
            )
        for position, (key, child) in enumerate(node.children):
            index = position if node.kind == "object" else key
            _match(child, value[index], params, expression, out, offsets)
        return
    for key, child in node.children:  # dict or object: by name
        if isinstance(value, dict):
            found = key in value
            item = value.get(key)
        else:
            found = (
                isinstance(key, str)
                and hasattr(value, key)
                and not isinstance(value, (list, tuple, np.ndarray))
            )
            item = getattr(value, key, None) if found else None
        if not found:
            have = list(value) if isinstance(value, dict) else _describe_value(value)
            raise ContractError(
                f"--grads `{expression}` has no gradient for {child.name} (key {key!r}); the "
                f"grads have {have}."
            )
        _match(child, item, params, expression, out, offsets)


def _sequence_length(node: Node) -> int:
    """A sequence's length: its children kept their positions (no item is skipped)."""
    return max(int(key) for key, _ in node.children) + 1


def _same_shape(a: tuple, b: tuple) -> bool:
    return tuple(a) == tuple(b) or tuple(n for n in a if n != 1) == tuple(n for n in b if n != 1)


def _numbers(value, name: str, expression: str) -> np.ndarray:
    try:
        array = np.asarray(value)
    except Exception:  # noqa: BLE001
        array = None
    if array is None or array.dtype.kind not in "biuf" or array.dtype.kind == "b":
        raise ContractError(
            f"--grads `{expression}`: the gradient of {name} is {_describe_value(value)}, "
            "not an array of real numbers."
        )
    return array.astype(np.float64)


def _refuse_nonfinite(out, params: Params, offsets, expression: str) -> None:
    bad = np.flatnonzero(~np.isfinite(out))
    if bad.size:
        k = int(np.searchsorted(offsets, bad[0], side="right")) - 1
        entry = params.arrays[k]
        where = np.unravel_index(int(bad[0] - offsets[k]), entry.shape) if entry.shape else ()
        raise ContractError(
            f"--grads `{expression}` has NaN or infinite values at {bad.size} entries, the "
            f"first in {entry.name} at {tuple(int(i) for i in where)}."
        )


# --- perturbing ----------------------------------------------------------------------


def entry_label(entry: ParamArray, index: tuple) -> str:
    return f"{entry.name}[{', '.join(map(str, index))}]" if index else entry.name


PROBE_ENTRIES = 48  # entries whose loss is read at a second step too
PROBE_STEPS = (2.0, -2.0)  # the second step, in units of eps


def probe_indices(sizes: list[int], limit: int = PROBE_ENTRIES) -> np.ndarray:
    """Flat indices (sorted, unique) of the entries whose loss is also read at
    PROBE_STEPS: every entry of a small model, else up to `limit` spread evenly over
    every array (each array gets its share, at least one entry while the limit allows).
    The parent and the child compute the same indices from the shapes alone."""
    total = int(sum(sizes))
    if total <= limit:
        return np.arange(total)
    offsets = np.cumsum([0, *sizes])
    share = max(1, limit // max(1, len(sizes)))
    picks: list[int] = []
    for k, size in enumerate(sizes):
        count = min(int(size), share, limit - len(picks))
        if count <= 0:
            break
        picks.extend(int(offsets[k]) + np.linspace(0, size - 1, count).round().astype(int))
    return np.unique(np.asarray(picks, dtype=np.int64))


def shifted_losses(
    params: Params,
    loss_at: Callable[[], float],
    eps: float,
    steps=(-1.0, 1.0),
    progress: Callable[[int, int], None] | None = None,
    indices: np.ndarray | None = None,
) -> np.ndarray:
    """The loss with each entry moved by each step * eps in place, in row-major order
    (or only the flat `indices`, in their order).

    Entry by entry, as CS231n's eval_numerical_gradient does: the array itself is
    changed (so the user's code sees the step wherever it reads the array) and the
    entry's original bits are put back before the next one, even when the loss raises.
    Returns (entries, len(steps)) float64. ContractError if the loss is not finite.
    """
    entries = list(_entries(params, indices))
    total = len(entries)
    out = np.zeros((total, len(steps)), dtype=np.float64)
    for row, (entry, index) in enumerate(entries):
        array = entry.array
        kind = array.dtype.type
        moves = [kind(step) * kind(eps) for step in steps]
        original = array[index].copy()
        try:
            for k, move in enumerate(moves):
                array[index] = original + move
                value = loss_at()
                if not np.isfinite(value):
                    raise ContractError(
                        f"the loss was {value} with {entry_label(entry, index)} moved by "
                        f"{float(move):+.3g}: the loss must be finite near the params."
                    )
                out[row, k] = value
        except ContractError:
            raise
        except Exception as error:  # the user's loss failed at this step: say where
            if hasattr(error, "add_note"):
                error.add_note(f"with {entry_label(entry, index)} moved by {float(move):+.3g}")
            raise
        finally:
            array[index] = original
        if progress is not None:
            progress(row + 1, total)
    return out


def _entries(params: Params, indices: np.ndarray | None):
    """(array entry, index tuple) for every entry in row-major order, or for the flat
    `indices` only."""
    if indices is None:
        for entry in params.arrays:
            for index in np.ndindex(entry.array.shape):
                yield entry, index
        return
    offsets = np.cumsum([0] + [a.size for a in params.arrays])
    for flat in indices:
        k = int(np.searchsorted(offsets, flat, side="right")) - 1
        entry = params.arrays[k]
        index = np.unravel_index(int(flat - offsets[k]), entry.array.shape)
        yield entry, tuple(int(i) for i in index)
