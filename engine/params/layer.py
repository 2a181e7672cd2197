"""Layer pairs checked as a vector-Jacobian product, as CS231n's notebooks check them.

Pure logic (NumPy and the standard library; torch or jax only when the user's call
uses them): the sandboxed child imports it.

`--forward "affine_forward(x, w, b)"`: the call's float-array arguments are the inputs,
`x` included (CS231n's `eval_numerical_gradient_array` checks dx too); the other
arguments (`bn_param`, `conv_param`, labels) are passed as they are. GradScope draws an
upstream gradient `dout` (standard normal, seed DOUT_SEED, the output's shape and
dtype) and compares the backward's gradients with central differences of
`sum(forward(...) * dout)`, the inputs moved in place. A random `dout` rather than
ones: with ones, a backward that forgets to multiply by `dout` passes wherever the sum
hides it.

The backward, by what the call uses:
- NumPy pairs, `forward(...) -> (out, cache)` and `backward(dout, cache) -> (dx, dw,
  db)`: `--backward`, else the forward's twin by name (`affine_forward` ->
  `affine_backward`, `conv_forward_naive` -> `conv_backward_naive`, `layer.forward` ->
  `layer.backward`). A forward returning `(h, c, cache)` (an LSTM step) is called back
  as `backward(dh, dc, cache)`; one returning a bare array, as `backward(dout)`.
- PyTorch (tensor arguments, e.g. `LinearFunction.apply(x, w, b)` of an
  `autograd.Function`): autograd with `dout`, which runs the hand-written backward.
- JAX (a `jax.custom_vjp` function, or any function returning JAX arrays) on NumPy
  arguments: `jax.vjp`, which runs the custom rule.
"""

from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass

import numpy as np

from engine.params.structure import (
    FLOAT32_NAME,
    ContractError,
    Params,
    as_numpy,
    flatten_params,
    is_tensor,
    match_grads,
    without_graph,
)

DOUT_SEED = 0
NUMPY, TORCH, JAX = "numpy", "torch", "jax"


@dataclass(frozen=True)
class ForwardCall:
    """`--forward`'s call, taken apart: the function and its arguments as expressions."""

    text: str
    function: str
    arguments: tuple[str, ...]
    keywords: tuple[tuple[str, str], ...]


def parse_forward(text: str) -> ForwardCall:
    """ContractError unless `text` is one call with plain positional arguments."""
    try:
        node = ast.parse(text.strip(), mode="eval").body
    except SyntaxError as error:
        message = f"--forward `{text}` is not a Python expression: {error.msg}."
        raise ContractError(message) from None
    if not isinstance(node, ast.Call):
        raise ContractError(
            f"--forward `{text}` is not a call: give the forward call with its inputs, e.g. "
            "'affine_forward(x, w, b)' (its float-array arguments are the inputs checked)."
        )
    if any(isinstance(a, ast.Starred) for a in node.args) or any(
        k.arg is None for k in node.keywords
    ):
        raise ContractError(
            f"--forward `{text}`: write the arguments out (no *args or **kwargs), so each "
            "input has a name."
        )
    return ForwardCall(
        text.strip(),
        ast.unparse(node.func),
        tuple(ast.unparse(a) for a in node.args),
        tuple((k.arg, ast.unparse(k.value)) for k in node.keywords),
    )


def backward_twin(function: str) -> str | None:
    """The backward's name by the forward's: the last `forward` in the last dotted part
    becomes `backward` (`rnn_step_forward` -> `rnn_step_backward`); None if absent."""
    owner, dot, last = function.rpartition(".")
    head, found, tail = last.rpartition("forward")
    return f"{owner}{dot}{head}backward{tail}" if found else None


