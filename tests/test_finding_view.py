"""A finding's cause, arrays and lines as the app and the HTML report show them to someone
debugging their own code: a badge and plain words for the cause, the user's array
names, and the lines of the user's own file the finding names, quoted with their numbers."""

from __future__ import annotations

import json

import numpy as np
import pytest

from engine.diagnosis.diagnose import diagnose
from engine.diagnosis.finding import CAUSES, Finding
from engine.params.check import check_params
from engine.runners.sandbox import code_execution_enabled
from presentation.report import (
    CAUSE_WORDS,
    build_report,
    excerpt_title,
    source_excerpt,
    source_lines,
)

SOURCE = "\n".join(f"line_{n} = {n}" for n in range(1, 121)) + "\n"
W = np.array([[0.5, -1.0], [2.0, 0.25]])


def doubled_gradient():
    """A loss whose gradient is returned twice too large (a 'scale' bug)."""
    return float(np.sum(W**2)) / 2, {"W": 2 * W}


@pytest.fixture(scope="module")
def flagged():
    return check_params(doubled_gradient, {"W": W})


def test_every_cause_id_has_plain_words():
    assert set(CAUSE_WORDS) == set(CAUSES)
    assert all(words and "\n" not in words for words in CAUSE_WORDS.values())


def test_the_excerpt_numbers_each_line_most_likely_first():
    excerpt = source_excerpt(SOURCE, (57, 52, 60))
    assert excerpt.splitlines() == [
        "  57 | line_57 = 57",
        "  52 | line_52 = 52",
        "  60 | line_60 = 60",
    ]


def test_the_excerpt_skips_lines_outside_the_source_and_repeats_none():
    assert source_lines(SOURCE, (0, -3, 121, 5000, 7, 7, 120)) == [7, 120]
    assert source_excerpt(SOURCE, (0, 121, 3)) == "   3 | line_3 = 3"
    assert source_excerpt(SOURCE, (np.int64(2),)) == "   2 | line_2 = 2"


def test_no_lines_or_none_in_range_give_no_excerpt():
    assert source_excerpt(SOURCE, ()) == ""
    assert source_excerpt(SOURCE, (0, 500)) == ""
    assert source_excerpt("", (1, 2)) == ""


def test_the_excerpt_drops_only_the_indentation_its_lines_share():
    source = "def f(x):\n    if x:\n        x = -x\n    return x\n"
    assert source_excerpt(source, (3, 2, 4)).splitlines() == [
        "   3 |     x = -x",
        "   2 | if x:",
        "   4 | return x",
    ]


def test_lines_are_counted_as_python_counts_them():
    source = "a = 1\r\nb = 2\rc = 3\x0cstill_3\nd = 4\n"
    assert source_excerpt(source, (3, 4, 5)) == "   3 | c = 3\x0cstill_3\n   4 | d = 4"


def test_the_excerpt_title_names_the_lines_and_the_file():
    assert excerpt_title([57, 52, 60], "model.py") == "Look at lines 57, 52, 60 of model.py"
    assert excerpt_title([9]) == "Look at line 9 of your file"


def test_the_report_shows_the_cause_the_arrays_and_the_lines_of_the_users_source(flagged):
    finding = Finding(
        "W is twice its derivative.",
        "2.0 everywhere",
        cause="scale",
        arrays=("W",),
        lines=(57, 999, 52),
    )
    report = build_report(None, flagged, [finding], source=SOURCE, source_name="model.py")
    assert "cause: scale</span> off by a constant factor" in report
    assert "arrays: <code>W</code>" in report
    assert "Look at lines 57, 52 of model.py" in report
    assert "<pre class='excerpt'>  57 | line_57 = 57\n  52 | line_52 = 52</pre>" in report


