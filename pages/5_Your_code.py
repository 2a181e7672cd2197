"""Your code: paste (or upload) a cost and a gradient, and see where they part.

In a saved run of code (`?run=ID`) the run's code and settings fill the page and its
stored result is shown, none of its code run, until the visitor runs the code live.
"""

import hashlib

import streamlit as st

from engine.bugs.examples import EXAMPLES
from engine.diagnosis.diagnose import diagnose
from engine.network.layout import Layout
from engine.runners.sandbox import (
    ENABLE_VARIABLE,
    code_execution_enabled,
    code_policy,
    detect_isolation,
)
from engine.runners.usercode import CONVENTIONS, FOUNDING_CONVENTION, run_user_code
from engine.scenario.parse import parse_shapes
from presentation import figures
from ui import cache, linked_run, runs
from ui.coderun import queued_run, show_hint_and_failure
from ui.components import findings_list, noise_note, status_badge, styled_table
from ui.contract_mode import contract_mode, keep_typed_values, run_fields
from ui.frame import frame
from ui.share import chart, release_upload

MAX_SOURCE_BYTES = 256 * 1024

scenario = frame("Your code", icon=":material/code:")
st.title("Check your own code")
saved = linked_run.shown()
saved = saved if saved and saved.kind == "code" else None


def stop_with_the_saved_run() -> None:
    """Where this server runs no code, a saved run is still shown: its code and result."""
    if saved:
        linked_run.saved_code(saved)
        linked_run.saved_code_view(saved, scenario)
    st.stop()


if not code_execution_enabled():
    st.info(
        f"Running pasted code is switched off on this server ({ENABLE_VARIABLE} is off). "
        "Run GradScope on your own machine to check your code, or use "
        "`python -m engine check-code FILE.py`.",
        icon=":material/lock:",
    )
    stop_with_the_saved_run()

isolation = detect_isolation()
refusal = code_policy(isolation, st.get_option("server.address"))
if refusal:
    st.info(refusal, icon=":material/lock:")
    stop_with_the_saved_run()

MODES = {
    "functions": "Cost and gradient functions (the seed's calling conventions)",
    "contract": "Your model as it is (a loss and its params, or a layer's forward call)",
}


def functions_fields(run) -> tuple[dict, list[str]]:
    """The functions mode's fields as a run saved them (by this page or `check-code
    --save`), and what could not be filled back, in words."""
    settings, notes = run.settings, []
    values = {"code-mode": "functions", "code-source": run.code or ""}
    for key, name in (("code-cost", "cost"), ("code-gradient", "gradient")):
        if isinstance(settings.get(name), str) and settings[name]:
            values[key] = settings[name]
        else:
            notes.append(f"the {name} function's name (not in the run's settings)")
    if settings.get("convention") in CONVENTIONS:
        values["code-convention"] = settings["convention"]
    labels = settings.get("label_base", settings.get("labels"))
    if labels in (0, 1):
        values["code-labels"] = labels
    shapes = settings.get("shapes")
    if isinstance(shapes, str) and shapes:
        values["code-shapes"] = shapes
    elif isinstance(shapes, list) and shapes:
        values["code-shapes"] = ", ".join("x".join(map(str, shape)) for shape in shapes)
    if linked_run.scenario_of(run) is None:
        notes.append("the problem (theta, X, y, λ): running it uses the sidebar's scenario")
    if isinstance(settings.get("file"), str):
        notes.append(f"the file name {settings['file']}: its code is in the editor")
    return values, notes


run_notes = []
if saved:  # filled once per entry into the run: then the visitor's edits stand
    contract = saved.settings.get("mode") == "contract"
    values, run_notes = run_fields(saved) if contract else functions_fields(saved)
    linked_run.fill("code", values)

OLD_MODE_KEYS = ("code-example", "code-source", "code-cost", "code-gradient", "code-convention")
keep_typed_values()
for key in OLD_MODE_KEYS + ("code-labels", "code-dask", "code-only-diverging"):
    if key in st.session_state:  # kept while the other mode is shown
        st.session_state[key] = st.session_state[key]
mode = st.radio("What to check", list(MODES), key="code-mode", format_func=MODES.get)
st.caption(isolation.describe())
if mode == "contract":
    contract_mode(scenario, saved, run_notes)
    st.stop()

