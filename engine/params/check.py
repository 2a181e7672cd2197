"""`check_params`: the general contract in this process, for a user's own notebook.

The same steps as `check-code --loss --params --grads`, without a sandbox (the code is
the caller's own): the params are flattened into named arrays, perturbed in place entry
by entry and restored, and the gradient compared with central differences.
"""

from __future__ import annotations

import contextlib
import inspect
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from engine.gradcheck.check import result_from_arrays
from engine.gradcheck.compare import CheckResult
from engine.gradcheck.noise import measured_noise
from engine.gradcheck.numerical import combine_costs
from engine.network.layout import Layout
from engine.network.model import validate_eps
from engine.network.pieces import CENTRAL
from engine.params.segments import (
    Segmentation,
    build_params,
    check_order,
    flat_grads,
    parse_segments,
)
from engine.params.structure import (
    DTYPE_NAMES,
    FLOAT32_NAME,
    PROBE_STEPS,
    ContractError,
    Params,
    autograd_grads,
    float32_valued,
    match_grads,
    probe_indices,
    read_loss,
    shifted_losses,
    without_graph,
)
from engine.params.symmetry import jacobian_symmetry
from engine.params.tracing import gradients_by_name, trace_gradient, user_file_outside

GRADSCOPE_FOLDERS = (  # GradScope's own frames are not the user's
    str(Path(__file__).resolve().parents[1]),
    str(Path(__file__).resolve().parents[2] / "gradscope"),
)


def check_params(
    loss: Callable[[], object],
    params,
    grads=None,
    eps: float = 1e-4,
    dtype: str | None = None,
    threshold: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    segments: str | None = None,
    order: str = "C",
    set_params: Callable[[object], object] | None = None,
) -> CheckResult:
    """Check the gradient of `loss()` with respect to the arrays in `params`.

    `loss`: called with no arguments (e.g. `lambda: net.loss(X, y)`), returns the loss
    (a number, a 0-d or 1-element array) or `(loss, grads)`. `params`: an array, a dict /
    list / tuple (nested) of arrays, or an object whose attributes hold them; they are
    perturbed in place, one entry at a time, and restored. `grads`: where the loss does
    not return them, the gradient in the params' structure or as one flat vector, or a
    callable returning it (called after the loss). `dtype`: the check's precision,
    float32 when any param is float32 unless given.

    The arrays are named by their path (`W1` for a dict key, `weights[0]` for an
    object's list attribute, `[0]` for the items of a list given directly). ValueError
    (ContractError) says what does not fit.

    One flat vector: `segments` ('Theta1:5x4,Theta2:3x6') names the arrays it unrolls,
    in `order` ('C' row-major, 'F' column-major as Octave's `(:)`); their sizes must add
    up to its length. `set_params`: for a getter returning a copy (`params=NN.getParams()`),
    the setter (`NN.setParams`), handed the moved vector before every loss.
    """
    if not callable(loss):
        raise ContractError(
            "loss must be a callable taking no arguments, e.g. lambda: net.loss(X, y)"
        )
    if dtype is not None and dtype not in DTYPE_NAMES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    eps = validate_eps(eps)
    segmentation = None
    if segments is not None:
        segmentation = Segmentation(parse_segments(segments), check_order(order), "segments=")
    if set_params is not None and not callable(set_params):
        raise ContractError("set_params must be the setter itself, e.g. NN.setParams")
    flat, vector = build_params(params, "params", segmentation, set_params)
    grads_given = grads
    raw = loss()
    base, returned = read_loss(raw, "loss()")
    by_autograd = False
    if grads is None and returned is None:
        grads = autograd_grads(raw, flat, "loss()")
        by_autograd = grads is not None
        if grads is None:
            raise ContractError(
                "loss() returned one number and no gradient: pass grads=..., or make the "
                "loss return (loss, grads) (or a tensor with requires_grad, for autograd)."
            )
        expression = "autograd"
    elif grads is None:
        grads, expression = returned, "loss()[1]"
    elif callable(grads):
        grads, expression = grads(), "grads()"
    else:
        expression = "grads"
    analytic = match_grads(flat_grads(grads, flat, segmentation), flat, expression)
    theta = flat.vector()
    steps = [s for s in CENTRAL.steps if s != 0.0]

    def loss_at():
        if set_params is not None:
            set_params(vector)
        return read_loss(loss(), "loss()")[0]

    try:
        with without_graph(flat) if by_autograd else contextlib.nullcontext():
            shifted = shifted_losses(flat, loss_at, eps, steps, progress)
            probe = shifted_losses(flat, loss_at, eps, PROBE_STEPS, indices=_probed(flat))
    finally:
        if set_params is not None:
            set_params(vector)
    result = _result(flat, theta, analytic, base, shifted, probe, eps, dtype, threshold)

    def gradient_at():
        if set_params is not None:
            set_params(vector)
        raw = loss()
        if by_autograd:
            again = autograd_grads(raw, flat, "loss()")
        elif grads_given is None:
            again = read_loss(raw, "loss()")[1]
        else:
            again = grads_given()
        return match_grads(flat_grads(again, flat, segmentation), flat, expression)

    if grads_given is not None and not callable(grads_given):
        return result  # fixed arrays: the gradient cannot be read anywhere else

    def loss_again():
        if set_params is not None:
            set_params(vector)
        return loss()

    def backward(raw):
        return autograd_grads(raw, flat, "loss()")

    traced = (loss_again, backward) if by_autograd else (gradient_at, None)
    try:
        return _explained(result, flat, analytic, base, gradient_at, *traced)
    finally:
        if set_params is not None:
            set_params(vector)


