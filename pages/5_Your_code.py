"""Your code: paste (or upload) a cost and a gradient, and see where they part."""

import hashlib

import streamlit as st

from engine import figures
from engine.diagnosis import diagnose
from engine.examples import EXAMPLES
from engine.layout import Layout
from engine.usercode import CONVENTIONS, ENABLE_VARIABLE, code_execution_enabled, run_user_code
from ui import cache
from ui.components import dask_choice, findings_list, noise_note, status_badge, styled_table
from ui.frame import frame
from ui.share import chart

scenario = frame("Your code", icon=":material/code:")
st.title("Check your own code")

if not code_execution_enabled():
    st.info(
        f"Running pasted code is switched off on this server ({ENABLE_VARIABLE} is off). "
        "Run GradScope on your own machine to check your code, or use "
        "`python -m engine check-code FILE.py`.",
        icon=":material/lock:",
    )
    st.stop()

st.markdown(
    "Paste a program that defines a **cost** and a **gradient** function. GradScope runs it "
    "in a separate, resource-limited process, computes the numerical gradient of your cost "
    "with its own (correct) central-difference loop, and compares it with your gradient. "
    "The problem (theta, X, y, λ) comes from the sidebar's scenario."
)


def load_example() -> None:
    example = EXAMPLES[st.session_state["code-example"]]
    st.session_state.update(
        {
            "code-source": example.source,
            "code-cost": example.cost_name,
            "code-gradient": example.gradient_name,
            "code-convention": example.convention,
        }
    )


def load_upload() -> None:
    upload = st.session_state.get("code-upload")
    if upload is not None:
        st.session_state["code-source"] = upload.getvalue().decode("utf-8", errors="replace")


if "code-source" not in st.session_state:
    st.session_state["code-example"] = "seed-question"
    load_example()

left, right = st.columns([2, 1])
left.selectbox(
    "Start from an example",
    list(EXAMPLES),
    key="code-example",
    format_func=lambda k: EXAMPLES[k].title,
    on_change=load_example,
)
left.caption(EXAMPLES[st.session_state["code-example"]].description)
right.file_uploader("…or upload a .py file", type=["py"], key="code-upload", on_change=load_upload)
source = st.text_area("Your code", key="code-source", height=420)

cols = st.columns(4)
cost_name = cols[0].text_input("Cost function", key="code-cost")
gradient_name = cols[1].text_input("Gradient function", key="code-gradient")
convention = cols[2].radio(
    "Calling convention",
    CONVENTIONS,
    key="code-convention",
    format_func=lambda c: (
        "f(theta, X, y, in, hidden, labels, lamb)" if c == "seed" else "f(theta), shapes below"
    ),
)
label_base = cols[3].radio(
    "Labels passed as",
    [0, 1],
    key="code-labels",
    format_func=lambda b: "0..K-1 (Python)" if b == 0 else "1..K (Octave)",
)
default_shapes = ", ".join(
    f"{r}x{c}" for r, c in Layout.from_layer_sizes(scenario.layer_sizes).shapes
)
shapes_text = st.text_input(
    "Weight-matrix shapes (rows x columns, in unrolling order)",
    value=default_shapes,
    key="code-shapes",
    disabled=convention == "seed",
    help="Only for f(theta): how your theta is cut into matrices. Globals X, y, lamb and "
    "layer_sizes are provided to your code.",
)


def parse_shapes(text: str):
    try:
        shapes = [tuple(int(v) for v in part.lower().split("x")) for part in text.split(",")]
        return Layout.from_shapes(shapes).shapes
    except ValueError:
        return None


shapes = None if convention == "seed" else parse_shapes(shapes_text)
if convention == "plain" and shapes is None:
    st.error("Shapes must look like `5x4, 3x6`.")
    st.stop()

dask = dask_choice(
    "Numerical gradient runs",
    "code",
    "Dask spreads the cost evaluations over cores or machines, with the same numbers. "
    "Its workers run your cost outside the check process's limits: for trusted, slow code.",
)

signature = hashlib.sha256(
    repr(
        (
            source,
            cost_name,
            gradient_name,
            convention,
            shapes,
            label_base,
            cache.scenario_key(scenario),
        )
    ).encode()
).hexdigest()

if st.button("Run the check", type="primary", icon=":material/play_arrow:"):
    bar = st.progress(0.0, text="Starting your code in a separate process…")

    def report(done, total):
        bar.progress(done / total, text=f"Numerical gradient: {done} of {total} parameters")

    run = run_user_code(
        source,
        scenario.problem(),
        cost_name,
        gradient_name,
        convention,
        shapes,
        scenario.eps,
        label_base,
        progress=report,
        dask=dask,
    )
    bar.empty()
    st.session_state["code-run"] = (signature, run)

stored = st.session_state.get("code-run")
if not stored or stored[0] != signature:
    st.info("Press **Run the check** to run your code.")
    st.stop()

run = stored[1]
if run.hint:
    st.info(run.hint, icon=":material/lightbulb:")
if not run.ok:
    st.error(f"**Your code could not be checked.** {run.message}", icon=":material/error:")
    if run.line:
        st.code(f"line {run.line}: {run.line_text}", language="python")
else:
    result = run.result
    status_badge(result)
    st.caption(
        f"Ran in {run.seconds:.1f} s in a separate process"
        + ("; theta taken from your code" if run.theta_from_code else "")
    )
    findings_list(diagnose(result), limit=3)
    for m in result.matrices:
        chart(figures.matrix_heatmaps(m), f"code-heatmap-{m.name}", scenario, f"code-{m.name}")
    chart(figures.gradient_scatter(result), "code-scatter", scenario, "code-scatter")
    only = st.toggle("Only diverging rows", key="code-only-diverging")
    styled_table(result, only)
    noise_note(result)
if run.output:
    with st.expander("What your code printed"):
        st.text(run.output)
