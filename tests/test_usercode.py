"""Running users' code in a limited child process: every way it can go wrong.

Each failure mode has a bounded run time (limits of a few seconds), and the last test
checks that the test process itself is unharmed afterwards.
"""

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import engine
from engine.bugs.examples import EXAMPLES
from engine.runners.sandbox import code_execution_enabled
from engine.runners.usercode import Limits, run_user_code, source_label_hint
from tests.cli_helpers import run_cli

LIMITS = Limits(wall_seconds=15, cpu_seconds=4, memory_bytes=1024**3)
PROBLEM = engine.make_problem(lamb=1.0)
GOOD_COST = "import numpy as np\ndef computeCost(t, *a):\n    return float(np.sum(t ** 2))\n"

FAILURES = {
    "endless loop": ("while True:\n    pass\n", "CPU time"),
    "unbounded allocation": ("a = []\nwhile True:\n    a.append(' ' * 10**7)\n", "out of memory"),
    "huge array": ("import numpy as np\nx = np.ones(10**11)\n", "out of memory"),
    "exception": (GOOD_COST + "def gradient(t, *a):\n    return 1 / 0\n", "ZeroDivisionError"),
    "sys.exit": ("import sys\nsys.exit(3)\n", "sys.exit(3)"),
    "os._exit": ("import os\nos._exit(7)\n", "exit status 7"),
    "megabytes of print": ("while True:\n    print('x' * 100_000)\n", "CPU time"),
    "megabytes to fd 1": ("import os\nwhile True:\n    os.write(1, b'y' * 10**6)\n", "more output"),
    "wrong shape": (GOOD_COST + "def gradient(t, *a):\n    return np.zeros(5)\n", "5 values"),
    "wrong dtype": (
        GOOD_COST + "def gradient(t, *a):\n    return ['a'] * len(t)\n",
        "real numbers",
    ),
    "NaN": (GOOD_COST + "def gradient(t, *a):\n    return t * np.nan\n", "NaN"),
    "inf cost": (
        "import numpy as np\ndef computeCost(t, *a):\n    return np.inf\n"
        "def gradient(t, *a):\n    return t\n",
        "finite",
    ),
    "syntax error": ("def computeCost(t:\n    pass\n", "Syntax error"),
    "missing function": ("x = 1\n", "no function named 'computeCost'"),
}
LINES = {
    "unbounded allocation": 3,
    "huge array": 2,
    "exception": 5,
    "sys.exit": 2,
    "syntax error": 1,
}


@pytest.mark.parametrize("mode", list(FAILURES))
def test_each_failure_mode_gets_a_clear_message_in_bounded_time(mode):
    source, words = FAILURES[mode]
    start = time.monotonic()
    run = run_user_code(source, PROBLEM, limits=LIMITS)
    assert time.monotonic() - start < LIMITS.wall_seconds + 5
    assert not run.ok
    assert words in run.message
    if mode in LINES:
        assert run.line == LINES[mode] and run.line_text


def test_wall_clock_timeout_stops_code_that_sleeps():
    run = run_user_code(
        "import time\ntime.sleep(60)\n", PROBLEM, limits=Limits(wall_seconds=3, cpu_seconds=30)
    )
    assert not run.ok and "did not finish within 3 s" in run.message


def test_what_the_code_prints_is_captured_and_bounded():
    source = (
        EXAMPLES["seed-answer"].source + "\nprint('hello from your code')\nprint('z' * 10**6)\n"
    )
    run = run_user_code(source, PROBLEM, limits=LIMITS)
    assert run.ok
    assert run.output.startswith("hello from your code")
    assert len(run.output) < 70_000 and "not kept" in run.output


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_gives_its_expected_verdict(name):
    example = EXAMPLES[name]
    run = run_user_code(
        example.source,
        PROBLEM,
        example.cost_name,
        example.gradient_name,
        example.convention,
        limits=LIMITS,
    )
    assert run.ok, run.message
    top = engine.diagnose(run.result)[0]
    if example.expected_bug:
        assert run.result.status == "fail" and top.bug_id == example.expected_bug
    else:
        assert run.result.status == "pass"


