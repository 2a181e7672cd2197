"""Causes the numbers cannot name alone, read from the statements of the user's code that ran.

When the two gradients disagree in a way no transformation explains, the user's own
code sometimes says why in one line. Each recogniser here looks at the statements the
traced evaluation ran (`result.trace`, engine/params/tracing.py) for one mistake people
post about, and names the line:

- the output error multiplied by the activation's derivative, `(a - y) * sigmoid_prime(z)`,
  while the cost is a cross-entropy (a `log` ran): with a sigmoid or softmax output that
  derivative cancels, so the gradient is the squared error's, not the cost's
  (`loss-mismatch`);
- probabilities normalised over the examples, not the classes: a local array of the
  batch's length along one axis sums to 1 along that axis (the tracer saw it), as
  `exp / exp.sum(axis=0)` gives for rows of examples (`loss-mismatch`);
- a gradient term computed and dropped: a local named as a diverging array's gradient
  (`dW_dec`, `grad_W2_tied`) that nothing reads afterwards, as when a weight used twice
  (tied weights, a layer shared across steps) gets the term of one use only
  (`backward-chain`).
"""

from __future__ import annotations

import ast
import re

from engine.diagnosis.finding import Finding
from engine.diagnosis.lines import TARGET_NAMES, unused_results
from engine.gradcheck.compare import CheckResult

DERIVATIVE_NAMES = re.compile(r"prime|grad|deriv", re.IGNORECASE)
LOG_CALL = re.compile(r"\blog\s*\(")
# a gradient's local name: dW2, d_W2, gW, grad_W, grad_W_dec; what follows names the array
GRADIENT_NAME = re.compile(r"^(?:grad_?|d_?|g_?|delta_?)(?P<rest>[A-Za-z]\w*)$")


def code_findings(result: CheckResult) -> list[Finding]:
    trace = result.trace
    if result.agrees or trace is None:
        return []
    try:
        tree = ast.parse(trace.source)
    except (SyntaxError, ValueError, RecursionError):
        return []
    ran = [
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AugAssign, ast.Return))
        and node.lineno in trace.executed
    ]
    return (
        _output_delta_with_derivative(result, trace, ran)
        + _softmax_over_examples(result, trace)
        + _dropped_gradient_term(result, trace)
    )


def _output_delta_with_derivative(result, trace, ran) -> list[Finding]:
    lines = trace.source.splitlines()
    logs = [n for n in sorted(trace.executed) if n <= len(lines) and LOG_CALL.search(lines[n - 1])]
    if not logs:
        return []
    for node in ran:
        if node.value is not None and _error_times_derivative(node.value):
            text = " ".join(lines[node.lineno - 1].split())
            arrays = tuple(m.name for m in result.matrices if m.n_diverging)
            return [
                Finding(
                    message=(
                        f"Line {node.lineno} multiplies the output error by the activation's "
                        f"derivative, while your cost is a cross-entropy (the log at line "
                        f"{logs[0]}): for a sigmoid or softmax output with cross-entropy "
                        "that derivative cancels and the output delta is just a - y. As "
                        "written, the backward pass is the gradient of the squared error, "
                        "not of your cost."
                    ),
                    evidence=f"line {node.lineno}: `{text[:120]}`; cost line {logs[0]}"
                    + _symmetry_words(result),
                    score=0.6,
                    cause="loss-mismatch",
                    arrays=arrays,
                    lines=(node.lineno, logs[0]),
                )
            ]
    return []


def _symmetry_words(result: CheckResult) -> str:
    s = result.symmetry
    if s is None or not s.informative:
        return ""
    kind = "symmetric: the gradient of some function" if s.symmetric else "not symmetric"
    return f"; the analytic gradient's Jacobian is {kind} (|M - M^T| / |M| = {s.asymmetry:.1e})"


def _error_times_derivative(value) -> bool:
    """`(a - y) * f_prime(z)`, `(a - y) * a * (1 - a)`, in either order."""
    if not (isinstance(value, ast.BinOp) and isinstance(value.op, ast.Mult)):
        return False
    factors = _factors(value)
    return any(_is_output_error(f) for f in factors) and any(
        _is_derivative(f, factors) for f in factors
    )


