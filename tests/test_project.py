"""The project keeps its promises: the README's commands and catalogue are the real ones."""

from pathlib import Path

from engine.bugs.catalogue import BUGS

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_readme_lists_every_catalogue_bug_with_its_fixed_line():
    for bug in BUGS.values():
        assert f"`{bug.id}`" in README
        assert bug.fixed_code in README


def test_ci_runs_exactly_the_readmes_test_command():
    assert "bash scripts/test.sh" in README
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert "bash scripts/test.sh" in [line.strip() for line in ci]


def test_readme_run_command_installs_the_sandbox_and_starts_the_app():
    assert "bash scripts/setup.sh && streamlit run app.py" in README
    setup = (ROOT / "scripts" / "setup.sh").read_text()
    assert "bubblewrap" in setup and "requirements.txt" in setup
    assert (ROOT / "app.py").exists()


def test_the_readme_cli_example_is_real_output():
    import subprocess
    import sys

    block = README.split(
        "$ python -m engine --bug sigmoid-sign-flip --bug numgrad-skips-first --table diverging\n",
        1,
    )[1].split("```", 1)[0]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "engine",
            "--bug",
            "sigmoid-sign-flip",
            "--bug",
            "numgrad-skips-first",
            "--table",
            "diverging",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    output = done.stdout.splitlines()
    for line in block.splitlines():
        if line.strip() and line.strip() != "...":
            assert line in output, line