def check_layer(
    forward: Callable,
    inputs,
    backward: Callable | None = None,
    eps: float = 1e-4,
    dtype: str | None = None,
    threshold: float | None = None,
    progress: Callable[[int, int], None] | None = None,
    **keywords,
) -> CheckResult:
    """Check a layer's backward as a vector-Jacobian product, as `check-code --forward`.

    `forward(*inputs, **keywords)` is called with `inputs` in order: a dict (its keys
    name the inputs: `{"x": x, "w": w, "b": b}`) or a sequence (named by the forward's
    parameters where its signature says, e.g. `affine_forward(x, w, b)`). The float
    arrays among them (x included) are checked; others (`bn_param`) are passed as they
    are. `backward`: a NumPy pair's backward, called `backward(dout, cache)` and
    returning one gradient per float input; for torch tensors (an `autograd.Function`'s
    `.apply`) autograd is used, for a JAX function `jax.vjp`. GradScope draws `dout`
    (standard normal, seed 0) and compares with central differences of
    `sum(forward(...) * dout)`.
    """
    from engine.params.layer import ForwardCall, LayerCheck

    if not callable(forward):
        raise ContractError("forward must be the layer's forward function, e.g. affine_forward")
    eps = validate_eps(eps)
    if dtype is not None and dtype not in DTYPE_NAMES:
        raise ValueError(f"dtype must be float32 or float64, got {dtype!r}")
    names, values = _named_inputs(forward, inputs)
    if backward is not None and not callable(backward):
        raise ContractError("backward must be the layer's backward function, or None")
    namespace = {"forward": forward, "backward": backward or _twin_of(forward)}
    namespace.update(zip(names, values))
    namespace.update({f"keyword_{k}": v for k, v in keywords.items()})

    def evaluate(name: str):
        if namespace.get(name) is None:  # only a NumPy pair asks for its backward
            raise ContractError(
                "backward: give the layer's backward function (backward(dout, cache)); "
                f"none was found beside {getattr(forward, '__name__', 'the forward')}."
            )
        return namespace[name]

    call = ForwardCall(
        f"forward({', '.join(names)})",
        "forward",
        tuple(names),
        tuple((k, f"keyword_{k}") for k in keywords),
    )
    layer = LayerCheck(call, evaluate, "backward")
    analytic = layer.gradient()
    base = layer.loss()
    steps = [s for s in CENTRAL.steps if s != 0.0]
    shifted = shifted_losses(layer.params, layer.loss, eps, steps, progress)
    probed = _probed(layer.params)
    probe = shifted_losses(layer.params, layer.loss, eps, PROBE_STEPS, indices=probed)
    theta = layer.params.vector()
    dtype = dtype or layer.dtype()
    result = _result(layer.params, theta, analytic, base, shifted, probe, eps, dtype, threshold)
    return _explained(result, layer.params, analytic, None, layer.gradient)


