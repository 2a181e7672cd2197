"""One home per mistake: a catalogue bug lives in its own module, and only there.

Its id is written nowhere else in the project's code, and a new module dropped into
`engine/bugs/mistakes/` is in the catalogue, its sidebar group, the diagnosis and the
"Your code" examples with nothing else edited.
"""

from __future__ import annotations

import ast
import importlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from engine.bugs.catalogue import BUGS, SEED_BUGS

ROOT = Path(__file__).resolve().parents[1]
CODE = ("engine", "ui", "pages", "cli", "presentation")
CATALOGUE = "engine/bugs/catalogue.py"  # where the founding pair, SEED_BUGS, is named

# Ids still written outside their bug's module, by file: this list may only shrink.
# "float32" there is the dtype's name, not the bug's id.
NAMED_ELSEWHERE = {
    ("engine/gradcheck/noise.py", "float32"),
    ("engine/gradcheck/sweep.py", "float32"),
}


def homes() -> dict[str, str]:
    """Each bug's id and the file that defines it."""
    return {
        importlib.import_module(f"engine.bugs.mistakes.{path.stem}").BUG.id: path.name
        for path in sorted((ROOT / "engine/bugs/mistakes").glob("*.py"))
        if path.stem != "__init__"
    }


def code_files() -> list[Path]:
    return [p for folder in CODE for p in sorted((ROOT / folder).rglob("*.py"))] + [ROOT / "app.py"]


def literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and n.value in BUGS}


def test_each_bug_is_defined_by_the_module_named_after_it():
    assert homes() == {bug_id: f"{bug_id.replace('-', '_')}.py" for bug_id in BUGS}


def test_no_module_but_its_own_names_a_bug():
    home = {bug_id: f"engine/bugs/mistakes/{name}" for bug_id, name in homes().items()}
    named = set()
    for path in code_files():
        relative = path.relative_to(ROOT).as_posix()
        for bug_id in literals(path):
            if relative == home[bug_id] or (relative == CATALOGUE and bug_id in SEED_BUGS):
                continue
            named.add((relative, bug_id))
    assert named <= NAMED_ELSEWHERE


NEW_BUG = '''
"""A new mistake: the gradient doubled, as with a squared error's 2(h - y)."""

from dataclasses import replace

from engine.bugs.bug import Bug, Claim
from engine.bugs.founding import Example, answer_with
from engine.bugs.observations import ConstantFactor


def twice_over_m(m):
    return 2 / m


def detect(seen):
    if isinstance(seen, ConstantFactor) and abs(seen.k - 2) < 1e-6:
        return Claim("The gradient is doubled.", seen.evidence, score=0.85)
    return None


BUG = Bug(
    number=12,
    id="gradient-doubled",
    title="Gradient doubled",
    where="backprop",
    cause="scale",
    explanation="A squared error's 2(h - y) carried into a cross-entropy gradient.",
    buggy_code="theta_grad = 2 * D / m",
    fixed_code="theta_grad = D / m",
    signature="Analytic is twice numerical in the bias columns.",
    realise=lambda impl: replace(impl, gradient_scale=twice_over_m),
    detect=detect,
    example=("doubled", Example("Doubling the gradient", "2 D / m.", answer_with("(m / 2)"))),
)
'''

PROBE = """
import json
import engine
from engine.bugs.catalogue import BUGS, bugs_where
from engine.bugs.examples import EXAMPLES

problem = engine.make_problem(seed=0, lamb=1.0)
result = engine.check_problem(problem, ["gradient-doubled"])
print(json.dumps({
    "ids": list(BUGS),
    "backprop": list(bugs_where("backprop")),
    "level_1": engine.diagnose(result, reproduce=False)[0].bug_id,
    "level_2": [f.bug_id for f in engine.diagnose(result) if f.kind == "reproduction"],
    "example": [list(EXAMPLES)[-1], EXAMPLES["doubled"].expected_bug],
}))
"""


def test_a_bug_module_dropped_into_the_package_is_everywhere(tmp_path):
    shutil.copytree(
        ROOT / "engine", tmp_path / "engine", ignore=shutil.ignore_patterns("__pycache__")
    )
    (tmp_path / "engine/bugs/mistakes/gradient_doubled.py").write_text(textwrap.dedent(NEW_BUG))
    run = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=True,
    )
    seen = json.loads(run.stdout)
    assert seen["ids"] == [*BUGS, "gradient-doubled"]
    assert seen["backprop"][-1] == "gradient-doubled"
    assert seen["level_1"] == "gradient-doubled"
    assert seen["level_2"] == ["gradient-doubled"]
    assert seen["example"] == ["doubled", "gradient-doubled"]
