"""Gradient check: where analytic and numerical part ways, matrix by matrix.

A live check of the sidebar's scenario, or, in a saved run (`?run=ID`), the run as it
was stored: the same views, built from its stored arrays, nothing re-run.
"""

import streamlit as st

from ui import cache, linked_run, runs
from ui.components import (
    check_details,
    exact_on_demand,
    scenario_figures,
    status_badge,
    top_finding,
)
from ui.frame import frame

scenario = frame("Gradient check", icon=":material/grid_on:")
st.title("Gradient check")
run = linked_run.shown()
if run:
    result, findings = linked_run.result_of(run), run.finding_objects()
    source = linked_run.run_figures(run)
else:
    if not exact_on_demand(scenario, "check"):
        st.stop()
    result, findings = cache.check_result(scenario), cache.findings(scenario)
    source = scenario_figures(scenario)

status_badge(result)
if findings:
    top_finding(findings[0])
if run:
    linked_run.link_box(run)
else:
    runs.save_panel(
        result,
        findings,
        key="save-check",
        identity=cache.scenario_key(scenario),
        kind="scenario",
        settings=scenario.to_dict(),
    )
check_details(result, source, scenario)
