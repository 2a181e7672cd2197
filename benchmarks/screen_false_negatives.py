"""False-negative rate of the fast screen, per catalogue bug, over random networks.

    python benchmarks/screen_false_negatives.py [--trials 1000]

Each trial draws a network (2 to 4 layers of 1 to 30 units), m (1 to 30), lambda
(0.1 to 3), an activation and a seed. A trial is effective when the exact check says
the bug changes the gradient beyond the noise floor there; networks are drawn until
each bug has --trials effective ones. A false negative is an effective trial that the
screen (2 random directions per block) passes. Checker bugs (skipped index,
forward differences, float32) live in the user's numerical loop, which the screen
replaces with its own: they cannot make a gradient wrong, so they are not screened.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import engine  # noqa: E402
from engine.bugs.catalogue import BUGS  # noqa: E402
from engine.gradcheck.screen import screen_problem  # noqa: E402

GRADIENT_BUGS = [b for b, bug in BUGS.items() if bug.where != "checker"]


def random_problem(rng):
    """2 to 4 layers of 1 to 30 units, m 1 to 30, lambda 0.1 to 3, any activation."""
    sizes = tuple(int(s) for s in rng.integers(1, 31, size=rng.integers(2, 5)))
    return engine.make_problem(
        sizes,
        m=int(rng.integers(1, 31)),
        seed=int(rng.integers(2**31)),
        lamb=float(rng.uniform(0.1, 3)),
        activation=str(rng.choice(["sigmoid", "tanh", "relu"])),
    )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--trials",
        type=int,
        default=1000,
        help="effective trials per bug (networks where the bug shows)",
    )
    args = parser.parse_args(argv)
    rng = np.random.default_rng(2026)
    print(f"{'bug':<30}{'drawn':>8}{'effective':>11}{'missed':>8}{'FN rate':>10}{'evals':>8}")
    start = time.perf_counter()
    for bug in GRADIENT_BUGS:
        drawn = effective = missed = evaluations = 0
        while effective < args.trials and drawn < 50 * args.trials:
            drawn += 1
            problem = random_problem(rng)
            if engine.check_problem(problem, [bug]).agrees:
                continue  # the bug has no effect here (e.g. a sigmoid bug with tanh units)
            effective += 1
            screen = screen_problem(problem, [bug], seed=drawn)
            evaluations += screen.cost_evaluations
            missed += not screen.fails
        rate = missed / effective if effective else float("nan")
        mean = evaluations / max(effective, 1)
        print(f"{bug:<30}{drawn:>8}{effective:>11}{missed:>8}{rate:>10.4f}{mean:>8.1f}")
    alarms = 0
    for trial in range(args.trials):
        alarms += screen_problem(random_problem(rng), seed=trial).fails
    print(
        f"{'correct code (false alarms)':<30}{args.trials:>8}{args.trials:>11}{alarms:>8}"
        f"{alarms / args.trials:>10.4f}"
    )
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
