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
from engine.runners.channel import ChannelError
from engine.runners.sandbox import code_execution_enabled
from engine.runners.usercode import (
    MAX_SOURCE_BYTES,
    MAX_SOURCE_FILES,
    Limits,
    check_sources,
    contract_layout,
    run_user_code,
    run_user_contract,
    source_label_hint,
    sources_from_zip,
)
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


# --- the general contract: FILE as a module, --loss / --params / --grads expressions ---

MODEL = """import numpy as np
from helper import square_loss

rng = np.random.default_rng(0)
params = {"W": rng.normal(size=(3, 2)), "b": rng.normal(size=2)}
X = rng.normal(size=(4, 3))


def loss():
    out = X @ params["W"] + params["b"]
    return square_loss(out), {"W": X.T @ out, "b": out.sum(0)}
"""
HELPER = "import numpy as np\n\n\ndef square_loss(out):\n    return 0.5 * np.sum(out**2)\n"


def _contract(tmp_path, loss="loss()", params="params", grads=None, source=MODEL):
    (tmp_path / "helper.py").write_text(HELPER)
    path = tmp_path / "model.py"
    path.write_text(source)
    return run_user_contract(path, loss, params, grads, limits=LIMITS)


def test_a_helper_module_next_to_the_file_imports_and_the_arrays_keep_their_names(tmp_path):
    run = _contract(tmp_path)
    assert run.ok, run.describe_error()
    assert run.result.agrees and run.model.names == ("W", "b")
    assert run.model.shapes == ((3, 2), (2,))


def test_the_users_folder_is_shipped_as_a_copy_the_code_cannot_change(tmp_path):
    source = (
        MODEL
        + "import helper\ntry:\n    open(helper.__file__, 'a').write('x = 1')\n"
        + "except OSError:\n    pass\n"
    )
    run = _contract(tmp_path, source=source)
    assert run.ok, run.describe_error()
    assert (tmp_path / "helper.py").read_text() == HELPER


def test_a_loss_of_one_element_array_is_a_number(tmp_path):
    run = _contract(tmp_path, loss="np.array([loss()[0]])", grads="loss()[1]")
    assert run.ok and run.result.agrees


@pytest.mark.parametrize(
    "flags, words",
    [
        ({"params": "params["}, "--params `params[` is not a Python expression"),
        ({"params": "params['V']"}, "KeyError in --params `params['V']`"),
        ({"params": "X.astype(int)"}, "has dtype int64"),
        ({"loss": "X"}, "--loss `X` returned an array of shape (4, 3)"),
        ({"loss": "loss()[0]"}, "give --grads EXPR"),
        (
            {"loss": "loss()[0]", "grads": "{'W': X, 'b': X[0, :2]}"},
            "W has shape (4, 3), but W has shape (3, 2)",
        ),
        ({"loss": "loss()[0] * np.nan", "grads": "loss()[1]"}, "returned nan"),
        ({"params": "{'W': params['W'].copy(), 'b': params['b']}"}, "gave a new array for W"),
    ],
)
def test_contract_input_that_does_not_fit_gets_a_message_naming_the_expression(
    tmp_path, flags, words
):
    run = _contract(tmp_path, **flags)
    assert not run.ok and words in run.message, run.message


def test_an_expression_failing_in_the_users_code_names_the_users_line(tmp_path):
    run = _contract(
        tmp_path, source=MODEL + "\n\ndef broken():\n    return 1 / 0\n", loss="broken()"
    )
    assert not run.ok and "ZeroDivisionError in --loss `broken()`" in run.message
    assert run.line == 15 and run.line_text == "return 1 / 0"


def test_a_folder_with_too_many_py_files_is_refused_with_a_message(tmp_path):
    for k in range(MAX_SOURCE_FILES + 1):
        (tmp_path / f"m{k}.py").write_text("")
    run = _contract(tmp_path)
    assert not run.ok and "folder of their own" in run.message


@pytest.mark.parametrize(
    "reply",
    [
        {"names": ["W"], "shapes": [[10**6, 10**6]]},
        {"names": ["W", "W"], "shapes": [[2], [2]]},
        {"names": ["W"], "shapes": [[2, -1]]},
        {"names": [1], "shapes": [[2]]},
        {"names": ["W"], "shapes": [[2], [3]]},
        {"names": ["W"]},
    ],
)
def test_a_childs_names_and_shapes_are_validated_before_any_array_is_read(reply):
    with pytest.raises(ChannelError):
        contract_layout(reply)


