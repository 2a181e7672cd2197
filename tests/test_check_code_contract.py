"""`check-code FILE --loss EXPR --params EXPR [--grads EXPR]` on the corpus (tests/corpus).

Every program of the corpus, in every convention, as the manifest writes its
expressions: dict params with (loss, grads) (CS231n models), one weight matrix with
(loss, dW) (CS231n loss functions), Nielsen's lists with a grads expression, flat
vectors f(theta), an object's attributes, layer pairs (a tuple display of inputs, the
loss sum(forward(...)[0] * dout), the backward call as grads), Ng's ex4 and the founding
question's flat vectors (cut into Theta1, Theta2, ... from the layer sizes in the loss
call, column-major where the code's reshape says order='F'), and a get/set-params object
(its getter's copy moved through its setter, cut into the object's own arrays). Each
variant is written to a folder of its own with its helper modules and run through the
CLI in a fresh interpreter, as a user would: every correct program agrees, every buggy
one fails with exactly the manifest's diverging arrays, named by the user's names. The
runs share one pool (two at a time) and each test reads its own result.
"""

import importlib.util
import json
from concurrent.futures import ThreadPoolExecutor

import pytest

from engine.runners.sandbox import code_execution_enabled
from tests.cli_helpers import run_cli
from tests.corpus.manifest import PROGRAMS, segments_flags, write_variant

pytestmark = pytest.mark.skipif(not code_execution_enabled(), reason="user code is off")

COVERED = (
    "cs231n-model",
    "cs231n-loss-function",
    "nielsen",
    "f-theta",
    "ng-ex4",
    "founding",
    "layer-pairs",  # the manifest's sum(forward * dout) and backward(...) expressions
    "get-set-params",  # the getter's copy moved through its set twin
    "torch-autograd",  # an nn.Module's parameters, the gradient by loss.backward()
    "jax-custom-vjp",
    "dlai-column",  # deeplearning.ai's column convention, grads keyed dW1 mapped back
    "layer-objects",  # Dense / activation objects storing self.dW, params typed as a tuple
)
LIBRARIES = {"torch-autograd": "torch", "jax-custom-vjp": "jax"}  # installed by the test setup


def _runnable(prog) -> bool:
    library = LIBRARIES.get(prog.convention)
    return library is None or importlib.util.find_spec(library) is not None


PROGRAMS_COVERED = [
    p for p in PROGRAMS if p.convention in COVERED and p.loss is not None and _runnable(p)
]
# (program, variant): None is the correct program; every extra agrees: "pass", "noise"
# (a correct float32 cost at float32's floor, a kink crossed by a step) and
# "degenerate" (a bug hidden by all-zero biases, which the diagnosis names)
CASES = [
    (prog, bug.id if bug else None)
    for prog in PROGRAMS_COVERED
    for bug in (
        None,
        *prog.bugs,
        *prog.extras,  # pass, noise (float32, a kink), degenerate
    )
]
# Layer mode, `--forward CALL`: CS231n's pairs (the backward found by name), a torch
# autograd.Function's apply, a jax.custom_vjp function; GradScope draws the dout.
LAYER_CASES = [
    (prog, bug.id if bug else None)
    for prog in PROGRAMS
    if prog.forward_call and _runnable(prog)
    for bug in (None, *prog.bugs)
]
OBJECT_PARAMS = "net"  # Nielsen's Network object itself: its biases and weights attributes


def _expected_diverging(prog, bug_id) -> set[str]:
    if bug_id is None or prog.bug(bug_id).expect != "flag":
        return set()
    return set(prog.bug(bug_id).diverges)


def _args(prog, path, params=None):
    args = ["check-code", path, "--loss", prog.loss, "--params", params or prog.params]
    if prog.grads:
        args += ["--grads", prog.grads]
    if prog.segments_typed:
        args += segments_flags(prog)
    return [*args, "--eps", prog.eps, "--json", "--table", "none"]


def _layer_args(prog, path):
    return ["check-code", path, "--forward", prog.forward_call, "--json", "--table", "none"]


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
    for prog, bug in LAYER_CASES:
        folder = tmp_path_factory.mktemp(f"layer-{prog.file[:-3]}")
        jobs[("layer", prog.file, bug)] = _layer_args(prog, write_variant(prog, bug, folder))

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


@pytest.mark.parametrize(
    "prog, bug", LAYER_CASES, ids=[f"{p.file[:-3]}-{b or 'correct'}" for p, b in LAYER_CASES]
)
def test_each_layer_is_checked_as_a_vjp_from_its_forward_call_alone(runs, prog, bug):
    code, document = runs[("layer", prog.file, bug)]
    assert isinstance(document, dict), document
    expected = _expected_diverging(prog, bug)
    assert _diverging(document) == expected
    assert code == (1 if expected else 0)
    names = [m["name"] for m in document["result"]["matrices"]]
    assert names == list(prog.names or prog.layer["inputs"])


