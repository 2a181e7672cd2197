import json
import os
import subprocess
import sys

import pytest

from cli.main import main
from engine.bugs.catalogue import BUGS
from engine.bugs.examples import EXAMPLES
from tests.cli_helpers import ROOT, run_cli


def test_agreeing_gradients_exit_0_and_print_the_seed_style_table():
    code, out, _ = run_cli()
    assert code == 0
    assert "Function Gradient" in out and "Numerical Gradient" in out
    assert "Relative Difference:" in out and "PASS" in out


def test_the_seed_scenario_exits_1_and_names_both_bugs():
    code, out, _ = run_cli("--bug", "sigmoid-sign-flip", "--bug", "numgrad-skips-first")
    assert code == 1
    assert "<- diverges" in out
    assert "1. [sigmoid-sign-flip]" in out and "2. [numgrad-skips-first]" in out


def test_comma_separated_bugs_are_accepted(capsys):
    assert main(["--bug", "sigmoid-sign-flip,numgrad-skips-first", "--table", "none"]) == 1


@pytest.mark.parametrize(
    "args, word",
    [
        (["--sizes", "3,0,3"], "layer_sizes"),
        (["--sizes", "a,b"], "--sizes"),
        (["--m", "0"], "m "),
        (["--eps", "0"], "eps"),
        (["--eps", "nan"], "eps"),
        (["--lambda", "-1"], "lamb"),
        (["--bug", "no-such-bug"], "no-such-bug"),
        (["--activation", "softmax"], "activation"),
    ],
)
def test_bad_arguments_exit_2_with_a_clear_message(args, word):
    code, out, err = run_cli(*args)
    assert code == 2
    assert word in err and "Traceback" not in err


def test_check_is_the_default_command(capsys):
    assert main(["check", "--bug", "bias-regularized", "--table", "none"]) == 1
    named = capsys.readouterr()
    assert main(["--bug", "bias-regularized", "--table", "none"]) == 1
    assert capsys.readouterr() == named


def test_the_checks_help_names_every_command(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "1000")
    assert main(["--help"], prog="python -m engine") == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: python -m engine [-h] [--sizes SIZES]")
    assert "Commands: check (the default; this help), check-code FILE" in out
    assert "bug-matrix" in out and "Help on each: python -m engine COMMAND --help." in out


def test_unrecognized_arguments_are_reported_with_their_commands_usage(capsys):
    assert main(["bug-matrix", "--nope"], prog="python -m engine") == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m engine bug-matrix [-h]")
    assert err.endswith("python -m engine bug-matrix: error: unrecognized arguments: --nope\n")


def test_badly_formed_sizes_are_named_by_their_flag(capsys):
    assert main(["--sizes", "3,x"]) == 2
    message = "--sizes must be whole numbers separated by commas, got '3,x'"
    assert capsys.readouterr().err.endswith(f"error: {message}\n")


@pytest.mark.parametrize(
    "shapes, message",
    [
        ([], "--shapes is required with --convention plain, e.g. 5x4,3x6"),
        (["--shapes", "5by4"], "--shapes must look like 5x4,3x6, got '5by4'"),
    ],
)
def test_missing_or_badly_formed_shapes_are_named_by_their_flag(capsys, tmp_path, shapes, message):
    path = tmp_path / "code.py"
    path.write_text("x = 1\n")
    assert main(["check-code", str(path), "--convention", "plain", *shapes]) == 2
    assert capsys.readouterr().err.endswith(f"error: {message}\n")


@pytest.mark.parametrize("sizes", ["3,5,3", "3-5-3", "3 5 3"])
def test_sizes_are_read_as_the_app_reads_them(capsys, sizes):
    assert main(["--sizes", sizes, "--json", "--table", "none"]) == 0
    assert json.loads(capsys.readouterr().out)["scenario"]["layer_sizes"] == [3, 5, 3]


def test_json_output_is_machine_readable():
    code, out, _ = run_cli("--json", "--bug", "bias-regularized")
    data = json.loads(out)
    assert code == 1
    assert data["scenario"]["bugs"] == ["bias-regularized"]
    assert data["result"]["status"] == "fail"
    assert data["findings"][0]["bug_id"] == "bias-regularized"
    assert len(data["parameters"]) == 38
    assert {"matrix", "row", "column", "analytic", "numerical", "diverges"} <= set(
        data["parameters"][0]
    )


def test_list_bugs_prints_the_whole_catalogue(capsys):
    assert main(["--list-bugs"]) == 0
    out = capsys.readouterr().out
    for bug in BUGS.values():
        assert bug.id in out and bug.fixed_code in out


def test_list_bugs_as_json(capsys):
    assert main(["--list-bugs", "--json"]) == 0
    assert [b["id"] for b in json.loads(capsys.readouterr().out)] == list(BUGS)


def test_large_networks_show_only_diverging_rows_by_default(capsys):
    code = main(["--sizes", "20,10,4", "--m", "8", "--bug", "bias-regularized"])
    out = capsys.readouterr().out
    assert code == 1
    assert "rows shown: use --table all" in out
    assert out.count("<- diverges") == 14  # 10 + 4 bias entries


def test_loop_flag_gives_the_same_verdict(capsys):
    assert main(["--loop", "--bug", "cost-reg-factor", "--table", "none"]) == 1


def test_report_flag_writes_the_same_self_contained_report(tmp_path):
    target = tmp_path / "out.html"
    code, _, err = run_cli("--bug", "bias-regularized", "--table", "none", "--report", str(target))
    html = target.read_text()
    assert code == 1 and "report written" in err
    assert "GradScope report" in html and "plotly-graph-div" in html
    assert "http://localhost:8501/Gradient_check?bugs=bias-regularized" in html


