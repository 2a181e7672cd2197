"""Every catalogue bug on many seeds: is it named first, how big is its signal.

The catalogue's own measurement (`python -m engine bug-matrix`): serial, or one Dask
task per cell on a client from `engine.runners.cluster`.
"""

from __future__ import annotations

import pandas as pd

from engine.bugs.catalogue import BUGS
from engine.diagnosis.diagnose import diagnose
from engine.gradcheck.check import check_problem
from engine.network.model import make_problem


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
