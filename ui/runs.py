"""Saved runs in the app: the store as a Streamlit connection, saving a check, the run
behind a `?run=ID` link, the history and the comparison of two runs.

The store (`engine.runs.store.RunStore`) is reached through `st.connection("runs",
type=RunsConnection)`, Streamlit's convention for data stores: one connection per server
process, reset when its secrets change. Where the runs live, first found wins:
GRADSCOPE_RUNS_URL (the setting the CLI reads too, so app and CI share one database),
`[connections.runs] url = "..."` in .streamlit/secrets.toml (a team's database), else the
store's SQLite file. Nothing connects until a run is saved or opened: drawing a page never
creates a database.

A run is shown from what was stored (`Run.result()`), never by running anything again.
Titles, code and findings are the users': shown as plain text or escaped Markdown.

Who sees what (engine.runs.team): anyone with a run's link opens it; a history lists only
the runs this session saved or opened, and those filed under the team key the visitor
entered. No visitor lists the whole database.
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from urllib.parse import urlencode, urlsplit

import pandas as pd
import streamlit as st
from sqlalchemy.exc import SQLAlchemyError
from streamlit.connections import BaseConnection

from engine.runs.compare import RunComparison, compare_runs
from engine.runs.record import TITLE_LENGTH, Run, run_from_check
from engine.runs.store import NewerSchema, RunListing, RunStore, default_url, location_of
from engine.runs.team import BadTeamKey, new_team_key, team_tag
from presentation import figures
from presentation.exports import run_document
from presentation.report import build_report
from ui import cache
from ui.components import escape_markdown, findings_list, noise_note, status_badge
from ui.share import RUN_PARAM, literal_alert

URL_VARIABLE = "GRADSCOPE_RUNS_URL"
RUNS_PAGE = "pages/6_Runs.py"
SAVED_KEY = "runs-saved"  # {save panel key: (what was saved, run id)}
SESSION_RUNS_KEY = "runs-of-session"  # ids this session saved, newest last
OPENED_RUNS_KEY = "runs-opened"  # ids this session opened by their link
TEAM_KEY = "runs-team-key"  # the team key this session files and lists runs under
VERDICTS = ("pass", "warn", "fail")
# What a store can raise when the database is unreachable, refused or misconfigured
# (a missing driver is an ImportError, a malformed URL an ArgumentError, a full disk an
# OSError); RunTooLarge is a ValueError with its own message.
STORE_ERRORS = (SQLAlchemyError, NewerSchema, OSError, ImportError, ValueError)


class RunsConnection(BaseConnection[RunStore]):
    """The runs database as a Streamlit connection: `st.connection("runs",
    type=RunsConnection)`, with `url` from the call, else `[connections.runs] url` in the
    secrets, else the store's default (GRADSCOPE_RUNS_URL, then the SQLite file)."""

    def _connect(self, url: str | None = None, **kwargs) -> RunStore:
        return RunStore(url or self._secrets.get("url") or None, **kwargs)

    @property
    def store(self) -> RunStore:
        return self._instance

    @property
    def location(self) -> str:
        return self._instance.location

    def save(self, run: Run, team: str | None = None) -> str:
        return self._instance.save(run, team=team)

    def get(self, run_id: str) -> Run | None:
        return self._instance.get(run_id)

    def list(self, **filters) -> list[RunListing]:
        return self._instance.list(**filters)

    def delete(self, run_id: str) -> bool:
        return self._instance.delete(run_id)


def configured_url() -> str:
    """The runs database's URL: the environment, then the secrets, then the default file.

    The environment wins because it is what the CLI reads: a process started with it
    (CI, a container, a test) uses that database whatever a secrets file says.
    """
    if os.environ.get(URL_VARIABLE):
        return os.environ[URL_VARIABLE]
    url = None
    if st.secrets.load_if_toml_exists():  # False, quietly, when there is no secrets file
        url = st.secrets.get("connections", {}).get("runs", {}).get("url")
    return url or default_url()


