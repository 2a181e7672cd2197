"""Epsilon: the V-shaped error of finite differences, and where the current eps sits."""

import streamlit as st

from engine.gradcheck.sweep import best_eps
from presentation import figures
from ui import cache
from ui.components import dask_choice
from ui.frame import frame
from ui.share import chart, literal_alert

INCOMPLETE = "eps-incomplete"  # (scenario key, scheduler) of this session's incomplete sweep

scenario = frame("Epsilon", icon=":material/show_chart:")

st.title("Choosing eps")
st.markdown(
    "A finite difference is wrong in two ways. **Truncation**: the Taylor remainder, which "
    "shrinks as eps shrinks (like eps² for central differences, like eps for forward ones). "
    "**Round-off**: each cost value carries a relative error of about one unit of the "
    "dtype's precision, and dividing by eps magnifies it, so it *grows* as eps shrinks. "
    "The error is smallest where they meet: near 1e-5..1e-4 for central differences in "
    "float64, far higher in float32. A real bug gives a flat curve: no eps can fix it."
)
if scenario.bugs:
    st.caption(
        "The four thin curves are correct code; the thick red one is your check as it is, "
        f"with {', '.join(scenario.bugs)}."
    )
with st.expander("Run the sweep on Dask (many cores or machines)"):
    dask = dask_choice(
        "The sweep runs",
        "eps",
        "One Dask task per eps: the same numbers, spread over cores or machines.",
    )

# After an incomplete sweep, the missing steps are computed again only when asked: a
# cluster that is down would otherwise cost every rerun its connection timeout.
attempt = (cache.scenario_key(scenario), dask)
compute = st.session_state.get("eps-retry") or st.session_state.get(INCOMPLETE) != attempt
outcome = cache.sweep(scenario, dask, compute=compute)
st.session_state[INCOMPLETE] = attempt if outcome.missing else None
if outcome.missing:
    steps = ", ".join(f"{eps:.0e}" for eps in outcome.missing)
    literal_alert(
        "warning",
        f"{len(outcome.missing)} eps steps are missing; the chart shows the steps that finished.",
        f"Missing: eps = {steps}.\n"
        + (outcome.message or "Press the button below to compute them."),
        ":material/warning:",
    )
    st.button("Compute the missing eps steps", key="eps-retry", icon=":material/refresh:")
if outcome.table is None:
    st.stop()
sweep = outcome.table
chart(
    figures.epsilon_curves(sweep, scenario.eps), "eps-curves", scenario, "epsilon", in_report=True
)
best = best_eps(sweep)[["curve", "eps", "relative_difference"]].rename(
    columns={"relative_difference": "relative difference"}
)
st.markdown("**Best eps per curve**")
st.dataframe(best.style.format({"eps": "{:.0e}", "relative difference": "{:.2e}"}), hide_index=True)
