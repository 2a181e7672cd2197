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
  `exp / exp.sum(axis=0)` gives for rows of examples (`loss-mismatch`).
"""

from __future__ import annotations

import ast
import re

from engine.diagnosis.finding import Finding
from engine.diagnosis.lines import TARGET_NAMES
from engine.gradcheck.compare import CheckResult

DERIVATIVE_NAMES = re.compile(r"prime|grad|deriv", re.IGNORECASE)
LOG_CALL = re.compile(r"\blog\s*\(")


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
    return _output_delta_with_derivative(result, trace, ran) + _softmax_over_examples(result, trace)


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
