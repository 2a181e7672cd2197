"""Check every claim of tests/corpus/manifest.py against finite differences of our own.

    python tests/corpus/verify.py [--markdown]

A plain script (pytest does not collect it: its name does not start with test_), and
independent of GradScope's engine. For every program and every variant (the correct one,
each bug, each extra) it runs the variant in a fresh namespace and checks each claim the
manifest makes for it:

- loss: evaluates the manifest's loss / params / grads expressions, takes central
  differences

      (L(p + eps e_i) - L(p - eps e_i)) / (2 eps)     (eps = 1e-5, float64 arithmetic)

  by perturbing every parameter entry in place (through setParams for get/set objects)
  and restoring it, and compares them with the analytic gradients, array by array. An
  nn.Module's arrays are its named_parameters, its gradient loss.backward()'s .grad; a
  float32 module is differentiated numerically on a float64 copy (the module and every
  float tensor of the namespace cast to double while the loss runs), against the
  program's own float32 autograd gradient.
- forward (a layer pair's forward call, or `forward` alone): a vector-Jacobian product.
  A random upstream gradient G (standard normal, seed G_SEED, the output's shape); the
  truth is central differences of sum(forward(...) * G) over every float argument of
  the call, moved in place (torch tensors through t.detach().numpy() views, under
  no_grad; a non-float64 input through a float64 copy); the program's own backward is
  the forward's twin by name called as backward(G, cache) for a NumPy pair,
  out.backward(G) and the inputs' .grad for torch, jax.vjp(f, *inputs)[1](G) for JAX.

Error of an array: max_i |analytic_i - numerical_i| / max(max_i |analytic_i|,
max_i |numerical_i|), the largest disagreement relative to the array's own gradient
scale. (An entry-wise relative error, as CS231n's rel_error, blows up on entries whose
true gradient is ~0, e.g. a bias column at a symmetric point, where central differences
leave ~1e-11 of rounding; the array scale does not.) With eps = 1e-5 and losses of order
1, the truncation error (eps^2 f''' / 6) and the rounding error (1e-16 |L| / eps) are
both ~1e-10 of the gradient scale, so a correct array must come out below AGREE = 1e-6;
a diverging array must exceed DIVERGE = 1e-3, so nothing is left in between. (The
float32 module's gradient agrees with its float64 truth to ~2e-7, float32 rounding.
Its truth takes the float64 step FLOAT64_EPS = 1e-5: the program's eps, 1e-3, is a step
for a checker working in float32, and in float64 it would leave ~7e-7 of truncation
error, too close to AGREE.)

Requirements checked: every variant, written to a file of its own by write_variant, runs
from its folder (helpers next to it) with its BUG switch set; the correct variant agrees
in every array of every claim; each variant diverges in exactly the arrays the manifest
lists and agrees in all others, in every claim; restoring the parameters left them
unchanged; each program loads in under a second; the manifest is well formed (>= 12
programs, >= 6 conventions, >= 3 flagged bugs per program, causes from the vocabulary,
every bug id used in its program, a loss with params or a forward call). A program whose
library (torch, jax) is not importable is skipped, with a line saying so. Exit status 1
on any failure.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import runpy
import sys
import tempfile
import time
from contextlib import contextmanager, nullcontext
from pathlib import Path

import numpy as np

try:  # imported once, before any program: a program must never import it afresh
    import torch
except Exception:  # any failure: its programs are skipped
    torch = None
try:
    import jax
except Exception:
    jax = None

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.corpus.manifest import (  # noqa: E402
    CAUSES,
    CONVENTIONS,
    CORPUS_DIR,
    EXPECTS,
    PROGRAMS,
    Program,
    load,
    write_variant,
)

AGREE = 1e-6
DIVERGE = 1e-3
FLOOR = 1e-12
MAX_LOAD_SECONDS = 1.0
FLOAT64_EPS = 1e-5
G_SEED = 20
LIBRARIES = {"torch": torch, "jax": jax}


def is_tensor(value) -> bool:
    return torch is not None and isinstance(value, torch.Tensor)


def is_module(value) -> bool:
    return torch is not None and isinstance(value, torch.nn.Module)


def is_jax(value) -> bool:
    return jax is not None and isinstance(value, jax.Array)


def to_numpy(value) -> np.ndarray:
    if is_tensor(value):
        return value.detach().cpu().numpy()
    return np.asarray(value)


def is_float_input(value) -> bool:
    if is_tensor(value):
        return value.is_floating_point()
    return isinstance(value, np.ndarray) and value.dtype.kind == "f"


def missing_library(prog: Program) -> str | None:
    """The first module the program imports that cannot be imported here, or None."""
    tree = ast.parse((CORPUS_DIR / prog.file).read_text(encoding="utf-8"))
    helpers = {Path(h).stem for h in prog.helpers}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            roots = [node.module.split(".")[0]]
        else:
            continue
        for root in roots:
            if root in helpers:
                continue
            if root in LIBRARIES:
                if LIBRARIES[root] is None:
                    return root
            elif importlib.util.find_spec(root) is None:
                return root
    return None


def leaves(obj, path=""):
    """(path, array) for every array in a nested dict / list / tuple, in order."""
    if isinstance(obj, np.ndarray):
        yield path, obj
    elif isinstance(obj, dict):
        for key, value in obj.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(obj, (list, tuple)):
        for i, value in enumerate(obj):
            yield from leaves(value, f"{path}[{i}]")
    else:
        raise TypeError(f"not an array or a container of arrays: {type(obj).__name__}")


def scalar(value) -> float:
    if isinstance(value, tuple):
        value = value[0]
    array = to_numpy(value)
    if array.size != 1:
        raise ValueError(f"loss is not a scalar: shape {array.shape}")
    return float(array.reshape(()))


def split(prog: Program, named: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """One flat vector -> the convention's segments (Theta1, Theta2, ...)."""
    if not prog.segments:
        return named
    (vector,) = named.values()
    out, start = {}, 0
    for seg in prog.segments:
        size = int(np.prod(seg.shape))
        out[seg.name] = vector[start : start + size].reshape(seg.shape, order=seg.order)
        start += size
    if start != vector.size:
        raise ValueError(f"segments cover {start} entries of {vector.size}")
    return out


