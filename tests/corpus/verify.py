"""Check every claim of tests/corpus/manifest.py against finite differences of our own.

    python tests/corpus/verify.py [--markdown]

A plain script (pytest does not collect it: its name does not start with test_), and
independent of GradScope's engine. For every program and every variant (the correct one,
each bug, each extra) it runs the variant in a fresh namespace, evaluates the manifest's
loss / params / grads expressions, takes central differences

    (L(p + eps e_i) - L(p - eps e_i)) / (2 eps)     (eps = 1e-5, float64 arithmetic)

by perturbing every parameter entry in place (through setParams for get/set objects) and
restoring it, and compares them with the analytic gradients, array by array.

Error of an array: max_i |analytic_i - numerical_i| / max(max_i |analytic_i|,
max_i |numerical_i|), the largest disagreement relative to the array's own gradient
scale. (An entry-wise relative error, as CS231n's rel_error, blows up on entries whose
true gradient is ~0, e.g. a bias column at a symmetric point, where central differences
leave ~1e-11 of rounding; the array scale does not.) With eps = 1e-5 and losses of order
1, the truncation error (eps^2 f''' / 6) and the rounding error (1e-16 |L| / eps) are
both ~1e-10 of the gradient scale, so a correct array must come out below AGREE = 1e-6;
a diverging array must exceed DIVERGE = 1e-3, so nothing is left in between.

Requirements checked: every variant, written to a file of its own by write_variant, runs
from its folder (helpers next to it) with its BUG switch set; the correct variant agrees
in every array; each variant diverges in exactly the arrays the manifest lists and agrees
in all others; restoring the parameters left them unchanged; each program loads in under
a second; the manifest is well formed (>= 12 programs, >= 6 conventions, >= 3 flagged
bugs per program, causes from the vocabulary, every bug id used in its program).
Exit status 1 on any failure.
"""

from __future__ import annotations

import runpy
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

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
    array = np.asarray(value)
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


def check_variant(prog: Program, bug: str | None):
    """(errors per array name, load seconds, problems)."""
    t0 = time.perf_counter()
    ns = load(prog, bug)
    load_seconds = time.perf_counter() - t0
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
        numeric_raw = {}
        param_arrays = by_name(prog, params)
        snapshot = {k: a.copy() for k, a in param_arrays.items()}
        for name, array in param_arrays.items():
            num = np.zeros(array.shape)
            for idx in np.ndindex(array.shape):
                old = array[idx]
                array[idx] = old + eps
                plus = loss()
                array[idx] = old - eps
                minus = loss()
                array[idx] = old
                num[idx] = (plus - minus) / (2 * eps)
            numeric_raw[name] = num
        if any(not np.array_equal(snapshot[k], a) for k, a in param_arrays.items()):
            problems.append("parameters not restored")
        if set(analytic_raw) != set(numeric_raw):
            problems.append(f"grads {sorted(analytic_raw)} vs params {sorted(numeric_raw)}")
            return {}, load_seconds, problems

    analytic, numerical = split(prog, analytic_raw), split(prog, numeric_raw)
    errors = {}
    for name, num in numerical.items():
        ana = analytic[name].reshape(num.shape) if analytic[name].size == num.size else None
        if ana is None:
            problems.append(f"{name}: grads shape {analytic[name].shape} vs {num.shape}")
            continue
        scale = max(np.max(np.abs(ana)), np.max(np.abs(num)), FLOOR)
        errors[name] = float(np.max(np.abs(ana - num)) / scale)
    return errors, load_seconds, problems


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


def check_files() -> list[str]:
    """Every variant written out by write_variant runs as a plain file from its own folder
    (helper modules copied next to it), with its BUG switch set."""
    problems = []
    with tempfile.TemporaryDirectory() as tmp:
        for prog in PROGRAMS:
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
                    scalar(eval(prog.loss, ns))
                except Exception as exc:  # report, do not stop
                    problems.append(f"{path.name} [{bug_id}] as a file: {exc!r}")
                finally:
                    sys.path.remove(str(folder))
                    for name in set(sys.modules) - before:
                        del sys.modules[name]
    return problems


def main(argv: list[str]) -> int:
    markdown = "--markdown" in argv
    started = time.perf_counter()
    failures = check_manifest() + check_files()
    rows = []
    slowest_load = 0.0
    for prog in PROGRAMS:
        t_prog = time.perf_counter()
        for bug in (None, *prog.variants):
            bug_id = None if bug is None else bug.id
            expected = set() if bug is None else set(bug.diverges)
            errors, load_seconds, problems = check_variant(prog, bug_id)
            slowest_load = max(slowest_load, load_seconds)
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
            label = f"{prog.file} [{bug_id or 'correct'}]"
            failures += [f"{label}: {p}" for p in problems]
            rows.append((prog, bug, errors, expected, problems))
        if not markdown:
            print(
                f"{prog.file:28s} {len(prog.variants) + 1} variants "
                f"{time.perf_counter() - t_prog:6.2f} s",
                file=sys.stderr,
            )
    elapsed = time.perf_counter() - started

    if markdown:
        print(
            "| program | convention | variant | cause | expect | max rel. error per array "
            "(* = expected to diverge) | ok |"
        )
        print("|---|---|---|---|---|---|---|")
    for prog, bug, errors, expected, problems in rows:
        cells = ", ".join(
            f"{'*' if name in expected else ''}{name} {err:.1e}" for name, err in errors.items()
        )
        variant = "correct" if bug is None else bug.id
        cause = "" if bug is None or bug.cause is None else bug.cause
        expect = "pass" if bug is None else bug.expect
        ok = "ok" if not problems else "FAIL"
        if markdown:
            print(
                f"| {prog.file} | {prog.convention} | {variant} | {cause} | {expect} "
                f"| {cells} | {ok} |"
            )
        else:
            print(f"{ok:4s} {prog.file:26s} {variant:36s} {cause:15s} {cells}")

    n_variants = len(rows)
    n_flagged = sum(1 for _, bug, *_ in rows if bug is not None and bug.expect == "flag")
    print()
    print(
        f"{len(PROGRAMS)} programs, {len({p.convention for p in PROGRAMS})} conventions, "
        f"{n_variants} variants ({n_flagged} flagged bugs); slowest load "
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
