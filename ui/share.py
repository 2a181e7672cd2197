"""Sharing: the scenario in the URL, downloads built on click, restoring an export.

Files are built only when their button is clicked (`download_button(data=callable)`),
from engine functions alone: the callable runs outside the script thread.
"""

from __future__ import annotations

import json
from urllib.parse import urlencode, urlsplit

import streamlit as st

from engine.codec import (
    scenario_from_json,
    scenario_from_params,
    scenario_to_json,
    scenario_to_params,
)
from engine.diagnosis import diagnose
from engine.report import build_report, report_filename
from engine.scenario import Scenario

URL_READ_KEY = "url-read"
PENDING_NOTICES_KEY = "pending-notices"
RESTORE_CHECK_KEY = "restore-expected"
PAGE_FIGURES_KEY = "page-figures"


def show_notices(title: str, notices: list[str]) -> None:
    """Notices quote what users typed: shown as plain text, never as Markdown or HTML."""
    if notices:
        st.warning(title, icon=":material/tune:")
        st.text("\n".join(f"• {n}" for n in notices))


def read_url_once(load_scenario) -> None:
    """On a session's first run, take the scenario from the link it was opened with."""
    if st.session_state.get(URL_READ_KEY):
        return
    st.session_state[URL_READ_KEY] = True
    params = st.query_params.to_dict()
    if params:
        scenario, notices = scenario_from_params(params)
        load_scenario(scenario)
        add_notices(notices)


def add_notices(notices: list[str]) -> None:
    st.session_state.setdefault(PENDING_NOTICES_KEY, []).extend(notices)


def take_notices() -> list[str]:
    return st.session_state.pop(PENDING_NOTICES_KEY, [])


def write_url(scenario: Scenario) -> None:
    """Keep the address bar equal to the scenario (defaults left out)."""
    params = scenario_to_params(scenario)
    if st.query_params.to_dict() != params:
        st.query_params.from_dict(params)


def share_link(scenario: Scenario) -> str:
    """The page's address with the scenario's query string (a bare '?...' without a server)."""
    query = urlencode(scenario_to_params(scenario))
    base = st.context.url or ""
    if base and not urlsplit(base).path:
        base += "/"
    return f"{base}?{query}" if query else base


def export_document(scenario: Scenario) -> str:
    """Scenario, results, findings and every parameter, as a JSON export."""
    result = scenario.run()
    return scenario_to_json(
        scenario,
        {
            "result": result.summary(),
            "findings": [f.as_dict() for f in diagnose(result)],
            "parameters": json.loads(result.table().reset_index().to_json(orient="records")),
        },
    )


def report_document(scenario: Scenario, link: str, extra_figures: dict | None = None) -> str:
    result = scenario.run()
    return build_report(scenario, result, diagnose(result), link, extra_figures)


def page_figures() -> dict:
    """This run's page-specific figures (epsilon curves, training curves) for the report.

    The dict is created anew at the start of every run and filled as the page draws;
    the report's download callable holds a reference and reads it when clicked.
    """
    return st.session_state[PAGE_FIGURES_KEY]


def share_panel(scenario: Scenario, load_scenario) -> None:
    """The sidebar's Share section: link, downloads, and restoring an export."""
    st.header("Share")
    link = share_link(scenario)
    extra = st.session_state[PAGE_FIGURES_KEY] = {}
    st.caption("Link to this exact view (copy with the icon):")
    st.code(link, language=None, wrap_lines=True)
    st.download_button(
        "Report (HTML, works offline)",
        data=lambda: report_document(scenario, link, extra),
        file_name=report_filename(scenario, "html"),
        mime="text/html",
        on_click="ignore",
        icon=":material/description:",
        width="stretch",
        key="download-report",
    )
    left, right = st.columns(2)
    left.download_button(
        "JSON",
        help="Scenario, results, diagnosis and every parameter; upload it below to restore.",
        data=lambda: export_document(scenario),
        file_name=report_filename(scenario, "json"),
        mime="application/json",
        on_click="ignore",
        icon=":material/data_object:",
        width="stretch",
        key="download-json",
    )
    right.download_button(
        "CSV",
        help="The per-parameter table.",
        data=lambda: scenario.run().table().to_csv(),
        file_name=report_filename(scenario, "csv"),
        mime="text/csv",
        on_click="ignore",
        icon=":material/table:",
        width="stretch",
        key="download-csv",
    )
    st.file_uploader(
        "Restore from a JSON export",
        type=["json"],
        key="restore-upload",
        on_change=_restore,
        args=(load_scenario,),
    )


def _restore(load_scenario) -> None:
    upload = st.session_state.get("restore-upload")
    if upload is None:
        return
    try:
        scenario, notices, document = scenario_from_json(upload.getvalue())
    except ValueError as error:
        add_notices([f"{upload.name}: {error} Nothing was changed."])
        return
    load_scenario(scenario)
    add_notices(notices)
    expected = (document.get("result") or {}).get("relative_difference")
    if isinstance(expected, (int, float)):
        st.session_state[RESTORE_CHECK_KEY] = (upload.name, float(expected))


def confirm_restored(result) -> None:
    """After a restore, say whether the recomputed numbers are the file's numbers."""
    name, expected = st.session_state.pop(RESTORE_CHECK_KEY, (None, None))
    if name is None:
        return
    if abs(result.relative_difference - expected) <= 1e-9 * max(1.0, abs(expected)):
        st.success(
            f"Restored {name}: relative difference {result.relative_difference:.6g}, "
            "the same as in the file.",
            icon=":material/restore:",
        )
    else:
        st.warning(
            f"Restored {name}, but the relative difference is now "
            f"{result.relative_difference:.6g} (the file says {expected:.6g}).",
            icon=":material/warning:",
        )


def chart(fig, key: str, scenario: Scenario, name: str, in_report: bool = False) -> None:
    """A Plotly chart (its toolbar saves PNG) plus a standalone interactive HTML download.

    `in_report` adds the figure to this view's HTML report (the check's own heatmaps
    and scatter are always in it).
    """
    st.plotly_chart(fig, key=key, width="stretch")
    if in_report:
        st.session_state.setdefault(PAGE_FIGURES_KEY, {})[name] = fig
    st.download_button(
        "Download chart (interactive HTML)",
        data=lambda: fig.to_html(include_plotlyjs=True),
        file_name=report_filename(scenario, "html").replace(".html", f"-{name}.html"),
        mime="text/html",
        on_click="ignore",
        type="tertiary",
        icon=":material/download:",
        key=f"download-{key}",
    )