st.markdown(
    "Paste a program that defines a **cost** and a **gradient** function. GradScope runs it "
    "in a sandbox, takes your cost at every shifted point, computes the numerical gradient "
    "itself (central differences, outside your code's reach), and compares it with your "
    "gradient. The problem (theta, X, y, λ) comes from the sidebar's scenario."
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
    """Take an uploaded file's text, if it is small enough to be a program."""
    upload = st.session_state.get("code-upload")
    if upload is None:
        return
    if upload.size > MAX_SOURCE_BYTES:
        st.session_state["code-upload-refused"] = (
            f"That file has {upload.size:,} bytes; programs up to {MAX_SOURCE_BYTES:,} bytes "
            "are accepted. Your code in the box is unchanged."
        )
    else:
        st.session_state["code-source"] = upload.getvalue().decode("utf-8", errors="replace")
    release_upload(upload)


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
refused_upload = st.session_state.pop("code-upload-refused", None)
if refused_upload:
    st.warning(refused_upload, icon=":material/upload_file:")
source = st.text_area("Your code", key="code-source", height=420)

cols = st.columns(4)
cost_name = cols[0].text_input("Cost function", key="code-cost")
gradient_name = cols[1].text_input("Gradient function", key="code-gradient")
convention = cols[2].radio(
    "Calling convention",
    CONVENTIONS,
    key="code-convention",
    format_func=lambda c: (
        "f(theta, X, y, in, hidden, labels, lamb)"
        if c == FOUNDING_CONVENTION
        else "f(theta), shapes below"
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
    disabled=convention == FOUNDING_CONVENTION,
    help="Only for f(theta): how your theta is cut into matrices. Globals X, y, lamb and "
    "layer_sizes are provided to your code.",
)


def shapes_of(text: str):
    """The matrix shapes typed, or None when they are not shapes of matrices."""
    try:
        return Layout.from_shapes(parse_shapes(text)).shapes
    except ValueError:
        return None


shapes = None if convention == FOUNDING_CONVENTION else shapes_of(shapes_text)
if convention != FOUNDING_CONVENTION and shapes is None:
    st.error("Shapes must look like `5x4, 3x6`.")
    st.stop()

dask = st.toggle(
    "Spread the cost evaluations over a local Dask cluster inside the sandbox",
    key="code-dask",
    disabled=not isolation.sandboxed,
    help="Dask workers start inside the same sandbox and share its limits (one worker per "
    "core); the numbers are the same. Only inside bubblewrap.",
)
too_big = len(source.encode("utf-8", errors="replace")) > MAX_SOURCE_BYTES
if too_big:
    st.error(f"Your code is longer than {MAX_SOURCE_BYTES:,} bytes; shorten it to check it.")
    st.stop()

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


def check_now() -> None:
    """Wait for a place in the server's queue, then run the code in the sandbox."""
    run = queued_run(
        lambda shown: run_user_code(
            source,
            scenario.problem(),
            cost_name,
            gradient_name,
            convention,
            shapes,
            scenario.eps,
            label_base,
            progress=shown.progress,
            dask=dask,
            heartbeat=shown.heartbeat,
        )
    )
    if run is not None:
        st.session_state["code-run"] = (signature, run)


if st.button("Run the check", type="primary", icon=":material/play_arrow:"):
    check_now()

stored = st.session_state.get("code-run")
if not stored or stored[0] != signature:
    if saved:
        linked_run.saved_code_view(saved, scenario, run_notes)
    else:
        st.info("Press **Run the check** to run your code.")
    st.stop()

run = stored[1]
show_hint_and_failure(run)
if run.ok:
    result = run.result
    status_badge(result)
    st.caption(
        f"Ran in {run.seconds:.1f} s in the sandbox"
        + ("; theta taken from your code" if run.theta_from_code else "")
    )
    findings = diagnose(result)
    findings_list(findings, limit=3, source=source, source_name="your code")
    runs.save_panel(
        result,
        findings,
        key="save-code",
        identity=signature,
        kind="code",
        code=source,
        settings={
            "mode": "functions",
            "cost": cost_name,
            "gradient": gradient_name,
            "convention": convention,
            "shapes": shapes,
            "label_base": label_base,
            "scenario": scenario.to_dict(),
        },
    )
    for m in result.matrices:
        chart(figures.matrix_heatmaps(m), f"code-heatmap-{m.name}", scenario, f"code-{m.name}")
    chart(figures.gradient_scatter(result), "code-scatter", scenario, "code-scatter")
    only = st.toggle("Only diverging rows", key="code-only-diverging")
    styled_table(result, only)
    noise_note(result)
if run.output:
    with st.expander("What your code printed"):
        st.text(run.output)
