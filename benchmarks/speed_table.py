"""One table, measured side by side in one run: how long a full gradient check takes.

    python benchmarks/speed_table.py [--loop-limit 60]

For each network: the seed's coordinate loop (central), scipy's approx_fprime
(forward), GradScope's exact numerical gradient (every coordinate, central) and
GradScope's fast screen (localises a wrong gradient to a matrix's bias column or
weights). Times are the best of a few runs, and ratios are against the seed loop
measured in the same run. Loops that would take longer than --loop-limit seconds (by
a one-cost-evaluation estimate) are skipped, and their ratio is to that estimate.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.optimize import approx_fprime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.gradcheck.numerical import loop_gradient, network_numerical_gradient  # noqa: E402
from engine.gradcheck.screen import screen_problem  # noqa: E402
from engine.network.model import cost, make_problem  # noqa: E402

NETWORKS = [
    ((3, 5, 3), 5),
    ((64, 25, 10), 100),
    ((400, 25, 10), 100),
    ((784, 100, 10), 100),
    ((400, 100, 50, 10), 100),
    ((1000, 990, 10), 100),
]


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


def peak_megabytes(fn) -> float:
    tracemalloc.start()
    fn()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 1024**2


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--loop-limit", type=float, default=60.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    print(
        f"{platform.machine()}, {os.cpu_count()} cores, numpy {np.__version__}; "
        f"seconds (ratio to the seed loop); best of {args.repeat}"
    )
    header = (
        f"{'network':<18}{'m':>5}{'params':>10}{'seed loop':>12}{'approx_fprime':>20}"
        f"{'exact':>20}{'screen':>20}{'exact MB':>10}{'max dev':>10}"
    )
    print(header)
    for sizes, m in NETWORKS:
        print(row(sizes, m, args.loop_limit, args.repeat))


def row(sizes, m, loop_limit: float, repeat: int) -> str:
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
    t_exact, (exact, _) = best(lambda: network_numerical_gradient(problem), repeat)
    t_screen, _ = best(lambda: screen_problem(problem, ["bias-regularized"]), repeat)
    memory = peak_megabytes(lambda: network_numerical_gradient(problem))
    deviation = (
        f"{np.abs(exact - reference).max() / np.abs(reference).max():>10.1e}"
        if reference is not None
        else f"{'-':>10}"
    )
    return (
        f"{'-'.join(map(str, sizes)):<18}{m:>5}{P:>10,}{loop_text}{scipy_text}"
        f"{t_exact:>9.3f} ({t_loop / t_exact:>6.0f}x){t_screen:>9.3f} "
        f"({t_loop / t_screen:>6.0f}x){memory:>10.0f}{deviation}"
    )


if __name__ == "__main__":
    main()