# The screen's verdict per array, sent before the exact check: the same arrays as the
# exact check, except where a step crosses a kink (the exact check sets those entries
# apart; one direction cannot); in float32, at least one of them and no other.
SCREENED = [((p.file, b), p, b) for p, b in CASES if not (b and p.bug(b).cause == "kink")]
SCREENED += [(("layer", p.file, b), p, b) for p, b in LAYER_CASES]


@pytest.mark.parametrize(
    "key, prog, bug",
    SCREENED,
    ids=[f"{'-'.join(k[:-1])}-{b or 'correct'}".replace(".py", "") for k, _, b in SCREENED],
)
def test_the_screen_names_the_diverging_arrays_before_the_exact_check(runs, key, prog, bug):
    _, document = runs[key]
    differs = {line["name"] for line in document["screen"] if not line["agrees"]}
    expected = _expected_diverging(prog, bug)
    if document["model"]["dtype"] == "float32":  # float32's floor can hide a projection
        assert differs <= expected and bool(differs) == bool(expected)
    else:
        assert differs == expected


EXTRA_WORDS = {"kink": "kink of your loss", "degenerate": "all zeros at the check point"}
EXTRAS = [
    (prog, extra.id, EXTRA_WORDS["kink" if extra.cause == "kink" else extra.expect])
    for prog in PROGRAMS_COVERED
    for extra in prog.extras
    if extra.cause == "kink" or extra.expect == "degenerate"
]


@pytest.mark.parametrize(
    "prog, bug, words", EXTRAS, ids=[f"{p.file[:-3]}-{b}" for p, b, _ in EXTRAS]
)
def test_a_kink_or_a_degenerate_point_is_named_in_the_findings(runs, prog, bug, words):
    _, document = runs[(prog.file, bug)]
    assert any(words in finding["message"] for finding in document["findings"])


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


@pytest.mark.parametrize(
    "prog", [p for p in PROGRAMS_COVERED if p.segments], ids=lambda p: p.file[:-3]
)
def test_a_flat_vector_is_cut_into_the_manifests_segments(runs, prog):
    _, document = runs[(prog.file, None)]
    arrays = [(a["name"], tuple(a["shape"])) for a in document["model"]["arrays"]]
    assert arrays == [(s.name, s.shape) for s in prog.segments]


def test_the_text_output_starts_with_the_screen_then_the_users_model_not_a_scenario(tmp_path):
    cs231n = next(p for p in PROGRAMS if p.file == "cs231n_two_layer_net.py")
    path = write_variant(cs231n, "db2-not-averaged", tmp_path)
    code, out, _ = run_cli("check-code", path, "--loss", cs231n.loss, "--params", cs231n.params)
    lines = out.splitlines()
    assert code == 1 and lines[0].startswith("Screen: each array along one direction")
    assert [line.split()[:2] for line in lines[1:5]] == [
        ["W1", "agrees"],
        ["b1", "agrees"],
        ["W2", "agrees"],
        ["b2", "DIFFERS"],
    ]
    assert lines[5].startswith(f"GradScope check of {path}: your model")
    assert lines[6] == "params `net.params`: W1 5x8, b1 (8,), W2 8x3, b2 (3,)"
    assert lines[7] == "75 parameters in 4 arrays, checked in float64"
    assert "layers" not in out.split("Isolation")[0] and "b2[1]" in out


