"""Bug lab: the catalogue, each bug on versus off, and the ranked diagnosis."""

import streamlit as st

from engine.bugs.catalogue import BUGS, WHERE, WHERE_TITLES
from ui import cache
from ui.components import findings_list, status_badge
from ui.frame import flip_bug, frame, within_limits
from ui.share import chart

scenario = frame("Bug lab", icon=":material/bug_report:", work="bug-lab")

st.title("Bug lab")
st.markdown(
    "Every mistake GradScope knows, with the line that causes it and the fix. Switch bugs "
    "on here or in the sidebar; they compose."
)

st.subheader("Diagnosis of the current scenario")
findings_list(cache.findings(scenario))

st.subheader("On versus off")
chosen = st.selectbox(
    "Compare the current scenario with and without",
    list(BUGS),
    format_func=lambda b: f"{BUGS[b].title} ({b})",
    key="compare-bug",
    persist_state="session",
)
on, off = (
    scenario.with_bugs(set(scenario.bugs) | {chosen}),
    scenario.with_bugs(set(scenario.bugs) - {chosen}),
)
# The other variant can cost far more than the scenario (float32 on a big network): it
# gets its own estimate, and only this comparison is skipped when it does not fit.
if within_limits(scenario, "bug-lab", compare=chosen):
    for column, variant, label in zip(st.columns(2), (on, off), ("on", "off")):
        with column:
            result = cache.check_result(variant)
            st.markdown(
                f"**`{chosen}` {label}** · relative difference {result.relative_difference:.3g}"
            )
            status_badge(result)
            chart(cache.scatter(variant), f"compare-{label}", variant, f"{chosen}-{label}")

st.subheader("The catalogue")
for where in WHERE:
    st.markdown(f"#### {WHERE_TITLES[where]}")
    for bug in (b for b in BUGS.values() if b.where == where):
        active = bug.id in scenario.bugs
        with st.container(border=True):
            head, button = st.columns([5, 1], vertical_alignment="center")
            head.markdown(f"**{bug.title}** · `{bug.id}`" + (" · :red[on]" if active else ""))
            button.button(
                "Switch off" if active else "Switch on",
                key=f"flip-{bug.id}",
                on_click=flip_bug,
                args=(bug.id,),
                width="stretch",
            )
            st.markdown(bug.explanation)
            buggy, fixed = st.columns(2)
            buggy.caption("Buggy")
            buggy.code(bug.buggy_code, language="python")
            fixed.caption("Fixed")
            fixed.code(bug.fixed_code, language="python")
            st.caption(f"Signature: {bug.signature}")
