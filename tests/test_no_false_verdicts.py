"""No real bug is explained away: on every bug of the corpus (tests/corpus, Bug.expect ==
"flag") the check fails and the top finding does not call the disagreement round-off
("precision") or a kink of the loss ("kink"), the two causes that say "not a bug". And the
founding question and its answer keep their diagnosis."""

from __future__ import annotations

import importlib.util

import pytest

import engine
from engine.bugs.catalogue import SEED_BUGS
from engine.diagnosis.diagnose import diagnose
from tests.corpus.manifest import PROGRAMS
from tests.corpus.python_api import check_variant

LIBRARIES = {"torch-autograd": "torch", "jax-custom-vjp": "jax"}
NOT_A_BUG = {"precision", "kink"}


def _runnable(prog) -> bool:
    library = LIBRARIES.get(prog.convention)
    return library is None or importlib.util.find_spec(library) is not None


REAL_BUGS = [
    (prog, bug.id, layer)
    for prog in PROGRAMS
    if _runnable(prog)
    for layer in ([False] if prog.loss is not None else []) + ([True] if prog.forward_call else [])
    for bug in prog.bugs
    if bug.expect == "flag"
]


@pytest.mark.parametrize(
    "prog, bug, layer",
    REAL_BUGS,
    ids=[f"{p.file[:-3]}-{b}{'-layer' if layer else ''}" for p, b, layer in REAL_BUGS],
)
def test_a_real_bug_fails_and_its_top_finding_never_calls_it_noise(prog, bug, layer):
    result = check_variant(prog, bug, layer)
    assert not result.agrees
    top = diagnose(result)[0]
    assert top.cause not in NOT_A_BUG, top.message


def test_the_founding_question_is_a_sign_error_in_theta2_then_an_unperturbed_entry_0(
    seed_problem,
):
    """The question: the sigmoid written g(-z) and a numerical loop from index 1."""
    p = seed_problem
    result = engine.check(p.theta, p.X, p.y, (3, 5, 3), lamb=p.lamb, bugs=SEED_BUGS)
    first, second = diagnose(result)[:2]
    assert (first.cause, first.bug_id) == ("sign", "sigmoid-sign-flip")
    assert "Sign error" in first.message and "Theta2" in first.message
    assert "sigmoid" in first.message
    assert (second.cause, second.bug_id) == ("checker", "numgrad-skips-first")
    assert "Numerical entry 0" in second.message and "never perturbed" in second.message


def test_the_founding_answer_is_the_unperturbed_entry_0_alone(seed_problem):
    """The answer fixed the sigmoid; its code still starts the numerical loop at 1."""
    p = seed_problem
    result = engine.check(p.theta, p.X, p.y, (3, 5, 3), lamb=p.lamb, bugs=["numgrad-skips-first"])
    top = diagnose(result)[0]
    assert (top.cause, top.bug_id) == ("checker", "numgrad-skips-first")
    assert "Numerical entry 0" in top.message and "never perturbed" in top.message
