"""The run view: while the address holds `?run=ID`, every page shows that saved run.

A saved run's link is the issue's "a link that shows exactly that run on every page,
without re-running the code". So the run is not a page but a state of the session, read
from the address on every rerun: the frame asks `current()` for it, draws `banner()` at
the top of the page, and keeps `?run=ID` in the sidebar's links and in the address; the
pages ask `shown()` and draw the stored check (`Run.result()`, `run.finding_objects()`)
instead of a live one. Nothing re-runs: the figures are built from the stored arrays.

Entering a run may fill fields of the session (the sidebar's scenario, the Your code
page's code): `fill()` keeps what they held, and leaving the run puts it back unless the
visitor changed the filled values meanwhile (then their newer work is kept). Nothing the
visitor typed is lost either way.

The run is read from the database once per id and session (kept in session state), and
a bad id, an unknown one or a database error is a message: the page then goes on live.
"""

from __future__ import annotations

import streamlit as st

from engine.runs.record import Run
from engine.runs.store import RUN_ID
from engine.scenario.settings import Scenario
from presentation import figures
from ui import cache, runs
from ui.components import (
    CheckFigures,
    check_details,
    escape_markdown,
    findings_list,
    status_card,
)
from ui.share import RUN_PARAM, literal_alert

RUN_KEY = "linked-run"  # (id, Run) of the run read last: read once per id and session
ENTERED_KEY = "linked-run-entered"  # the id of the run the session is in
FILLED_KEY = "linked-run-filled"  # {group: {key: (held a value, it, the run's)}}
ID_SHOWN = 100  # characters of a bad id quoted back
SCENARIO_PAGES = ("Bug lab", "Epsilon", "Training")  # they compute from the sidebar
RUN_PAGES = (  # where a code run itself is shown
    ("pages/1_Gradient_check.py", "Gradient check", ":material/grid_on:"),
    ("pages/5_Your_code.py", "Your code", ":material/code:"),
    (runs.RUNS_PAGE, "Runs", ":material/history:"),
)


# --- which run --------------------------------------------------------------------


def requested_id() -> str | None:
    """The run the address names, or None; a malformed or repeated `run` is a message.

    A link is pasted and cut by hand: `?run=` empty is no run, several values are one
    too many, and an id of the wrong shape is never looked up (the store refuses it too).
    """
    values = [v for v in st.query_params.get_all(RUN_PARAM) if v]
    if not values:
        return None
    if len(set(values)) > 1:
        literal_alert(
            "warning",
            "This address names more than one saved run; it can show one at a time. "
            "Showing the live checks instead.",
            "\n".join(v[:ID_SHOWN] for v in values[:5]),
            ":material/link_off:",
        )
        return None
    if not RUN_ID.match(values[0]):
        literal_alert(
            "warning",
            "There is no saved run with this id: a run's id is 22 letters, digits, '-' or "
            "'_'. The link may have been cut short or changed when it was copied.",
            values[0][:ID_SHOWN],
            ":material/link_off:",
        )
        return None
    return values[0]


def current(show_errors: bool = True) -> tuple[Run | None, bool]:
    """(the run the address names, whether the session enters it on this rerun).

    Called by the frame on every rerun. Leaving (the id gone from the address, or
    another one there) restores what entering filled. `show_errors=False` is for the
    Runs page, which says itself why a run cannot be shown.
    """
    run_id = requested_id() if show_errors else _quiet_id()
    if st.session_state.get(ENTERED_KEY) not in (None, run_id):
        restore()  # before reading the next run: restoring forgets the run read last
    run = _load(run_id, show_errors) if run_id else None
    if run is None:
        return None, False
    entering = st.session_state.get(ENTERED_KEY) != run.id
    st.session_state[ENTERED_KEY] = run.id
    return run, entering


def _quiet_id() -> str | None:
    values = st.query_params.get_all(RUN_PARAM)
    return values[0] if len(values) == 1 and RUN_ID.match(values[0]) else None


