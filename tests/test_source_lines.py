"""The lines of the user's file a finding points at, and what they are found from.

A traced evaluation finds where each array's final gradient was made (by value, so any
naming works); a backward slice over the statements that ran ranks the lines; the
symmetry of the user's gradient tells a broken chain from a different loss.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.diagnosis.diagnose import diagnose
from engine.diagnosis.lines import made_at, suspect_lines
from engine.params.structure import flatten_params
from engine.params.symmetry import jacobian_symmetry
from engine.params.tracing import SourceTrace, trace_gradient, user_file_outside
from tests.corpus.manifest import PROGRAMS, bug_lines, segments_flags, write_variant

ROOT = Path(__file__).resolve().parents[1]

TWO_LAYER = textwrap.dedent(
    """\
    import numpy as np

    def loss(params, X, y, reg):
        W1, b1, W2, b2 = params["W1"], params["b1"], params["W2"], params["b2"]
        N = X.shape[0]
        hidden = np.maximum(0, X @ W1 + b1)
        scores = hidden @ W2 + b2
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
        data_loss = -np.log(probs[np.arange(N), y]).mean()
        total = data_loss + reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        grads = {}
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= N
        grads["W2"] = hidden.T @ dscores + 2 * reg * W2
        grads["b2"] = dscores.sum(axis=0)
        dhidden = dscores @ W2.T
        dhidden[dhidden <= 0] = 0
        grads["W1"] = X.T @ dhidden + 2 * reg * W1
        grads["b1"] = dhidden.sum(axis=0)
        return total, grads

    rng = np.random.default_rng(0)
    X = rng.standard_normal((6, 4))
    y = np.array([0, 1, 2, 0, 1, 2])
    params = {
        "W1": rng.standard_normal((4, 5)),
        "b1": 0.1 * rng.standard_normal(5),
        "W2": rng.standard_normal((5, 3)),
        "b2": 0.1 * rng.standard_normal(3),
    }
    """
)
MASK_FROM_UPSTREAM = 19  # `dhidden[dhidden <= 0] = 0`: should read `hidden <= 0`


def _two_layer(tmp_path):
    path = tmp_path / "two_layer.py"
    path.write_text(TWO_LAYER, encoding="utf-8")
    namespace = {"__name__": "two_layer"}
    exec(compile(TWO_LAYER, str(path), "exec"), namespace)
    return path, namespace


def test_the_tracer_finds_each_gradient_where_its_final_value_is_made(tmp_path):
    path, ns = _two_layer(tmp_path)
    total, grads = ns["loss"](ns["params"], ns["X"], ns["y"], 0.1)
    trace = trace_gradient(
        lambda: ns["loss"](ns["params"], ns["X"], ns["y"], 0.1),
        grads,
        lambda filename: filename == str(path),
        loss=total,
    )
    assert {name: places[0] for name, places in trace.roots.items()} == {
        "W2": (16, "grads['W2']"),
        "b2": (17, "grads['b2']"),
        "W1": (20, "grads['W1']"),
        "b1": (21, "grads['b1']"),
    }
    assert trace.loss_root == (11, "total")
    assert MASK_FROM_UPSTREAM in trace.executed
    assert trace.values["reg"] == 0.1


def test_the_tracer_finds_a_gradient_unrolled_in_another_order(tmp_path):
    source = (
        "import numpy as np\n\ndef grad(t):\n    G = np.outer(t, t)\n"
        "    return G.ravel(order='F')\n"
    )
    path = tmp_path / "unrolled.py"
    path.write_text(source, encoding="utf-8")
    namespace = {}
    exec(compile(source, str(path), "exec"), namespace)
    t = np.array([1.0, 2.0, 3.0])
    target = np.outer(t, t).ravel(order="C")  # the same entries, in the params' order
    trace = trace_gradient(lambda: namespace["grad"](t), {"G": target}, user_file_outside())
    assert trace.roots["G"][0] == (4, "G")


def test_a_value_an_object_already_held_is_not_where_it_was_made(tmp_path):
    """A loop binding a layer object that kept its dW from an earlier call shows dW at
    the loop's line first; the root is the line that computes it."""
    source = textwrap.dedent(
        """\
        import numpy as np

        class Dense:
            def backward(self, x, g):
                self.dW = x.T @ g
                return g

        def gradients(layers, x, g):
            for layer in layers:
                layer.backward(x, g)
            return [layer.dW for layer in layers]
        """
    )
    path = tmp_path / "layers.py"
    path.write_text(source, encoding="utf-8")
    ns = {}
    exec(compile(source, str(path), "exec"), ns)
    layers = [ns["Dense"]()]
    x, g = np.arange(6.0).reshape(3, 2), np.ones((3, 2))
    ns["gradients"](layers, x, g)  # an earlier call leaves layers[0].dW in place
    trace = trace_gradient(
        lambda: ns["gradients"](layers, x, g), {"W": x.T @ g}, user_file_outside()
    )
    assert trace.roots["W"][0][0] == 9  # `for layer in layers` shows the old dW first
    assert made_at(source, trace.executed, trace.roots["W"]) == (5, "self.dW")


