"""Saved runs from the command line: `check --save`, `check-code --save` and `runs`
(list, show, export, delete, compare), on a throwaway SQLite file, never the user's."""

import json
import re

import numpy as np
import pytest

from cli.main import main
from engine.bugs.examples import EXAMPLES
from engine.runs.store import RunStore
from tests.cli_helpers import run_cli

SAVED = re.compile(r"^saved run (\S+): (\S+)$", re.MULTILINE)
BUGGY = ("--bug", "sigmoid-sign-flip", "--table", "none")  # the founding question's bug
FIXED = ("--table", "none")


@pytest.fixture
def url(tmp_path, monkeypatch):
    """A fresh database for each test; the settings point there too, so a command that
    forgot --runs-url still never touches the user's default database."""
    address = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    monkeypatch.setenv("GRADSCOPE_RUNS_URL", address)
    for setting in ("GRADSCOPE_BASE_URL", "GRADSCOPE_RUN_LIMIT_MB"):
        monkeypatch.delenv(setting, raising=False)
    return address


def save(capsys, url, *args, title="a run"):
    """Run a check with --save; its exit status, the run's id, its link and the output."""
    code = main([*args, "--save", title, "--runs-url", url])
    out = capsys.readouterr().out
    found = SAVED.search(out)
    assert found, out
    return code, found.group(1), found.group(2), out


def runs(capsys, url, *args):
    code = main(["runs", *args, "--runs-url", url])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_a_saved_check_is_listed_newest_first_with_its_verdict_arrays_and_title(capsys, url):
    _, buggy, _, _ = save(capsys, url, *BUGGY, title="sign flip")
    _, fixed, _, _ = save(capsys, url, *FIXED, title="fixed")
    code, out, _ = runs(capsys, url)
    lines = out.splitlines()
    assert code == 0 and "2 saved runs" in lines[0]
    assert lines[2].split()[0] == fixed and lines[2].split()[-1] == "fixed"
    assert lines[3].split()[0] == buggy
    assert "fail" in lines[3].split() and "Theta2" in lines[3].split()


def test_the_exit_status_stays_the_checks_when_the_run_is_saved(capsys, url):
    assert save(capsys, url, *BUGGY)[0] == 1
    assert save(capsys, url, *FIXED)[0] == 0


def test_the_printed_link_is_the_apps_address_with_the_run_id(capsys, url):
    _, run_id, link, _ = save(capsys, url, *FIXED)
    assert link == f"http://localhost:8501/?run={run_id}"


def test_the_links_base_comes_from_the_flag_else_the_setting(capsys, url, monkeypatch):
    monkeypatch.setenv("GRADSCOPE_BASE_URL", "https://gradscope.example/")
    _, run_id, link, _ = save(capsys, url, *FIXED)
    assert link == f"https://gradscope.example/?run={run_id}"
    _, run_id, link, _ = save(capsys, url, *FIXED, "--runs-base-url", "https://team.example/")
    assert link == f"https://team.example/?run={run_id}"


def test_without_save_nothing_is_stored(capsys, url, tmp_path):
    assert main([*FIXED, "--runs-url", url]) == 0
    assert "saved run" not in capsys.readouterr().out
    assert not (tmp_path / "runs.sqlite").exists()


def test_json_output_carries_the_saved_run_instead_of_the_line(capsys, url):
    assert main([*BUGGY, "--json", "--save=ci", "--runs-url", url]) == 1
    out = capsys.readouterr().out
    saved = json.loads(out)["saved_run"]  # the whole output is one JSON document
    assert saved["link"].endswith(f"?run={saved['id']}")
    assert RunStore(url).get(saved["id"]).title == "ci"


def test_save_without_a_title_takes_one_from_the_verdict(capsys, url):
    assert main([*BUGGY, "--save", "--runs-url", url]) == 1
    capsys.readouterr()
    (listing,) = RunStore(url).list()
    assert listing.title.startswith("fail: a scenario, 18 of 38 diverging")