def test_the_report_without_the_source_lists_the_lines_and_quotes_nothing(flagged):
    finding = Finding("W is twice its derivative.", "", cause="scale", arrays=("W",), lines=(4,))
    report = build_report(None, flagged, [finding])
    assert "lines: 4" in report and "class='excerpt'" not in report


def test_the_report_escapes_the_users_source_and_array_names(flagged):
    finding = Finding("m", "e", cause="unknown", arrays=("<b>W</b>",), lines=(1,))
    report = build_report(None, flagged, [finding], source="x = '<i>alert</i>'\n")
    assert "<i>alert" not in report and "   1 | x = &#x27;&lt;i&gt;alert" in report
    assert "<code>&lt;b&gt;W&lt;/b&gt;</code>" in report


def test_a_finding_without_a_cause_has_no_cause_line_in_the_report(flagged):
    report = build_report(None, flagged, [Finding("The gradients agree.", "", kind="agreement")])
    assert "cause:" not in report


def show_findings(findings, source=None):
    """findings_list in a page of its own, as AppTest runs it."""
    from streamlit.testing.v1 import AppTest

    def page(findings, source):
        from ui.components import findings_list

        findings_list(findings, limit=3, source=source, source_name="model.py")

    return AppTest.from_function(page, args=(findings, source)).run()


def page_texts(at) -> str:
    parts = [e.value for kind in ("markdown", "caption") for e in getattr(at, kind)]
    return "\n".join(map(str, parts))


def test_the_findings_list_shows_a_cause_badge_its_words_and_the_arrays():
    finding = Finding("m", "e", cause="backward-chain", arrays=("W1", "b1"))
    said = page_texts(show_findings([finding]))
    assert ":violet-badge[cause: backward-chain]" in said
    assert "the backward pass goes wrong at one step" in said and "W1, b1" in said


def test_the_findings_list_quotes_the_lines_of_the_users_source():
    finding = Finding("m", "e", cause="scale", arrays=("b2",), lines=(57, 52, 999))
    at = show_findings([finding], SOURCE)
    assert "Look at lines 57, 52 of model\\.py" in page_texts(at)
    assert [c.value for c in at.code] == ["  57 | line_57 = 57\n  52 | line_52 = 52"]
    assert at.code[0].language == "python"


def test_the_findings_list_shows_a_finding_without_a_cause_as_before():
    at = show_findings([Finding("The gradients agree.", "e", kind="agreement")], SOURCE)
    assert "badge" not in page_texts(at) and not at.code


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.skipif(not code_execution_enabled(), reason="user code is off")
def test_the_your_code_page_shows_the_cause_and_arrays_of_a_corpus_bug_and_exports_them():
    from tests.app_helpers import open_page, start_app
    from tests.corpus.manifest import PROGRAMS, variant_source
    from ui.contract_mode import export_json

    prog = next(p for p in PROGRAMS if p.file == "cs231n_two_layer_net.py")
    source = variant_source(prog, "db2-not-averaged")
    at = open_page(start_app(), "code")
    at.radio(key="code-mode").set_value("contract").run()
    at.text_area(key="contract-source").input(source)
    at.text_input(key="contract-loss").input(prog.loss)
    at.text_input(key="contract-params").input(prog.params)
    at.text_input(key="contract-grads").input("").run()
    next(b for b in at.button if b.label == "Run the check").click().run()
    assert not at.exception

    said = page_texts(at)
    assert ":violet-badge[cause: scale]" in said
    assert "scale: off by a constant factor" in said and "arrays: b2" in said
    run = at.session_state["contract-run"][1]
    findings = diagnose(run.result)
    # Lines the engine names (none yet for this run, maybe later) are quoted from the paste.
    for f in findings[:3]:
        if source_lines(source, f.lines):
            assert source_excerpt(source, f.lines) in [c.value for c in at.code]
    top = json.loads(export_json(run, findings))["findings"][0]
    assert top["cause"] == "scale" and top["arrays"] == ["b2"]
    assert top["lines"] == list(findings[0].lines)
