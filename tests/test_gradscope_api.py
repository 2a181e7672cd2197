"""`gradscope` from Python: a check a notebook shows inline, an assertion a test suite fails on.

The programs are written as course code is: a CS231n-style two-layer net whose params are
a dict of W1, b1, W2, b2 and whose `loss(X, y)` returns `(loss, grads)`, with the bugs
students make (dW1 with the wrong sign, db2 not averaged over the batch, db2 without its
sum over the batch).
"""

from __future__ import annotations

import inspect
import os
import runpy
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradscope
from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.params.structure import ContractError

ROOT = Path(__file__).resolve().parents[1]
ARRAY_NAMES = ("W1", "b1", "W2", "b2")


class TwoLayerNet:
    """affine - ReLU - affine - softmax, with an L2 penalty on the weights (CS231n's
    TwoLayerNet at toy size); `bug` switches on one mistake in the backward pass."""

    def __init__(self, input_size=4, hidden_size=5, output_size=3, std=1e-1, bug=None):
        rng = np.random.default_rng(0)
        self.params = {
            "W1": std * rng.standard_normal((input_size, hidden_size)),
            "b1": std * rng.standard_normal(hidden_size),
            "W2": std * rng.standard_normal((hidden_size, output_size)),
            "b2": std * rng.standard_normal(output_size),
        }
        self.bug = bug

    def loss(self, X, y, reg=0.05):
        W1, b1 = self.params["W1"], self.params["b1"]
        W2, b2 = self.params["W2"], self.params["b2"]
        N = X.shape[0]

        hidden = np.maximum(0, X.dot(W1) + b1)
        scores = hidden.dot(W2) + b2
        exp_scores = np.exp(scores - np.max(scores, axis=1, keepdims=True))
        probs = exp_scores / np.sum(exp_scores, axis=1, keepdims=True)
        loss = -np.sum(np.log(probs[np.arange(N), y])) / N
        loss += reg * (np.sum(W1 * W1) + np.sum(W2 * W2))

        grads = {}
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        grads["W2"] = hidden.T.dot(dscores) / N + 2 * reg * W2
        if self.bug == "db2-not-averaged":
            grads["b2"] = np.sum(dscores, axis=0)
        elif self.bug == "db2-no-sum":
            grads["b2"] = dscores / N
        else:
            grads["b2"] = np.sum(dscores, axis=0) / N
        dhidden = dscores.dot(W2.T) / N
        dhidden[hidden <= 0] = 0
        grads["W1"] = X.T.dot(dhidden) + 2 * reg * W1
        if self.bug == "dW1-sign":
            grads["W1"] = -grads["W1"]
        grads["b1"] = np.sum(dhidden, axis=0)
        return loss, grads


def toy_data():
    rng = np.random.default_rng(1)
    return rng.standard_normal((6, 4)), rng.integers(0, 3, 6)


def check(bug=None, **options) -> gradscope.NotebookCheck:
    net, (X, y) = TwoLayerNet(bug=bug), toy_data()
    return gradscope.check_params(lambda: net.loss(X, y), net.params, **options)


def assert_match(bug=None, **options) -> gradscope.NotebookCheck:
    net, (X, y) = TwoLayerNet(bug=bug), toy_data()
    return gradscope.assert_gradients_match(lambda: net.loss(X, y), net.params, **options)


@pytest.fixture(scope="module")
def sign_bug() -> gradscope.NotebookCheck:
    return check("dW1-sign")


def test_a_correct_net_passes():
    checked = check()
    assert checked.passed
    assert checked.top_finding.startswith("The gradients agree")


def test_the_check_holds_the_engine_result_and_its_ranked_findings(sign_bug):
    assert isinstance(sign_bug.result, CheckResult)
    assert [m.name for m in sign_bug.result.matrices] == list(ARRAY_NAMES)
    assert all(isinstance(f, Finding) for f in sign_bug.findings)
    assert sign_bug.top_finding == sign_bug.findings[0].message


def test_a_wrong_sign_in_dw1_fails_with_the_sign_error_named(sign_bug):
    assert not sign_bug.passed
    assert sign_bug.top_finding.startswith("Sign error: W1 exactly sign-flipped")


def test_engine_keyword_arguments_reach_the_check():
    checked = check(eps=1e-5, threshold=1e-3)
    assert (checked.result.eps, checked.result.threshold) == (1e-5, 1e-3)


def test_the_inline_html_shows_the_verdict_every_array_and_the_findings(sign_bug):
    page = sign_bug._repr_html_()
    assert "FAIL" in page
    assert all(f">{name}</td>" in page for name in ARRAY_NAMES)
    assert "20 / 20" in page  # W1's entries diverging
    assert "Sign error: W1 exactly sign-flipped" in page
    assert f"evidence: {sign_bug.findings[0].evidence}" in page


def test_the_inline_html_draws_one_heatmap_per_array_with_plotly_js_embedded_once(sign_bug):
    page = sign_bug._repr_html_()
    assert page.count('class="plotly-graph-div"') == len(ARRAY_NAMES)
    assert page.count("* plotly.js v") == 1  # the bundle's banner: inside, no network


def test_ipython_displays_the_check_as_html_and_as_text(sign_bug):
    formatters = pytest.importorskip("IPython.core.formatters")
    shown, _ = formatters.DisplayFormatter().format(sign_bug)
    assert "Sign error: W1" in shown["text/html"]
    assert "Per array:" in shown["text/plain"]


def test_the_text_summary_is_the_clis_per_array_lines_and_diagnosis(sign_bug):
    text = str(sign_bug)
    assert text.startswith("GradScope check: W1 4x5, b1 (5,), W2 5x3, b2 (3,); 43 parameters")
    assert "  W1       4x5    relative difference" in text
    assert "1. Sign error: W1 exactly sign-flipped" in text


