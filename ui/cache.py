"""Every expensive result, cached by the scenario (never by hashing arrays), bounded in bytes.

The key is the scenario's canonical JSON, so equal settings share one entry across
users (results depend on nothing else), while per-user state stays in session_state.
Results and figures are shared, not copied: they are read-only by convention (frozen
dataclasses; no view writes into them), and copying a million-parameter result on every
rerun would cost more than computing its views.

A count bound is no memory bound when one entry is 3 KB and another 200 MB (a
million-parameter check with its table): every entry lives in one store whose total
size, measured from the objects themselves, stays under GRADSCOPE_CACHE_MB; the least
recently used entries go first.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import threading
import types
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from engine.diagnosis.diagnose import diagnose
from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.gradcheck.screen import screen_problem
from engine.gradcheck.sweep import combine_sweeps, default_eps_grid, epsilon_sweep
from engine.scenario.settings import Scenario
from presentation import figures

CACHE_VARIABLE = "GRADSCOPE_CACHE_MB"
DEFAULT_CACHE_MB = 512
logger = logging.getLogger(__name__)


def scenario_key(scenario: Scenario) -> str:
    return json.dumps(scenario.to_dict(), sort_keys=True)


def cache_budget_bytes() -> int:
    """GRADSCOPE_CACHE_MB in bytes; a value that is not a positive number is logged and
    replaced by the default, so a typo cannot switch the bound off."""
    text = os.environ.get(CACHE_VARIABLE, "").strip()
    try:
        megabytes = float(text) if text else DEFAULT_CACHE_MB
    except ValueError:
        megabytes = float("nan")
    if not 0 < megabytes < 1e9:
        logger.warning(
            "%s=%r is not a positive number of MB: using %d", CACHE_VARIABLE, text, DEFAULT_CACHE_MB
        )
        megabytes = DEFAULT_CACHE_MB
    return int(megabytes * 1024**2)


class Size:
    """The bytes one cached value holds, measured from its objects.

    Arrays count their buffers once (views count their base), frames their deep
    memory usage, figures their traces and layout, other objects their attributes.
    Some values grow after they are cached (a CheckResult builds its table, matrices
    and error arrays on first use), so the value can be walked again: buffers and
    frames already measured are remembered by identity (the entry keeps them alive, so
    identities stay valid) and only the Python objects around them are walked again.
    """

    def __init__(self, value) -> None:
        self.value = value
        self._leaves: dict[int, int] = {}

    def measure(self) -> int:
        return self._walk(self.value, set())

    def _walk(self, obj, seen: set[int]) -> int:
        key = id(obj)
        if key in seen:
            return 0
        seen.add(key)
        if key in self._leaves:
            return self._leaves[key]
        if isinstance(obj, (str, bytes, int, float, complex, bool, type(None))):
            return sys.getsizeof(obj)
        if isinstance(obj, (type, types.ModuleType, types.FunctionType, types.MethodType)):
            return 0  # shared with the whole program
        if isinstance(obj, np.ndarray):  # a view's getsizeof is its header; its base holds the data
            size = sys.getsizeof(obj) + (self._walk(obj.base, seen) if obj.base is not None else 0)
            if obj.dtype == object:
                size += sum(self._walk(item, seen) for item in obj.ravel())
            return self._leaf(key, size)
        if isinstance(obj, (pd.DataFrame, pd.Series, pd.Index)):
            return self._leaf(key, int(obj.memory_usage(deep=True, **_index(obj)).sum()))
        if _is_figure(obj):
            parts = (obj._data, obj._layout, getattr(obj, "_frame_objs", ()))
            return self._leaf(key, sys.getsizeof(obj) + sum(self._walk(p, seen) for p in parts))
        size = sys.getsizeof(obj)
        if isinstance(obj, dict):
            # a copy first: another session may be adding a lazy attribute right now
            items = tuple(obj.items())
            return size + sum(self._walk(k, seen) + self._walk(v, seen) for k, v in items)
        if isinstance(obj, (list, tuple, set, frozenset)):
            return size + sum(self._walk(item, seen) for item in tuple(obj))
        if hasattr(obj, "__dict__"):
            size += self._walk(vars(obj), seen)
        for slot in getattr(type(obj), "__slots__", ()):
            size += self._walk(getattr(obj, slot, None), seen)
        return size

    def _leaf(self, key: int, size: int) -> int:
        self._leaves[key] = size
        return size


def _index(obj) -> dict:
    return {} if isinstance(obj, pd.Index) else {"index": True}


def _is_figure(obj) -> bool:
    return type(obj).__module__.startswith("plotly.") and hasattr(obj, "_layout")


@dataclass(eq=False)
class _Entry:
    value: object
    size: Size
    nbytes: int
    grows: bool


class ByteLRU:
    """A thread-safe map from keys to shared values, bounded by their measured bytes.

    Sessions run in threads of one server process, so one store serves them all; equal
    keys computed at the same time are computed once (the others wait). A value larger
    than the whole budget is returned but not kept. Values marked `grows` are measured
    again on the next use of the store after being handed out, so what they build
    lazily counts too (the store can exceed its budget by that growth until then).
    """

    def __init__(self, budget_bytes: int) -> None:
        self.budget = int(budget_bytes)
        self._lock = threading.Lock()
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._computing: dict[Hashable, threading.Lock] = {}
        self._handed_out: set[Hashable] = set()
        self.nbytes = 0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._entries

    def keys(self) -> list:
        with self._lock:
            return list(self._entries)

    def get(self, key: Hashable, compute: Callable[[], object], grows: bool = False):
        """The value for `key`, computed (once, whoever asks at the same time) if missing."""
        found = self.peek(key)
        if found is not None:
            return found
        with self._lock:
            key_lock = self._computing.setdefault(key, threading.Lock())
        try:
            with key_lock:
                found = self.peek(key)
                if found is not None:
                    return found
                value = compute()
                self.put(key, value, grows)
                return value
        finally:
            with self._lock:
                self._computing.pop(key, None)

    def peek(self, key: Hashable):
        """The value if cached (now the most recently used), else None."""
        self._remeasure()
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
            if entry.grows:
                self._handed_out.add(key)
            return entry.value

    def put(self, key: Hashable, value, grows: bool = False) -> None:
        size = Size(value)
        nbytes = size.measure()
        with self._lock:
            self._drop(key)
            if nbytes > self.budget:
                logger.info(
                    "not caching %r: %d bytes exceed the %d-byte budget", key, nbytes, self.budget
                )
                return
            self._entries[key] = _Entry(value, size, nbytes, grows)
            self.nbytes += nbytes
            if grows:
                self._handed_out.add(key)
            self._evict()

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._drop(key)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._handed_out.clear()
            self.nbytes = 0

    def _remeasure(self) -> None:
        """Walk again the values handed out since their last measure (outside the lock:
        a new table takes a while to measure, other sessions need not wait)."""
        with self._lock:
            if not self._handed_out:
                return
            keys, self._handed_out = self._handed_out, set()
            entries = [(k, self._entries[k]) for k in keys if k in self._entries]
        sizes = [(k, e, e.size.measure()) for k, e in entries]
        with self._lock:
            for key, entry, nbytes in sizes:
                if self._entries.get(key) is entry:
                    self.nbytes += nbytes - entry.nbytes
                    entry.nbytes = nbytes
            self._evict()

    def _drop(self, key: Hashable) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self.nbytes -= entry.nbytes
            self._handed_out.discard(key)

    def _evict(self) -> None:
        while self.nbytes > self.budget and self._entries:
            key = next(iter(self._entries))
            self._drop(key)
            self.evictions += 1


@st.cache_resource(show_spinner=False)
def store() -> ByteLRU:
    """One store per server process (and emptied by Streamlit's "Clear caches")."""
    return ByteLRU(cache_budget_bytes())


def _check(key: str) -> CheckResult:
    return store().get(
        ("check", key), lambda: Scenario.from_dict(json.loads(key)).run(), grows=True
    )


def check_result(scenario: Scenario) -> CheckResult:
    with st.spinner("Checking gradients…"):
        return _check(scenario_key(scenario))


def findings(scenario: Scenario) -> list[Finding]:
    key = scenario_key(scenario)
    with st.spinner("Diagnosing…"):
        return store().get(("diagnosis", key), lambda: diagnose(_check(key)))


@dataclass(frozen=True, eq=False)
class SweepOutcome:
    """The steps of an epsilon sweep that are computed, and what is missing and why."""

    table: pd.DataFrame | None  # finished steps in the serial sweep's row order
    missing: tuple[float, ...] = ()
    message: str | None = None


def _step_key(key: str, eps: float) -> tuple:
    return ("sweep", key, float(eps))


def _sweep_row(key: str, eps: float) -> pd.DataFrame:
    def compute():
        scenario = Scenario.from_dict(json.loads(key))
        return epsilon_sweep(scenario.problem(), scenario.bugs, [eps])

    return store().get(_step_key(key, eps), compute)


def sweep(scenario: Scenario, dask: str | None = None, compute: bool = True) -> SweepOutcome:
    """The epsilon sweep, one cached eps at a time, with a progress bar on a first run.

    With `dask` (from `engine.runners.cluster.configured_scheduler`) the missing steps run as
    Dask tasks, one per eps (the same numbers), each cached as it finishes: a lost
    worker or an unreachable cluster costs only the steps not yet done, which the next
    call computes. `compute=False` only collects what is cached. Stopping the app (its
    Stop button, or any widget change) interrupts between steps; the steps done stay.
    """
    key, grid = scenario_key(scenario), [float(e) for e in default_eps_grid()]
    rows = {eps: store().peek(_step_key(key, eps)) for eps in grid}
    todo = [eps for eps in grid if rows[eps] is None]
    message = None
    if todo and compute and dask:
        message = _sweep_on_dask(key, scenario, todo, dask, rows)
    elif todo and compute:
        bar = st.empty()
        for eps in todo:
            done = len(grid) - len(todo) + todo.index(eps)
            bar.progress(done / len(grid), text=f"Sweeping eps: {done} of {len(grid)} steps done")
            rows[eps] = _sweep_row(key, eps)
        bar.empty()
    finished = [rows[eps] for eps in grid if rows[eps] is not None]
    missing = tuple(eps for eps in grid if rows[eps] is None)
    return SweepOutcome(combine_sweeps(finished) if finished else None, missing, message)


def _sweep_on_dask(key: str, scenario: Scenario, todo: list[float], dask: str, rows: dict):
    """Runs the missing steps on Dask, filling `rows`; returns a message if some failed."""
    from engine.runners.cluster import DaskUnavailable, dask_client, epsilon_sweep_steps

    failed = {}
    bar = st.empty()
    bar.progress(0.0, text=f"Sweeping eps on Dask: {len(todo)} steps to compute")
    try:
        with dask_client(dask) as client:
            steps = epsilon_sweep_steps(scenario.problem(), client, scenario.bugs, todo)
            # closed while the client is open, so an interrupted run cancels its tasks
            with contextlib.closing(steps):
                for done, step in enumerate(steps, 1):
                    if step.rows is not None:
                        rows[step.eps] = step.rows
                        store().put(_step_key(key, step.eps), step.rows)
                    else:
                        failed[step.eps] = step.error
                    text = f"Dask: {done} of {len(todo)} steps ended"
                    bar.progress(done / len(todo), text=text)
    except DaskUnavailable as error:
        return f"{error} The steps not computed yet are missing."
    finally:
        bar.empty()
    if not failed:
        return None
    why = "; ".join(f"eps {eps:.0e}: {reason}" for eps, reason in sorted(failed.items()))
    return f"{len(failed)} of {len(todo)} eps steps failed on Dask ({why})."


def _heatmaps(key: str, index: int, mode: str, region):
    return store().get(
        ("heatmaps", key, index, mode, region),
        lambda: figures.matrix_heatmaps(_check(key).matrices[index], mode, region),
    )


def heatmaps(scenario: Scenario, index: int, mode: str = "difference", region=None):
    """A matrix's heatmaps, built once per scenario (figures are never modified after)."""
    return _heatmaps(scenario_key(scenario), index, mode, region)


def scatter(scenario: Scenario):
    key = scenario_key(scenario)
    return store().get(("scatter", key), lambda: figures.gradient_scatter(_check(key)))


def screen(scenario: Scenario):
    key = scenario_key(scenario)

    def compute():
        scenario = Scenario.from_dict(json.loads(key))
        return screen_problem(scenario.problem(), scenario.bugs)

    with st.spinner("Screening each matrix's bias column and weights…"):
        return store().get(("screen", key), compute)
