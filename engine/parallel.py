"""Spreading slow work over cores or machines with Dask, with the serial numbers exactly.

Where each cost evaluation is slow (a user's black-box code) or there are many
independent checks (an epsilon sweep, a bug-by-seed matrix), the work is split into
tasks on a `dask.distributed` cluster: a local one by default (one worker process per
core), or an existing one given by its scheduler address. Each task computes exactly
what the serial code computes for its part, so results are equal bit for bit.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable

import numpy as np
import pandas as pd

from .bugs import BUGS
from .check import check_problem
from .diagnosis import diagnose
from .implementation import CENTRAL, Stencil
from .network import make_problem
from .numerical import loop_gradient_at
from .sweep import combine_sweeps, default_eps_grid, epsilon_sweep


@contextlib.contextmanager
def dask_client(address: str | None = None, processes: bool = True, workers: int | None = None):
    """A client to the cluster at `address`, or to a new local cluster (closed afterwards).

    Local clusters use one single-threaded worker per core (`processes=False` keeps the
    workers in this process, as the tests do).
    """
    from distributed import Client, LocalCluster

    if address:
        with Client(address) as client:
            yield client
        return
    cluster = LocalCluster(
        n_workers=workers or os.cpu_count() or 1,
        threads_per_worker=1,
        processes=processes,
        dashboard_address=None,
    )
    with cluster, Client(cluster) as client:
        yield client


def parallel_loop_gradient(
    J: Callable,
    theta,
    client,
    eps: float = 1e-4,
    stencil: Stencil = CENTRAL,
    first_index: int = 0,
    dtype=np.float64,
    chunks: int | None = None,
    progress: Callable | None = None,
) -> np.ndarray:
    """The seed's coordinate loop, its coordinates split into chunks run as Dask tasks."""
    from distributed import as_completed

    theta = np.array(theta, dtype=dtype)
    grad = np.zeros_like(theta)
    indices = np.arange(first_index, theta.size)
    n_chunks = chunks or max(1, min(indices.size, 4 * _worker_count(client)))
    parts = [p for p in np.array_split(indices, n_chunks) if p.size]
    J_remote, theta_remote = client.scatter([J, theta], broadcast=True, hash=False)
    futures = {
        client.submit(
            loop_gradient_at, J_remote, theta_remote, part, eps, stencil, dtype, pure=False
        ): part
        for part in parts
    }
    done = 0
    for future in as_completed(futures):
        part = futures[future]
        grad[part] = future.result()
        done += part.size
        if progress is not None:
            progress(done, indices.size)
    return grad


def parallel_epsilon_sweep(problem, client, bugs=(), eps_grid=None) -> pd.DataFrame:
    """`epsilon_sweep`, one task per eps (each task runs every curve for its eps)."""
    eps_grid = default_eps_grid() if eps_grid is None else np.asarray(eps_grid, float)
    problem_remote = client.scatter(problem, broadcast=True, hash=False)
    futures = [
        client.submit(epsilon_sweep, problem_remote, tuple(bugs), [eps], pure=False)
        for eps in eps_grid
    ]
    return combine_sweeps(client.gather(futures))  # in the serial sweep's row order


def bug_seed_cell(layer_sizes, m, lamb, seed, bug) -> dict:
    """One cell of the bug-by-seed matrix: the check and whether the diagnosis names it."""
    problem = make_problem(layer_sizes, m, seed, lamb)
    result = check_problem(problem, [bug])
    findings = diagnose(result)
    return {
        "bug": bug,
        "seed": seed,
        "relative_difference": result.relative_difference,
        "status": result.status,
        "named_first": findings[0].bug_id == bug,
    }


def bug_seed_matrix(
    seeds, bugs=tuple(BUGS), layer_sizes=(3, 5, 3), m=5, lamb=1.0, client=None
) -> pd.DataFrame:
    """Every bug on every seed: relative difference, status, and whether it is named first.

    Serial without a client; one Dask task per cell with one.
    """
    cells = [(tuple(layer_sizes), m, lamb, s, b) for b in bugs for s in seeds]
    if client is None:
        rows = [bug_seed_cell(*cell) for cell in cells]
    else:
        rows = client.gather([client.submit(bug_seed_cell, *cell, pure=False) for cell in cells])
    return pd.DataFrame(rows)


def _worker_count(client) -> int:
    try:
        return max(1, len(client.scheduler_info()["workers"]))
    except Exception:  # noqa: BLE001 - an unreachable scheduler is reported by submit
        return 1
