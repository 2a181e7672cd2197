"""The coordinate loop spread over a Dask cluster: the same numbers, in chunks.

The client comes from the caller (`engine.runners.cluster.dask_client`); this module
only splits the coordinates and combines the costs, exactly as `numerical` does.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from engine.gradcheck.numerical import combine_costs, loop_costs_at
from engine.network.pieces import CENTRAL, Stencil


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
    theta = np.array(theta, dtype=dtype)
    grad = np.zeros_like(theta)
    indices = np.arange(first_index, theta.size)
    base, shifted = parallel_loop_costs(
        J, theta, client, indices, eps, stencil, dtype, chunks, progress
    )
    grad[first_index:] = combine_costs(base, shifted, eps, stencil, dtype)
    return grad


def parallel_loop_costs(
    J: Callable,
    theta,
    client,
    indices,
    eps: float = 1e-4,
    stencil: Stencil = CENTRAL,
    dtype=np.float64,
    chunks: int | None = None,
    progress: Callable | None = None,
) -> tuple[float | None, np.ndarray]:
    """`loop_costs_at` over Dask tasks, one chunk of coordinates each (same numbers)."""
    from distributed import as_completed

    theta = np.array(theta, dtype=dtype)
    indices = np.asarray(indices)
    n_chunks = chunks or max(1, min(indices.size, 4 * _worker_count(client)))
    parts = [p for p in np.array_split(np.arange(indices.size), n_chunks) if p.size]
    J_remote, theta_remote = client.scatter([J, theta], broadcast=True, hash=False)
    futures = {
        client.submit(
            loop_costs_at, J_remote, theta_remote, indices[part], eps, stencil, dtype, pure=False
        ): part
        for part in parts
    }
    base, shifted = None, np.zeros((indices.size, sum(s != 0.0 for s in stencil.steps)))
    done = 0
    for future in as_completed(futures, loop=client.loop):
        part = futures[future]
        base, shifted[part] = future.result()
        done += part.size
        if progress is not None:
            progress(done, indices.size)
    return base, shifted


def _worker_count(client) -> int:
    try:
        return max(1, len(client.scheduler_info()["workers"]))
    except Exception:  # noqa: BLE001 - an unreachable scheduler is reported by submit
        return 1