def by_name(prog: Program, structure) -> dict[str, np.ndarray]:
    items = list(leaves(structure))
    if prog.names is not None:
        if len(prog.names) != len(items):
            raise ValueError(f"{len(items)} arrays but {len(prog.names)} names")
        named = dict(zip(prog.names, (a for _, a in items)))
    else:
        named = {(path or prog.params): a for path, a in items}
    return named


def central(arrays: dict[str, np.ndarray], f, eps: float) -> dict[str, np.ndarray]:
    """Central differences of f() over every entry of arrays, each moved in place and
    restored."""
    numeric = {}
    for name, array in arrays.items():
        num = np.zeros(array.shape)
        for idx in np.ndindex(array.shape):
            old = array[idx]
            array[idx] = old + eps
            plus = f()
            array[idx] = old - eps
            minus = f()
            array[idx] = old
            num[idx] = (plus - minus) / (2 * eps)
        numeric[name] = num
    return numeric


def compare(prog: Program, analytic_raw: dict, numeric_raw: dict, problems: list) -> dict:
    """Error per array name (segments split out); shape problems appended."""
    analytic, numerical = split(prog, analytic_raw), split(prog, numeric_raw)
    errors = {}
    for name, num in numerical.items():
        ana = analytic[name].reshape(num.shape) if analytic[name].size == num.size else None
        if ana is None:
            problems.append(f"{name}: grads shape {analytic[name].shape} vs {num.shape}")
            continue
        scale = max(np.max(np.abs(ana)), np.max(np.abs(num)), FLOOR)
        errors[name] = float(np.max(np.abs(ana - num)) / scale)
    return errors


