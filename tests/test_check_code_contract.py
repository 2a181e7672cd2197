"""`check-code FILE --loss EXPR --params EXPR [--grads EXPR]` on the corpus (tests/corpus).

The programs of the conventions the general contract covers as they are: dict params
with (loss, grads) (CS231n models), one weight matrix with (loss, dW) (CS231n loss
functions), Nielsen's lists with a grads expression, flat vectors f(theta) (the
founding question, Ng's ex4, scipy-style functions), and an object's attributes. Each
variant is written to a folder of its own with its helper modules and run through the
CLI in a fresh interpreter, as a user would: every correct program agrees, every buggy
one fails with the diverging arrays named by the user's names, and no other array.
Layer pairs pass as the manifest writes them (a tuple display of inputs, the loss
sum(forward(...)[0] * dout), the backward call as grads). A get/set-params object, whose
getter returns a new vector, gets a message. The runs share one pool (two at a time)
and each test reads its own result.
"""

import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.params.structure import expression_name
from engine.runners.sandbox import code_execution_enabled
from tests.cli_helpers import run_cli
from tests.corpus.manifest import PROGRAMS, write_variant

pytestmark = pytest.mark.skipif(not code_execution_enabled(), reason="user code is off")

COVERED = (
    "cs231n-model",
    "cs231n-loss-function",
    "nielsen",
    "f-theta",
    "ng-ex4",
    "founding",
    "layer-pairs",  # the manifest's sum(forward * dout) and backward(...) expressions
)
PROGRAMS_COVERED = [p for p in PROGRAMS if p.convention in COVERED]
# (program, variant): None is the correct program; extras whose expectation is "pass",
# and the float32 one (a correct float32 cost read at float32's noise floor)
CASES = [
    (prog, bug.id if bug else None)
    for prog in PROGRAMS_COVERED
    for bug in (
        None,
        *prog.bugs,
        *(e for e in prog.extras if e.expect == "pass" or e.id == "float32"),
    )
]
OBJECT_PARAMS = "net"  # Nielsen's Network object itself: its biases and weights attributes


def _expected_diverging(prog, bug_id) -> set[str]:
    if bug_id is None or prog.bug(bug_id).expect != "flag":
        return set()
    if prog.segments:  # one flat vector: its only array is the params expression's
        return {expression_name(prog.params)}
    return set(prog.bug(bug_id).diverges)


def _args(prog, path, params=None):
    args = ["check-code", path, "--loss", prog.loss, "--params", params or prog.params]
    if prog.grads:
        args += ["--grads", prog.grads]
    return [*args, "--eps", prog.eps, "--json", "--table", "none"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Every case through the CLI once, two at a time: (status, document or stderr)."""
    jobs = {}
    for prog, bug in CASES:
        folder = tmp_path_factory.mktemp(prog.file[:-3])
        jobs[(prog.file, bug)] = _args(prog, write_variant(prog, bug, folder))
    nielsen = next(p for p in PROGRAMS if p.file == "nielsen_network.py")
    for bug in (None, "nabla-w-transposed"):
        folder = tmp_path_factory.mktemp(f"nielsen-object-{bug}")
        path = write_variant(nielsen, bug, folder)
        jobs[("object", bug)] = _args(nielsen, path, OBJECT_PARAMS)

    getset = next(p for p in PROGRAMS if p.convention == "get-set-params")
    path = write_variant(getset, None, tmp_path_factory.mktemp("getset"))
    jobs[("getset", None)] = [*_args(getset, path)[:-3], "--table", "none"]

    def one(args):
        code, out, err = run_cli(*args, timeout=120)
        return code, (json.loads(out) if out.strip() else err)

    with ThreadPoolExecutor(max_workers=2) as pool:
        return dict(zip(jobs, pool.map(one, jobs.values())))


def _diverging(document) -> set[str]:
    return {m["name"] for m in document["result"]["matrices"] if m["n_diverging"] > 0}


@pytest.mark.parametrize(
    "prog, bug", CASES, ids=[f"{p.file[:-3]}-{b or 'correct'}" for p, b in CASES]
)
def test_each_corpus_variant_is_judged_with_the_users_array_names(runs, prog, bug):
    code, document = runs[(prog.file, bug)]
    assert isinstance(document, dict), document
    expected = _expected_diverging(prog, bug)
    assert _diverging(document) == expected
    assert code == (1 if expected else 0)


def test_the_arrays_keep_the_users_names_in_the_json(runs):
    cs231n = next(p for p in PROGRAMS if p.file == "cs231n_two_layer_net.py")
    _, document = runs[(cs231n.file, None)]
    assert [m["name"] for m in document["result"]["matrices"]] == ["W1", "b1", "W2", "b2"]
    assert document["model"]["arrays"] == [
        {"name": "W1", "shape": [5, 8]},
        {"name": "b1", "shape": [8]},
        {"name": "W2", "shape": [8, 3]},
        {"name": "b2", "shape": [3]},
    ]


def test_an_objects_list_attributes_are_its_params_matched_to_a_grads_tuple(runs):
    _, correct = runs[("object", None)]
    names = [m["name"] for m in correct["result"]["matrices"]]
    assert names == ["biases[0]", "biases[1]", "weights[0]", "weights[1]"]
    assert _diverging(correct) == set()
    code, buggy = runs[("object", "nabla-w-transposed")]
    assert (code, _diverging(buggy)) == (1, {"weights[0]", "weights[1]"})


def test_float32_params_are_checked_in_float32(runs):
    softmax = next(p for p in PROGRAMS if p.file == "softmax_f.py")
    _, document = runs[(softmax.file, "float32")]
    assert document["model"]["dtype"] == "float32"
    assert document["result"]["dtype"] == "float32"


def test_a_getter_returning_a_new_vector_gets_a_message_not_a_verdict(runs):
    code, err = runs[("getset", None)]
    assert code == 1 and "gave a new array" in err and "NN.getParams()" in err


def test_the_text_output_starts_with_the_users_model_not_a_scenario(tmp_path):
    cs231n = next(p for p in PROGRAMS if p.file == "cs231n_two_layer_net.py")
    path = write_variant(cs231n, "db2-not-averaged", tmp_path)
    code, out, _ = run_cli("check-code", path, "--loss", cs231n.loss, "--params", cs231n.params)
    lines = out.splitlines()
    assert code == 1 and lines[0].startswith(f"GradScope check of {path}: your model")
    assert lines[1] == "params `net.params`: W1 5x8, b1 (8,), W2 8x3, b2 (3,)"
    assert lines[2] == "75 parameters in 4 arrays, checked in float64"
    assert "layers" not in out.split("Isolation")[0] and "b2[1]" in out


def test_contract_flags_need_both_loss_and_params(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("import numpy as np\ntheta = np.zeros(2)\n")
    code, _, err = run_cli("check-code", path, "--params", "theta")
    assert code == 2 and "--loss EXPR and --params EXPR go together" in err
    code, _, err = run_cli("check-code", path, "--grads", "theta")
    assert code == 2 and "--grads and --dtype go with --loss" in err
