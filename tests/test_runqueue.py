"""The fair queue for runs of user code: a cap, first come first served, one place each.

Each waiting or running session is a thread holding `RunQueue.place`; events, not
sleeps, decide when a run ends, so the order of events is the test's, not the
scheduler's. Every wait is bounded.
"""

from __future__ import annotations

import os
import threading
import time

import pytest

from engine.runners.runqueue import (
    CAPACITY_VARIABLE,
    AlreadyQueued,
    RunQueue,
    configured_capacity,
)

POLL = 0.01
DEADLINE = 10.0


def wait_for(condition, seconds: float = DEADLINE) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.005)


class Session:
    """One session's run in a thread: waits for a place, runs until `finish()`."""

    def __init__(self, queue: RunQueue, owner: str, on_wait=None, log: list | None = None):
        self.queue, self.owner = queue, owner
        self.positions: list[int] = []
        self.user_on_wait = on_wait
        self.log = log
        self.running = threading.Event()
        self.release = threading.Event()
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _on_wait(self, position: int) -> None:
        self.positions.append(position)
        if self.user_on_wait is not None:
            self.user_on_wait(position)

    def _run(self) -> None:
        try:
            with self.queue.place(self.owner, self._on_wait, poll=POLL) as ticket:
                self.ticket = ticket
                if self.log is not None:
                    self.log.append(self.owner)
                self.running.set()
                self.release.wait(DEADLINE)
        except BaseException as error:  # noqa: BLE001 - the test inspects it
            self.error = error

    def finish(self) -> None:
        self.release.set()
        self.thread.join(DEADLINE)
        assert not self.thread.is_alive()


def test_capacity_is_respected_under_threads():
    queue = RunQueue(3)
    active, peak, lock = [0], [0], threading.Lock()
    release = threading.Event()

    def session(owner):
        with queue.place(owner, poll=POLL):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            release.wait(DEADLINE)
            with lock:
                active[0] -= 1

    threads = [threading.Thread(target=session, args=(f"s{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    wait_for(lambda: queue.running == 3 and queue.waiting == 5)
    time.sleep(0.1)  # the waiting five keep polling: none gets in
    assert queue.running == 3 and active[0] == 3
    release.set()
    for thread in threads:
        thread.join(DEADLINE)
    assert peak[0] == 3
    assert queue.running == 0 and queue.waiting == 0


def test_first_come_first_served():
    queue = RunQueue(1)
    log: list[str] = []
    holder = Session(queue, "holder", log=log)
    holder.running.wait(DEADLINE)
    waiters = []
    for i, owner in enumerate(["first", "second", "third", "fourth"], 1):
        waiters.append(Session(queue, owner, log=log))
        wait_for(lambda i=i: queue.waiting == i)
    holder.finish()
    for waiter in waiters:  # each is in alone, in its turn
        waiter.running.wait(DEADLINE)
        assert queue.running == 1
        waiter.finish()
    assert log == ["holder", "first", "second", "third", "fourth"]


def test_a_later_session_does_not_overtake_when_a_place_frees():
    """A place that frees goes to the first in line, not to whoever asks next."""
    queue = RunQueue(2)
    log: list[str] = []
    a, b = Session(queue, "a", log=log), Session(queue, "b", log=log)
    wait_for(lambda: queue.running == 2)
    early = Session(queue, "early", log=log)
    wait_for(lambda: queue.waiting == 1)
    late = Session(queue, "late", log=log)
    wait_for(lambda: queue.waiting == 2)
    a.finish()
    early.running.wait(DEADLINE)
    time.sleep(0.1)
    assert not late.running.is_set()
    for session in (b, early, late):
        session.finish()
    assert log == ["a", "b", "early", "late"]


def test_one_place_per_owner_running_or_waiting():
    queue = RunQueue(1)
    with queue.place("alice"):
        with pytest.raises(AlreadyQueued), queue.place("alice"):
            pass
        bob = Session(queue, "bob")
        wait_for(lambda: queue.waiting == 1)
        with pytest.raises(AlreadyQueued), queue.place("bob"):
            pass
        assert queue.waiting == 1  # the refused second request took no place
    bob.running.wait(DEADLINE)
    bob.finish()
    with queue.place("alice") as ticket:  # a finished run frees its owner
        assert queue.position(ticket) == 0


def test_an_exception_from_on_wait_gives_the_place_up():
    class SessionClosed(Exception):
        pass

    calls = []

    def closed_on_second_call(position):
        calls.append(position)
        if len(calls) >= 2:
            raise SessionClosed

    queue = RunQueue(1)
    holder = Session(queue, "holder")
    holder.running.wait(DEADLINE)
    carol = Session(queue, "carol", on_wait=closed_on_second_call)
    carol.thread.join(DEADLINE)
    assert isinstance(carol.error, SessionClosed) and calls == [1, 1]
    assert not carol.running.is_set()
    assert queue.waiting == 0
    dave = Session(queue, "dave")
    wait_for(lambda: dave.positions)
    assert dave.positions[-1] == 1  # carol's place is gone: dave is first in line
    holder.finish()
    dave.running.wait(DEADLINE)
    dave.finish()
    with queue.place("carol"):  # and carol may queue again
        assert queue.running == 1


def test_an_exception_inside_the_run_frees_the_place():
    queue = RunQueue(1)
    with pytest.raises(RuntimeError), queue.place("erin"):
        raise RuntimeError("the run failed")
    assert queue.running == 0 and queue.waiting == 0
    with queue.place("erin"):
        assert queue.running == 1


def test_position_numbers_count_from_one_in_line_and_zero_when_running():
    queue = RunQueue(1)
    with queue.place("holder") as held:
        assert queue.position(held) == 0
        waiters = []
        for i in range(1, 4):
            waiters.append(Session(queue, f"w{i}"))
            wait_for(lambda i=i: queue.waiting == i)
        wait_for(lambda: all(w.positions for w in waiters))
        assert [w.positions[-1] for w in waiters] == [1, 2, 3]
        assert all(set(w.positions) == {i} for i, w in enumerate(waiters, 1))
    waiters[0].running.wait(DEADLINE)
    assert queue.position(waiters[0].ticket) == 0
    count = [len(w.positions) for w in waiters]
    wait_for(lambda: all(len(w.positions) > c for w, c in zip(waiters[1:], count[1:])))
    wait_for(lambda: [w.positions[-1] for w in waiters[1:]] == [1, 2])
    for waiter in waiters:
        waiter.finish()
    with pytest.raises(KeyError):
        queue.position(held)  # a finished ticket has no position


def test_capacity_must_be_at_least_one():
    with pytest.raises(ValueError):
        RunQueue(0)


@pytest.mark.parametrize("value, expected", [("3", 3), ("1", 1), ("0", None), ("x", None)])
def test_capacity_comes_from_the_setting_or_the_cores(monkeypatch, value, expected):
    monkeypatch.setenv(CAPACITY_VARIABLE, value)
    assert configured_capacity() == (expected or max(1, os.cpu_count() or 1))