def no_grad():
    return torch.no_grad() if torch is not None else nullcontext()


@contextmanager
def float64_namespace(ns: dict):
    """While inside: every nn.Module of the namespace replaced by a float64 deep copy and
    every non-float64 float tensor by a float64 copy (the program's functions read their
    globals from ns); the originals are put back on exit."""
    saved = {}
    for key, value in list(ns.items()):
        if is_module(value):
            saved[key] = value
            ns[key] = copy.deepcopy(value).double()
        elif is_tensor(value) and value.is_floating_point() and value.dtype != torch.float64:
            saved[key] = value
            ns[key] = value.detach().double()
    try:
        yield
    finally:
        ns.update(saved)


def check_loss(prog: Program, ns: dict) -> tuple[dict, list]:
    """The loss claim: (errors per array name, problems)."""
    if is_module(eval(prog.params, ns)):
        return check_module_loss(prog, ns)
    problems = []

    def loss() -> float:
        return scalar(eval(prog.loss, ns))

    # analytic gradients at the program's own point
    value = eval(prog.loss, ns)
    if prog.grads is None:
        grads = value[1]
    else:
        grads = eval(prog.grads, ns)
    params = eval(prog.params, ns)
    analytic_raw = {k: np.array(v, dtype=np.float64) for k, v in by_name(prog, grads).items()}

    eps = prog.eps
    if prog.set_params is not None:
        setter = eval(prog.set_params, ns)
        p0 = np.array(params, dtype=params.dtype).reshape(-1)
        work = p0.copy()
        numeric = np.zeros(p0.size)
        for i in range(p0.size):
            work[i] = p0[i] + eps
            setter(work.copy())
            plus = loss()
            work[i] = p0[i] - eps
            setter(work.copy())
            minus = loss()
            work[i] = p0[i]
            numeric[i] = (plus - minus) / (2 * eps)
        setter(p0.copy())
        if not np.array_equal(np.asarray(eval(prog.params, ns)).reshape(-1), p0):
            problems.append("parameters not restored")
        numeric_raw = {next(iter(analytic_raw)): numeric}
    else:
        param_arrays = by_name(prog, params)
        snapshot = {k: a.copy() for k, a in param_arrays.items()}
        numeric_raw = central(param_arrays, loss, eps)
        if any(not np.array_equal(snapshot[k], a) for k, a in param_arrays.items()):
            problems.append("parameters not restored")
        if set(analytic_raw) != set(numeric_raw):
            problems.append(f"grads {sorted(analytic_raw)} vs params {sorted(numeric_raw)}")
            return {}, problems
    return compare(prog, analytic_raw, numeric_raw, problems), problems


def check_module_loss(prog: Program, ns: dict) -> tuple[dict, list]:
    """The loss claim for an nn.Module: its own autograd gradient (loss.backward(), each
    parameter's .grad) against central differences of the loss with every parameter
    moved in place, on a float64 copy when the module is not float64."""
    problems = []
    model = eval(prog.params, ns)
    for p in model.parameters():
        p.grad = None
    eval(prog.loss, ns).backward()
    analytic_raw = {}
    for name, p in model.named_parameters():
        if p.grad is None:
            problems.append(f"{name}: no .grad after loss.backward()")
            return {}, problems
        analytic_raw[name] = p.grad.detach().numpy().astype(np.float64)
    if prog.names is not None and tuple(analytic_raw) != prog.names:
        problems.append(f"named_parameters {list(analytic_raw)} vs names {list(prog.names)}")

    wide = any(p.dtype != torch.float64 for p in model.parameters())
    eps = min(prog.eps, FLOAT64_EPS) if wide else prog.eps
    with float64_namespace(ns) if wide else nullcontext(), no_grad():
        reference = eval(prog.params, ns)
        arrays = {name: p.detach().numpy() for name, p in reference.named_parameters()}
        if wide and scalar_dtype(eval(prog.loss, ns)) != np.float64:
            problems.append("the float64 copy's loss is not float64")
        snapshot = {k: a.copy() for k, a in arrays.items()}
        numeric_raw = central(arrays, lambda: scalar(eval(prog.loss, ns)), eps)
        if any(not np.array_equal(snapshot[k], a) for k, a in arrays.items()):
            problems.append("parameters not restored")
    if eval(prog.params, ns) is not model:
        problems.append("the float64 copy was not put back")
    return compare(prog, analytic_raw, numeric_raw, problems), problems


