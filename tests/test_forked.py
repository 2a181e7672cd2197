"""The exact loop spread over forked copies of the child (engine.runners.forked).

The workers must give the very numbers of the serial loop, in order; an exception in
a worker comes back with its type, text, line and notes; the parent's params stay
untouched by the workers' steps; and forking is skipped where it cannot pay or is
unsafe.
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pytest

from engine.params.structure import flatten_params, shifted_losses
from engine.runners import forked
from engine.runners.forked import WorkerFailure, forked_map, worker_count

W = np.random.default_rng(4).normal(size=(6, 5))


def cubic_loss() -> float:
    return float(np.sum(W**3))


def _compute(params, loss_at):
    def compute(chunk, report):
        return shifted_losses(params, loss_at, 1e-4, (1.0, -1.0), report, indices=chunk)

    return compute


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_forked_workers_give_the_serial_loops_numbers_in_order(workers):
    params = flatten_params(W, "W")
    serial = shifted_losses(params, cubic_loss, 1e-4, (1.0, -1.0))
    spread = forked_map(_compute(params, cubic_loss), np.arange(W.size), workers, None, id)
    assert np.array_equal(serial, spread)


def test_the_progress_reaches_the_total_once_every_worker_is_back():
    seen = []
    params = flatten_params(W, "W")
    forked_map(
        _compute(params, cubic_loss), np.arange(W.size), 2, lambda d, t: seen.append((d, t)), id
    )
    assert seen[-1] == (W.size, W.size)
    assert all(done <= total for done, total in seen)


def test_the_params_are_untouched_by_the_workers_steps():
    before = W.copy()
    params = flatten_params(W, "W")
    forked_map(_compute(params, cubic_loss), np.arange(W.size), 3, None, id)
    assert np.array_equal(W, before)


def test_an_exception_in_a_worker_comes_back_with_its_type_text_line_and_notes():
    params = flatten_params(W, "W")
    parent = os.getpid()

    def loss_failing_in_a_worker():
        if os.getpid() != parent:
            raise ZeroDivisionError("division by zero in the user's loss")
        return cubic_loss()

    with pytest.raises(WorkerFailure) as caught:
        forked_map(
            _compute(params, loss_failing_in_a_worker), np.arange(W.size), 2, None, lambda e: 42
        )
    failure = caught.value
    assert failure.type_name == "ZeroDivisionError" and "division by zero" in str(failure)
    assert failure.line == 42 and any("moved by" in note for note in failure.__notes__)


def test_a_short_loop_or_a_fork_unsafe_library_stays_serial(monkeypatch):
    for name in forked.FORK_UNSAFE:  # other tests may have imported torch or jax
        monkeypatch.delitem(sys.modules, name, raising=False)
    assert worker_count(1000, 1e-6) == 1  # 1 ms of work: not worth a fork
    monkeypatch.setattr(forked.os, "sched_getaffinity", lambda pid: {0, 1}, raising=False)
    assert worker_count(1000, 0.01) == 2
    monkeypatch.setitem(sys.modules, "jax", object())
    assert worker_count(1000, 0.01) == 1


def test_when_this_processs_share_fails_the_workers_are_stopped_not_awaited():
    import time

    parent = os.getpid()

    def compute(chunk, report):
        if os.getpid() == parent:
            raise RuntimeError("refused: too slow for the time limit")
        time.sleep(30)  # a worker still busy with its share
        return np.zeros((len(chunk), 2))

    start = time.monotonic()
    with pytest.raises(RuntimeError, match="too slow"):
        forked_map(compute, np.arange(10), 2, None, id)
    assert time.monotonic() - start < 5