def test_runs_show_of_the_founding_questions_buggy_check_names_theta2(capsys, url):
    _, run_id, link, _ = save(capsys, url, *BUGGY, title="sign flip")
    code, out, _ = runs(capsys, url, "show", run_id)
    assert code == 0
    assert f"Saved run {run_id}: sign flip" in out and link in out
    assert "bugs switched on: sigmoid-sign-flip" in out
    assert "status: FAIL (18 of 38 entries diverge" in out
    assert "[sigmoid-sign-flip] Sign error in the output layer: Theta2" in out


def test_runs_show_prints_the_same_body_as_the_check(capsys, url):
    _, run_id, _, check_out = save(capsys, url, "--bug", "sigmoid-sign-flip")
    _, out, _ = runs(capsys, url, "show", run_id)
    body = check_out.split("\n\n", 1)[1].rsplit("\nsaved run", 1)[0]
    assert body in out


def test_export_writes_json_that_round_trips_the_run(capsys, url, tmp_path):
    _, run_id, link, _ = save(capsys, url, *BUGGY, title="sign flip")
    path = tmp_path / "run.json"
    code, out, err = runs(capsys, url, "export", run_id, "--output", str(path))
    assert code == 0 and out == "" and str(path) in err
    document = json.loads(path.read_text())
    run = RunStore(url).get(run_id)
    assert (document["id"], document["link"], document["title"]) == (run_id, link, "sign flip")
    assert document["settings"] == run.settings and document["settings"]["bugs"] == [
        "sigmoid-sign-flip"
    ]
    assert document["summary"] == run.summary and document["findings"] == run.findings
    assert document["code"] is None
    for name in ("analytic", "numerical"):
        np.testing.assert_array_equal(np.array(document["gradients"][name]), run.arrays[name])
    np.testing.assert_array_equal(np.array(document["theta"]), run.arrays["theta"])


def test_export_without_output_prints_the_json(capsys, url):
    _, run_id, _, _ = save(capsys, url, *FIXED)
    code, out, _ = runs(capsys, url, "export", run_id)
    assert code == 0 and json.loads(out)["verdict"] == "pass"


def test_delete_removes_the_run_and_a_second_delete_exits_2(capsys, url):
    _, run_id, _, _ = save(capsys, url, *FIXED)
    code, out, _ = runs(capsys, url, "delete", run_id)
    assert code == 0 and run_id in out
    assert RunStore(url).get(run_id) is None
    code, _, err = runs(capsys, url, "delete", run_id)
    assert code == 2 and "no saved run has the id" in err


def test_compare_of_the_buggy_and_the_fixed_run_says_fail_to_pass(capsys, url):
    _, buggy, _, _ = save(capsys, url, *BUGGY, title="sign flip")
    _, fixed, _, _ = save(capsys, url, *FIXED, title="fixed")
    code, out, _ = runs(capsys, url, "compare", buggy, fixed)
    assert code == 0
    assert "fail -> pass. 18 entries stopped diverging, 0 started." in out
    assert "stopped diverging (18 of 38):\n  Theta2 row 0 (output 0) column 0 (bias)\n" in out
    table = {line.split()[0]: line.split() for line in out.splitlines() if line[:8].strip()}
    assert table["Theta2"][1:3] == ["12.3", "18"] and table["Theta2"][-1] == "0"
    assert "No code in either run" in out


@pytest.mark.parametrize("action", [["show"], ["export"], ["delete"], ["compare", "x" * 22]])
def test_an_unknown_id_exits_2_with_a_message(capsys, url, action):
    code, out, err = runs(capsys, url, *action, "A" * 22)
    assert code == 2 and out == "" and "no saved run has the id" in err