def scalar_dtype(value) -> np.dtype:
    return to_numpy(value[0] if isinstance(value, tuple) else value).dtype


def backward_twin(function: str) -> str | None:
    """`affine_relu_forward` -> `affine_relu_backward` (the last `forward` of the last
    dotted part); None if there is none."""
    owner, dot, last = function.rpartition(".")
    head, found, tail = last.rpartition("forward")
    return f"{owner}{dot}{head}backward{tail}" if found else None


def check_forward(prog: Program, ns: dict) -> tuple[dict, list]:
    """The forward claim, a vector-Jacobian product: (errors per input name, problems)."""
    problems = []
    call = ast.parse(prog.forward_call, mode="eval").body
    if not isinstance(call, ast.Call):
        return {}, [f"forward {prog.forward_call!r} is not a call"]
    function = eval(ast.unparse(call.func), ns)
    texts = [ast.unparse(a) for a in call.args]
    values = [eval(t, ns) for t in texts]
    keywords = {k.arg: eval(ast.unparse(k.value), ns) for k in call.keywords}
    positions = [i for i, v in enumerate(values) if is_float_input(v)]
    names = [texts[i] for i in positions]
    expected = list(prog.layer["inputs"] if prog.layer else prog.names or ())
    if names != expected:
        problems.append(f"float inputs {names} vs manifest {expected}")

    result = function(*values, **keywords)
    out = result[0] if isinstance(result, tuple) else result
    shape = tuple(to_numpy(out).shape)
    G = np.random.default_rng(G_SEED).standard_normal(shape)

    # the program's own backward
    if is_tensor(out):
        for i in positions:
            values[i].grad = None
        out.backward(torch.from_numpy(G).to(out.dtype))
        grads = [values[i].grad for i in positions]
    elif is_jax(out):

        def f(*inputs):
            full = list(values)
            for i, value in zip(positions, inputs):
                full[i] = value
            return function(*full, **keywords)

        out, pullback = jax.vjp(f, *(values[i] for i in positions))
        grads = list(pullback(jax.numpy.asarray(G, dtype=out.dtype)))
    else:
        twin = backward_twin(ast.unparse(call.func))
        if prog.layer and twin != prog.layer["backward"]:
            problems.append(f"backward by name {twin} vs manifest {prog.layer['backward']}")
        if not (isinstance(result, tuple) and len(result) == 2):
            return {}, [*problems, "the forward does not return (out, cache)"]
        grads = eval(twin, ns)(G, result[1])
        grads = list(grads) if isinstance(grads, (tuple, list)) else [grads]
    if len(grads) != len(positions) or any(g is None for g in grads):
        return {}, [*problems, f"{len(grads)} gradients for {len(positions)} inputs: {grads}"]
    analytic = {n: to_numpy(g).astype(np.float64) for n, g in zip(names, grads)}

    # the truth: central differences of sum(forward * G), inputs moved in place
    truth_values = list(values)
    arrays = {}
    for name, i in zip(names, positions):
        value = values[i]
        if is_tensor(value):
            value = value.detach() if value.dtype == torch.float64 else value.detach().double()
            arrays[name] = value.numpy()
        elif value.dtype != np.float64:
            value = value.astype(np.float64)
            arrays[name] = value
        else:
            arrays[name] = value
        truth_values[i] = value

    def vjp_loss() -> float:
        res = function(*truth_values, **keywords)
        res = res[0] if isinstance(res, tuple) else res
        return float(np.sum(to_numpy(res).astype(np.float64) * G))

    snapshot = {k: a.copy() for k, a in arrays.items()}
    with no_grad():
        numeric = central(arrays, vjp_loss, min(prog.eps, FLOAT64_EPS))
    if any(not np.array_equal(snapshot[k], a) for k, a in arrays.items()):
        problems.append("inputs not restored")
    return compare(prog, analytic, numeric, problems), problems


