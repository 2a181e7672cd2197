"""One table, measured side by side in one run: how long a full gradient check takes.

    python benchmarks/speed_table.py [--loop-limit 60] [--repeat 3] [--threads 1]
                                     [--only 3-5-3,784-100-10]

For each network: the seed's coordinate loop (central), scipy's approx_fprime
(forward), GradScope's exact numerical gradient (every coordinate, central) and
GradScope's fast screen (localises a wrong gradient to a matrix's bias column or
weights). The exact check, the screen, backprop and torch's fast mode are timed alike:
the mean of many calls (about 0.2 s of them), best of --repeat rounds; the loops and
torch's slow mode, single calls, best of --repeat. Ratios are against the seed loop
measured in the same run. Loops that would take longer than --loop-limit seconds (by
a one-cost-evaluation estimate) are skipped, and their ratio is to that estimate.

Next to them, the distance to the limit and to the peers: one analytic gradient
(GradScope's backprop at the same theta), the exact check over it (`exact/bp`), the
exact check in a fresh Python process (one call after building the problem, best of
--repeat processes) and its ratio to warm backprop (`fresh/bp`), one backprop in a
fresh process (`fresh bp`) and the ratio of the two first calls (`f/fbp`), and, where
torch imports, `torch.autograd.gradcheck` on the same cost written in torch
(float64, one flat theta) in slow mode (every coordinate; skipped past --loop-limit by a
one-forward estimate) and fast mode, and the screen over torch's fast mode (`scr/tfast`,
below 1 when the screen is faster). The torch cost's autograd gradient is first compared
with GradScope's backprop (relative 1e-8); on a mismatch the row says `torch≠` and torch
is not timed. numpy's BLAS (threadpoolctl) and torch run on --threads threads.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import platform
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.optimize import approx_fprime

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from engine.gradcheck.numerical import loop_gradient, network_numerical_gradient  # noqa: E402
from engine.gradcheck.screen import screen_problem  # noqa: E402
from engine.network.model import cost, gradient, make_problem  # noqa: E402

try:
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover - optional
    threadpool_limits = None

NETWORKS = [
    ((3, 5, 3), 5),
    ((64, 25, 10), 100),
    ((400, 25, 10), 100),
    ((784, 100, 10), 100),
    ((400, 100, 50, 10), 100),
    ((1000, 990, 10), 100),
]

TORCH_MATCH = 1e-8  # relative agreement required of torch's gradient with backprop

FRESH_SCRIPT = """
import sys, time
sys.path.insert(0, {root!r})
try:
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits={threads}, user_api="blas")
except ImportError:
    pass