def _load(run_id: str, show_errors: bool) -> Run | None:
    """The run, read once per id and session; None after saying why (if asked to)."""
    kept = st.session_state.get(RUN_KEY)
    if kept and kept[0] == run_id:
        return kept[1]
    if show_errors:
        run, answered = runs.load(run_id)
    else:
        try:
            run, answered = runs.connection().get(run_id), True
        except runs.STORE_ERRORS:
            run, answered = None, False
    if run is None:
        if answered and show_errors:
            literal_alert(
                "warning",
                "There is no saved run with this id. It may have been deleted, or the link "
                "was cut short when it was copied. Showing the live checks instead.",
                run_id,
                ":material/link_off:",
            )
        return None
    st.session_state[RUN_KEY] = (run_id, run)  # one run per session: the one shown
    return run


def shown() -> Run | None:
    """The run this rerun shows (the frame has read it), or None for live checks."""
    kept, entered = st.session_state.get(RUN_KEY), st.session_state.get(ENTERED_KEY)
    return kept[1] if kept and entered == kept[0] else None


def link_params() -> dict | None:
    """The query parameters a link to another page carries: the run, while in one."""
    run = shown()
    return {RUN_PARAM: run.id} if run else None


# --- entering and leaving -----------------------------------------------------------


def fill(group: str, values: dict) -> None:
    """Put the run's `values` into session-state keys, remembering what they held.

    Once per group and entry: a page calls it on every rerun, but only the first
    call of the run fills (afterwards the visitor's changes stand).
    """
    groups = st.session_state.setdefault(FILLED_KEY, {})
    if group in groups:
        return
    state = st.session_state
    groups[group] = {key: (key in state, state.get(key), new) for key, new in values.items()}
    for key, value in values.items():
        st.session_state[key] = value


def restore() -> None:
    """Leave the run: each filled group gets back what it held before, unless the
    visitor changed one of its values in the run (their newer work is kept), or it
    held nothing (a session opened on the link keeps the run's values to go on with)."""
    state = st.session_state
    for group in state.pop(FILLED_KEY, {}).values():
        untouched = all(k in state and state[k] == new for k, (_, _, new) in group.items())
        if untouched:
            for key, (held, old, _) in group.items():
                if held:
                    state[key] = old
    state.pop(ENTERED_KEY, None)
    state.pop(RUN_KEY, None)


def leave() -> None:
    """The banner's button: the address loses `run`, the session goes back to live."""
    if RUN_PARAM in st.query_params:
        del st.query_params[RUN_PARAM]
    restore()


def scenario_of(run: Run) -> Scenario | None:
    """The scenario the run was checked on: a scenario run's settings, or the problem a
    code run (functions mode) was given; None when there is none or it cannot be read."""
    data = run.settings if run.kind == "scenario" else run.settings.get("scenario")
    if not isinstance(data, dict):
        return None
    try:
        return Scenario.from_dict(data)
    except (TypeError, ValueError):
        return None


# --- what the pages draw ------------------------------------------------------------


def what(run: Run) -> str:
    return "your code" if run.kind == "code" else "a scenario"


def describe(run: Run) -> str:
    """One line on what was checked: the scenario, or the code's file and mode (a caption:
    the file name is the user's, so escaped)."""
    scenario = scenario_of(run)
    if run.kind == "scenario" and scenario is not None:
        bugs = f"; bugs on: {', '.join(scenario.bugs)}" if scenario.bugs else ""
        return scenario.describe() + bugs
    mode = run.settings.get("mode", "functions")
    how = "your model as it is" if mode == "contract" else "cost and gradient functions"
    return escape_markdown(f"Your code ({source_name(run)}), checked as {how}")


def banner(run: Run, page: str, sidebar: Scenario | None) -> None:
    """The top of every page in a run: which run, when, that nothing re-ran, what this
    page shows of it, and the way out. The title is the user's: escaped Markdown."""
    with st.container(border=True, key="linked-run-banner"):
        left, right = st.columns([3, 1], vertical_alignment="center")
        left.markdown(f":material/bookmark: **Saved run:** {escape_markdown(run.title)}")
        left.caption(
            f"Saved {runs.when(run.created)} · a check of {what(run)} · nothing was re-run "
            "to show it"
        )
        left.caption(page_note(run, page, sidebar))
        right.button(
            "Leave the saved run",
            key="linked-run-leave",
            on_click=leave,
            icon=":material/logout:",
            help="Back to live checks: the address loses ?run=ID.",
            width="stretch",
        )
        if run.kind == "code" and page in SCENARIO_PAGES:
            run_page_links()


