"""Issue 12's targets on the whole check-any-code corpus, from the benchmark's own count.

benchmarks/diagnosis_corpus.py prints the table (per cause: flagged, right arrays, right
cause, a right line among the top finding's five); these tests hold the floors the issue
sets, so a change that makes the diagnosis name fewer causes or lines fails here.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from tests.corpus.manifest import CAUSES, PROGRAMS

ROOT = Path(__file__).resolve().parents[1]


def _benchmark():
    spec = importlib.util.spec_from_file_location(
        "diagnosis_corpus", ROOT / "benchmarks" / "diagnosis_corpus.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def measured():
    pytest.importorskip("torch")
    pytest.importorskip("jax")
    table, _, false_alarms, not_bugs, _ = _benchmark().measure(PROGRAMS)
    totals = {}
    for row in table.values():
        for key, value in row.items():
            totals[key] = totals.get(key, 0) + value
    return table, totals, false_alarms, not_bugs


def test_every_real_bug_of_the_corpus_is_flagged(measured):
    _, totals, _, _ = measured
    assert totals["flagged"] == totals["bugs"]


def test_no_correct_program_or_extra_is_a_false_alarm(measured):
    _, _, false_alarms, _ = measured
    assert false_alarms == 0


def test_the_top_finding_names_the_right_cause_for_80_percent(measured):
    _, totals, _, _ = measured
    assert totals["right cause"] >= 0.8 * totals["bugs"]


def test_a_right_line_is_among_the_top_five_for_70_percent(measured):
    _, totals, _, _ = measured
    assert totals["with lines"] == totals["bugs"]
    assert totals["right line"] >= 0.7 * totals["with lines"]


def test_every_cause_but_the_checkers_has_at_least_two_bugs(measured):
    table, _, _, _ = measured
    for cause in CAUSES:
        if cause in ("checker", "precision", "kink", "unknown"):
            continue
        assert table[cause]["bugs"] >= 2, cause


def test_rounding_and_kinks_are_represented_twice_and_never_called_bugs(measured):
    _, _, _, not_bugs = measured
    for cause in ("precision", "kink"):
        row = not_bugs[cause]
        assert row["variants"] >= 2, cause
        assert row["no alarm"] == row["variants"], cause