def claims(prog: Program) -> list[str]:
    """The claims the manifest makes for the program: 'loss', 'forward' or both."""
    return [c for c, given in (("loss", prog.loss), ("forward", prog.forward_call)) if given]


def check_variant(prog: Program, bug: str | None):
    """([(claim, errors per array name, problems)], slowest load seconds). Each claim
    runs on a fresh load of the variant."""
    results = []
    slowest = 0.0
    for claim in claims(prog):
        t0 = time.perf_counter()
        ns = load(prog, bug)
        slowest = max(slowest, time.perf_counter() - t0)
        check = check_loss if claim == "loss" else check_forward
        errors, problems = check(prog, ns)
        results.append((claim, errors, problems))
    return results, slowest


def check_manifest() -> list[str]:
    problems = []
    if len(PROGRAMS) < 12:
        problems.append(f"only {len(PROGRAMS)} programs")
    conventions = {p.convention for p in PROGRAMS}
    if len(conventions) < 6:
        problems.append(f"only {len(conventions)} conventions")
    for prog in PROGRAMS:
        where = prog.file
        if prog.convention not in CONVENTIONS:
            problems.append(f"{where}: unknown convention {prog.convention}")
        if (prog.loss is None) != (prog.params is None):
            problems.append(f"{where}: loss and params go together")
        if prog.loss is None and prog.grads is not None:
            problems.append(f"{where}: grads without a loss")
        if not claims(prog):
            problems.append(f"{where}: neither a loss nor a forward call")
        source = (CORPUS_DIR / prog.file).read_text(encoding="utf-8")
        if source.count("\nBUG = None") != 1:
            problems.append(f"{where}: needs exactly one 'BUG = None' line")
        flagged = [b for b in prog.bugs if b.expect == "flag"]
        if len(flagged) < 3:
            problems.append(f"{where}: {len(flagged)} flagged bugs")
        ids = [b.id for b in prog.variants]
        if len(set(ids)) != len(ids):
            problems.append(f"{where}: duplicate bug ids")
        for b in prog.variants:
            if f'"{b.id}"' not in source:
                problems.append(f"{where}: bug id {b.id} not used in the program")
            if b.cause is not None and b.cause not in CAUSES:
                problems.append(f"{where}: {b.id}: cause {b.cause} not in the vocabulary")
            if b.expect not in EXPECTS:
                problems.append(f"{where}: {b.id}: expect {b.expect}")
            if b.expect == "flag" and (not b.diverges or b.cause is None):
                problems.append(f"{where}: {b.id}: a flagged bug needs a cause and arrays")
    return problems