def run_page_links() -> None:
    """Links to the pages that show the run itself, in a row; they keep `?run=ID`."""
    cols = st.columns(len(RUN_PAGES))
    for col, (path, label, icon) in zip(cols, RUN_PAGES):
        col.page_link(path, label=label, icon=icon, query_params=link_params())


def page_note(run: Run, page: str, sidebar: Scenario | None) -> str:
    """What this page shows of the run, in one line."""
    if page in SCENARIO_PAGES:
        if run.kind == "code":
            return (
                "This page explores GradScope's own network (the sidebar's scenario); the "
                "run itself is on Gradient check, Your code and Runs."
            )
        own = scenario_of(run)
        if own is not None and sidebar is not None and own != sidebar:
            return (
                "The sidebar was changed after the run's scenario was loaded into it: this "
                "page follows the sidebar."
            )
        return (
            "This page works on the run's own scenario, loaded into the sidebar: the same "
            "network, data and bugs, so the same check."
        )
    if page == "Your code":
        if run.kind == "code":
            return (
                "The run's code is in the editor with its settings, and its stored result "
                "below; press Run the check to run the code live."
            )
        return "A run of a scenario: Your code checks your own code live, on its scenario."
    if page == "Runs":
        return "The run is below; its link follows you to every page."
    return "This page shows the run as it was saved."


def result_of(run: Run):
    """The stored check rebuilt once per run and process (read-only, like the caches')."""
    return cache.store().get(("run-result", run.id), run.result, grows=True)


def run_figures(run: Run) -> CheckFigures:
    """The run's heatmaps and scatter from its stored arrays, cached by its id."""

    def heatmaps(index: int, mode: str, region=None):
        return cache.store().get(
            ("run-heatmaps", run.id, index, mode, region),
            lambda: figures.matrix_heatmaps(result_of(run).matrices[index], mode, region),
        )

    def scatter():
        return cache.store().get(
            ("run-scatter", run.id), lambda: figures.gradient_scatter(result_of(run))
        )

    return CheckFigures(heatmaps, scatter, file_stem=f"gradscope-run-{run.id}")


def link_box(run: Run) -> None:
    """The run's link (this page's address with ?run=ID), where a live check has its
    save panel: the run is saved already."""
    with st.container(border=True):
        st.caption("Already saved. Anyone who can reach this server opens it with this link:")
        st.code(runs.run_link(run.id), language=None, wrap_lines=True)


def source_name(run: Run) -> str:
    """The file the findings' lines are in, as the run names it."""
    name = run.settings.get("file") or run.settings.get("main")
    return name if isinstance(name, str) and name else "the run's code"


def saved_code_view(run: Run, scenario: Scenario, notes: list[str] = ()) -> None:
    """A code run as stored, where the Your code page shows a live result: the verdict,
    the findings with the lines they name quoted from the stored code, the settings
    that could not be filled back (`notes`), heatmaps, scatter and table."""
    result, findings = result_of(run), run.finding_objects()
    st.info(
        "The saved run's result, as stored: none of its code was run. Press **Run the "
        "check** to run the code above live.",
        icon=":material/bookmark:",
    )
    if notes:
        st.caption("Not filled back from the run:")
        st.text("\n".join(f"• {n}" for n in notes))
    described = run.settings.get("what")
    if isinstance(described, list):
        st.text("\n".join(map(str, described)))
    status_card(result, [])  # the findings follow, each with its lines
    findings_list(findings, source=run.code, source_name=source_name(run))
    link_box(run)
    check_details(result, run_figures(run), scenario, key_prefix="run-")


def saved_code(run: Run) -> None:
    """The run's code, read-only (where the editor cannot be shown)."""
    if run.code:
        st.caption(f"The run's code ({escape_markdown(source_name(run))}):")
        st.code(run.code, language="python", line_numbers=True)
