"""`check_params`: the general contract in this process, for a user's own notebook.

The same steps as `check-code --loss --params --grads`, without a sandbox (the code is
the caller's own): the params are flattened into named arrays, perturbed in place entry
by entry and restored, and the gradient compared with central differences.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.gradcheck.check import result_from_arrays
from engine.gradcheck.compare import CheckResult
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
    ContractError,
    float32_valued,
    match_grads,
    read_loss,
    shifted_losses,
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
    base, returned = read_loss(loss(), "loss()")
    if grads is None and returned is None:
        raise ContractError(
            "loss() returned one number and no gradient: pass grads=..., or make the loss "
            "return (loss, grads)."
        )
    if grads is None:
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
        shifted = shifted_losses(flat, loss_at, eps, steps, progress)
    finally:
        if set_params is not None:
            set_params(vector)
    if dtype is None:  # the params', or float32 for a loss whose values are all float32
        dtype = FLOAT32_NAME if float32_valued(base, shifted) else flat.dtype()
    kind = np.dtype(dtype).type
    numerical = combine_costs(None, shifted, eps, CENTRAL, kind)
    layout = Layout.from_arrays(flat.names, flat.shapes)
    return result_from_arrays(
        analytic.astype(kind), numerical, theta, layout, base, eps, threshold=threshold
    )