def connection() -> RunsConnection:
    """The connection to the configured database (one per URL and process; the URL is
    part of the cache key, so a changed setting opens the new database)."""
    return st.connection("runs", type=RunsConnection, url=configured_url())


def location() -> str:
    """Where runs are saved, as `RunStore.location` words it, without connecting (the
    property reads only the URL): shown on every page, which must not create a database."""
    try:
        return location_of(configured_url())
    except SQLAlchemyError as error:
        return f"(not a database URL: {error})"


def store_error(title: str, error: Exception) -> None:
    """A failed save, load or delete as an alert with the reason, never a traceback."""
    literal_alert("error", title, f"{error}\n\nDatabase: {location()}", ":material/database:")


def database_note(query_params: dict | None = None) -> None:
    """The sidebar's note on where runs are kept (the issue's "shown in the settings");
    its link carries `query_params` (a saved run's, while in one)."""
    with st.expander("Saved runs", icon=":material/database:"):
        st.caption("Runs are saved in:")
        st.code(location(), language=None, wrap_lines=True)
        st.caption(
            f"Set {URL_VARIABLE}, or `url` under `[connections.runs]` in "
            ".streamlit/secrets.toml, to use a team database (any SQLAlchemy URL)."
        )
        st.page_link(
            RUNS_PAGE,
            label="History and comparison",
            icon=":material/history:",
            query_params=query_params,
        )


# --- saving -------------------------------------------------------------------------


def run_link(run_id: str) -> str:
    """This page's address with `?run=ID` (a bare '?run=...' without a server): any page
    opened with it shows the run (ui.linked_run)."""
    base = st.context.url or ""
    if base and not urlsplit(base).path:
        base += "/"
    return f"{base}?{urlencode({RUN_PARAM: run_id})}"


def save_panel(
    result,
    findings,
    *,
    key: str,
    identity: str,
    kind: str,
    settings: dict,
    code: str | None = None,
    other_files: dict[str, str] | None = None,
) -> None:
    """'Save this run': a title and a button; after a save, the run's link.

    `identity` names what is shown (the scenario, or the code and its settings): the
    link stays on screen while the same check is shown, and goes when it changes.
    """
    with st.container(border=True):
        st.markdown("**Save this run**: keep it, link it, compare it later")
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        title = left.text_input(
            "Title",
            key=f"{key}-title",
            max_chars=TITLE_LENGTH,
            placeholder="e.g. before fixing sigmoid",
        )
        if right.button("Save this run", key=f"{key}-save", icon=":material/save:"):
            run_id = save(
                result,
                findings,
                title=title,
                kind=kind,
                settings=settings,
                code=code,
                other_files=other_files,
            )
            if run_id:
                st.session_state.setdefault(SAVED_KEY, {})[key] = (identity, run_id)
        identity_saved, run_id = st.session_state.get(SAVED_KEY, {}).get(key, (None, None))
        if run_id and identity_saved == identity:
            st.success("Saved. Anyone who can reach this server opens it with this link:")
            st.code(run_link(run_id), language=None, wrap_lines=True)
        st.caption(
            "A run keeps the settings, the code, the verdict, the findings and both "
            "gradients; only its link (an unguessable id) opens it. "
            + (
                "It is filed under your team key: whoever holds the key sees it in the "
                "Runs page's history."
                if team_key()
                else "The Runs page lists it for this session; enter a team key there to "
                "share a history with your team."
            )
        )


def save(result, findings, **record) -> str | None:
    """Store a run of this check; its id, or None after showing why it was not saved."""
    try:
        run = run_from_check(result, findings, **record)
        run_id = connection().save(run, team=team_key())
    except STORE_ERRORS as error:
        store_error("The run was not saved.", error)
        return None
    st.session_state.setdefault(SESSION_RUNS_KEY, []).append(run_id)
    return run_id


