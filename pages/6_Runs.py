"""Runs: a saved run as it was (`?run=ID`), the history, and two runs compared."""

import streamlit as st

from ui import runs
from ui.frame import runs_frame

runs_frame()
st.title("Runs")
run_id = runs.linked_run_id()
if run_id:
    runs.show_linked_run(run_id)
    st.divider()

st.subheader("History", anchor=False)
runs.team_control()
listings = runs.history()
if listings:
    st.subheader("Compare two runs", anchor=False)
    runs.compare_control(listings)
    with st.expander("Delete a run", icon=":material/delete:"):
        runs.delete_control(listings)
