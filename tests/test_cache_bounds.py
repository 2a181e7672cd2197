"""The app's caches: shared by equal scenarios, bounded by measured bytes, not by count."""

import threading

import numpy as np
import plotly.graph_objects as go
import pytest

from engine.scenario.settings import Scenario
from tests.app_helpers import open_page, start_app
from ui import cache
from ui.cache import ByteLRU, Size, cache_budget_bytes
from ui.frame import SETTINGS_KEY, settings_of

MB = 1024**2
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def megabytes(n: float) -> np.ndarray:
    return np.zeros(int(n * MB) // 8)


def test_an_arrays_size_is_its_buffer():
    a = megabytes(2)
    assert a.nbytes <= Size(a).measure() < a.nbytes + 1024


def test_views_of_one_array_count_its_buffer_once():
    a = megabytes(2)
    assert Size((a, a[1:], a.reshape(2, -1))).measure() < a.nbytes + 4096


def test_a_figure_counts_its_traces():
    x = np.arange(200_000, dtype=float)
    fig = go.Figure(go.Scatter(x=x, y=x))
    assert Size(fig).measure() > 2 * x.nbytes


def test_the_store_keeps_its_entries_under_its_byte_budget():
    store = ByteLRU(5 * MB)
    for k in range(10):
        store.get(k, lambda: megabytes(1))
    assert store.nbytes <= 5 * MB
    assert len(store) == 4


def test_the_least_recently_used_entry_goes_first():
    store = ByteLRU(3.5 * MB)
    for k in "abc":
        store.get(k, lambda: megabytes(1))
    store.get("a", lambda: None)  # a is used again
    store.get("d", lambda: megabytes(1))
    assert store.keys() == ["c", "a", "d"]


def test_equal_keys_share_one_value():
    store = ByteLRU(5 * MB)
    first = store.get("k", lambda: megabytes(1))
    assert store.get("k", lambda: megabytes(1)) is first


def test_a_value_larger_than_the_budget_is_returned_but_not_kept():
    store = ByteLRU(1 * MB)
    value = store.get("big", lambda: megabytes(2))
    assert value.nbytes == 2 * MB
    assert "big" not in store and store.nbytes == 0


def test_a_key_asked_for_by_many_sessions_at_once_is_computed_once():
    store, calls, start = ByteLRU(5 * MB), [], threading.Barrier(8)

    def compute():
        calls.append(1)
        return megabytes(1)

    def session():
        start.wait()
        store.get("k", compute)

    threads = [threading.Thread(target=session) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(calls) == 1


def test_what_a_cached_result_builds_later_counts_at_the_next_use_of_the_store():
    store = ByteLRU(512 * MB)
    result = store.get("check", lambda: Scenario(layer_sizes=(400, 25, 10), m=20).run(), True)
    before = store.nbytes
    table = result.table()  # built after caching, inside the result
    store.get("anything", lambda: 0)
    assert store.nbytes - before >= table.memory_usage(deep=True).sum() * 0.9


def test_growth_past_the_budget_evicts_older_entries():
    scenario = Scenario(layer_sizes=(400, 25, 10), m=20)
    old = megabytes(0.5)
    store = ByteLRU(Size(old).measure() + Size(scenario.run()).measure() + 64 * 1024)
    store.get("old", lambda: old)
    result = store.get("check", scenario.run, True)
    assert "old" in store
    result.table()  # about 1.3 MB more
    store.get("anything", lambda: 0)
    assert "old" not in store and store.nbytes <= store.budget


def test_the_budget_is_read_from_gradscope_cache_mb(monkeypatch):
    monkeypatch.setenv(cache.CACHE_VARIABLE, "64")
    assert cache_budget_bytes() == 64 * MB


@pytest.mark.parametrize("setting", ["", "lots", "-5", "0", "nan", "inf"])
def test_a_missing_or_unusable_budget_falls_back_to_the_default(monkeypatch, setting):
    monkeypatch.setenv(cache.CACHE_VARIABLE, setting)
    assert cache_budget_bytes() == cache.DEFAULT_CACHE_MB * MB


@pytest.fixture
def small_budget(monkeypatch):
    monkeypatch.setenv(cache.CACHE_VARIABLE, "4")
    cache.store.clear()  # the next use builds the store with this budget
    yield 4 * MB
    monkeypatch.delenv(cache.CACHE_VARIABLE)
    cache.store.clear()


def test_the_apps_pages_stay_within_the_budget_over_many_scenarios(small_budget):
    at = open_page(start_app(), "check")
    for seed in range(6):
        scenario = Scenario(layer_sizes=(300, 25, 10), m=50, seed=seed)
        at.session_state[SETTINGS_KEY] = settings_of(scenario)
        at.run()
        assert not at.exception
    store = cache.store()
    store.get("one more use measures what the last run built", lambda: 0)
    assert store.nbytes <= small_budget
    assert store.evictions > 0