def test_contract_flags_need_both_loss_and_params(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("import numpy as np\ntheta = np.zeros(2)\n")
    code, _, err = run_cli("check-code", path, "--params", "theta")
    assert code == 2 and "--loss EXPR and --params EXPR go together" in err
    code, _, err = run_cli("check-code", path, "--grads", "theta")
    assert code == 2 and "--grads and --dtype go with --loss" in err


def test_an_octave_unrolled_vector_is_read_column_major_so_the_bias_column_is_column_0(tmp_path):
    """ex4's order='F' port with the penalty on the bias column too: the entries that
    diverge are exactly column 0 of Theta1 and Theta2, read column-major (row-major would
    scatter them)."""
    ex4 = next(p for p in PROGRAMS if p.file == "ex4_nncost_fortran.py")
    path = write_variant(ex4, "reg-bias-column", tmp_path)
    code, out, _ = run_cli(*_args(ex4, path)[:-2], "--table", "diverging", timeout=120)
    entries = {row["entry"] for row in json.loads(out)["parameters"] if row["diverges"]}
    expected = {f"Theta1[{i}, 0]" for i in range(5)} | {f"Theta2[{i}, 0]" for i in range(3)}
    assert code == 1 and entries == expected


def test_segments_flags_are_checked_before_the_run(tmp_path):
    path = tmp_path / "f.py"
    path.write_text("import numpy as np\ntheta = np.zeros(2)\n")
    base = ("check-code", path, "--loss", "float(theta @ theta)", "--params", "theta")
    code, _, err = run_cli(*base, "--segments", "A:2x")
    assert code == 2 and "not NAME:SHAPE" in err
    code, _, err = run_cli(*base, "--order", "F")
    assert code == 2 and "--order goes with --segments" in err


FLOAT32_LOSS = '''
import numpy as np

rng = np.random.default_rng(3)
X = rng.normal(size=(20, 4))
y = rng.normal(size=20)
theta = rng.normal(size=4)  # float64 params


def f(theta):
    """A correct least-squares loss computed in float32, returned as a Python float."""
    t, A, b = theta.astype(np.float32), X.astype(np.float32), y.astype(np.float32)
    r = A @ t - b
    return float(0.5 * r @ r / len(b)), X.T @ (X @ theta - y) / len(y)
'''


def test_a_correct_float32_loss_returned_as_a_python_float_is_checked_at_float32s_floor(
    tmp_path,
):
    path = tmp_path / "f32.py"
    path.write_text(FLOAT32_LOSS)
    args = ("check-code", path, "--loss", "f(theta)", "--params", "theta", "--json")
    code, out, _ = run_cli(*args, "--table", "none")
    document = json.loads(out)
    assert (code, document["model"]["dtype"], _diverging(document)) == (0, "float32", set())
    code, out, _ = run_cli(*args, "--table", "none", "--dtype", "float64")
    forced = json.loads(out)  # float64's floor is too fine; the loss's own noise is not
    assert code == 0 and forced["model"]["dtype"] == "float64"
    assert "The measured term dominates" in forced["result"]["noise_explanation"]


EXPLICIT = [(prog, bug) for prog in PROGRAMS if prog.segments for bug in (None, prog.bugs[0].id)]


@pytest.mark.parametrize(
    "prog, bug", EXPLICIT, ids=[f"{p.file[:-3]}-{b or 'correct'}" for p, b in EXPLICIT]
)
def test_the_manifests_segments_given_as_flags_give_the_same_verdict(tmp_path, prog, bug):
    path = write_variant(prog, bug, tmp_path)
    code, out, err = run_cli(*_args(prog, path), *segments_flags(prog), timeout=120)
    document = json.loads(out)
    assert _diverging(document) == _expected_diverging(prog, bug)
    assert code == (1 if bug else 0)
    assert any("shapes from --segments" in note for note in document["model"]["notes"])


FLOAT32_TERMS = """
import numpy as np

rng = np.random.default_rng(7)
A, b, theta = rng.normal(size=(200, 6)), rng.normal(size=200), rng.normal(size=6)


def loss(theta):
    # per-example errors in float32 (a float32 model), summed in float64
    r = A.astype(np.float32) @ theta.astype(np.float32) - b.astype(np.float32)
    return float(np.sum((0.5 * r * r).astype(np.float64))), A.T @ (A @ theta - b)
"""


def test_a_loss_noisier_than_its_dtype_passes_at_the_noise_measured_from_its_values(tmp_path):
    path = tmp_path / "float32_terms.py"
    path.write_text(FLOAT32_TERMS)
    args = ("check-code", path, "--loss", "loss(theta)", "--params", "theta", "--json")
    code, out, err = run_cli(*args, timeout=120)
    document = json.loads(out)
    assert code == 0, err
    assert "The measured term dominates" in document["result"]["noise_explanation"]


SLOW_LOSS = """
import numpy as np

W = np.random.default_rng(5).normal(size=(10, 6))
W0 = W.copy()


def loss():
    busy = sum(range(400_000))  # ~10 ms of pure Python per call: the loop is forked
    if W[9, 5] != W0[9, 5] and np.array_equal(W[:9], W0[:9]):  # that entry alone
        raise ValueError("the last entry moved")
    return float(np.sum(W**3)) + 0 * busy, 3 * W**2
"""


def test_a_loss_failing_in_a_forked_worker_is_reported_with_its_line_and_entry(tmp_path):
    path = tmp_path / "slow.py"
    path.write_text(SLOW_LOSS)
    code, _, err = run_cli("check-code", path, "--loss", "loss()", "--params", "W", timeout=120)
    assert code == 1
    assert "ValueError in --loss `loss()` at a shifted point" in err
    line = SLOW_LOSS.splitlines().index('        raise ValueError("the last entry moved")') + 1
    assert "W[9, 5] moved by" in err and f"(line {line}:" in err


def test_a_slow_loss_is_checked_in_forked_processes_with_the_serial_loops_verdict(tmp_path):
    path = tmp_path / "slow.py"
    path.write_text(SLOW_LOSS.replace("W[9, 5] != W0[9, 5]", "False"))
    code, out, err = run_cli("check-code", path, "--loss", "loss()", "--params", "W", "--json")
    document = json.loads(out)
    assert code == 0, err
    assert any("the exact loop ran in 2 processes" in n for n in document["model"]["notes"])
    assert document["result"]["n_params"] == 60 and document["result"]["n_diverging"] == 0
