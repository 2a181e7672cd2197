"""Small views used by several pages: status card, findings, metrics, the styled table."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import streamlit as st

from engine.bugs.catalogue import BUGS
from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.network.layout import Layout
from presentation.figures import MAX_HEATMAP_CELLS
from presentation.report import CAUSE_WORDS, excerpt_title, source_excerpt, source_lines
from ui.share import chart

STATUS_STYLE = {
    "pass": ("green", ":material/check_circle:", "PASS: the gradients agree"),
    "warn": ("orange", ":material/warning:", "WARN: agree, but the check is coarse"),
    "fail": ("red", ":material/cancel:", "FAIL: the gradients diverge"),
}
TABLE_ROWS_LIMIT = 50_000
MARKDOWN_SPECIALS = set("\\`*_{}[]()#+-.!|<>~$:")


def escape_markdown(text: str) -> str:
    """Text from users (typed, linked, uploaded) shown literally inside Markdown."""
    return "".join("\\" + ch if ch in MARKDOWN_SPECIALS else ch for ch in text)


def status_badge(result: CheckResult) -> None:
    colour, icon, text = STATUS_STYLE[result.status]
    st.badge(text, color=colour, icon=icon)


def status_card(result: CheckResult, findings: list[Finding]) -> None:
    """Overall verdict, per-array divergence counts (by the arrays' names) and the top
    finding."""
    with st.container(border=True):
        status_badge(result)
        cols = st.columns(2 + len(result.matrices))
        cols[0].metric(
            "Relative difference",
            f"{result.relative_difference:.3g}",
            help="||n - a|| / ||n + a||, the seed's number: ~1e-11 is good in float64.",
        )
        cols[1].metric(
            "Diverging entries",
            f"{result.n_diverging} / {result.layout.n_params}",
        )
        for col, m in zip(cols[2:], result.matrices):
            col.metric(
                array_label(m),
                f"{m.n_diverging} diverge",
                delta=f"relative difference {m.relative_difference:.2g}",
                delta_color="off",
                delta_arrow="off",
            )
        if findings:
            top_finding(findings[0])


def shape_label(m) -> str:
    """'5×4' for a matrix, '(10,)' for a vector, 'scalar', '(2, 3, 2, 2)' beyond."""
    if len(m.shape) == 2:
        return f"{m.shape[0]}×{m.shape[1]}"
    return m.shape_text if m.shape else "scalar"


def array_label(m) -> str:
    """'Theta1 (5×4)', 'b1 (10,)', 's (scalar)', 'K (2, 3, 2, 2)'."""
    label = shape_label(m)
    return f"{m.name} {label}" if label.startswith("(") else f"{m.name} ({label})"


def cause_badge(finding: Finding) -> str:
    """Markdown for a small badge 'cause: backward-chain' ('' without a cause)."""
    return f" :violet-badge[cause: {finding.cause}]" if finding.cause else ""


def cause_caption(finding: Finding) -> None:
    """The cause in plain words and the arrays it concerns (the user's names, literal)."""
    if finding.cause is None:
        return
    names = escape_markdown(", ".join(finding.arrays))
    arrays = f"; arrays: {names}" if finding.arrays else ""
    st.caption(f"{finding.cause}: {CAUSE_WORDS.get(finding.cause, '')}{arrays}")


def top_finding(finding: Finding) -> None:
    tag = f" · `{finding.bug_id}`" if finding.bug_id else ""
    st.markdown(f"**Most likely{tag}:**{cause_badge(finding)} {finding.message}")
    cause_caption(finding)


def findings_list(
    findings: list[Finding],
    limit: int | None = None,
    source: str | None = None,
    source_name: str | None = None,
) -> None:
    """Ranked findings with their cause, arrays and evidence, most likely first; with the
    user's `source` (the file `source_name`), the lines each finding names, quoted."""
    for rank, f in enumerate(findings[:limit], 1):
        with st.container(border=True):
            title = f"**{rank}. {BUGS[f.bug_id].title}**" if f.bug_id else f"**{rank}.**"
            tag = f" · `{f.bug_id}`" if f.bug_id else ""
            st.markdown(f"{title}{tag}{cause_badge(f)}")
            st.markdown(f.message)
            cause_caption(f)
            st.caption(f"Evidence: {f.evidence}")
            if source and f.lines:
                lines_excerpt(source, f.lines, source_name)


def lines_excerpt(source: str, lines, source_name: str | None = None) -> None:
    """'Look at lines 57, 52 of model.py' and those lines of the user's source, numbered;
    nothing when none of them is in the source."""
    shown = source_lines(source, lines)
    if shown:
        st.caption(escape_markdown(excerpt_title(shown, source_name)))
        st.code(source_excerpt(source, shown), language="python")


def noise_note(result: CheckResult) -> None:
    st.caption(
        f"Threshold: relative error > {result.threshold:g} **and** absolute difference > "
        f"noise floor {result.noise.absolute:.1e}. {result.noise.explain()}"
    )


def styled_table(result: CheckResult, only_diverging: bool) -> None:
    """The seed's side-by-side list, with whether each row diverges in its first columns.

    Formats come from column_config, not a pandas Styler: a Styler cost 10 ms per rerun at
    38 rows and 125 ms at 900, which under a team's load was a tenth of each rerun.
    """
    table = result.table()
    if len(table) > TABLE_ROWS_LIMIT and not only_diverging:
        st.caption(
            f"{len(table):,} parameters: only the diverging and kinked rows are listed here; "
            "the CSV download in the sidebar has every row."
        )
        table = table[table["diverges"] | table["kink"]]
    if only_diverging:
        table = table[table["diverges"]]
    if table.empty:
        st.info("No entry diverges.")
        return
    st.dataframe(
        table,
        width="stretch",
        column_order=["diverges", "kink", *(c for c in table.columns if c not in TABLE_FLAGS)],
        column_config=TABLE_COLUMNS,
    )


TABLE_FLAGS = ("diverges", "kink")
TABLE_COLUMNS = {
    "diverges": st.column_config.CheckboxColumn("diverges", help="beyond threshold and noise"),
    "kink": st.column_config.CheckboxColumn("kink", help="a ReLU kink lies within eps"),
    "analytic": st.column_config.NumberColumn(format="%.6g"),
    "numerical": st.column_config.NumberColumn(format="%.6g"),
    "abs diff": st.column_config.NumberColumn(format="%.2e"),
    "rel error": st.column_config.NumberColumn(format="%.2e"),
}


EXACT_ON_DEMAND_ABOVE = 200_000  # parameters: above this the fast screen runs first


def exact_on_demand(scenario, key_prefix: str) -> bool:
    """For big networks: show the fast screen, and run the exact check only when asked.

    Returns True when the exact check should be shown now.
    """
    from ui import cache

    n_params = Layout.from_layer_sizes(scenario.layer_sizes).n_params
    if n_params <= EXACT_ON_DEMAND_ABOVE:
        return True
    asked = st.session_state.setdefault("exact-asked", set())
    key = cache.scenario_key(scenario)
    if key in asked:
        return True
    result = cache.screen(scenario)
    with st.container(border=True):
        st.markdown(
            f"**Fast screen** ({n_params:,} parameters): {escape_markdown(result.describe())}"
        )
        st.caption(
            "Each matrix's bias column and weights checked along random directions, with "
            "sampled entries in failing blocks. The exact check computes every entry."
        )
        if st.button("Run the exact check", key=f"{key_prefix}-exact", type="primary"):
            asked.add(key)
            st.rerun()
    return False


DASK_PLACES = {"here": "in this process", "cluster": "on the server's Dask cluster"}


def dask_choice(label: str, key_prefix: str, help: str) -> str | None:
    """Where slow work runs: None (in this process) or the server's configured scheduler.

    Visitors choose between the two but never type an address: a Dask client unpickles
    what its scheduler sends, so an address a visitor controls would run their code in
    the server. Without a configured scheduler (or with user code off) only a caption
    is drawn.
    """
    from engine.runners.cluster import LOCAL_SCHEDULER, SCHEDULER_VARIABLE, configured_scheduler

    scheduler = configured_scheduler()
    if scheduler is None:
        st.caption(
            f"Runs in this process: Dask is not set up on this server (its operator sets "
            f"{SCHEDULER_VARIABLE}, with user code switched on)."
        )
        return None
    where = "local processes" if scheduler == LOCAL_SCHEDULER else "the configured scheduler"
    places = DASK_PLACES | {"cluster": f"{DASK_PLACES['cluster']} ({where})"}
    choice = st.radio(
        label,
        list(places),
        horizontal=True,
        key=f"{key_prefix}-dask",
        format_func=places.get,
        help=help,
    )
    return scheduler if choice == "cluster" else None


@dataclass(frozen=True)
class CheckFigures:
    """Where a check's figures come from: the scenario's cache for a live check, a saved
    run's stored arrays for a run (`ui.linked_run.run_figures`). `heatmaps(index, mode,
    region)` and `scatter()` return cached figures; downloads are named after
    `file_stem`, or after the scenario when it is None."""

    heatmaps: Callable
    scatter: Callable
    file_stem: str | None = None

    def file_name(self, name: str) -> str | None:
        return f"{self.file_stem}-{name}.html" if self.file_stem else None


def scenario_figures(scenario) -> CheckFigures:
    """A live check's figures, built once per scenario in the shared cache."""
    from ui import cache

    return CheckFigures(
        lambda index, mode, region=None: cache.heatmaps(scenario, index, mode, region),
        lambda: cache.scatter(scenario),
    )


HEATMAP_ARRAYS = 24  # heatmaps drawn of a check with more arrays: the most diverging


def check_details(
    result: CheckResult, source: CheckFigures, scenario, key_prefix: str = ""
) -> None:
    """A check's views below its verdict, the same for a live check and a saved run:
    per matrix its metrics and heatmaps (a zoom for big ones), the scatter, the seed's
    side-by-side table and the noise note. `scenario` names the downloads."""
    st.subheader("Per weight matrix", anchor=False)
    third = (
        st.segmented_control(
            "Third panel",
            ["difference", "log relative error"],
            default="difference",
            key="heatmap-third",
            persist_state="session",
        )
        or "difference"
    )
    mode = "log_rel_error" if third != "difference" else "difference"
    order = sorted(range(len(result.matrices)), key=lambda i: -result.matrices[i].n_diverging)
    if len(order) > HEATMAP_ARRAYS:
        st.caption(
            f"Heatmaps of {HEATMAP_ARRAYS} of {len(order)} arrays (the most diverging "
            "first); every entry is in the table."
        )
    for index in sorted(order[:HEATMAP_ARRAYS]):
        matrix_view(result.matrices[index], source, scenario, mode, key_prefix)

    st.subheader("All parameters", anchor=False)
    chart(
        source.scatter(),
        f"{key_prefix}scatter",
        scenario,
        "scatter",
        file_name=source.file_name("scatter"),
    )
    st.subheader("Side by side, the seed's way", anchor=False)
    only = st.toggle("Only diverging rows", key="only-diverging", persist_state="session")
    styled_table(result, only)
    noise_note(result)


def matrix_view(m, source: CheckFigures, scenario, mode: str, key_prefix: str = "") -> None:
    """One matrix: shape, relative difference, diverging count, worst entry, heatmaps;
    for a matrix too big to draw cell by cell, a zoom into a region of it."""
    cols = st.columns([1, 1, 1, 2])
    cols[0].metric(m.name, shape_label(m))
    cols[1].metric("Relative difference", f"{m.relative_difference:.3g}")
    cols[2].metric("Diverging", f"{m.n_diverging} / {m.analytic.size}")
    cols[3].markdown(
        f"**Worst entry**  \n{escape_markdown(m.describe_worst().removeprefix(m.name + ' '))}"
        f"  \nrelative error {m.rel_error.max():.2g}"
    )
    chart(
        source.heatmaps(m.index, mode),
        f"{key_prefix}heatmap-{m.name}",
        scenario,
        m.name,
        file_name=source.file_name(m.name),
    )
    if m.analytic.size > MAX_HEATMAP_CELLS and len(m.shape) == 2:
        with st.expander(f"Zoom into a region of {m.name}"):
            rows = st.slider(
                "Rows", 0, m.shape[0], (0, min(m.shape[0], 50)), key=f"zoom-rows-{m.name}"
            )
            cols = st.slider(
                "Columns", 0, m.shape[1], (0, min(m.shape[1], 50)), key=f"zoom-cols-{m.name}"
            )
            if rows[1] > rows[0] and cols[1] > cols[0]:
                region = (rows[0], rows[1], cols[0], cols[1])
                chart(
                    source.heatmaps(m.index, mode, region),
                    f"{key_prefix}zoom-{m.name}",
                    scenario,
                    f"{m.name}-zoom",
                    file_name=source.file_name(f"{m.name}-zoom"),
                )