# --- one run ------------------------------------------------------------------------


def linked_run_id() -> str | None:
    value = st.query_params.get(RUN_PARAM)
    return value or None


def load(run_id: str) -> tuple[Run | None, bool]:
    """(the run, whether the database answered); errors are shown. A run found joins
    this session's history: its link was known here."""
    try:
        run = connection().get(run_id)
    except STORE_ERRORS as error:
        store_error("The runs database could not be read.", error)
        return None, False
    if run is not None and run.id not in st.session_state.get(OPENED_RUNS_KEY, []):
        st.session_state.setdefault(OPENED_RUNS_KEY, []).append(run.id)
    return run, True


# --- who sees which runs --------------------------------------------------------------


def team_key() -> str | None:
    """The team key this session entered (already checked), or None."""
    return st.session_state.get(TEAM_KEY)


def team_control() -> None:
    """Enter, make or forget a team key: the runs filed under it are listed to whoever
    holds it; without one, a history holds only this session's runs."""
    with st.container(border=True):
        st.markdown("**Team key**: share a history with your team")
        key = team_key()
        if key:
            st.caption(
                "Runs you save are filed under your team key, and the history lists the "
                "runs filed under it. Keep it like a password; give it to your team."
            )
            with st.expander("Show the key"):
                st.code(key, language=None)
            st.button("Forget the key", key="runs-team-forget", on_click=_set_team_key)
            return
        st.caption(
            "Without one, the history lists only the runs this session saved or opened: "
            "other visitors' runs open by their link alone. Runs filed under a team key "
            "are listed to whoever enters it (the CLI files runs under it with --team)."
        )
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        typed = left.text_input("Team key", key="runs-team-typed", type="password")
        right.button(
            "Make a new key", key="runs-team-new", on_click=lambda: _set_team_key(new_team_key())
        )
        if typed:
            try:
                team_tag(typed)
            except BadTeamKey as error:
                st.warning(str(error), icon=":material/key_off:")
                return
            _set_team_key(typed.strip())
            st.rerun()


def _set_team_key(key: str | None = None) -> None:
    st.session_state.pop("runs-team-typed", None)
    if key:
        st.session_state[TEAM_KEY] = key
    else:
        st.session_state.pop(TEAM_KEY, None)


def known_ids() -> list[str]:
    """The runs this session saved or opened."""
    return st.session_state.get(SESSION_RUNS_KEY, []) + st.session_state.get(OPENED_RUNS_KEY, [])


def whose(run_id: str, team_ids: set[str]) -> str:
    """Why a run is listed to this session: it saved it, the team key, or its link."""
    if run_id in st.session_state.get(SESSION_RUNS_KEY, []):
        return "saved here"
    return "team" if run_id in team_ids else "opened here"