def test_a_run_above_the_size_limit_exits_2_with_a_message_and_nothing_is_saved(
    capsys, url, monkeypatch
):
    monkeypatch.setenv("GRADSCOPE_RUN_LIMIT_MB", "0.0001")
    assert main([*BUGGY, "--save", "big", "--runs-url", url]) == 2
    captured = capsys.readouterr()
    assert "Nothing was saved" in captured.err and "GRADSCOPE_RUN_LIMIT_MB" in captured.err
    assert "status: FAIL" in captured.out and "saved run" not in captured.out
    assert RunStore(url).count() == 0


def test_a_database_that_cannot_be_opened_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "file").write_text("not a folder")
    bad = f"sqlite:///{tmp_path / 'file' / 'runs.sqlite'}"
    code, out, err = run_cli("--table", "none", "--save", "--runs-url", bad)
    assert code == 2 and "status: PASS" in out
    assert err.count("\n") == 1 and "the run was not saved" in err and "Traceback" not in err
    code, _, err = run_cli("runs", "--runs-url", bad)
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err


def test_list_filters_by_verdict_kind_and_title(capsys, url):
    _, buggy, _, _ = save(capsys, url, *BUGGY, title="sign flip")
    _, fixed, _, _ = save(capsys, url, *FIXED, title="after the fix")
    assert runs(capsys, url, "--verdict", "fail")[1].count("\n") == 3
    assert buggy in runs(capsys, url, "--verdict", "fail")[1]
    assert fixed not in runs(capsys, url, "--verdict", "fail")[1]
    assert "No saved runs" in runs(capsys, url, "--kind", "code")[1]
    assert [row["id"] for row in json.loads(runs(capsys, url, "--title", "FIX", "--json")[1])] == [
        fixed
    ]
    assert [row["id"] for row in json.loads(runs(capsys, url, "--limit", "1", "--json")[1])] == [
        fixed
    ]


def test_check_code_save_stores_the_code_and_its_settings(capsys, url, tmp_path):
    path = tmp_path / "question.py"
    path.write_text(EXAMPLES["seed-question"].source)
    code, run_id, _, _ = save(capsys, url, "check-code", str(path), *FIXED, title="seed q")
    run = RunStore(url).get(run_id)
    assert code == 1 and run.kind == "code" and run.code == path.read_text()
    assert run.settings["file"] == "question.py" and run.settings["cost"] == "computeCost"
    assert run.diverging_arrays == ("Theta2",)


def test_check_code_in_the_general_contract_saves_the_file_and_the_expressions(
    capsys, url, tmp_path
):
    path = tmp_path / "quadratic.py"
    path.write_text("import numpy as np\ntheta = np.arange(3.0)\n")
    args = ("check-code", str(path), "--loss", "float(theta @ theta)", "--params", "theta")
    code, run_id, _, _ = save(capsys, url, *args, "--grads", "2 * theta", *FIXED)
    run = RunStore(url).get(run_id)
    assert code == 0 and run.code == path.read_text() and run.verdict == "pass"
    assert (run.settings["loss"], run.settings["grads"]) == ("float(theta @ theta)", "2 * theta")


def test_compare_of_two_code_runs_prints_the_code_diff(capsys, url, tmp_path):
    path = tmp_path / "question.py"
    path.write_text(EXAMPLES["seed-question"].source)
    _, before, _, _ = save(capsys, url, "check-code", str(path), *FIXED, title="question")
    path.write_text(EXAMPLES["seed-answer"].source)
    _, after, _, _ = save(capsys, url, "check-code", str(path), *FIXED, title="answer")
    code, out, _ = runs(capsys, url, "compare", before, after)
    assert code == 0 and "fail -> pass" in out
    assert "Code diff:" in out and "--- before (question)" in out
    assert "\n-    return 1 / (1 + np.exp(z))\n+    return 1 / (1 + np.exp(-z))\n" in out


def test_the_runs_help_names_its_actions(capsys):
    assert main(["runs", "--help"], prog="python -m engine") == 0
    out = capsys.readouterr().out
    assert all(action in out for action in ("show", "export", "delete", "compare"))