def test_a_loss_too_slow_for_the_time_limit_is_stopped_early_with_the_numbers(tmp_path):
    source = MODEL + "import time\nbig = np.zeros(2000)\n\n\ndef slow():\n    time.sleep(0.01)\n"
    source += "    return float(np.sum(big**2)), 2 * big\n"
    start = time.monotonic()
    run = _contract(tmp_path, source=source, loss="slow()", params="big")
    assert not run.ok and "4,000 evaluations" in run.message and "raise --timeout" in run.message
    assert time.monotonic() - start < 8


def test_a_loss_failing_at_a_shifted_point_names_the_entry_that_moved(tmp_path):
    source = (
        MODEL + "\n\ndef picky():\n    assert params['b'][1] == B1, 'moved'\n    return loss()\n"
    )
    run = _contract(tmp_path, source=source + "B1 = params['b'][1]\n", loss="picky()")
    assert not run.ok and "with b[1] moved by" in run.message, run.message
    assert run.line_text == "assert params['b'][1] == B1, 'moved'"


def test_a_folder_with_too_many_bytes_of_python_is_refused_with_a_message(tmp_path):
    (tmp_path / "big.py").write_bytes(b"#" * (MAX_SOURCE_BYTES + 1))
    run = _contract(tmp_path)
    assert not run.ok and "MB together" in run.message


# --- the same contract from sources given directly (the app's pasted and uploaded code) ---


def _zip(files: dict) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def test_sources_given_directly_run_as_a_file_does_with_its_helper_importable(tmp_path):
    from_file = _contract(tmp_path)
    sources = sources_from_zip(_zip({"proj/model.py": MODEL, "proj/helper.py": HELPER}))
    direct = run_user_contract(sources, "loss()", "params", limits=LIMITS, main="proj/model.py")
    assert direct.ok, direct.describe_error()
    assert direct.model.file == "proj/model.py" and direct.model.names == ("W", "b")
    np.testing.assert_array_equal(direct.result.numerical, from_file.result.numerical)


def test_only_the_main_files_folder_is_shipped_by_its_relative_paths():
    shipped, main = check_sources(
        {"a/model.py": b"", "a/sub/h.py": b"", "b/other.py": b"", "a/notes.txt": b""},
        "a/model.py",
    )
    assert main == "model.py" and sorted(shipped) == ["model.py", "sub/h.py"]


@pytest.mark.parametrize(
    "files, main, words",
    [
        ({"../x.py": b""}, "../x.py", "leaves its folder"),
        ({"/abs/x.py": b""}, "/abs/x.py", "leaves its folder"),
        ({"a\\x.py": b""}, "a\\x.py", "backslash"),
        ({"x.py": b"#" * (MAX_SOURCE_BYTES + 1)}, "x.py", "MB together"),
        ({f"m{k}.py": b"" for k in range(MAX_SOURCE_FILES + 1)}, "m0.py", "at most"),
        ({"x.py": b""}, "y.py", "not among the files"),
    ],
)
def test_sources_beyond_the_bounds_are_refused_with_the_reason(files, main, words):
    with pytest.raises(ValueError, match=words):
        check_sources(files, main)
    run = run_user_contract(files, "0", "x", main=main, limits=LIMITS)
    assert not run.ok and words in run.message


@pytest.mark.parametrize(
    "files, words",
    [
        ({"../evil.py": "x = 1"}, "leaves its folder"),
        ({"big.py": "#" * (MAX_SOURCE_BYTES + 1)}, "MB together"),
        ({"notes.txt": "x"}, "no .py file"),
    ],
)
def test_a_zip_past_the_bounds_is_refused_without_reading_beyond_them(files, words):
    with pytest.raises(ValueError, match=words):
        sources_from_zip(_zip(files))


def test_a_damaged_zip_is_a_message():
    with pytest.raises(ValueError, match="not a readable zip"):
        sources_from_zip(b"PK\x03\x04 not really")