def when(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def show_linked_run(run_id: str) -> None:
    """The run behind `?run=ID`, exactly as saved; a clear message if there is none."""
    run, answered = load(run_id)
    if run is None:
        if answered:
            literal_alert(
                "warning",
                "There is no saved run with this id. It may have been deleted, or the "
                "link was cut short when it was copied.",
                run_id[:100],
                ":material/link_off:",
            )
        return
    show_run(run)


def show_run(run: Run) -> None:
    result = run.result()
    st.header(escape_markdown(run.title), anchor=False)
    what = "your code" if run.kind == "code" else "a scenario"
    st.caption(f"Saved {when(run.created)} · a check of {what} · nothing was re-run to show it")
    status_badge(result)
    cols = st.columns(2 + len(result.matrices))
    cols[0].metric("Relative difference", f"{result.relative_difference:.3g}")
    cols[1].metric("Diverging entries", f"{result.n_diverging} / {result.layout.n_params}")
    for col, m in zip(cols[2:], result.matrices):
        col.metric(m.name, f"{m.n_diverging} diverge")
    st.subheader("Findings", anchor=False)
    findings = run.finding_objects()
    if findings:
        findings_list(findings, source=run.code, source_name="the run's code")
    else:
        st.caption("No findings: nothing to explain.")
    st.subheader("Per array", anchor=False)
    for m in result.matrices:
        figure = cache.store().get(
            ("run-heatmaps", run.id, m.index), lambda m=m: figures.matrix_heatmaps(m)
        )
        st.plotly_chart(figure, key=f"run-heatmap-{m.index}", width="stretch")
    scatter = cache.store().get(("run-scatter", run.id), lambda: figures.gradient_scatter(result))
    st.plotly_chart(scatter, key="run-scatter", width="stretch")
    noise_note(result)
    if run.code:
        st.subheader("The code", anchor=False)
        st.code(run.code, language="python", line_numbers=True)
        for path, text in run.other_files.items():
            with st.expander(escape_markdown(path), icon=":material/description:"):
                st.code(text, language="python", line_numbers=True)
    with st.expander("Settings"):
        st.json(run.settings)
    link = run_link(run.id)
    st.caption("Link to this run:")
    st.code(link, language=None, wrap_lines=True)
    downloads(run, result, findings, link)


def downloads(run: Run, result, findings, link: str) -> None:
    """The run as files to pass on: the report and the JSON both carry the code and link."""
    stem = f"gradscope-run-{run.id}"
    left, right = st.columns(2)
    left.download_button(
        "Report (HTML, works offline)",
        data=lambda: build_report(
            None,
            result,
            findings,
            subject=run.title,
            source=run.code,
            source_name="the run's code" if run.code else None,
            run_link=link,
        ),
        file_name=f"{stem}.html",
        mime="text/html",
        on_click="ignore",
        icon=":material/description:",
        key="run-download-report",
    )
    right.download_button(
        "JSON of the run",
        data=lambda: json.dumps(run_document(run, link), indent=2),
        file_name=f"{stem}.json",
        mime="application/json",
        on_click="ignore",
        icon=":material/data_object:",
        key="run-download-json",
    )


# --- history ------------------------------------------------------------------------


def history() -> list[RunListing]:
    """The filters and the table of recent runs; the listings shown (newest first)."""
    cols = st.columns([1, 1, 2, 1], vertical_alignment="bottom")
    verdict = cols[0].selectbox(
        "Verdict",
        VERDICTS,
        index=None,
        placeholder="any",
        key="runs-verdict",
        format_func=str.upper,
    )
    kind = cols[1].selectbox(
        "Kind",
        ("scenario", "code"),
        index=None,
        placeholder="any",
        key="runs-kind",
        format_func=lambda k: "your code" if k == "code" else "a scenario",
    )
    title = cols[2].text_input("Title contains", key="runs-title")
    mine = cols[3].toggle("Only this session's", key="runs-mine", disabled=not team_key())
    try:
        listings = connection().list(
            limit=200,
            verdict=verdict,
            kind=kind,
            title=title or None,
            team=None if mine else team_key(),
            ids=known_ids(),
        )
    except STORE_ERRORS as error:
        store_error("The runs database could not be read.", error)
        return []
    team_ids = {r.id for r in listings if r.filed_under_team}
    if not listings:
        st.info(
            "No saved runs match. Save one from the Gradient check or Your code page"
            + ("." if team_key() else ", or enter your team key above.")
        )
        return []
    table = pd.DataFrame(
        {
            "title": [r.title for r in listings],
            "whose": [whose(r.id, team_ids) for r in listings],
            "verdict": [r.verdict.upper() for r in listings],
            "arrays diverging": [", ".join(r.diverging_arrays) or "none" for r in listings],
            "kind": [r.kind for r in listings],
            "saved (UTC)": [r.created.strftime("%Y-%m-%d %H:%M:%S") for r in listings],
            "link": [f"?{urlencode({RUN_PARAM: r.id})}" for r in listings],
        }
    )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config={
            "link": st.column_config.LinkColumn("open", display_text="open"),
        },
        key="runs-table",
    )
    return listings