def _factors(node) -> list:
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult):
        return _factors(node.left) + _factors(node.right)
    return [node]


def _is_output_error(node) -> bool:
    return (
        isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Sub)
        and any(_is_label(side) for side in (node.left, node.right))
    )


def _is_label(node) -> bool:
    while isinstance(node, ast.Subscript):
        node = node.value
    return isinstance(node, ast.Name) and bool(TARGET_NAMES.match(node.id))


def _is_derivative(node, factors) -> bool:
    if isinstance(node, ast.Call):
        func = node.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")
        return bool(DERIVATIVE_NAMES.search(name))
    # a * (1 - a) written out: a factor `1 - x` next to `x`
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Sub):
        one = isinstance(node.left, ast.Constant) and node.left.value == 1
        return one and any(ast.dump(f) == ast.dump(node.right) for f in factors)
    return False


BATCH_NAMES = ("N", "m", "num_train", "num_examples", "n_samples", "batch_size")


def _softmax_over_examples(result: CheckResult, trace) -> list[Finding]:
    name = next((n for n in BATCH_NAMES if n in trace.values), None)
    if name is None:
        return []
    batch = trace.values[name]
    for line, key, along, other in trace.normalised:
        if along != batch or other == batch:
            continue
        text = " ".join(trace.source.splitlines()[line - 1].split())
        return [
            Finding(
                message=(
                    f"Line {line} normalises `{key}` so that it sums to 1 over the "
                    f"{along} examples ({name} = {along:g}) instead of over the {other} "
                    "classes of each example: a softmax over the wrong axis. The cost and "
                    "the gradient's p - y then use probabilities no per-example softmax "
                    "gives, so the gradient is not the cost's."
                ),
                evidence=(
                    f"`{key}` after line {line} (`{text[:100]}`): every sum along its axis "
                    f"of length {along} is 1 to 1e-6, the sums along its axis of length "
                    f"{other} are not" + _symmetry_words(result)
                ),
                score=0.65,
                cause="loss-mismatch",
                arrays=tuple(m.name for m in result.matrices if m.n_diverging),
                lines=(line,),
            )
        ]
    return []


def _dropped_gradient_term(result: CheckResult, trace) -> list[Finding]:
    """A diverging array's gradient term, computed and read by nothing (the whole name
    never read again): the sum of one term per use of the array lacks that one."""
    diverging = {m.name.split(".")[-1]: m.name for m in result.matrices if m.n_diverging}
    lines = trace.source.splitlines()
    for line, name in unused_results(trace.source, trace.executed):
        array = _array_named_in(name, diverging)
        if array is None:
            continue
        made = _last_named_place(trace, array)
        where = (
            f" to {made[1]} where {array}'s gradient is last bound (line {made[0]})" if made else ""
        )
        text = " ".join(lines[line - 1].split())
        return [
            Finding(
                message=(
                    f"Line {line} computes `{name}`, by its name a term of {array}'s "
                    f"gradient, and nothing uses it: the gradient of {array} leaves that "
                    f"term out. An array used in two places (tied weights, a layer shared "
                    f"across steps or inputs) gets one term per use, summed: add `{name}`"
                    f"{where}."
                ),
                evidence=f"line {line}: `{text[:120]}`; `{name}` is read by no statement "
                "that ran in its function" + _symmetry_words(result),
                score=0.62,
                cause="backward-chain",
                arrays=(array,),
                lines=(made[0], line) if made and made[0] != line else (line,),
            )
        ]
    return []


def _last_named_place(trace, array: str) -> tuple[int, str] | None:
    """The last (line, name) where a plain local held the array's final gradient: where
    a dropped term belongs (`dW = dW_enc` more than `dW_enc = ...`)."""
    named = [(line, key) for line, key in trace.roots.get(array, ()) if key.isidentifier()]
    return named[-1] if named else None


def _array_named_in(name: str, arrays: dict[str, str]) -> str | None:
    """The array a gradient's local name names (`dW_dec` -> W, `grad_b2` -> b2), by
    the name's words after the gradient prefix; None when it names none of `arrays`."""
    match = GRADIENT_NAME.match(name)
    if match is None:
        return None
    words = match["rest"].split("_")
    for candidate in (match["rest"], *words):
        if candidate in arrays:
            return arrays[candidate]
    return None
