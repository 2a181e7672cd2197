"""check-code at ex4's real size (400-25-10, 10,285 parameters) next to torch's gradcheck.

    python benchmarks/check_code_vs_torch.py [--sizes 5,100,5000] [--repeat 3] [--quick]
                                             [--limit 900] [--loop-limit 180]

Two user programs in the style of a Coursera ML ex4 port are written to a temporary
folder: `nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X,
y, lambda_) -> (J, grad)` on a 400-25-10 sigmoid network (cross-entropy, L2 with
lambda = 1, bias column 0 unregularised, labels 1..10), with module-level synthetic X, y
(fixed seed) and ex4's random initial weights (epsilon 0.12). One is vectorised, one
loops over the examples (`for i in range(m)`) as ex4's instructions suggest.

For each m, measured side by side in one run (wall clock, seconds):

- `python -m engine check-code FILE --loss "nnCostFunction(...)" --params nn_params
  --json`, end to end in a subprocess (interpreter start, sandbox, the user's module,
  every central difference, the diagnosis);
- `engine.check_params(lambda: nnCostFunction(...), nn_params, segments=...)` in this
  process (no sandbox), and one call of nnCostFunction (the analytic gradient);
- torch.autograd.gradcheck on the same cost written in torch (float64, the same X, y,
  theta, lambda; torch's default eps and tolerances), slow mode and fast_mode=True, with
  torch.set_num_threads(1) and with torch's default number of threads.

Ratios are to check-code on the vectorised program at the same m. A measurement whose
projected time (2 x parameters x one timed call of the cost) exceeds --loop-limit seconds
(the loop program) or --limit (everything else) is skipped and its projection printed;
check-code gets a --timeout above its projection where that exceeds its 60 s default.
Small measurements are the best of --repeat runs; those projected above 10 s run once.
Speed goals are never asserted here.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # numpy's BLAS then keeps its own number of threads
    threadpool_limits = None

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine import check_params  # noqa: E402

LAYERS = (400, 25, 10)
LAMBDA = 1.0
SEED = 0
SEGMENTS = "Theta1:25x401,Theta2:10x26"
LOSS = "nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_)"
ONE_RUN_ABOVE = 10.0  # seconds (projected): measured once instead of best of --repeat
SANDBOX_START = 2.0  # seconds, rough, for projecting check-code's wall time

# ---------------------------------------------------------------------------------------
# The two user programs. Written for this benchmark in the style of an ex4 port.

PROGRAM_TOP = '''"""ex4 (Coursera ML) in NumPy: {what}. Written for GradScope's benchmark."""

import numpy as np


def sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def sigmoid_gradient(z):
    g = sigmoid(z)
    return g * (1.0 - g)


def rand_initialize_weights(L_in, L_out, epsilon_init=0.12):
    # ex4's randInitializeWeights: uniform in [-epsilon_init, epsilon_init]
    return rng.random((L_out, 1 + L_in)) * 2 * epsilon_init - epsilon_init

