"""GradScope from Python: a gradient check that a notebook shows and a test suite asserts.

The engine stays pure (NumPy, no Plotly, no display hooks); this package is the front
end for people who call it from their own process, as `cli` is for the shell:

    import gradscope

    check = gradscope.check_params(lambda: net.loss(X, y), net.params)
    check  # in Jupyter: verdict, per-array table, findings, heatmaps
    check.write_report("report.html")  # the app's and the CLI's report

    # in a pytest test: fails with the top finding as its reason
    gradscope.assert_gradients_match(lambda: net.loss(X, y), net.params, report="r.html")

    # a layer pair, as a vector-Jacobian product (torch autograd.Function, jax too)
    gradscope.check_layer(affine_forward, (x, w, b))  # backward: affine_backward

`check_params` takes the same arguments as `engine.check_params` (`grads`, `eps`,
`dtype`, `threshold`, `segments`, `order`, `set_params`, ...). A loss or params that do
not fit the contract raise the engine's ContractError (a ValueError) unchanged.
"""

from __future__ import annotations

from gradscope.notebook import NotebookCheck, check_layer, check_params
from gradscope.testing import GradientMismatch, assert_gradients_match

__all__ = [
    "GradientMismatch",
    "NotebookCheck",
    "assert_gradients_match",
    "check_layer",
    "check_params",
]
