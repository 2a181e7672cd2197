"""`gradscope bug-matrix`: every catalogue bug alone on many seeds; is it named first,
and how big is its signal."""

from __future__ import annotations

import argparse
from functools import partial

from cli.flags import (
    add_budget_flag,
    add_dask_flag,
    add_problem_flags,
    scenario_from_flags,
    seed_count,
)
from cli.terminal import EXIT_AGREE, EXIT_DIVERGE, out, refuse
from engine.scenario.workload import MAX_SEEDS, WorkTooLarge, check_workload

NAME = "bug-matrix"


def add_parser(commands, prog: str) -> None:
    parser = commands.add_parser(
        NAME,
        prog=f"{prog} {NAME}",
        description="Switch on each catalogue bug alone on N seeds of a network and report "
        "how often the diagnosis names it first.",
        epilog="Exit status: 0 every bug named first, 1 some not, 2 bad arguments or too "
        "large to run.",
    )
    parser.add_argument(
        "--seeds",
        type=seed_count,
        default=20,
        help=f"number of seeds, 1 to {MAX_SEEDS:,} (%(default)s)",
    )
    add_problem_flags(parser, ("sizes", "m", "lambda"))
    add_dask_flag(
        parser,
        "run the cells on Dask: the scheduler the GRADSCOPE_DASK_SCHEDULER setting names, "
        "else a local cluster (one worker per core)",
    )
    add_budget_flag(parser)
    parser.set_defaults(run=partial(run, parser=parser))


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from engine.diagnosis.seed_matrix import bug_seed_matrix

    try:
        scenario = scenario_from_flags(args)  # no flags for the seed, eps, ...: the defaults
    except ValueError as error:
        parser.error(str(error))
    try:
        check_workload(scenario, "bug-matrix", max_seconds=args.max_seconds, seeds=args.seeds)
    except WorkTooLarge as error:
        return refuse(parser.prog, f"this bug matrix is too large to run: {error}")
    options = dict(layer_sizes=scenario.layer_sizes, m=scenario.m, lamb=scenario.lamb)
    if args.dask:
        from concurrent.futures import CancelledError

        from distributed import KilledWorker

        from engine.runners.cluster import (
            LOCAL_SCHEDULER,
            DaskUnavailable,
            configured_scheduler,
            dask_client,
        )

        address = configured_scheduler()  # None: a cluster of its own, on the user's machine
        try:
            with dask_client(None if address == LOCAL_SCHEDULER else address) as client:
                table = bug_seed_matrix(range(args.seeds), client=client, **options)
        except (DaskUnavailable, OSError, KilledWorker, CancelledError) as error:
            return refuse(
                parser.prog,
                f"Dask failed ({error or type(error).__name__}); run without --dask, or check "
                "the GRADSCOPE_DASK_SCHEDULER setting.",
            )
    else:
        table = bug_seed_matrix(range(args.seeds), **options)
    summary = table.groupby("bug", sort=False).agg(
        named_first=("named_first", "mean"),
        median_relative_difference=("relative_difference", "median"),
    )
    out(f"{args.seeds} seeds of {scenario.describe()}")
    out(summary.to_string(float_format=lambda v: f"{v:.3g}"))
    return EXIT_AGREE if table["named_first"].all() else EXIT_DIVERGE
