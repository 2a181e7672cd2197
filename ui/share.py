"""Sharing: the scenario in the URL, downloads built on click, restoring an export.

Files are built only when their button is clicked (`download_button(data=callable)`),
from engine functions alone: the callable runs outside the script thread.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

import streamlit as st

from engine.diagnosis.diagnose import diagnose
from engine.scenario.codec import (
    MAX_EXPORT_BYTES,
    recorded_relative_difference,
    scenario_from_json,
    scenario_from_params,
    scenario_to_params,
)
from engine.scenario.settings import Scenario
from presentation.exports import export_file
from presentation.report import build_report, report_filename

URL_READ_KEY = "url-read"
PENDING_NOTICES_KEY = "pending-notices"
RESTORE_CHECK_KEY = "restore-expected"
PAGE_FIGURES_KEY = "page-figures"
UPLOADS_KEY = "restore-uploads"  # how many exports were read: names the next uploader
RUN_PARAM = "run"  # `?run=ID`: a saved run to show (ui.runs), never a scenario setting


def show_notices(title: str, notices: list[str]) -> None:
    """Notices quote what users typed: shown as plain text, never as Markdown or HTML."""
    if notices:
        st.warning(title, icon=":material/tune:")
        st.text("\n".join(f"• {n}" for n in notices))


def literal_alert(kind: str, title: str, detail: str, icon: str | None = None) -> None:
    """An alert with a fixed Markdown title and `detail` (exception texts, file names,
    anything a user shaped) as a literal code block inside it: never Markdown or HTML.

    The fence is longer than any run of backticks in `detail`, so nothing can close it.
    """
    longest = max((len(run) for run in re.findall("`+", detail)), default=0)
    fence = "`" * max(3, longest + 1)
    alert = {"error": st.error, "warning": st.warning, "info": st.info, "success": st.success}
    alert[kind](f"**{title}**\n\n{fence}text\n{detail}\n{fence}", icon=icon)


def read_url_once(load_scenario) -> bool:
    """On a session's first run, take the scenario from the link it was opened with;
    whether this was that first run. `run` names a saved run (ui.runs), not a setting."""
    if st.session_state.get(URL_READ_KEY):
        return False
    st.session_state[URL_READ_KEY] = True
    params = {k: v for k, v in st.query_params.to_dict().items() if k != RUN_PARAM}
    if params:
        scenario, notices = scenario_from_params(params)
        load_scenario(scenario)
        add_notices(notices)
    return True


def add_notices(notices: list[str]) -> None:
    st.session_state.setdefault(PENDING_NOTICES_KEY, []).extend(notices)


def take_notices() -> list[str]:
    return st.session_state.pop(PENDING_NOTICES_KEY, [])


def write_url(scenario: Scenario, run_id: str | None = None) -> None:
    """Keep the address bar equal to what the page shows: the scenario (defaults left
    out), or in a saved run only `?run=ID` (the run decides what is shown, and a reload
    or a copied address must open the same run)."""
    params = {RUN_PARAM: run_id} if run_id else scenario_to_params(scenario)
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
    """The JSON export (`presentation.exports`): scenario, results, findings, parameters."""
    result = scenario.run()
    return export_file(scenario, result, diagnose(result))


def report_document(scenario: Scenario, link: str, extra_figures: dict | None = None) -> str:
    result = scenario.run()
    return build_report(scenario, result, diagnose(result), link, extra_figures)


def share_panel(scenario: Scenario, load_scenario, in_run: bool = False) -> None:
    """The sidebar's Share section: link, downloads, and restoring an export. In a saved
    run the link and files are the sidebar's scenario's, checked live: said so."""
    st.header("Share")
    link = share_link(scenario)
    extra = st.session_state[PAGE_FIGURES_KEY] = {}
    st.caption(
        "The sidebar's scenario, checked live (the saved run has its own link):"
        if in_run
        else "Link to this exact view (copy with the icon):"
    )
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
        f"Restore from a JSON export (up to {MAX_EXPORT_BYTES // 1024**2} MB)",
        type=["json"],
        key=_uploader_key(),
        on_change=_restore,
        args=(load_scenario,),
        help="Exports of scenarios up to about 25,000 parameters fit; for bigger ones use "
        "the link, or keep only the file's scenario section.",
    )


def _uploader_key() -> str:
    """A new uploader after each restore: the old one, and the file it holds, go away."""
    return f"restore-upload-{st.session_state.get(UPLOADS_KEY, 0)}"


def _restore(load_scenario) -> None:
    key = _uploader_key()
    upload = st.session_state.get(key)
    if upload is None:
        return
    name = upload.name
    data = upload.read(MAX_EXPORT_BYTES + 1)  # a bigger file is refused, unread beyond this
    release_upload(upload)
    st.session_state[UPLOADS_KEY] = st.session_state.get(UPLOADS_KEY, 0) + 1
    try:
        scenario, notices, document = scenario_from_json(data)
    except ValueError as error:
        add_notices([f"{name}: {error} Nothing was changed."])
        return
    load_scenario(scenario)
    add_notices(notices)
    expected = recorded_relative_difference(document)
    if expected is not None:
        st.session_state[RESTORE_CHECK_KEY] = (name, expected)


def release_upload(upload) -> None:
    """Drop the server's copy of an uploaded file once it is read (Streamlit keeps each
    upload in memory until the session ends otherwise), as st.chat_input does."""
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    manager = getattr(ctx, "uploaded_file_mgr", None)
    if isinstance(manager, MemoryUploadedFileManager):
        manager.remove_file(session_id=ctx.session_id, file_id=upload.file_id)
    upload.close()


def confirm_restored(result) -> None:
    """After a restore, say whether the recomputed numbers are the file's numbers (the
    file's name is the user's: shown literally)."""
    name, expected = st.session_state.pop(RESTORE_CHECK_KEY, (None, None))
    if name is None:
        return
    if abs(result.relative_difference - expected) <= 1e-9 * max(1.0, abs(expected)):
        literal_alert(
            "success",
            f"Restored: relative difference {result.relative_difference:.6g}, the same as "
            "in the file.",
            name,
            ":material/restore:",
        )
    else:
        literal_alert(
            "warning",
            f"Restored, but the relative difference is now {result.relative_difference:.6g} "
            f"(the file says {expected:.6g}).",
            name,
            ":material/warning:",
        )


def chart(
    fig,
    key: str,
    scenario: Scenario,
    name: str,
    in_report: bool = False,
    file_name: str | None = None,
) -> None:
    """A Plotly chart (its toolbar saves PNG) plus a standalone interactive HTML download.

    `in_report` adds the figure to this view's HTML report (the check's own heatmaps
    and scatter are always in it). The download is named after the scenario, or
    `file_name` (the user's own code's charts).
    """
    st.plotly_chart(fig, key=key, width="stretch")
    if in_report:
        st.session_state.setdefault(PAGE_FIGURES_KEY, {})[name] = fig
    st.download_button(
        "Download chart (interactive HTML)",
        data=lambda: fig.to_html(include_plotlyjs=True),
        file_name=file_name or report_filename(scenario, "html").replace(".html", f"-{name}.html"),
        mime="text/html",
        on_click="ignore",
        type="tertiary",
        icon=":material/download:",
        key=f"download-{key}",
    )