class LayerCheck:
    """One forward call evaluated in the user's namespace: its inputs as Params, the
    VJP loss `sum(forward * dout)` at the inputs' current values, and the gradient the
    user's backward gives at the starting point."""

    def __init__(self, call: ForwardCall, evaluate, backward: str | None = None):
        self.call = call
        self.function = evaluate(call.function)
        if not callable(self.function):
            raise ContractError(f"--forward `{call.text}`: `{call.function}` is not callable.")
        self.values = [evaluate(text) for text in call.arguments]
        self.keywords = {name: evaluate(text) for name, text in call.keywords}
        self.positions = [i for i, v in enumerate(self.values) if _float_input(v)]
        if not self.positions:
            raise ContractError(
                f"--forward `{call.text}`: none of its arguments is a float array or tensor, "
                "so there is nothing to check."
            )
        texts = [call.arguments[i] for i in self.positions]
        display = f"({', '.join(texts)})" if len(texts) > 1 else f"({texts[0]},)"
        self.params: Params = flatten_params(tuple(self.values[i] for i in self.positions), display)
        self.backend = self._backend()
        self.backward_text = backward
        if self.backend == NUMPY and backward is None:
            self.backward_text = backward_twin(call.function)
            if self.backward_text is None:
                raise ContractError(
                    f"--forward `{call.text}`: give --backward (the function taking dout "
                    "and the cache), its name cannot be told from the forward's."
                )
        self.douts: list[np.ndarray] = []
        self.evaluate = evaluate

    def _backend(self) -> str:
        if any(is_tensor(self.values[i]) for i in self.positions):
            return TORCH
        module = type(self.function).__module__ or ""
        return JAX if module.split(".")[0] in ("jax", "jaxlib") else NUMPY

    def _call(self):
        return self.function(*self.values, **self.keywords)

    def _outputs(self, result) -> tuple[list, object]:
        """(outputs, cache): a NumPy pair returns (out, ..., cache); torch and JAX calls
        return their outputs alone. `_NO_CACHE` when there is no cache."""
        if self.backend == NUMPY and isinstance(result, tuple) and len(result) >= 2:
            return list(result[:-1]), result[-1]
        outputs = list(result) if isinstance(result, (tuple, list)) else [result]
        return outputs, _NO_CACHE

    def _output_arrays(self, outputs: list) -> list[np.ndarray]:
        arrays = []
        for k, output in enumerate(outputs):
            array = np.asarray(as_numpy(output)) if output is not None else None
            if array is None or array.dtype.kind != "f":
                where = f"output {k}" if len(outputs) > 1 else "its output"
                raise ContractError(
                    f"--forward `{self.call.text}`: {where} is {_kind(output)}, not a float "
                    "array: the forward must return its output (and, for a NumPy pair, the "
                    "cache last)."
                )
            arrays.append(array)
        return arrays

    def dtype(self) -> str | None:
        """float32 when an output is float32 (JAX without x64, a float32 layer), else None
        (the inputs' own precision decides)."""
        return FLOAT32_NAME if any(d.dtype == np.float32 for d in self.douts) else None

    def gradient(self) -> np.ndarray:
        """The backward's gradient at the starting point, one float64 vector in the
        inputs' order; draws `dout` first."""
        if self.backend == TORCH:
            grads = self._torch_gradient()
        elif self.backend == JAX:
            grads = self._jax_gradient()
        else:
            grads = self._numpy_gradient()
        return match_grads(grads, self.params, self._backward_label())

    def _draw(self, arrays: list[np.ndarray]) -> None:
        rng = np.random.default_rng(DOUT_SEED)
        self.douts = [rng.standard_normal(a.shape).astype(a.dtype) for a in arrays]

    def _backward_label(self) -> str:
        if self.backend == TORCH:
            return "autograd's backward"
        if self.backend == JAX:
            return "jax.vjp"
        return f"{self.backward_text}(dout, cache)"

    def _numpy_gradient(self) -> list:
        outputs, cache = self._outputs(self._call())
        self._draw(self._output_arrays(outputs))
        backward = self.evaluate(self.backward_text)
        if not callable(backward):
            raise ContractError(f"--backward `{self.backward_text}` is not callable.")
        arguments = self.douts if cache is _NO_CACHE else [*self.douts, cache]
        returned = backward(*arguments)
        grads = list(returned) if isinstance(returned, (tuple, list)) else [returned]
        if len(grads) != len(self.positions):
            names = ", ".join(self.params.names)
            raise ContractError(
                f"{self._backward_label()} returned {len(grads)} "
                f"{'gradient' if len(grads) == 1 else 'gradients'} for the "
                f"{len(self.positions)} float inputs of `{self.call.text}` ({names}): it "
                "must return one gradient per input, in the forward's order."
            )
        return grads

    def _torch_gradient(self) -> list:
        torch = importlib.import_module("torch")
        tensors = [entry.source for entry in self.params.arrays]
        for tensor in tensors:
            if tensor.is_leaf and not tensor.requires_grad:
                tensor.requires_grad_(True)
            if not tensor.is_leaf:
                tensor.retain_grad()
            tensor.grad = None
        outputs, _ = self._outputs(self._call())
        self._draw(self._output_arrays(outputs))
        torch.autograd.backward(outputs, [torch.from_numpy(d.copy()) for d in self.douts])
        return [t.grad if t.grad is not None else np.zeros(t.shape) for t in tensors]

    def _jax_gradient(self) -> list:
        jax = importlib.import_module("jax")

        def function_of_inputs(*arrays):
            values = list(self.values)
            for position, array in zip(self.positions, arrays):
                values[position] = array
            return self.function(*values, **self.keywords)

        result, vjp = jax.vjp(function_of_inputs, *[self.values[i] for i in self.positions])
        outputs, _ = self._outputs(result)
        self._draw(self._output_arrays(outputs))
        cotangents = tuple(self.douts) if isinstance(result, (tuple, list)) else self.douts[0]
        return list(vjp(cotangents))

    def loss(self) -> float:
        """sum(forward(...) * dout) at the inputs' current values, in float64."""
        with without_graph(self.params):
            outputs, _ = self._outputs(self._call())
            arrays = self._output_arrays(outputs)
        return float(sum(np.vdot(a.astype(np.float64), d) for a, d in zip(arrays, self.douts)))

    def expressions(self) -> dict:
        """The check's loss, params and grads in words, for the header."""
        return {
            "loss": f"sum(output * dout), output of {self.call.text}",
            "params": self.params.expression,
            "grads": self._backward_label(),
        }

    def describe(self) -> str:
        """How the check was made, for the header."""
        how = {
            TORCH: "torch autograd, which runs your backward",
            JAX: "jax.vjp, which runs your custom rule",
            NUMPY: f"`{self.backward_text}`",
        }[self.backend]
        return (
            f"`{self.call.text}` checked as a vector-Jacobian product: the gradient of "
            f"sum(output * dout) for a random dout (seed {DOUT_SEED}) by {how}, against "
            "central differences"
        )


_NO_CACHE = object()


def _float_input(value) -> bool:
    if isinstance(value, np.ndarray):
        return value.dtype.kind == "f"
    if is_tensor(value):
        return bool(getattr(value, "is_floating_point", lambda: False)())
    return False


def _kind(value) -> str:
    if value is None:
        return "None"
    module = type(value).__module__
    prefix = "" if module == "builtins" else f"{module}."
    return f"a {prefix}{type(value).__name__}"
