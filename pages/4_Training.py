"""Training: what a wrong gradient does to scipy's fmin_cg, buggy run over fixed run."""

import streamlit as st

from engine import figures
from engine.training import TrainingStopped, generated_dataset, load_digits_dataset, train
from ui.frame import frame

scenario = frame("Training", icon=":material/model_training:")

st.title("Training with the gradient")
st.markdown(
    "The seed trained with `scipy.optimize.fmin_cg`. With a wrong gradient the line search "
    "fails and fmin_cg stops with *Desired error not necessarily achieved due to precision "
    "loss*. Here the current scenario's cost and gradient (bugs included) are trained next "
    "to the fixed ones."
)
left, middle, right = st.columns(3)
data = left.radio(
    "Data",
    ["digits", "generated"],
    key="train-data",
    persist_state="session",
    format_func=lambda d: (
        "scikit-learn 8×8 digits (1,797 images)"
        if d == "digits"
        else "the scenario's generated problem"
    ),
)
hidden = middle.number_input(
    "Hidden units (digits)",
    1,
    200,
    25,
    key="train-hidden",
    persist_state="session",
    disabled=data != "digits",
)
maxiter = right.number_input(
    "Iterations (maxiter)", 1, 500, 50, key="train-maxiter", persist_state="session"
)

if data == "digits":
    dataset = load_digits_dataset((hidden,), scenario.lamb, scenario.seed, scenario.activation)
else:
    dataset = generated_dataset(
        scenario.layer_sizes, scenario.m, scenario.lamb, scenario.seed, scenario.activation
    )
st.caption(dataset.description)

start, stop = st.columns([1, 5])
go = start.button("Train", type="primary", icon=":material/play_arrow:")
stop.button(
    "Stop", icon=":material/stop:", help="Stops the run; what ran so far is kept.", key="train-stop"
)

if go:
    runs = {}
    variants = (
        [("with the scenario's bugs", scenario.bugs), ("fixed", ())]
        if scenario.bugs
        else [("correct", ())]
    )
    bar = st.progress(0.0, text="Training…")
    for n, (label, bugs) in enumerate(variants):

        def report(iteration, value, n=n, label=label):
            done = (n + iteration / maxiter) / len(variants)
            bar.progress(min(done, 1.0), text=f"{label}: iteration {iteration}, cost {value:.4f}")

        try:
            runs[label] = train(dataset, bugs, maxiter, progress=report)
        except TrainingStopped:
            break
    bar.empty()
    st.session_state["train-runs"] = runs

runs = st.session_state.get("train-runs")
if runs:
    st.plotly_chart(
        figures.training_curves({k: r.costs for k, r in runs.items()}),
        key="train-curves",
        width="stretch",
    )
    for column, (label, run) in zip(st.columns(len(runs)), runs.items()):
        with column.container(border=True):
            st.markdown(f"**{label}**")
            st.metric("Train accuracy", f"{run.train_accuracy:.1%}")
            st.metric("Held-out accuracy", f"{run.test_accuracy:.1%}")
            st.caption(f"{len(run.costs) - 1} iterations, final cost {run.costs[-1]:.4f}")
            if run.warning:
                st.warning(f"fmin_cg: {run.warning}", icon=":material/warning:")
else:
    st.info("Press **Train** to run both versions.")
