"""The "Your code" page through AppTest: examples, verdicts, errors, the off switch."""

import pytest

from engine.runners.sandbox import ENABLE_VARIABLE
from tests.app_helpers import open_page, plotly_figures, start_app, texts

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def run_example(name):
    at = open_page(start_app(), "code")
    at.selectbox(key="code-example").select(name).run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert not at.exception
    return at


def test_the_seed_question_is_a_sign_error_in_theta2_pointing_at_the_sigmoid():
    at = run_example("seed-question")
    said = texts(at)
    assert "FAIL" in said
    assert "output layer" in said and "Theta2" in said and "1/(1+np.exp(-z))" in said
    assert len(plotly_figures(at)) == 3  # two heatmaps and the scatter


def test_the_seed_answer_passes_with_a_correct_numerical_loop():
    at = run_example("seed-answer")
    assert "PASS" in texts(at)


@pytest.mark.parametrize(
    "name, bug",
    [
        ("bias-regularised", "bias-regularized"),
        ("missing-1-over-m", "grad-missing-1-over-m"),
        ("octave-port", "column-major-unroll"),
    ],
)
def test_catalogue_bugs_written_in_user_style_are_named(name, bug):
    at = run_example(name)
    assert f"`{bug}`" in texts(at)


def test_code_that_raises_gets_its_line_number_and_the_page_stays_usable():
    at = open_page(start_app(), "code")
    at.text_area(key="code-source").input(
        "import numpy as np\n\ndef computeCost(t, *a):\n    return t[99]\n\n"
        "def gradient(t, *a):\n    return t\n"
    ).run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert not at.exception
    assert "could not be checked" in at.error[0].value
    assert "IndexError" in texts(at)
    assert "line 4: return t[99]" in at.code[0].value
    at.selectbox(key="code-example").select("seed-answer").run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert "PASS" in texts(at)


def test_switching_code_execution_off_is_said_on_the_page(monkeypatch):
    monkeypatch.setenv(ENABLE_VARIABLE, "off")
    at = open_page(start_app(), "code")
    assert not at.exception
    assert "switched off" in at.info[0].value
    assert not [b for b in at.button if b.label == "Run the check"]


def test_plain_convention_needs_readable_shapes():
    at = open_page(start_app(), "code")
    at.radio(key="code-convention").set_value("plain").run()
    at.text_input(key="code-shapes").input("five by four").run()
    assert "Shapes must look like" in at.error[0].value


def test_the_page_can_send_the_numerical_gradient_to_dask_inside_the_sandbox():
    at = open_page(start_app(), "code")
    at.toggle(key="code-dask").set_value(True).run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert not at.exception
    assert "FAIL" in texts(at) and "output layer" in texts(at)


def test_no_field_takes_a_dask_scheduler_address():
    at = open_page(start_app(), "code")
    labels = [w.label.lower() for w in at.text_input]
    assert not [label for label in labels if "address" in label or "scheduler" in label]


def test_the_page_states_the_isolation_in_force():
    at = open_page(start_app(), "code")
    assert "Isolation of user code: sandbox" in texts(at)


def test_an_error_message_from_user_code_is_shown_as_plain_text():
    at = open_page(start_app(), "code")
    message = "**bold** ![x](http://127.0.0.1:9/x.png)"
    at.text_area(key="code-source").input(
        f"def computeCost(t, *a):\n    raise ValueError({message!r})\n\n"
        "def gradient(t, *a):\n    return t\n"
    ).run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert any(message in t.value for t in at.text)
    markdown = [e.value for kind in ("markdown", "error", "info", "warning") for e in at.get(kind)]
    assert not [m for m in markdown if "![x]" in m]


def test_without_a_sandbox_a_server_open_to_other_machines_refuses_pasted_code(monkeypatch):
    from engine.runners.sandbox import SANDBOX_VARIABLE, detect_isolation

    monkeypatch.setenv(SANDBOX_VARIABLE, "off")
    detect_isolation.cache_clear()
    try:
        at = open_page(start_app(), "code")
        assert "cannot sandbox pasted code" in at.info[0].value
        assert not [b for b in at.button if b.label == "Run the check"]
    finally:
        detect_isolation.cache_clear()


def test_code_longer_than_the_limit_is_refused_with_a_message():
    at = open_page(start_app(), "code")
    at.text_area(key="code-source").input("x = 1\n" * 60_000).run()
    assert "longer than" in at.error[0].value