'''

VECTORISED = """
def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_):
    n1 = hidden_layer_size * (input_layer_size + 1)
    Theta1 = nn_params[:n1].reshape(hidden_layer_size, input_layer_size + 1)
    Theta2 = nn_params[n1:].reshape(num_labels, hidden_layer_size + 1)
    m = X.shape[0]

    # feedforward, all examples at once
    a1 = np.hstack([np.ones((m, 1)), X])
    z2 = a1 @ Theta1.T
    a2 = np.hstack([np.ones((m, 1)), sigmoid(z2)])
    a3 = sigmoid(a2 @ Theta2.T)

    # labels 1..num_labels as rows of the identity
    Y = np.eye(num_labels)[y - 1]
    J = np.sum(-Y * np.log(a3) - (1 - Y) * np.log(1 - a3)) / m
    J += lambda_ / (2 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))

    # backpropagation
    delta3 = a3 - Y
    delta2 = (delta3 @ Theta2[:, 1:]) * sigmoid_gradient(z2)
    Theta1_grad = delta2.T @ a1 / m
    Theta2_grad = delta3.T @ a2 / m
    Theta1_grad[:, 1:] += lambda_ / m * Theta1[:, 1:]
    Theta2_grad[:, 1:] += lambda_ / m * Theta2[:, 1:]

    grad = np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])
    return J, grad
"""

LOOP = """
def nnCostFunction(nn_params, input_layer_size, hidden_layer_size, num_labels, X, y, lambda_):
    n1 = hidden_layer_size * (input_layer_size + 1)
    Theta1 = nn_params[:n1].reshape(hidden_layer_size, input_layer_size + 1)
    Theta2 = nn_params[n1:].reshape(num_labels, hidden_layer_size + 1)
    m = X.shape[0]

    J = 0.0
    Theta1_grad = np.zeros(Theta1.shape)
    Theta2_grad = np.zeros(Theta2.shape)
    for i in range(m):
        # forward pass for example i
        a1 = np.concatenate([[1.0], X[i]])
        z2 = Theta1 @ a1
        a2 = np.concatenate([[1.0], sigmoid(z2)])
        a3 = sigmoid(Theta2 @ a2)

        yi = np.zeros(num_labels)
        yi[y[i] - 1] = 1.0
        J += np.sum(-yi * np.log(a3) - (1 - yi) * np.log(1 - a3))

        # backward pass for example i, accumulated
        delta3 = a3 - yi
        delta2 = (Theta2[:, 1:].T @ delta3) * sigmoid_gradient(z2)
        Theta2_grad += np.outer(delta3, a2)
        Theta1_grad += np.outer(delta2, a1)

    J = J / m + lambda_ / (2 * m) * (np.sum(Theta1[:, 1:] ** 2) + np.sum(Theta2[:, 1:] ** 2))
    Theta1_grad = Theta1_grad / m
    Theta2_grad = Theta2_grad / m
    Theta1_grad[:, 1:] += lambda_ / m * Theta1[:, 1:]
    Theta2_grad[:, 1:] += lambda_ / m * Theta2[:, 1:]

    grad = np.concatenate([Theta1_grad.ravel(), Theta2_grad.ravel()])
    return J, grad
"""

PROGRAM_DATA = """

# synthetic stand-in for ex4data1.mat (no download): m "images" of 20x20 pixels in [0, 1)
rng = np.random.default_rng({seed})
input_layer_size = {n_in}
hidden_layer_size = {n_hidden}
num_labels = {n_out}
m = {m}
X = rng.random((m, input_layer_size))
y = rng.integers(1, num_labels + 1, size=m)  # 1..10, 10 standing for the digit 0
lambda_ = {lamb}

initial_Theta1 = rand_initialize_weights(input_layer_size, hidden_layer_size)
initial_Theta2 = rand_initialize_weights(hidden_layer_size, num_labels)
nn_params = np.concatenate([initial_Theta1.ravel(), initial_Theta2.ravel()])
"""

PROGRAMS = {"vectorised": VECTORISED, "loop": LOOP}


def write_program(folder: Path, kind: str, m: int) -> Path:
    what = "vectorised" if kind == "vectorised" else "a per-example loop over range(m)"
    text = (
        PROGRAM_TOP.format(what=what)
        + PROGRAMS[kind]
        + PROGRAM_DATA.format(
            seed=SEED, n_in=LAYERS[0], n_hidden=LAYERS[1], n_out=LAYERS[2], m=m, lamb=LAMBDA
        )
    )
    path = folder / f"ex4_{kind}_m{m}.py"
    path.write_text(text)
    return path


def load_module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def user_loss(module):
    return lambda: module.nnCostFunction(
        module.nn_params,
        module.input_layer_size,
        module.hidden_layer_size,
        module.num_labels,
        module.X,
        module.y,
        module.lambda_,
    )


# ---------------------------------------------------------------------------------------
# Timing


def best(fn, repeat: int):
    times, value = [], None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def per_call(fn, budget: float = 0.5) -> float:
    """Seconds per call of fn: the best of a few batches filling about `budget` seconds."""
    fn()
    start = time.perf_counter()
    fn()
    once = time.perf_counter() - start
    n = max(1, min(1000, int(budget / max(once, 1e-6) / 3)))
    batches = []
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        batches.append((time.perf_counter() - start) / n)
    return min(batches)


def runs_for(projected: float, repeat: int) -> int:
    return 1 if projected > ONE_RUN_ABOVE else repeat


@dataclass
class Row:
    m: int
    what: str
    where: str
    seconds: float | None = None
    note: str = ""
    agreement: str = ""
    projected: float | None = None
    baseline: float | None = None  # check-code on the vectorised program, same m


def check_code(path: Path, projected: float, repeat: int) -> tuple[float, dict, str]:
    timeout = int(min(3600, max(60, 3 * projected + 30)))
    command = [
        sys.executable,
        "-m",
        "engine",
        "check-code",
        str(path),
        "--loss",
        LOSS,
        "--params",
        "nn_params",
        "--json",
    ]
    if timeout > 60:
        command += ["--timeout", str(timeout)]

    def run():
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)

    seconds, done = best(run, runs_for(projected, repeat))
    if done.returncode not in (0, 1) or not done.stdout.strip().startswith("{"):
        raise RuntimeError(f"check-code failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    shown = " ".join(command[:4]) + f" {path.name} --loss ... --params nn_params --json"
    if timeout > 60:
        shown += f" --timeout {timeout}"
    return seconds, json.loads(done.stdout), shown


def gradscope_agreement(result: dict, findings: list) -> str:
    largest = "?"
    for finding in findings:
        found = re.search(r"largest entry difference ([-+.e0-9]+)", finding.get("evidence", ""))
        if found:
            largest = found.group(1)
            break
    return (
        f"{result['status'].upper()}: max abs(num - analytic) {largest}, "
        f"rel. diff {result['relative_difference']:.2e}, "
        f"{result['n_diverging']}/{result['n_params']} diverge"
    )


# ---------------------------------------------------------------------------------------
# The same cost in torch


def torch_cost_function(X: np.ndarray, y: np.ndarray, lamb: float):
    n_in, n_hidden, n_out = LAYERS
    Xt = torch.from_numpy(np.ascontiguousarray(X, dtype=np.float64))
    m = Xt.shape[0]
    Y = torch.zeros(m, n_out, dtype=torch.float64)
    Y[torch.arange(m), torch.from_numpy(np.asarray(y, dtype=np.int64) - 1)] = 1.0
    ones = torch.ones(m, 1, dtype=torch.float64)
    split = n_hidden * (n_in + 1)

    def f(theta):
        Theta1 = theta[:split].reshape(n_hidden, n_in + 1)
        Theta2 = theta[split:].reshape(n_out, n_hidden + 1)
        a2 = torch.cat([ones, torch.sigmoid(torch.cat([ones, Xt], 1) @ Theta1.T)], 1)
        h = torch.sigmoid(a2 @ Theta2.T)
        J = -(Y * torch.log(h) + (1 - Y) * torch.log(1 - h)).sum() / m
        penalty = (Theta1[:, 1:] ** 2).sum() + (Theta2[:, 1:] ** 2).sum()
        return J + lamb / (2 * m) * penalty

    return f


def torch_rows(module, m: int, limit: float, repeat: int, threads_default: int):
    f = torch_cost_function(module.X, module.y, module.lambda_)
    theta0 = torch.from_numpy(module.nn_params.copy())
    J_np, grad_np = user_loss(module)()
    P = theta0.numel()
    rows = []
    settings = [(1, "1 thread")]
    if threads_default != 1:
        settings.append((threads_default, f"{threads_default} threads (torch default)"))
    for threads, label in settings:
        torch.set_num_threads(threads)
        theta = theta0.clone().requires_grad_(True)

        def forward_backward(theta=theta):
            theta.grad = None
            J = f(theta)
            J.backward()
            return J.detach()

        t_fb = per_call(forward_backward)
        J_t = forward_backward()
        deviation = float((theta.grad - torch.from_numpy(grad_np)).abs().max())
        rows.append(
            Row(
                m,
                "torch autograd: one cost + backward",
                f"in-process, {label}",
                t_fb,
                agreement=(
                    f"vs the user's numpy grad: max abs diff {deviation:.1e}, "
                    f"J diff {abs(J_t.item() - J_np):.1e}"
                ),
            )
        )
        with torch.no_grad():
            t_forward = per_call(lambda: f(theta0))
        for fast in (False, True):
            name = "torch gradcheck fast_mode=True" if fast else "torch gradcheck (slow mode)"
            projected = (4 if fast else 2 * P) * t_forward + t_fb
            if projected > limit:
                rows.append(
                    Row(
                        m,
                        name,
                        f"in-process, {label}",
                        note=f"skipped: projected ~{projected:.0f} s > --limit {limit:.0f}",
                        projected=projected,
                    )
                )
                continue
            verdicts = []

            def run(fast=fast, verdicts=verdicts):
                x = theta0.clone().requires_grad_(True)
                verdict = torch.autograd.gradcheck(f, (x,), fast_mode=fast, raise_exception=False)
                verdicts.append(verdict)
                return verdict

            seconds, verdict = best(run, runs_for(projected, repeat))
            rows.append(
                Row(
                    m,
                    name,
                    f"in-process, {label}",
                    seconds,
                    agreement=f"torch verdict: {'pass' if all(verdicts) else 'FAIL'}",
                )
            )
    torch.set_num_threads(threads_default)
    return rows


# ---------------------------------------------------------------------------------------


def blas_threads(n: int):
    """numpy's BLAS limited to n threads in this process (0: as it is)."""
    if n <= 0 or threadpool_limits is None:
        return contextlib.nullcontext()
    return threadpool_limits(limits=n, user_api="blas")


def measure(
    m: int,
    folder: Path,
    limits: dict[str, float],
    repeat: int,
    threads_default: int,
    blas: int,
) -> list[Row]:
    with blas_threads(blas):
        rows, baseline, modules = measure_numpy(m, folder, limits, repeat)
    rows += torch_rows(modules["vectorised"], m, limits["vectorised"], repeat, threads_default)
    for row in rows:
        row.baseline = baseline
    return rows


def measure_numpy(m: int, folder: Path, limits: dict[str, float], repeat: int):
    rows: list[Row] = []
    baseline = None
    modules = {}
    for kind in PROGRAMS:
        path = write_program(folder, kind, m)
        module = load_module(path)
        modules[kind] = module
        loss = user_loss(module)
        P = module.nn_params.size
        t_call = per_call(loss)
        rows.append(
            Row(m, f"one nnCostFunction call ({kind})", "in-process", t_call, "analytic (J, grad)")
        )
        projected_inproc = 2 * P * t_call
        projected_code = projected_inproc + SANDBOX_START
        limit = limits[kind]
        flag = "--limit" if kind == "vectorised" else "--loop-limit"
        label = f"check-code ({kind})"
        if projected_code > limit:
            rows.append(
                Row(
                    m,
                    label,
                    "subprocess + sandbox",
                    note=f"skipped: projected ~{projected_code:.0f} s > {flag} {limit:.0f}",
                    projected=projected_code,
                )
            )
        else:
            seconds, document, shown = check_code(path, projected_code, repeat)
            runs = runs_for(projected_code, repeat)
            rows.append(
                Row(
                    m,
                    label,
                    "subprocess + sandbox",
                    seconds,
                    note=f"{'best of ' + str(runs) if runs > 1 else 'one run'}",
                    agreement=gradscope_agreement(document["result"], document["findings"]),
                )
            )
            if kind == "vectorised":
                baseline = seconds
            print(f"  m={m} {kind}: {shown}: {seconds:.2f} s", file=sys.stderr)
        label = f"engine.check_params ({kind})"
        if projected_inproc > limit:
            rows.append(
                Row(
                    m,
                    label,
                    "in-process",
                    note=f"skipped: projected ~{projected_inproc:.0f} s > {flag} {limit:.0f}",
                    projected=projected_inproc,
                )
            )
        else:
            seconds, result = best(
                lambda loss=loss, module=module: check_params(
                    loss, module.nn_params, segments=SEGMENTS
                ),
                runs_for(projected_inproc, repeat),
            )
            rows.append(
                Row(
                    m,
                    label,
                    "in-process",
                    seconds,
                    agreement=(
                        f"{result.status.upper()}: max abs(num - analytic) "
                        f"{float(result.abs_diff.max()):.2e}, "
                        f"rel. diff {result.relative_difference:.2e}"
                    ),
                )
            )
        print(f"  m={m} {kind}: done", file=sys.stderr)
    return rows, baseline, modules


def wall(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f} us"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s" if seconds < 100 else f"{seconds:.0f} s"


def table(rows: list[Row]) -> str:
    lines = [
        "| m | what | where | wall | vs check-code (vectorised) | agreement / note |",
        "|---:|---|---|---:|---:|---|",
    ]
    for row in rows:
        if row.seconds is None:
            seconds, ratio = f"~{row.projected:.0f} s (projected)", "-"
        else:
            seconds = wall(row.seconds)
            ratio = "-"
            if row.baseline:
                r = row.baseline / row.seconds
                ratio = f"{r:.0f}x faster" if r >= 10 else f"{r:.2f}x" if r >= 1 else ""
                if r < 1:
                    ratio = f"{1 / r:.1f}x slower"
        text = "; ".join(part for part in (row.agreement, row.note) if part)
        lines.append(f"| {row.m} | {row.what} | {row.where} | {seconds} | {ratio} | {text} |")
    return "\n".join(lines)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--sizes", default="5,100,5000", help="numbers of examples m, comma-separated"
    )
    parser.add_argument("--repeat", type=int, default=3, help="best of N for small runs")
    parser.add_argument("--quick", action="store_true", help="m = 5 only")
    parser.add_argument(
        "--limit",
        type=float,
        default=900.0,
        help="skip a check of the vectorised program or torch projected to take longer (s)",
    )
    parser.add_argument(
        "--blas-threads",
        type=int,
        default=1,
        help="numpy's BLAS threads for the in-process numpy rows (default 1, as check-code's "
        "child runs; 0: numpy's default)",
    )
    parser.add_argument(
        "--loop-limit",
        type=float,
        default=180.0,
        help="skip a check of the loop program projected to take longer (s)",
    )
    args = parser.parse_args(argv)
    sizes = [5] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    threads_default = torch.get_num_threads()
    load_before = os.getloadavg()
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="gradscope-bench-") as tmp:
        for m in sizes:
            limits = {"vectorised": args.limit, "loop": args.loop_limit}
            rows += measure(m, Path(tmp), limits, args.repeat, threads_default, args.blas_threads)
    n_in, n_hidden, n_out = LAYERS
    P = n_hidden * (n_in + 1) + n_out * (n_hidden + 1)
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"numpy {np.__version__}, torch {torch.__version__} "
        f"(default threads {threads_default}, interop {torch.get_num_interop_threads()})"
    )
    blas = "numpy's default" if args.blas_threads <= 0 else args.blas_threads
    if threadpool_limits is None and args.blas_threads > 0:
        blas = "numpy's default (threadpoolctl missing)"
    print(
        f"numpy BLAS threads in this process: {blas}; check-code's child: 1 "
        f"(OPENBLAS_NUM_THREADS=1)"
    )
    print(
        f"network {n_in}-{n_hidden}-{n_out}, {P:,} parameters, lambda {LAMBDA:g}, seed {SEED}; "
        f"GradScope: central differences, eps 1e-4; torch gradcheck: eps 1e-6, atol 1e-5, "
        f"rtol 1e-3 (its defaults), float64"
    )
    print(
        f"wall seconds; best of {args.repeat} where a run is projected under "
        f"{ONE_RUN_ABOVE:g} s, else one run; skipped when projected above --limit "
        f"{args.limit:g} s (loop program: --loop-limit {args.loop_limit:g} s)"
    )
    print()
    print(table(rows))
    print()
    print(
        f"(whole benchmark: {time.perf_counter() - started:.0f} s; load average before "
        f"{load_before[0]:.2f}, after {os.getloadavg()[0]:.2f}: other processes share the "
        f"cores, so compare rows of one run)"
    )


if __name__ == "__main__":
    main()
