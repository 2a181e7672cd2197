"""A fair queue for runs of user code on a shared server.

Each run is a sandboxed child that may use a core for a minute, so a server caps
how many run at once (GRADSCOPE_MAX_CODE_RUNS, default: the number of cores), lets
each session hold at most one place, and serves sessions first come, first served.
Waiting is polled, so the waiting session can show its position and can be
abandoned at any moment (its place is given up in a `finally`).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import threading
from collections.abc import Callable, Iterator

CAPACITY_VARIABLE = "GRADSCOPE_MAX_CODE_RUNS"


class AlreadyQueued(RuntimeError):
    """The session already has a run waiting or running."""


def configured_capacity() -> int:
    """GRADSCOPE_MAX_CODE_RUNS if it is a whole number >= 1, else the number of cores."""
    text = os.environ.get(CAPACITY_VARIABLE, "").strip()
    if text.isdigit() and int(text) >= 1:
        return int(text)
    return max(1, os.cpu_count() or 1)


class RunQueue:
    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self.capacity = capacity
        self._lock = threading.Condition()
        self._waiting: list[tuple[int, str]] = []  # (ticket, owner), first come first
        self._running: dict[int, str] = {}
        self._tickets = itertools.count()

    def position(self, ticket: int) -> int:
        """0 when running, else 1 for the first in line, 2 for the next, ..."""
        with self._lock:
            if ticket in self._running:
                return 0
            for place, (waiting, _) in enumerate(self._waiting, 1):
                if waiting == ticket:
                    return place
        raise KeyError(ticket)

    @property
    def running(self) -> int:
        with self._lock:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._lock:
            return len(self._waiting)

    @contextlib.contextmanager
    def place(
        self, owner: str, on_wait: Callable[[int], None] | None = None, poll: float = 0.25
    ) -> Iterator[int]:
        """Wait for a free slot (calling on_wait(position) while waiting), then run.

        An exception from `on_wait` (the session was closed) gives the place up.
        """
        with self._lock:
            if owner in self._running.values() or any(o == owner for _, o in self._waiting):
                raise AlreadyQueued(owner)
            ticket = next(self._tickets)
            self._waiting.append((ticket, owner))
        try:
            while not self._try_start(ticket):
                if on_wait is not None:
                    on_wait(self.position(ticket))
                with self._lock:
                    self._lock.wait(timeout=poll)
            yield ticket
        finally:
            with self._lock:
                self._running.pop(ticket, None)
                self._waiting = [(t, o) for t, o in self._waiting if t != ticket]
                self._lock.notify_all()

    def _try_start(self, ticket: int) -> bool:
        with self._lock:
            if len(self._running) >= self.capacity or self._waiting[0][0] != ticket:
                return False
            owner = self._waiting.pop(0)[1]
            self._running[ticket] = owner
            return True


_SHARED: RunQueue | None = None
_SHARED_LOCK = threading.Lock()


def shared_queue() -> RunQueue:
    """The server's one queue (every session of this process shares it)."""
    global _SHARED
    with _SHARED_LOCK:
        if _SHARED is None:
            _SHARED = RunQueue(configured_capacity())
        return _SHARED