def test_a_failing_evaluation_gives_no_trace_and_no_error():
    def broken():
        raise RuntimeError("the user's code failed this time")

    assert trace_gradient(broken, {"W": np.ones(3)}, lambda f: True) is None


def test_a_childs_trace_is_checked_before_it_is_used():
    source = "a = 1\nb = 2\n"
    sent = {
        "executed": [1, 2, 99],
        "roots": {"W": [[2, "b"], [99, "c"]], "not an array": [[1, "a"]], "b": [[500, "x"]]},
        "loss_root": None,
    }
    trace = SourceTrace.from_reply(sent, source, ["W", "b"])
    assert trace.executed == {1, 2}
    assert trace.roots == {"W": ((2, "b"),), "b": ()}
    assert SourceTrace.from_reply({"roots": 3}, source, ["W"]) is None


def test_a_chain_mistake_points_at_the_statement_only_the_diverging_arrays_share(tmp_path):
    _, ns = _two_layer(tmp_path)
    executed = set(range(1, TWO_LAYER.count("\n") + 1))
    lines = suspect_lines(TWO_LAYER, executed, [20, 21], [16, 17], "backward-chain", 11)
    assert lines[:2] == (18, MASK_FROM_UPSTREAM)


def test_a_scale_mistake_points_at_the_arrays_own_assignment_first():
    executed = set(range(1, TWO_LAYER.count("\n") + 1))
    lines = suspect_lines(TWO_LAYER, executed, [17], [16, 20, 21], "scale", 11)
    assert lines[0] == 17


def test_a_penalty_mistake_points_at_the_lines_that_read_the_penalty():
    executed = set(range(1, TWO_LAYER.count("\n") + 1))
    lines = suspect_lines(TWO_LAYER, executed, [16, 20], [17, 21], "regularization", 11)
    assert set(lines[:3]) == {16, 20, 11}


def test_statements_that_did_not_run_are_never_pointed_at():
    source = (
        "def g(x, flag):\n    if flag:\n        out = -x\n    else:\n        out = x\n"
        "    return out\n"
    )
    lines = suspect_lines(source, {1, 2, 5, 6}, [6], [], "sign")
    assert 3 not in lines and 5 in lines


def test_unparsable_source_gives_no_lines():
    assert suspect_lines("def broken(:\n", {1}, [1], [], "sign") == ()


def test_the_python_api_names_the_line_of_a_corpus_bug():
    prog = next(p for p in PROGRAMS if p.file == "cs231n_two_layer_net.py")
    from tests.corpus.python_api import check_variant

    result = check_variant(prog, "relu-mask-from-upstream")
    top = diagnose(result)[0]
    assert set(top.lines) & set(bug_lines(prog, "relu-mask-from-upstream"))
    assert Path(result.trace.filename).name == prog.file


