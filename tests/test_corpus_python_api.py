"""The corpus (tests/corpus) through the Python API, in the caller's own process.

What a notebook user writes: the program runs as a module, then `engine.check_params(lambda:
<loss>, <params>, grads=...)` with the manifest's expressions (segments and setters given
as arguments), and `engine.check_layer(forward, inputs)` for every layer (CS231n's pairs,
whose backward is found beside the forward by name, a torch `autograd.Function`, a
`jax.custom_vjp` rule). Every correct program agrees; every bug is flagged in exactly
the manifest's arrays. Array names follow the params' own structure (a tuple given
directly is named by position), so arrays are compared by their place in the order.
"""

from __future__ import annotations

import importlib.util

import pytest

from tests.corpus.manifest import PROGRAMS
from tests.corpus.python_api import check_variant

LIBRARIES = {"torch-autograd": "torch", "jax-custom-vjp": "jax"}


def _runnable(prog) -> bool:
    library = LIBRARIES.get(prog.convention)
    return library is None or importlib.util.find_spec(library) is not None


def _variants(prog):
    """The correct program, each bug, and every extra (each agrees: pass, noise, and
    degenerate points)."""
    return [None, *(b.id for b in prog.bugs), *(e.id for e in prog.extras)]


LOSS_CASES = [
    (p, bug) for p in PROGRAMS if p.loss is not None and _runnable(p) for bug in _variants(p)
]
LAYER_CASES = [
    (p, bug) for p in PROGRAMS if p.forward_call and _runnable(p) for bug in (None, *p.bugs)
]


def _ids(cases):
    return [f"{p.file[:-3]}-{getattr(b, 'id', b) or 'correct'}" for p, b in cases]


def _expected_positions(prog, bug_id, names) -> set[int]:
    bug = prog.bug(bug_id) if bug_id else None
    if bug is None or bug.expect != "flag":
        return set()
    if len(names) == 1:  # one array, named `params` here and by its expression there
        return {0} if bug.diverges else set()
    order = list(prog.names or names)
    return {order.index(name) for name in bug.diverges}


def _diverging_positions(result) -> set[int]:
    return {k for k, m in enumerate(result.matrices) if m.diverging.any()}


@pytest.mark.parametrize("prog, bug", LOSS_CASES, ids=_ids(LOSS_CASES))
def test_check_params_judges_each_corpus_variant_as_check_code_does(prog, bug):
    result = check_variant(prog, bug)
    expected = _expected_positions(prog, bug, result.layout.names)
    assert _diverging_positions(result) == expected
    assert result.agrees == (not expected)


@pytest.mark.parametrize("prog, bug", LAYER_CASES, ids=_ids(LAYER_CASES))
def test_check_layer_judges_each_layer_from_its_forward_and_inputs(prog, bug):
    bug_id = bug.id if bug else None
    result = check_variant(prog, bug_id, layer=True)
    expected = _expected_positions(prog, bug_id, result.layout.names)
    assert _diverging_positions(result) == expected
    assert list(result.layout.names) == list(prog.names or prog.layer["inputs"])