def label(listing: RunListing) -> str:
    return f"{listing.title} · {listing.verdict.upper()} · {when(listing.created)}"


def run_picker(place, title: str, by_id: dict, key: str) -> str | None:
    """A selectbox of runs by id, each shown as title, verdict and time; None at first."""
    return place.selectbox(
        title, list(by_id), index=None, format_func=lambda i: label(by_id[i]), key=key
    )


def delete_control(listings: list[RunListing]) -> None:
    """Delete one run, after a confirmation: its link stops working for everyone. Only
    a run saved here or filed under the team key: a link lets a visitor read a run, not
    delete it."""
    by_id = {
        r.id: r
        for r in listings
        if whose(r.id, {r.id} if r.filed_under_team else set()) != "opened here"
    }
    if not by_id:
        st.caption("Runs you only opened by their link are not yours to delete.")
        return
    chosen = run_picker(st, "Run to delete", by_id, "runs-delete-choice")
    sure = st.checkbox(
        "Yes: delete it for everyone; its link will show nothing",
        key="runs-delete-sure",
        disabled=chosen is None,
    )
    if st.button(
        "Delete the run",
        key="runs-delete",
        disabled=not (chosen and sure),
        icon=":material/delete:",
    ):
        try:
            deleted = connection().delete(chosen)
        except STORE_ERRORS as error:
            store_error("The run was not deleted.", error)
            return
        st.session_state.pop("runs-delete-sure", None)
        st.session_state.pop("runs-delete-choice", None)
        st.session_state["runs-deleted"] = by_id[chosen].title if deleted else None
        st.rerun()
    if "runs-deleted" in st.session_state:
        gone = st.session_state.pop("runs-deleted")
        if gone is None:
            st.warning("That run was already gone.")
        else:
            st.success(f"Deleted: {escape_markdown(gone)}")


# --- comparison ---------------------------------------------------------------------


def compare_control(listings: list[RunListing]) -> None:
    """Pick two runs; show what changed from the first (before) to the second (after)."""
    by_id = {r.id: r for r in listings}
    left, right = st.columns(2)
    before = run_picker(left, "Before", by_id, "runs-before")
    after = run_picker(right, "After", by_id, "runs-after")
    if not before or not after:
        st.caption("Pick a run before and a run after a change (newest runs are at the top).")
        return
    if before == after:
        st.info("Pick two different runs.")
        return
    (first, ok_first), (second, ok_second) = load(before), load(after)
    if first is None or second is None:
        if ok_first and ok_second:
            st.warning("One of the runs was deleted meanwhile.")
        return
    show_comparison(compare_runs(first, second))


def show_comparison(comparison: RunComparison) -> None:
    st.markdown(escape_markdown(comparison.describe()))
    if comparison.same_layout:
        left, right = st.columns(2)
        left.metric("Entries that stopped diverging", f"{comparison.stopped.size}")
        right.metric("Entries that started diverging", f"{comparison.started.size}")
    numbers = {
        name: st.column_config.NumberColumn(format="%.3g")
        for name in comparison.arrays.columns
        if name.startswith("relative difference")
    }
    st.dataframe(comparison.arrays, hide_index=True, width="stretch", column_config=numbers)
    if comparison.same_layout:
        after = comparison.after.result()
        for m, change in zip(after.matrices, comparison.error_change):
            st.plotly_chart(
                figures.error_change_heatmap(m, change),
                key=f"runs-change-{m.index}",
                width="stretch",
            )
    if comparison.code_diff:
        st.caption("The code, before and after:")
        st.code(comparison.code_diff, language="diff")
    elif comparison.before.code or comparison.after.code:
        st.caption("The code is the same in both runs.")
