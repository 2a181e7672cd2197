"""Saved runs from the command line: `check --save`, `check-code --save` and `runs`
(list, show, export, delete, compare, team-key), on a throwaway SQLite file, never the
user's."""

import dataclasses
import hashlib
import json
import re
import sqlite3

import numpy as np
import pytest

from cli.main import main
from engine.bugs.examples import EXAMPLES
from engine.runs.record import new_run_id
from engine.runs.store import RunStore
from engine.runs.team import new_team_key, team_tag
from tests.cli_helpers import run_cli
from tests.test_source_lines import TWO_LAYER as source_lines_program

SAVED = re.compile(r"^saved run (\S+): (\S+)(?: \(filed under your team key\))?$", re.MULTILINE)
BUGGY = ("--bug", "sigmoid-sign-flip", "--table", "none")  # the founding question's bug
FIXED = ("--table", "none")


@pytest.fixture
def url(tmp_path, monkeypatch):
    """A fresh database for each test; the settings point there too, so a command that
    forgot --runs-url still never touches the user's default database."""
    address = f"sqlite:///{tmp_path / 'runs.sqlite'}"
    monkeypatch.setenv("GRADSCOPE_RUNS_URL", address)
    for setting in ("GRADSCOPE_BASE_URL", "GRADSCOPE_RUN_LIMIT_MB", "GRADSCOPE_TEAM_KEY"):
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


def test_the_printed_link_opens_the_run_on_the_apps_runs_page(capsys, url):
    _, run_id, link, _ = save(capsys, url, *FIXED)
    assert link == f"http://localhost:8501/Runs?run={run_id}"


def test_the_links_base_comes_from_the_flag_else_the_setting(capsys, url, monkeypatch):
    monkeypatch.setenv("GRADSCOPE_BASE_URL", "https://gradscope.example/")
    _, run_id, link, _ = save(capsys, url, *FIXED)
    assert link == f"https://gradscope.example/Runs?run={run_id}"
    base = "https://team.example/gradscope?embed=true"  # behind a proxy, with a query
    _, run_id, link, _ = save(capsys, url, *FIXED, "--runs-base-url", base)
    assert link == f"https://team.example/gradscope/Runs?embed=true&run={run_id}"


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


# A two-layer network as course code writes it (test_source_lines' program with its mask
# mended), with one bug: the output bias's gradient is doubled. The check names that
# line; `runs show` quotes it.
TWO_LAYER = source_lines_program.replace(
    "dhidden[dhidden <= 0] = 0", "dhidden[hidden <= 0] = 0"
).replace('grads["b2"] = dscores.sum(axis=0)', 'grads["b2"] = 2 * dscores.sum(axis=0)')
DOUBLED_BIAS = 1 + TWO_LAYER.splitlines().index('    grads["b2"] = 2 * dscores.sum(axis=0)')
TWO_LAYER_FLAGS = ("--loss", "loss(params, X, y, 0.1)", "--params", "params", *FIXED)


def save_two_layer(capsys, url, tmp_path):
    path = tmp_path / "two_layer.py"
    path.write_text(TWO_LAYER, encoding="utf-8")
    return save(capsys, url, "check-code", str(path), *TWO_LAYER_FLAGS, title="doubled b2")


def database_bytes(tmp_path) -> bytes:
    """Everything SQLite wrote: the database file and its write-ahead log."""
    return b"".join(path.read_bytes() for path in sorted(tmp_path.glob("runs.sqlite*")))


def test_a_run_saved_with_a_team_key_is_listed_by_that_key_and_not_by_another(capsys, url):
    key = new_team_key()
    _, filed, _, out = save(capsys, url, *FIXED, f"--team={key}", title="ours")
    _, unfiled, _, _ = save(capsys, url, *FIXED, title="not filed")
    assert out.rstrip().endswith("(filed under your team key)")
    code, out, _ = runs(capsys, url, f"--team={key}")
    assert code == 0 and filed in out and unfiled not in out
    assert "1 saved run" in out and "filed under this team key" in out
    code, out, _ = runs(capsys, url, f"--team={new_team_key()}")
    assert code == 0 and filed not in out and "No saved runs" in out
    _, out, _ = runs(capsys, url)  # the CLI holds the database: all runs
    assert filed in out and unfiled in out