from engine.gradcheck.numerical import network_numerical_gradient
from engine.network.model import gradient, make_problem
problem = make_problem({sizes!r}, m={m}, seed=0, lamb=1.0)
start = time.perf_counter()
{call}
print(time.perf_counter() - start)
"""
FRESH_CALLS = {
    "exact": "network_numerical_gradient(problem)",
    "backprop": "gradient(problem.theta, problem)",
}


def best(fn, repeat):
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def timeit_mean(fn, n) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n


def best_mean(fn, repeat: int, budget: float = 0.2) -> float:
    """Best over `repeat` rounds of the mean time of a call, each round about `budget` s."""
    fn()  # warm up
    n = max(1, min(100_000, int(budget / max(timeit_mean(fn, 3), 1e-9))))
    return min(timeit_mean(fn, n) for _ in range(repeat))


def peak_megabytes(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024**2


def duration(seconds: float) -> str:
    """'85us', '1.23ms', '0.273s', '12.4s' (the new columns span five decades)."""
    if seconds < 1e-3:
        return f"{seconds * 1e6:.0f}us"
    if seconds < 1:
        return f"{seconds * 1e3:.2f}ms"
    return f"{seconds:.3f}s" if seconds < 10 else f"{seconds:.1f}s"


def parse_only(text: str | None):
    if not text:
        return NETWORKS
    wanted = [tuple(int(n) for n in part.split("-")) for part in text.split(",") if part]
    known = {sizes: (sizes, m) for sizes, m in NETWORKS}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        names = ", ".join("-".join(map(str, s)) for s in known)
        raise SystemExit(f"--only: unknown network(s) {unknown}; the table has {names}")
    return [known[s] for s in wanted]


def import_torch(threads: int):
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    return torch


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop-limit", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1, help="numpy BLAS and torch threads")
    parser.add_argument("--only", help="comma-separated networks, e.g. 3-5-3,784-100-10")
    args = parser.parse_args(argv)
    networks = parse_only(args.only)
    torch = import_torch(args.threads)
    limits = (
        threadpool_limits(limits=args.threads, user_api="blas")
        if threadpool_limits is not None
        else contextlib.nullcontext()
    )
    blas = f"{args.threads} thread" + ("s" if args.threads != 1 else "")
    if threadpool_limits is None:
        blas = "numpy's default threads (threadpoolctl missing)"
    torch_text = (
        f"torch {torch.__version__} ({args.threads} thread{'s' if args.threads != 1 else ''})"
        if torch is not None
        else "torch not installed"
    )
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__} (BLAS {blas}), "
        f"{torch_text}; seconds (ratio to the seed loop); best of {args.repeat} rounds"
    )
    header = (
        f"{'network':<18}{'m':>5}{'params':>10}{'seed loop':>12}{'approx_fprime':>20}"
        f"{'exact':>20}{'screen':>20}{'exact MB':>10}{'max dev':>10}"
        f"{'backprop':>10}{'exact/bp':>9}{'fresh':>9}{'fresh/bp':>9}"
        f"{'fresh bp':>9}{'f/fbp':>7}"
        f"{'torch slow':>22}{'torch fast':>11}{'scr/tfast':>10}"
    )
    print(header)
    with limits:
        for sizes, m in networks:
            print(row(sizes, m, args.loop_limit, args.repeat, args.threads, torch), flush=True)


def row(sizes, m, loop_limit: float, repeat: int, threads: int = 1, torch=None) -> str:
    problem = make_problem(sizes, m=m, seed=0, lamb=1.0)
    P = problem.layout.n_params

    def J(t):
        return cost(t, problem)

    J(problem.theta)  # warm up
    loop_estimate = 2 * P * timeit_mean(lambda: J(problem.theta), 20)
    runs = 1 if loop_estimate > 5 else repeat
    if loop_estimate <= loop_limit:
        t_loop, reference = best(lambda: loop_gradient(J, problem.theta), runs)
        loop_text = f"{t_loop:>12.3f}"
    else:
        t_loop, reference = loop_estimate, None
        loop_text = f"{'~' + format(loop_estimate, '.0f') + ' (est)':>12}"
    if loop_estimate / 2 <= loop_limit:
        t_scipy, _ = best(lambda: approx_fprime(problem.theta, J, 1e-4), runs)
        scipy_text = f"{t_scipy:>9.3f} ({t_loop / t_scipy:>6.1f}x)"
    else:
        scipy_text = f"{'skipped':>20}"
    exact, _ = network_numerical_gradient(problem)
    t_exact = best_mean(lambda: network_numerical_gradient(problem), repeat)
    t_screen = best_mean(lambda: screen_problem(problem, ["bias-regularized"]), repeat)
    memory = peak_megabytes(lambda: network_numerical_gradient(problem))
    deviation = (
        f"{np.abs(exact - reference).max() / np.abs(reference).max():>10.1e}"
        if reference is not None
        else f"{'-':>10}"
    )
    t_backprop = best_mean(lambda: gradient(problem.theta, problem), repeat)
    t_fresh = min(fresh_call("exact", sizes, m, threads) for _ in range(repeat))
    t_fresh_backprop = min(fresh_call("backprop", sizes, m, threads) for _ in range(repeat))
    return (
        f"{'-'.join(map(str, sizes)):<18}{m:>5}{P:>10,}{loop_text}{scipy_text}"
        f"{duration(t_exact):>9} ({t_loop / t_exact:>7.0f}x){duration(t_screen):>9} "
        f"({t_loop / t_screen:>7.0f}x){memory:>10.1f}{deviation}"
        f"{duration(t_backprop):>10}{t_exact / t_backprop:>8.1f}x"
        f"{duration(t_fresh):>9}{t_fresh / t_backprop:>8.1f}x"
        f"{duration(t_fresh_backprop):>9}{t_fresh / t_fresh_backprop:>6.1f}x"
        f"{torch_columns(problem, torch, loop_limit, repeat, t_screen)}"
    )


def fresh_call(what: str, sizes, m: int, threads: int) -> float:
    """One exact check, or one backprop, in a new interpreter (imports done, problem
    built, then timed): the first call pays what a warm loop hides (page faults on new
    memory, numpy's and CPython's first-call set-up)."""
    script = FRESH_SCRIPT.format(
        root=str(ROOT), threads=threads, sizes=tuple(sizes), m=m, call=FRESH_CALLS[what]
    )
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True
    )
    return float(out.stdout.strip().splitlines()[-1])


def torch_cost(torch, problem):
    """GradScope's cost in torch float64, as a function of one flat theta tensor."""
    X = torch.from_numpy(problem.X.astype(np.float64))
    Y = torch.from_numpy(problem.one_hot(np.float64))
    A0 = torch.cat([torch.ones(problem.m, 1, dtype=torch.float64), X], dim=1)
    layout = problem.layout
    bounds = list(zip(layout.offsets[:-1], layout.offsets[1:], layout.shapes))
    factor = problem.lamb / (2 * problem.m)
    zero = torch.zeros((), dtype=torch.float64)

    def f(theta):
        thetas = [theta[start:stop].reshape(shape) for start, stop, shape in bounds]
        a = A0
        for k, t in enumerate(thetas):
            z = a @ t.T
            if k < len(thetas) - 1:
                a = torch.cat([torch.ones(problem.m, 1, dtype=z.dtype), torch.sigmoid(z)], dim=1)
        data = torch.sum(torch.logaddexp(zero, z) - Y * z) / problem.m
        return data + factor * sum(torch.sum(t[:, 1:] ** 2) for t in thetas)

    return f


