"""Gradient check: where analytic and numerical part ways, matrix by matrix."""

import streamlit as st

from presentation import figures
from ui import cache, runs
from ui.components import (
    exact_on_demand,
    noise_note,
    shape_label,
    status_badge,
    styled_table,
    top_finding,
)
from ui.frame import frame
from ui.share import chart

scenario = frame("Gradient check", icon=":material/grid_on:")
st.title("Gradient check")
if not exact_on_demand(scenario, "check"):
    st.stop()
result = cache.check_result(scenario)
findings = cache.findings(scenario)

status_badge(result)
if findings:
    top_finding(findings[0])
runs.save_panel(
    result,
    findings,
    key="save-check",
    identity=cache.scenario_key(scenario),
    kind="scenario",
    settings=scenario.to_dict(),
)

st.subheader("Per weight matrix")
third = (
    st.segmented_control(
        "Third panel",
        ["difference", "log relative error"],
        default="difference",
        key="heatmap-third",
        persist_state="session",
    )
    or "difference"
)
for m in result.matrices:
    cols = st.columns([1, 1, 1, 2])
    cols[0].metric(m.name, shape_label(m))
    cols[1].metric("Relative difference", f"{m.relative_difference:.3g}")
    cols[2].metric("Diverging", f"{m.n_diverging} / {m.analytic.size}")
    cols[3].markdown(
        f"**Worst entry**  \n{m.describe_worst().removeprefix(m.name + ' ')}  \n"
        f"relative error {m.rel_error.max():.2g}"
    )
    mode = "log_rel_error" if third != "difference" else "difference"
    chart(cache.heatmaps(scenario, m.index, mode), f"heatmap-{m.name}", scenario, m.name)
    if m.analytic.size > figures.MAX_HEATMAP_CELLS and len(m.shape) == 2:
        with st.expander(f"Zoom into a region of {m.name}"):
            rows = st.slider(
                "Rows", 0, m.shape[0], (0, min(m.shape[0], 50)), key=f"zoom-rows-{m.name}"
            )
            cols = st.slider(
                "Columns", 0, m.shape[1], (0, min(m.shape[1], 50)), key=f"zoom-cols-{m.name}"
            )
            if rows[1] > rows[0] and cols[1] > cols[0]:
                region = (rows[0], rows[1], cols[0], cols[1])
                chart(
                    cache.heatmaps(scenario, m.index, mode, region),
                    f"zoom-{m.name}",
                    scenario,
                    f"{m.name}-zoom",
                )


st.subheader("All parameters")
chart(cache.scatter(scenario), "scatter", scenario, "scatter")

st.subheader("Side by side, the seed's way")
only = st.toggle("Only diverging rows", key="only-diverging", persist_state="session")
styled_table(result, only)
noise_note(result)