def _named_inputs(forward: Callable, inputs) -> tuple[list[str], list]:
    """(names, values): a dict's keys, or the forward's parameter names, else input0..."""
    if isinstance(inputs, dict):
        names = [str(k) for k in inputs]
        if not all(n.isidentifier() for n in names):
            raise ContractError(f"inputs' keys must be names, got {names}")
        return names, list(inputs.values())
    if not isinstance(inputs, (list, tuple)):
        inputs = (inputs,)
    parameters = _parameter_names(forward)
    if len(parameters) >= len(inputs):
        return parameters[: len(inputs)], list(inputs)
    return [f"input{i}" for i in range(len(inputs))], list(inputs)


def _parameter_names(forward: Callable) -> list[str]:
    """The forward's positional parameter names; for a torch `Function.apply`, those of
    the Function's own `forward(ctx, ...)` after ctx."""
    owner = getattr(forward, "__self__", None)
    target = getattr(owner, "forward", None) if isinstance(owner, type) else forward
    try:
        parameters = inspect.signature(target).parameters.values()
    except (TypeError, ValueError):
        return []
    names = [p.name for p in parameters if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return names[1:] if names[:1] in (["ctx"], ["self"]) else names


def _twin_of(forward: Callable) -> Callable | None:
    """The backward beside a NumPy forward, by name (`affine_forward` ->
    `affine_backward` in the forward's module), as check-code finds it."""
    from engine.params.layer import backward_twin

    name = backward_twin(getattr(forward, "__name__", ""))
    found = getattr(forward, "__globals__", {}).get(name) if name else None
    return found if callable(found) else None


def _explained(
    result: CheckResult, flat: Params, analytic, base, gradient_at, evaluate=None, backward=None
) -> CheckResult:
    """The result with what the numbers alone cannot say, for the diagnosis: where the
    caller's own file computed each gradient (one more evaluation, traced) and whether
    their gradient is the gradient of some function (engine.params.symmetry).
    `evaluate` and `backward`: the loss and autograd's backward, traced apart (else
    `gradient_at` is traced whole)."""
    evaluate = evaluate or gradient_at
    sizes = [a.size for a in flat.arrays]
    targets = gradients_by_name(flat.names, sizes, analytic)
    trace = trace_gradient(
        evaluate, targets, user_file_outside(*GRADSCOPE_FOLDERS), loss=base, backward=backward
    )
    symmetry = jacobian_symmetry(flat, gradient_at, result.dtype) if not result.agrees else None
    penalty = result.penalty or (trace.penalty if trace is not None else None)
    return replace(result, trace=trace, symmetry=symmetry, penalty=penalty)


def _probed(flat: Params):
    return probe_indices([a.size for a in flat.arrays])


def _result(
    flat: Params, theta, analytic, base, shifted, probe, eps, dtype, threshold
) -> CheckResult:
    """The comparison, in `dtype` or the params' (float32 for a loss whose values are
    all float32 numbers), at the larger of the predicted and the measured noise floor."""
    if dtype is None:
        dtype = FLOAT32_NAME if float32_valued(base, shifted) else flat.dtype()
    kind = np.dtype(dtype).type
    numerical = combine_costs(None, shifted, eps, CENTRAL, kind)
    measured = measured_noise(numerical, probe, _probed(flat), eps, PROBE_STEPS)
    layout = Layout.from_arrays(flat.names, flat.shapes)
    return result_from_arrays(
        analytic.astype(kind),
        numerical,
        theta,
        layout,
        base,
        eps,
        threshold=threshold,
        measured=measured,
        shifted=shifted,
    )