def test_the_user_code_may_bring_its_own_theta():
    source = EXAMPLES["seed-answer"].source + "\ntheta = np.linspace(-0.1, 0.1, 38)\n"
    run = run_user_code(source, PROBLEM, limits=LIMITS)
    assert run.ok and run.theta_from_code
    np.testing.assert_allclose(run.result.theta, np.linspace(-0.1, 0.1, 38))


def test_one_based_labels_into_zero_based_code_get_a_hint():
    run = run_user_code(EXAMPLES["seed-answer"].source, PROBLEM, label_base=1, limits=LIMITS)
    assert not run.ok and "IndexError" in run.message
    assert "0-based" in run.hint


def test_octave_style_label_arithmetic_gets_a_hint():
    assert "1-based" in source_label_hint("Y[i, y[i] - 1] = 1", 0)
    assert source_label_hint("Y[i, y[i]] = 1", 0) is None


def test_the_seed_convention_needs_three_layers():
    run = run_user_code(EXAMPLES["seed-answer"].source, engine.make_problem((3, 4, 4, 3)))
    assert not run.ok and "3-layer" in run.message


def test_the_off_switch_reads_the_environment(monkeypatch):
    monkeypatch.setenv("GRADSCOPE_RUN_USER_CODE", "off")
    assert not code_execution_enabled()
    monkeypatch.setenv("GRADSCOPE_RUN_USER_CODE", "on")
    assert code_execution_enabled()


def test_check_code_cli_prints_the_seed_table_and_diagnosis(tmp_path):
    path = tmp_path / "question.py"
    path.write_text(EXAMPLES["seed-question"].source)
    code, out, _ = run_cli("check-code", path, "--table", "all")
    assert code == 1
    assert "Function Gradient" in out and "[sigmoid-sign-flip]" in out


def test_check_code_cli_reports_failures_with_the_line(tmp_path):
    path = tmp_path / "broken.py"
    path.write_text(FAILURES["exception"][0])
    code, _, err = run_cli("check-code", path, "--timeout", "20")
    assert code == 1 and "line 5" in err


def test_the_calling_process_is_unaffected_afterwards():
    """After all of the above: still the same process, no children left, checks still work."""
    pid, cwd = os.getpid(), os.getcwd()
    run_user_code(FAILURES["os._exit"][0], PROBLEM, limits=LIMITS)
    run_user_code(FAILURES["sys.exit"][0], PROBLEM, limits=LIMITS)
    assert os.getpid() == pid and os.getcwd() == cwd
    children = Path(f"/proc/{pid}/task/{pid}/children")
    leftovers = children.read_text().split() if children.exists() else []
    alive = [
        c
        for c in leftovers
        if Path(f"/proc/{c}/cmdline").exists()
        and "usercode_child" in Path(f"/proc/{c}/cmdline").read_text()
    ]
    assert alive == []
    assert engine.check_problem(PROBLEM).status == "pass"
    assert sys.stdout is not None and not sys.stdout.closed


def test_user_code_on_a_local_dask_cluster_gives_the_same_numbers():
    source = EXAMPLES["seed-question"].source
    serial = run_user_code(source, PROBLEM, limits=LIMITS)
    spread = run_user_code(source, PROBLEM, limits=LIMITS, dask=True)
    assert spread.ok
    np.testing.assert_array_equal(spread.result.numerical, serial.result.numerical)


def test_pasted_code_findings_name_lambda_over_m_from_the_scenario():
    example = EXAMPLES["bias-regularised"]
    run = run_user_code(example.source, PROBLEM, limits=LIMITS)
    top = engine.diagnose(run.result)[0]
    assert "lambda/m = 1/5" in top.message
