"""Numerical gradient speed, measured side by side in one run (ratios, not timings, count).

    python benchmarks/numerical_speed.py [--sizes 400,25,10] [--m 100] [--repeat 3]

Compares the seed's coordinate loop, scipy.optimize.approx_fprime (forward differences)
and GradScope's structured fast path on the same problem, and prints each one's best
time, its ratio to the seed loop and its largest deviation from the seed loop's numbers.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
from scipy.optimize import approx_fprime

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from engine.network import cost, make_problem  # noqa: E402
from engine.numerical import loop_gradient, network_numerical_gradient  # noqa: E402


def best_of(repeat: int, fn):
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="400,25,10")
    parser.add_argument("--m", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    sizes = tuple(int(s) for s in args.sizes.split(","))
    problem = make_problem(sizes, m=args.m, seed=0, lamb=1.0)

    def J(t):
        return cost(t, problem)

    rows = []
    t_loop, reference = best_of(args.repeat, lambda: loop_gradient(J, problem.theta))
    rows.append(("seed loop (central)", t_loop, reference))
    t_scipy, scipy_grad = best_of(args.repeat, lambda: approx_fprime(problem.theta, J, 1e-4))
    rows.append(("scipy approx_fprime (forward)", t_scipy, scipy_grad))
    t_fast, (fast, _) = best_of(args.repeat, lambda: network_numerical_gradient(problem))
    rows.append(("GradScope fast path (central)", t_fast, fast))

    scale = np.abs(reference).max()
    print(
        f"{'-'.join(map(str, sizes))}, m = {args.m}, P = {problem.layout.n_params}; "
        f"best of {args.repeat}; {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores, numpy {np.__version__}"
    )
    print(f"{'method':<32}{'seconds':>10}{'speed-up vs loop':>18}{'max dev / max|g|':>18}")
    for name, seconds, values in rows:
        deviation = np.abs(values - reference).max() / scale
        print(f"{name:<32}{seconds:>10.3f}{t_loop / seconds:>17.1f}x{deviation:>18.1e}")


if __name__ == "__main__":
    main()
