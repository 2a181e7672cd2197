"""Dask paths give the serial numbers exactly (a local cluster started in-process)."""

import numpy as np
import pandas as pd
import pytest

import engine
from engine.parallel import (
    bug_seed_matrix,
    dask_client,
    parallel_epsilon_sweep,
    parallel_loop_gradient,
)
from engine.sweep import epsilon_sweep
from tests.seed_code import make_seed_functions


@pytest.fixture(scope="module")
def client():
    with dask_client(processes=False, workers=2) as c:
        yield c


def test_black_box_numerical_gradient_equals_the_serial_loop(client, seed_problem):
    compute_cost, _ = make_seed_functions(buggy_sigmoid=True)
    p = seed_problem
    args = (p.X, p.y, 3, 5, 3, p.lamb)

    def J(t):
        return compute_cost(t, *args)

    serial = engine.loop_gradient(J, p.theta)
    np.testing.assert_array_equal(parallel_loop_gradient(J, p.theta, client, chunks=5), serial)


def test_checker_settings_travel_to_the_workers(client, seed_problem):
    impl = engine.implementation_with(["forward-difference", "numgrad-skips-first"])

    def J(t):
        return engine.cost(t, seed_problem, impl)

    serial = engine.loop_gradient(J, seed_problem.theta, 1e-4, impl.stencil, 1)
    parallel = parallel_loop_gradient(J, seed_problem.theta, client, 1e-4, impl.stencil, 1)
    np.testing.assert_array_equal(parallel, serial)


def test_progress_reaches_the_total(client, seed_problem):
    seen = []
    parallel_loop_gradient(
        lambda t: engine.cost(t, seed_problem),
        seed_problem.theta,
        client,
        progress=lambda d, n: seen.append((d, n)),
    )
    assert seen[-1] == (38, 38)


def test_epsilon_sweep_equals_the_serial_sweep(client, seed_problem):
    grid = [1e-2, 1e-4, 1e-6]
    serial = epsilon_sweep(seed_problem, ["sigmoid-sign-flip"], grid)
    parallel = parallel_epsilon_sweep(seed_problem, client, ["sigmoid-sign-flip"], grid)
    pd.testing.assert_frame_equal(parallel, serial)


def test_bug_by_seed_matrix_equals_the_serial_one_and_names_every_bug(client):
    serial = bug_seed_matrix(range(3))
    parallel = bug_seed_matrix(range(3), client=client)
    pd.testing.assert_frame_equal(parallel, serial)
    assert serial["named_first"].all()