def test_a_tied_weights_term_computed_and_dropped_is_named_with_its_line():
    from tests.corpus.python_api import check_variant

    prog = next(p for p in PROGRAMS if p.file == "tied_autoencoder.py")
    result = check_variant(prog, "decoder-term-missing")
    top = diagnose(result)[0]
    assert top.cause == "backward-chain" and top.arrays == ("W",)
    assert "`gW_dec`" in top.message and "nothing uses it" in top.message
    assert top.lines[0] in bug_lines(prog, "decoder-term-missing")  # `gW = gW_enc`
    dropped = prog_line(prog, "gW_dec = dz.T @ y")
    assert top.lines[1] == dropped


def prog_line(prog, text: str) -> int:
    source = (Path(__file__).parent / "corpus" / prog.file).read_text(encoding="utf-8")
    return next(n for n, line in enumerate(source.splitlines(), 1) if text in line)


@pytest.mark.parametrize("bug", ["encoder-term-from-clean-input", "visible-bias-not-averaged"])
def test_a_gradient_term_that_is_used_is_never_called_dropped(bug):
    from tests.corpus.python_api import check_variant

    prog = next(p for p in PROGRAMS if p.file == "tied_autoencoder.py")
    findings = diagnose(check_variant(prog, bug))
    assert not [f for f in findings if "nothing uses it" in f.message]