def test_the_team_key_never_appears_in_the_output_the_json_or_the_database(capsys, url, tmp_path):
    key = new_team_key()
    _, run_id, _, out = save(capsys, url, *BUGGY, f"--team={key}")
    assert main([*BUGGY, "--json", "--save", f"--team={key}", "--runs-url", url]) == 1
    document = capsys.readouterr().out
    assert json.loads(document)["saved_run"]["filed_under_team_key"] is True
    listed = runs(capsys, url, f"--team={key}", "--json")[1]
    shown = runs(capsys, url, "show", run_id)[1]
    exported = runs(capsys, url, "export", run_id)[1]
    for text in (out, document, listed, shown, exported):
        assert key not in text
    assert key.encode() not in database_bytes(tmp_path)
    with sqlite3.connect(tmp_path / "runs.sqlite") as database:
        teams = {row[0] for row in database.execute("SELECT team FROM gradscope_runs")}
    assert teams == {hashlib.sha256(key.encode()).hexdigest()}


@pytest.mark.parametrize("key", ["team", "12345"])
@pytest.mark.parametrize("command", [(), ("check-code", "two_layer.py", *TWO_LAYER_FLAGS)])
def test_a_guessable_team_key_is_refused_with_exit_2_before_the_check_runs(
    capsys, url, monkeypatch, key, command
):
    def no_check(*args, **kwargs):
        raise AssertionError("the check ran before the team key was refused")

    monkeypatch.setattr("engine.scenario.settings.Scenario.run", no_check)
    monkeypatch.setattr("cli.check_code.run_user_contract", no_check)
    assert main([*command, *FIXED, "--save", f"--team={key}", "--runs-url", url]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1
    assert "team key in --team is refused, nothing was checked" in captured.err
    assert RunStore(url).count() == 0


def test_the_team_key_comes_from_gradscope_team_key_when_no_flag_gives_one(
    capsys, url, monkeypatch
):
    key = new_team_key()
    monkeypatch.setenv("GRADSCOPE_TEAM_KEY", key)
    _, run_id, _, out = save(capsys, url, *FIXED)
    assert "(filed under your team key)" in out and key not in out
    assert [row["id"] for row in json.loads(runs(capsys, url, f"--team={key}", "--json")[1])] == [
        run_id
    ]


def test_a_guessable_gradscope_team_key_is_refused_only_when_saving(capsys, url, monkeypatch):
    monkeypatch.setenv("GRADSCOPE_TEAM_KEY", "12345")
    assert main([*FIXED, "--save", "--runs-url", url]) == 2
    assert "team key in GRADSCOPE_TEAM_KEY is refused" in capsys.readouterr().err
    assert main([*FIXED, "--runs-url", url]) == 0  # not saving: the setting is not read


def test_team_without_save_is_refused_with_exit_2(capsys, url):
    assert main([*FIXED, f"--team={new_team_key()}", "--runs-url", url]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "add --save" in captured.err


def test_runs_team_with_a_guessable_key_exits_2_without_listing(capsys, url):
    save(capsys, url, *FIXED)
    code, out, err = runs(capsys, url, "--team", "team")
    assert code == 2 and out == "" and "team key in --team is refused" in err


def test_runs_team_key_prints_a_key_team_tag_accepts_and_a_new_one_each_time(capsys):
    keys = []
    for _ in range(2):
        assert main(["runs", "team-key"]) == 0
        captured = capsys.readouterr()
        (key,) = captured.out.splitlines()  # stdout is the key alone: $(...) captures it
        team_tag(key)
        assert not key.startswith("-")  # `--team KEY` takes it as it is
        assert "Runs page" in captured.err and f"GRADSCOPE_TEAM_KEY={key}" in captured.err
        keys.append(key)
    assert keys[0] != keys[1]


def test_runs_show_of_a_code_run_quotes_the_buggy_line_from_the_stored_code(capsys, url, tmp_path):
    code, run_id, _, _ = save_two_layer(capsys, url, tmp_path)
    (tmp_path / "two_layer.py").unlink()  # shown from the database, not the file
    assert code == 1
    _, out, _ = runs(capsys, url, "show", run_id)
    buggy = TWO_LAYER.splitlines()[DOUBLED_BIAS - 1].strip()
    assert f"lines: {DOUBLED_BIAS}" in out
    assert f"  {DOUBLED_BIAS} | {buggy}" in out


def test_runs_show_names_a_findings_line_outside_the_stored_code_instead_of_failing(
    capsys, url, tmp_path
):
    _, run_id, _, _ = save_two_layer(capsys, url, tmp_path)
    store = RunStore(url)
    run = store.get(run_id)
    findings = [{**f, "lines": [99] if f["lines"] else []} for f in run.findings]
    edited = store.save(dataclasses.replace(run, id=new_run_id(), findings=findings))
    code, out, _ = runs(capsys, url, "show", edited)
    assert code == 0 and "(line 99 is not in the code, so not quoted)" in out
    assert TWO_LAYER.splitlines()[DOUBLED_BIAS - 1].strip() not in out