def check_files(programs) -> list[str]:
    """Every variant written out by write_variant runs as a plain file from its own folder
    (helper modules copied next to it), with its BUG switch set."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for prog in programs:
            for n, bug in enumerate((None, *prog.variants)):
                bug_id = None if bug is None else bug.id
                folder = Path(tmp) / f"{Path(prog.file).stem}-{n}"
                path = write_variant(prog, bug_id, folder)
                before = set(sys.modules)
                sys.path.insert(0, str(folder))
                try:
                    ns = runpy.run_path(str(path), run_name=path.stem)
                    if ns["BUG"] != bug_id:
                        problems.append(f"{path.name}: BUG is {ns['BUG']!r}, not {bug_id!r}")
                    if prog.loss is not None:
                        scalar(eval(prog.loss, ns))
                    if prog.forward_call is not None:
                        eval(prog.forward_call, ns)
                except Exception as exc:  # report, do not stop
                    problems.append(f"{path.name} [{bug_id}] as a file: {exc!r}")
                finally:
                    sys.path.remove(str(folder))
                    # only the helpers imported from the folder: torch or jax imported
                    # afresh after their removal from sys.modules can crash the process
                    for name in set(sys.modules) - before:
                        origin = getattr(sys.modules[name], "__file__", None) or ""
                        if Path(origin).parent == folder:
                            del sys.modules[name]
    return problems


def main(argv: list[str]) -> int:
    markdown = "--markdown" in argv
    started = time.perf_counter()
    programs, skipped = [], []
    for prog in PROGRAMS:
        library = missing_library(prog)
        if library is None:
            programs.append(prog)
        else:
            skipped.append(prog)
            print(f"skip {prog.file}: {library} is not importable")
    if skipped:
        print()
    failures = check_manifest() + check_files(programs)
    rows = []
    slowest_load = 0.0
    for prog in programs:
        t_prog = time.perf_counter()
        for bug in (None, *prog.variants):
            bug_id = None if bug is None else bug.id
            expected = set() if bug is None else set(bug.diverges)
            results, load_seconds = check_variant(prog, bug_id)
            slowest_load = max(slowest_load, load_seconds)
            for claim, errors, problems in results:
                if load_seconds > MAX_LOAD_SECONDS:
                    problems.append(f"load took {load_seconds:.2f} s")
                unknown = expected - set(errors)
                if unknown:
                    problems.append(f"manifest names unknown arrays {sorted(unknown)}")
                for name, err in errors.items():
                    if name in expected and not err > DIVERGE:
                        problems.append(f"{name} should diverge: {err:.1e}")
                    if name not in expected and not err < AGREE:
                        problems.append(f"{name} should agree: {err:.1e}")
                label = f"{prog.file} [{bug_id or 'correct'}] {claim}"
                failures += [f"{label}: {p}" for p in problems]
                rows.append((prog, bug, claim, errors, expected, problems))
        if not markdown:
            print(
                f"{prog.file:31s} {len(prog.variants) + 1} variants "
                f"{time.perf_counter() - t_prog:6.2f} s",
                file=sys.stderr,
            )
    elapsed = time.perf_counter() - started

    if markdown:
        print(
            "| program | convention | variant | claim | cause | expect | max rel. error per "
            "array (* = expected to diverge) | ok |"
        )
        print("|---|---|---|---|---|---|---|---|")
    for prog, bug, claim, errors, expected, problems in rows:
        cells = ", ".join(
            f"{'*' if name in expected else ''}{name} {err:.1e}" for name, err in errors.items()
        )
        variant = "correct" if bug is None else bug.id
        cause = "" if bug is None or bug.cause is None else bug.cause
        expect = "pass" if bug is None else bug.expect
        ok = "ok" if not problems else "FAIL"
        if markdown:
            print(
                f"| {prog.file} | {prog.convention} | {variant} | {claim} | {cause} | {expect} "
                f"| {cells} | {ok} |"
            )
        else:
            print(f"{ok:4s} {prog.file:31s} {variant:35s} {claim:7s} {cause:15s} {cells}")

    n_variants = sum(len(p.variants) + 1 for p in programs)
    n_flagged = sum(1 for p in programs for b in p.variants if b.expect == "flag")
    print()
    print(
        f"{len(programs)} programs checked ({len(skipped)} skipped), "
        f"{len({p.convention for p in programs})} conventions, {n_variants} variants "
        f"({n_flagged} flagged bugs), {len(rows)} claims; slowest load "
        f"{slowest_load:.2f} s; verify took {elapsed:.1f} s"
    )
    if failures:
        print(f"{len(failures)} FAILURES:")
        for f in failures:
            print("  " + f)
        return 1
    print("all claims hold")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