def test_check_code_json_names_the_line_of_a_corpus_bug(tmp_path):
    prog = next(p for p in PROGRAMS if p.file == "ex4_separate.py")
    bug = "reg-half-lambda"
    path = write_variant(prog, bug, tmp_path)
    flags = ["--loss", prog.loss, "--params", prog.params, *segments_flags(prog)]
    if prog.grads:
        flags += ["--grads", prog.grads]
    out = subprocess.run(
        [sys.executable, "-m", "engine", "check-code", str(path), *flags, "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    report = json.loads(out.stdout)
    top = report["findings"][0]
    assert top["cause"] == "regularization"
    assert set(top["lines"]) & set(bug_lines(prog, bug))


def _params(*arrays):
    return flatten_params(list(arrays), "params")


def test_a_gradient_of_another_function_has_a_symmetric_jacobian():
    w = np.array([0.3, -1.2, 0.8])
    params = _params(w)
    symmetry = jacobian_symmetry(params, lambda: 2 * np.sin(w) * np.cos(w) + w)
    assert symmetry.symmetric and not symmetry.asymmetric


def test_a_broken_chain_has_an_asymmetric_jacobian():
    w = np.array([0.3, -1.2, 0.8])
    params = _params(w)
    symmetry = jacobian_symmetry(params, lambda: np.roll(np.tanh(w), 1) * w)
    assert symmetry.asymmetric


def test_the_probe_puts_the_params_back_bit_for_bit():
    w = np.array([0.3, -1.2, 0.8])
    before = w.copy()
    jacobian_symmetry(_params(w), lambda: np.roll(w, 1))
    assert np.array_equal(w, before)


def test_a_piecewise_linear_gradient_tells_nothing():
    w = np.array([0.3, -1.2, 0.8])
    symmetry = jacobian_symmetry(_params(w), lambda: np.sign(w))
    assert not symmetry.informative


@pytest.mark.parametrize(
    ("bug", "cause"),
    [("delta3-times-sigmoid-gradient", "loss-mismatch"), ("delta2-wrong-row", "backward-chain")],
)
def test_symmetry_tells_a_different_loss_from_a_broken_chain(bug, cause):
    prog = next(p for p in PROGRAMS if p.file == "ex4_loop.py")
    from tests.corpus.python_api import check_variant

    result = check_variant(prog, bug)
    assert diagnose(result)[0].cause == cause


def test_the_users_own_lambda_and_m_are_read_from_their_code(tmp_path):
    source = textwrap.dedent(
        """\
        import numpy as np

        def cost_and_grad(theta, X, y, lambda_):
            m = len(y)
            r = X @ theta - y
            J = r @ r / (2 * m) + lambda_ / (2 * m) * theta @ theta
            return J, X.T @ r / m + lambda_ / m * theta
        """
    )
    path = tmp_path / "ridge.py"
    path.write_text(source, encoding="utf-8")
    ns = {}
    exec(compile(source, str(path), "exec"), ns)
    rng = np.random.default_rng(1)
    X, y, theta = rng.standard_normal((7, 3)), rng.standard_normal(7), rng.standard_normal(3)
    result = engine.check_params(lambda: ns["cost_and_grad"](theta, X, y, 0.5), theta)
    assert result.lambda_and_m == (0.5, 7)


def test_the_founding_question_points_at_its_sigmoid_line():
    from engine.bugs.founding import QUESTION
    from engine.runners.usercode import run_user_code
    from engine.scenario.settings import Scenario

    run = run_user_code(QUESTION, Scenario().problem())
    top = diagnose(run.result)[0]
    assert (top.bug_id, top.cause) == ("sigmoid-sign-flip", "sign")
    first = QUESTION.splitlines()[top.lines[0] - 1]
    assert "".join(first.split()) == "return1/(1+np.exp(z))"


def test_a_piecewise_linear_loss_with_a_nan_local_still_gets_its_lines(tmp_path):
    """Nothing the trace or the probe read may break the child's JSON reply."""
    from engine.runners.usercode import run_user_contract

    program = tmp_path / "hinge.py"
    program.write_text(
        textwrap.dedent(
            """\
            import numpy as np

            def loss(w, x):
                unused = float("nan")
                margin = np.maximum(0, 1 - x @ w)
                grad = -x.T @ (margin > 0) * 2.0
                return margin.sum(), grad

            rng = np.random.default_rng(3)
            w, x = rng.standard_normal(4), rng.standard_normal((6, 4))
            """
        ),
        encoding="utf-8",
    )
    run = run_user_contract(program, "loss(w, x)", "w")
    assert run.ok, run.message
    top = diagnose(run.result)[0]
    assert top.cause == "scale" and 6 in top.lines


SOFTMAX_ROWS = """\
import numpy as np

def loss(W, X, y):
    N = X.shape[0]
    e = np.exp(X @ W)
    p = e / e.sum(axis={axis}, keepdims=True)
    loss = -np.log(p[np.arange(N), y]).mean()
    d = p.copy()
    d[np.arange(N), y] -= 1
    return loss, X.T @ d / N

rng = np.random.default_rng(4)
X, y, W = rng.standard_normal((7, 3)), rng.integers(0, 4, 7), rng.standard_normal((3, 4))
"""


def _softmax_check(tmp_path, axis):
    source = SOFTMAX_ROWS.format(axis=axis)
    path = tmp_path / f"softmax_{axis}.py"
    path.write_text(source, encoding="utf-8")
    ns = {}
    exec(compile(source, str(path), "exec"), ns)
    return engine.check_params(lambda: ns["loss"](ns["W"], ns["X"], ns["y"]), ns["W"])


def test_a_softmax_normalised_over_the_examples_is_named_at_its_line(tmp_path):
    top = diagnose(_softmax_check(tmp_path, 0))[0]
    assert top.cause == "loss-mismatch" and top.lines[0] == 6
    assert "over the 7 examples" in top.message


def test_a_softmax_over_the_classes_is_not_taken_for_one_over_the_examples(tmp_path):
    result = _softmax_check(tmp_path, 1)
    assert result.agrees
    assert [n[2:] for n in result.trace.normalised] == [(4, 7)] * len(result.trace.normalised)
