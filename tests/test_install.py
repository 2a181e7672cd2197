"""`pip install .` gives a `gradscope` command equal to `python -m engine`.

Installed offline, as the test command runs: no build isolation (the build backend,
setuptools>=70.1, is this interpreter's), no index, no dependencies (this interpreter
has them). The build runs in a copy of the checkout: setuptools writes build/ and
*.egg-info next to the sources it builds.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli_helpers import ROOT

PACKAGES = ("engine", "presentation", "cli", "gradscope")
NOT_SOURCES = shutil.ignore_patterns(
    ".git", "__pycache__", ".*cache", ".hypothesis", "test-output", "build", "*.egg-info"
)
WIDE = {"COLUMNS": "1000"}  # argparse wraps nothing: only the program's name differs


@pytest.fixture(scope="module")
def target(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("checkout")
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES, dirs_exist_ok=True)
    target = tmp_path_factory.mktemp("installed")
    done = subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
        + ["--no-deps", "--no-build-isolation", "--no-index", "--target", target, source],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return target


def gradscope(target: Path, *args: str) -> subprocess.CompletedProcess:
    """The installed command, run away from the checkout, importing only what pip put in."""
    return subprocess.run(
        [target / "bin" / "gradscope", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=target,
        env={**os.environ, **WIDE, "PYTHONPATH": str(target)},
    )


def python_m_engine(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env={**os.environ, **WIDE},
    )


def sources(root: Path) -> set[Path]:
    return {
        path.relative_to(root)
        for package in PACKAGES
        for path in (root / package).rglob("*.py")
        if "__pycache__" not in path.parts
    }


def test_the_install_holds_every_module_of_the_engine_presentation_and_cli(target):
    assert sources(target) == sources(ROOT)


def test_gradscope_help_is_the_help_of_python_m_engine(target):
    installed, checkout = gradscope(target, "--help"), python_m_engine("--help")
    assert installed.returncode == checkout.returncode == 0
    assert installed.stdout == checkout.stdout.replace("python -m engine", "gradscope")


def test_gradscope_runs_the_seed_check_as_python_m_engine_does(target):
    installed, checkout = gradscope(target), python_m_engine()
    assert installed.returncode == checkout.returncode == 0
    assert installed.stdout == checkout.stdout
    assert "Relative Difference:" in installed.stdout
