"""Every expensive result, cached by the scenario (never by hashing arrays).

The key is the scenario's canonical JSON, so equal settings share one entry across
users (results depend on nothing else), while per-user state stays in session_state.
Results and figures are kept with `cache_resource`, i.e. shared, not copied: they are
read-only by convention (frozen dataclasses; no view writes into them), and copying a
million-parameter result on every rerun would cost more than computing its views.
"""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from engine import figures
from engine.compare import CheckResult
from engine.diagnosis import Finding, diagnose
from engine.scenario import Scenario
from engine.screen import screen_problem
from engine.sweep import combine_sweeps, default_eps_grid, epsilon_sweep


def scenario_key(scenario: Scenario) -> str:
    return json.dumps(scenario.to_dict(), sort_keys=True)


@st.cache_resource(max_entries=32, show_spinner=False)
def _check(key: str) -> CheckResult:
    return Scenario.from_dict(json.loads(key)).run()


@st.cache_resource(max_entries=32, show_spinner=False)
def _diagnosis(key: str) -> list[Finding]:
    return diagnose(_check(key))


@st.cache_data(max_entries=512, show_spinner=False)
def _sweep_row(key: str, eps: float):
    scenario = Scenario.from_dict(json.loads(key))
    return epsilon_sweep(scenario.problem(), scenario.bugs, [eps])


def check_result(scenario: Scenario) -> CheckResult:
    with st.spinner("Checking gradients…"):
        return _check(scenario_key(scenario))


def findings(scenario: Scenario) -> list[Finding]:
    with st.spinner("Diagnosing…"):
        return _diagnosis(scenario_key(scenario))


@st.cache_data(max_entries=16, show_spinner=False)
def _sweep_on_dask(key: str, dask: str) -> pd.DataFrame:
    from engine.parallel import dask_client, parallel_epsilon_sweep

    scenario = Scenario.from_dict(json.loads(key))
    with dask_client(None if dask == "local" else dask) as client:
        return parallel_epsilon_sweep(scenario.problem(), client, scenario.bugs)


def sweep(scenario: Scenario, dask: str | None = None) -> pd.DataFrame:
    """The epsilon sweep, one cached eps at a time, with a progress bar on a first run.

    With `dask` ("local" or a scheduler address) the sweep runs as Dask tasks, one per
    eps (the same numbers), cached as a whole. Stopping the app (its Stop button, or any
    widget change) interrupts between steps; the steps done stay cached.
    """
    key, grid = scenario_key(scenario), [float(e) for e in default_eps_grid()]
    if dask:
        with st.spinner("Sweeping eps on Dask…"):
            return _sweep_on_dask(key, dask)
    bar = st.empty()
    rows = []
    for done, eps in enumerate(grid):
        bar.progress(done / len(grid), text=f"Sweeping eps: {done} of {len(grid)} steps done")
        rows.append(_sweep_row(key, eps))
    bar.empty()
    return combine_sweeps(rows)


@st.cache_resource(max_entries=64, show_spinner=False)
def _heatmaps(key: str, index: int, mode: str, region):
    return figures.matrix_heatmaps(_check(key).matrices[index], mode, region)


@st.cache_resource(max_entries=32, show_spinner=False)
def _scatter(key: str):
    return figures.gradient_scatter(_check(key))


def heatmaps(scenario: Scenario, index: int, mode: str = "difference", region=None):
    """A matrix's heatmaps, built once per scenario (figures are never modified after)."""
    return _heatmaps(scenario_key(scenario), index, mode, region)


def scatter(scenario: Scenario):
    return _scatter(scenario_key(scenario))


@st.cache_resource(max_entries=32, show_spinner=False)
def _screen(key: str):
    scenario = Scenario.from_dict(json.loads(key))
    return screen_problem(scenario.problem(), scenario.bugs)


def screen(scenario: Scenario):
    with st.spinner("Screening each matrix's bias column and weights…"):
        return _screen(scenario_key(scenario))