def torch_columns(problem, torch, loop_limit: float, repeat: int, t_screen: float) -> str:
    if torch is None:
        return f"{'no torch':>20}{'-':>11}{'-':>10}"
    f = torch_cost(torch, problem)
    theta = torch.from_numpy(problem.theta.copy()).requires_grad_(True)
    (grad,) = torch.autograd.grad(f(theta), theta)
    analytic = gradient(problem.theta, problem)
    mismatch = np.abs(grad.numpy() - analytic).max() / np.abs(analytic).max()
    if mismatch > TORCH_MATCH:
        return f"{'torch≠ ' + format(mismatch, '.1e'):>20}{'-':>11}{'-':>10}"

    def check(fast: bool):
        return torch.autograd.gradcheck(
            f, (theta,), eps=1e-6, atol=1e-5, rtol=1e-3, fast_mode=fast, raise_exception=False
        )

    with torch.no_grad():
        detached = theta.detach()
        forward = best_mean(lambda: f(detached), 1, budget=0.1)
    estimate = 2 * problem.layout.n_params * forward
    if estimate <= loop_limit:
        runs = 1 if estimate > 5 else repeat
        t_slow, ok = best(lambda: check(False), runs)
        slow_text = f"{t_slow:.3f}" + ("" if ok else " FAIL")
    else:
        slow_text = f"skipped (est {estimate:.0f}s)"
    ok = check(True)
    t_fast = best_mean(lambda: check(True), repeat)
    fast_text = duration(t_fast) + ("" if ok else " FAIL")
    return f"{slow_text:>22}{fast_text:>11}{t_screen / t_fast:>9.2f}x"


if __name__ == "__main__":
    main()
