"""GradScope: the frame's entry point and the Overview page.

Run with `streamlit run app.py`. Every page (this one and those in pages/) starts
with `ui.frame.frame()`, which sets the page up and draws the shared scenario sidebar.
"""

import streamlit as st

from engine.bugs.catalogue import SEED_BUGS
from ui import cache, linked_run
from ui.components import exact_on_demand, status_card
from ui.frame import frame, load_seed_scenario

scenario = frame("Overview")
run = linked_run.shown()

st.title("GradScope")
st.markdown(
    "GradScope is a visual debugger for backpropagation. It compares your analytic "
    "gradient with a numerical one **per weight matrix, in the network's own shapes**, "
    "and separates real disagreements from the noise floor of the check. Then it names "
    "the mistake in plain words, with the numbers behind it."
)

if run:
    st.subheader("Status of the saved run")
    st.caption(linked_run.describe(run))
    status_card(linked_run.result_of(run), run.finding_objects())
    st.caption("The whole run: heatmaps, scatter and table; its code; its downloads:")
    linked_run.run_page_links()
else:
    st.subheader("Status of the current scenario")
    st.caption(
        scenario.describe() + (f"; bugs on: {', '.join(scenario.bugs)}" if scenario.bugs else "")
    )
    if exact_on_demand(scenario, "overview"):
        status_card(cache.check_result(scenario), cache.findings(scenario))

st.subheader("Where this started")
left, right = st.columns([3, 2])
left.markdown(
    "A student built a 3-5-3 NumPy network (m = 5 examples, λ = 1) and checked its gradient. "
    "The first 20 entries (Theta1) agreed; the last 18 (Theta2) did not, and the relative "
    "difference was **6.61**. `scipy.optimize.fmin_cg` then warned *Desired error not "
    "necessarily achieved due to precision loss.* The answer found the bug: `sigmoid` was "
    "`1/(1+np.exp(z))`, not `1/(1+np.exp(-z))`. But the answer's own output still showed a "
    "relative difference of **0.0088**: both question and answer started the numerical loop "
    "at `range(1, n)`, leaving element 0 at 0.0. Nobody noticed."
)
with right.container(border=True):
    st.markdown("**Load the seed's scenario**: 3-5-3, m = 5, λ = 1, with both bugs on:")
    st.markdown("\n".join(f"- `{b}`" for b in SEED_BUGS))
    st.button(
        "Load the seed's scenario",
        on_click=load_seed_scenario,
        type="primary",
        icon=":material/history_edu:",
    )

st.subheader("Pages")
query = linked_run.link_params()  # in a saved run, every page shows it
st.page_link(
    "pages/1_Gradient_check.py",
    label="Gradient check: heatmaps, scatter, table",
    icon=":material/grid_on:",
    query_params=query,
)
st.page_link(
    "pages/2_Bug_lab.py",
    label="Bug lab: every catalogue bug, on versus off",
    icon=":material/bug_report:",
    query_params=query,
)
st.page_link(
    "pages/3_Epsilon.py",
    label="Epsilon: truncation versus round-off",
    icon=":material/show_chart:",
    query_params=query,
)
st.page_link(
    "pages/4_Training.py",
    label="Training: what a wrong gradient does to fmin_cg",
    icon=":material/model_training:",
    query_params=query,
)
st.page_link(
    "pages/5_Your_code.py",
    label="Your code: paste a cost and a gradient, see where they part",
    icon=":material/code:",
    query_params=query,
)
st.page_link(
    "pages/6_Runs.py",
    label="Runs: saved checks, their links, and two runs compared",
    icon=":material/history:",
    query_params=query,
)