def test_report_to_an_unwritable_place_exits_2(tmp_path):
    code, _, err = run_cli("--table", "none", "--report", str(tmp_path / "missing" / "x.html"))
    assert code == 2 and "cannot write the report" in err


def test_bug_matrix_names_every_bug_on_every_seed():
    code, out, _ = run_cli("bug-matrix", "--seeds", "3")
    assert code == 0
    assert "sigmoid-sign-flip" in out and "named_first" in out


def test_bug_matrix_on_a_local_dask_cluster_gives_the_same_table():
    serial = run_cli("bug-matrix", "--seeds", "2")
    parallel = run_cli("bug-matrix", "--seeds", "2", "--dask")
    assert parallel[0] == 0 and parallel[1] == serial[1]


def test_sizes_beyond_the_memory_limit_exit_2_with_a_message():
    code, out, err = run_cli("--sizes", "100000,100000,10")
    assert code == 2 and out == ""
    assert "too large to run" in err and "parameters, about" in err and "Traceback" not in err


def test_the_seed_loop_on_a_large_network_is_refused_with_its_estimate():
    code, _, err = run_cli("--sizes", "1000,990,10", "--m", "100", "--loop")
    assert code == 2 and "coordinate loop" in err and "Traceback" not in err


def test_max_seconds_is_the_budget_the_check_must_fit():
    assert run_cli("--sizes", "400,25,10", "--m", "100", "--table", "none")[0] == 0
    code, _, err = run_cli("--sizes", "400,25,10", "--m", "100", "--max-seconds", "0.0001")
    assert code == 2 and "the limits here are 0.0001 s" in err


@pytest.mark.parametrize("value", ["nan", "inf", "-1", "0", "1e9", "soon"])
def test_bad_timeouts_exit_2_with_a_message(tmp_path, value):
    path = tmp_path / "code.py"
    path.write_text("x = 1\n")
    code, _, err = run_cli("check-code", path, f"--timeout={value}")
    assert code == 2 and "argument --timeout" in err and "Traceback" not in err


@pytest.mark.parametrize("value", ["nan", "inf", "-5", "0"])
def test_bad_budgets_exit_2_with_a_message(value):
    code, _, err = run_cli(f"--max-seconds={value}")
    assert code == 2 and "argument --max-seconds" in err and "Traceback" not in err


@pytest.mark.parametrize("seeds", ["1000000000", "0", "many"])
def test_bug_matrix_seed_counts_outside_the_cap_exit_2_with_a_message(seeds):
    code, _, err = run_cli("bug-matrix", f"--seeds={seeds}")
    assert code == 2 and "argument --seeds" in err and "Traceback" not in err


def test_a_bug_matrix_beyond_the_time_budget_exits_2_with_its_estimate():
    code, _, err = run_cli("bug-matrix", "--seeds", "5000")
    assert code == 2 and "too large to run" in err and "bugs x 5,000 seeds" in err


def test_check_code_on_a_problem_beyond_the_memory_limit_exits_2(tmp_path):
    path = tmp_path / "code.py"
    path.write_text("x = 1\n")
    code, _, err = run_cli("check-code", path, "--sizes", "100000,100000,10")
    assert code == 2 and "too large to run" in err and "Traceback" not in err


def test_check_code_on_a_file_that_is_not_text_exits_2(tmp_path):
    path = tmp_path / "code.py"
    path.write_bytes(b"\xff\xfe\x00binary")
    code, _, err = run_cli("check-code", path)
    assert code == 2 and "Traceback" not in err


@pytest.mark.parametrize(
    "args, verdict",
    [
        (["--sizes", "100,100,10", "--table", "all"], 0),
        (["--sizes", "100,100,10", "--table", "all", "--json"], 0),
        (["--bug", "sigmoid-sign-flip"], 1),
        (["--list-bugs"], 0),
        (["bug-matrix", "--seeds", "2"], 0),
    ],
)
def test_output_into_a_reader_that_stops_early_ends_quietly_with_the_verdict(args, verdict):
    """`python -m engine ... | head`: the reader is gone before (or while) the CLI writes."""
    child = subprocess.Popen(
        [sys.executable, "-m", "engine", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=ROOT,
    )
    child.stdout.close()
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == verdict
    assert err == ""


def test_dask_is_a_plain_switch_that_takes_no_address():
    code, _, err = run_cli("bug-matrix", "--seeds", "1", "--dask", "tcp://127.0.0.1:1")
    assert code == 2 and "unrecognized arguments: tcp://127.0.0.1:1" in err


def test_check_code_states_the_isolation_in_force(tmp_path):
    from engine.runners.sandbox import detect_isolation

    path = tmp_path / "question.py"
    path.write_text(EXAMPLES["seed-question"].source)
    _, out, _ = run_cli("check-code", path, "--table", "none")
    assert detect_isolation().describe() in out.splitlines()


def test_check_code_json_has_the_isolation_level(tmp_path):
    from engine.runners.sandbox import detect_isolation

    path = tmp_path / "question.py"
    path.write_text(EXAMPLES["seed-question"].source)
    _, out, _ = run_cli("check-code", path, "--json")
    assert json.loads(out)["isolation"] == detect_isolation().level


def test_an_unreachable_configured_scheduler_is_a_message_and_exit_2():
    env = {**os.environ, "GRADSCOPE_DASK_SCHEDULER": "tcp://127.0.0.1:1"}
    env.pop("GRADSCOPE_RUN_USER_CODE", None)
    done = subprocess.run(
        [sys.executable, "-m", "engine", "bug-matrix", "--seeds", "1", "--dask"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )
    assert done.returncode == 2
    assert "Dask failed" in done.stderr and "Traceback" not in done.stderr
