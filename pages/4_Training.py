"""Training: what a wrong gradient does to scipy's fmin_cg, buggy run over fixed run."""

import streamlit as st

from engine.runners.training import generated_dataset, load_digits_dataset, train
from presentation import figures
from ui.cache import scenario_key
from ui.frame import frame, within_limits
from ui.share import chart

scenario = frame("Training", icon=":material/model_training:", work="check")

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
    format_func=lambda d: (
        "scikit-learn 8×8 digits (1,797 images)"
        if d == "digits"
        else "the scenario's generated problem"
    ),
)
hidden = middle.number_input(
    "Hidden units (digits)", 1, 200, 25, key="train-hidden", disabled=data != "digits"
)
maxiter = right.number_input("Iterations (maxiter)", 1, 500, 50, key="train-maxiter")
if not within_limits(scenario, "training", data=data, hidden=hidden, maxiter=maxiter):
    st.stop()


@st.cache_resource(show_spinner=False, max_entries=8)
def dataset_for(data, hidden, sizes, m, lamb, seed, activation):
    if data == "digits":
        return load_digits_dataset((hidden,), lamb, seed, activation)
    return generated_dataset(sizes, m, lamb, seed, activation)


dataset = dataset_for(
    data,
    hidden,
    scenario.layer_sizes,
    scenario.m,
    scenario.lamb,
    scenario.seed,
    scenario.activation,
)
st.caption(dataset.description)

# Runs belong to the settings they were made with; a changed setting hides them.
signature = (scenario_key(scenario), data, hidden, maxiter)
variants = (
    [("with the scenario's bugs", scenario.bugs), ("fixed", ())]
    if scenario.bugs
    else [("correct code", ())]
)

start, stop = st.columns([1, 5])
go = start.button("Train", type="primary", icon=":material/play_arrow:")
stop.button(
    "Stop",
    icon=":material/stop:",
    key="train-stop",
    help="Stops training; the iterations run so far are kept.",
)

if go:
    live = {"signature": signature, "costs": {}, "runs": {}}
    st.session_state["training"] = live
    bar = st.progress(0.0, text="Training…")
    for n, (label, bugs) in enumerate(variants):
        live["costs"][label] = []

        def report(iteration, value, n=n, label=label):
            live["costs"][label].append(value)
            done = min((n + iteration / maxiter) / len(variants), 1.0)
            bar.progress(done, text=f"{label}: iteration {iteration}, cost {value:.4f}")

        live["runs"][label] = train(dataset, bugs, maxiter, progress=report)
    bar.empty()

training = st.session_state.get("training")
if not training or training["signature"] != signature:
    st.info("Press **Train** to run " + (" and ".join(label for label, _ in variants)) + ".")
    st.stop()

runs = training["runs"]
curves = {
    label: runs[label].costs if label in runs else costs
    for label, costs in training["costs"].items()
}
if len(runs) < len(training["costs"]):
    st.warning(
        "Training was stopped; the curves show the iterations that ran.",
        icon=":material/stop_circle:",
    )
chart(figures.training_curves(curves), "train-curves", scenario, f"training-{data}", in_report=True)
for column, (label, run) in zip(st.columns(max(len(runs), 1)), runs.items()):
    with column.container(border=True):
        st.markdown(f"**{label}**")
        st.metric("Train accuracy", f"{run.train_accuracy:.1%}")
        st.metric("Held-out accuracy", f"{run.test_accuracy:.1%}")
        st.caption(f"{len(run.costs) - 1} iterations, final cost {run.costs[-1]:.4f}")
        if run.warning:
            st.warning(f"fmin_cg: {run.warning}", icon=":material/warning:")
