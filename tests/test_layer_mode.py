"""Layer mode: a forward call's float inputs checked as a vector-Jacobian product.

The corpus runs every layer through check-code (tests/test_check_code_contract.py) and
the Python API (tests/test_corpus_python_api.py); these are the rules in between: how
the backward is found, what a forward must return, and what a bad call is told.
"""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.params.layer import backward_twin, parse_forward
from engine.params.structure import ContractError
from tests.cli_helpers import run_cli

RNG = np.random.default_rng(3)
X, W = RNG.standard_normal((4, 3)), RNG.standard_normal((3, 2))


def scale_forward(x, w):
    out = x @ w
    return out, (x, w)


def scale_backward(dout, cache):
    x, w = cache
    return dout @ w.T, x.T @ dout


def scale_backward_without_dout(dout, cache):
    x, w = cache
    ones = np.ones_like(dout)  # the bug a dout of ones would hide
    return ones @ w.T, x.T @ ones


@pytest.mark.parametrize(
    "forward, backward",
    [
        ("affine_forward", "affine_backward"),
        ("conv_forward_naive", "conv_backward_naive"),
        ("rnn_step_forward", "rnn_step_backward"),
        ("layer.forward", "layer.backward"),
        ("layers.fc_forward", "layers.fc_backward"),
        ("apply", None),
    ],
)
def test_the_backward_is_the_forwards_twin_by_name(forward, backward):
    assert backward_twin(forward) == backward


@pytest.mark.parametrize(
    "text, words",
    [
        ("affine_forward", "is not a call"),
        ("affine_forward(*inputs)", "write the arguments out"),
        ("affine_forward(x, w", "not a Python expression"),
    ],
)
def test_a_forward_that_is_not_a_plain_call_is_refused_with_the_reason(text, words):
    with pytest.raises(ContractError, match=words):
        parse_forward(text)


def test_a_correct_pair_agrees_and_names_the_inputs_by_the_forwards_parameters():
    result = engine.check_layer(scale_forward, (X.copy(), W.copy()))
    assert result.agrees and result.layout.names == ("x", "w")


def test_a_random_dout_catches_a_backward_that_ignores_dout():
    result = engine.check_layer(
        scale_forward, {"x": X.copy(), "w": W.copy()}, scale_backward_without_dout
    )
    assert not result.agrees
    assert {m.name for m in result.matrices if m.diverging.any()} == {"x", "w"}


def test_a_backward_returning_too_few_gradients_is_told_how_many_it_owes():
    def short_backward(dout, cache):
        return dout @ cache[1].T

    with pytest.raises(ContractError, match=r"returned 1 gradient for the 2 float inputs"):
        engine.check_layer(scale_forward, (X.copy(), W.copy()), short_backward)


def test_a_forward_whose_output_is_not_a_float_array_is_refused():
    with pytest.raises(ContractError, match="not a float array"):
        engine.check_layer(lambda x: ("text", None), (X.copy(),), lambda dout, cache: dout)


def test_the_inputs_are_restored_after_the_check():
    x, w = X.copy(), W.copy()
    engine.check_layer(scale_forward, (x, w))
    assert np.array_equal(x, X) and np.array_equal(w, W)


def test_check_code_refuses_forward_mixed_with_the_loss_flags(tmp_path):
    path = tmp_path / "layer.py"
    path.write_text("import numpy as np\n")
    code, _, err = run_cli("check-code", path, "--forward", "f(x)", "--loss", "1.0")
    assert code == 2 and "--forward checks a layer pair; --loss belong" in err
    code, _, err = run_cli("check-code", path, "--backward", "g")
    assert code == 2 and "--backward with --forward" in err