def test_the_repr_is_one_line_with_the_verdict(sign_bug):
    assert repr(sign_bug).startswith("<NotebookCheck FAIL: 20 of 43 entries diverge")
    assert "\n" not in repr(sign_bug)


def test_write_report_writes_the_apps_report_of_the_users_arrays(sign_bug, tmp_path):
    written = sign_bug.write_report(tmp_path / "reports" / "net.html")
    page = written.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and "<h1>GradScope report</h1>" in page
    assert "<h2>Per array</h2>" in page
    assert all(f"<td class='text'>{name}</td>" in page for name in ARRAY_NAMES)
    assert "Sign error: W1 exactly sign-flipped" in page


def test_assert_gradients_match_raises_an_assertion_error_that_names_the_array():
    with pytest.raises(AssertionError) as raised:
        assert_match("dW1-sign")
    assert isinstance(raised.value, gradscope.GradientMismatch)
    assert "W1 4x5: 20 of 20 entries diverge" in str(raised.value)
    assert "b2" not in str(raised.value)  # only the diverging arrays are listed


def test_the_failure_message_starts_with_the_top_finding_and_its_evidence():
    with pytest.raises(gradscope.GradientMismatch) as raised:
        assert_match("db2-not-averaged")
    top = raised.value.check.findings[0]
    assert "constant 6 times" in top.message  # m = 6 examples: the missing / N
    assert str(raised.value).startswith(f"{top.message}\nevidence: {top.evidence}\n")


def test_the_failure_message_lists_at_most_eight_diverging_arrays():
    layers = {f"W{i}": np.full((2, 2), 1.0 + i) for i in range(10)}

    def loss():  # sum of squares, each gradient missing its factor 2
        grads = {name: w.copy() for name, w in layers.items()}
        return sum(float(np.sum(w**2)) for w in layers.values()), grads

    with pytest.raises(gradscope.GradientMismatch) as raised:
        gradscope.assert_gradients_match(loss, layers)
    listed = [line for line in str(raised.value).splitlines() if " entries diverge" in line]
    assert [line.split()[0] for line in listed] == [f"W{i}" for i in range(8)]
    assert str(raised.value).endswith("\n... and 2 more arrays diverge")


@pytest.mark.parametrize("as_text", [False, True], ids=["Path", "str"])
def test_a_failure_writes_the_report_and_says_where(tmp_path, as_text):
    report = tmp_path / "not-yet" / "made" / "r.html"
    with pytest.raises(gradscope.GradientMismatch) as raised:
        assert_match("dW1-sign", report=str(report) if as_text else report)
    assert str(raised.value).endswith(f"\nreport written to {report}")
    assert "<h1>GradScope report</h1>" in report.read_text(encoding="utf-8")


def test_a_relative_report_path_is_said_in_full(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(gradscope.GradientMismatch) as raised:
        assert_match("dW1-sign", report="reports/r.html")
    assert str(raised.value).endswith(f"\nreport written to {tmp_path / 'reports' / 'r.html'}")


def test_a_passing_check_writes_no_report_and_returns_the_check(tmp_path):
    returned = assert_match(report=tmp_path / "r.html")
    assert isinstance(returned, gradscope.NotebookCheck) and returned.passed
    assert not (tmp_path / "r.html").exists()


def test_a_contract_error_propagates_unchanged():
    with pytest.raises(ContractError, match="b2"):  # its gradient has the batch's shape
        assert_match("db2-no-sum")


def test_the_readme_pytest_example_is_real_output(tmp_path):
    """The corpus's CS231n two-layer net with db2 not divided by N, as the README shows it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("### From Python: notebooks and pytest", 1)[1].split("```text\n", 1)[1]
    shown = [line[8:] for line in block.split("```", 1)[0].splitlines() if line.startswith("E ")]
    source = (ROOT / "tests" / "corpus" / "cs231n_two_layer_net.py").read_text(encoding="utf-8")
    program = tmp_path / "neural_net.py"
    program.write_text(source.replace("\nBUG = None", '\nBUG = "db2-not-averaged"  #', 1))
    code = runpy.run_path(str(program))
    net, X, y = code["net"], code["X"], code["y"]
    with pytest.raises(gradscope.GradientMismatch) as raised:
        gradscope.assert_gradients_match(
            lambda: net.loss(X, y, reg=0.05), net.params, report=tmp_path / "net.html"
        )
    real = f"gradscope.GradientMismatch: {raised.value}".splitlines()
    assert real[:-1] == shown[:-1]
    assert real[-1].startswith("report written to ") and shown[-1].startswith("report written to ")


USER_TEST_FILE = """
import numpy as np

from gradscope import assert_gradients_match

{net}

def test_two_layer_net_gradients():
    rng = np.random.default_rng(1)
    X, y = rng.standard_normal((6, 4)), rng.integers(0, 3, 6)
    net = TwoLayerNet(bug="dW1-sign")
    assert_gradients_match(lambda: net.loss(X, y), net.params)
"""


def test_a_users_pytest_run_fails_with_the_finding_as_its_reason(tmp_path):
    user_tests = tmp_path / "test_user_net.py"
    user_tests.write_text(USER_TEST_FILE.format(net=inspect.getsource(TwoLayerNet)))
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", user_tests.name],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "200"},  # summary unshortened
    )
    assert done.returncode == 1, done.stdout + done.stderr
    reason = "gradscope.GradientMismatch: Sign error: W1 exactly sign-flipped throughout."
    assert f"E       {reason}" in done.stdout  # the failure's reason, under the user's line
    assert ">       assert_gradients_match(lambda: net.loss(X, y), net.params)" in done.stdout
    assert f"FAILED test_user_net.py::test_two_layer_net_gradients - {reason}" in done.stdout
