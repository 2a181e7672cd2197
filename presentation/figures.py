"""Plotly figures from engine results: no Streamlit here, so notebooks and reports share them.

Colour conventions, used by every figure: one qualitative colour per parameter array;
diverging entries always in DIVERGING_COLOUR with an 'x' marker, kinks in KINK_COLOUR.

Arrays of any ndim: a founding Theta matrix or the user's 2-D array is drawn in its own
orientation, a 1-D array (a bias) as one row, a 0-D scalar as one cell, and 3-D/4-D
arrays (conv kernels, RNN tensors) as a grid of 2-D slices over their last two axes,
one row of panels per leading index (at most MAX_SLICES, noted when capped).
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from engine.gradcheck.compare import CheckResult, MatrixComparison

MATRIX_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22")
DIVERGING_COLOUR = "#d62728"
KINK_COLOUR = "#ff7f0e"
WEBGL_ABOVE = 5000  # points; SVG scatters get slow beyond a few thousand
MAX_SCATTER_POINTS = 20_000  # agreeing points drawn; diverging ones are always all drawn


def matrix_colour(index: int) -> str:
    return MATRIX_COLOURS[index % len(MATRIX_COLOURS)]


MAX_HEATMAP_CELLS = 40_000  # per panel; larger matrices are shown in blocks
MAX_MARKERS = 2_000  # 'x' marks per panel; beyond that the difference panel tells
MAX_SLICES = 12  # 2-D slices drawn of a 3-D or 4-D array; diverging ones first


@dataclass(frozen=True, eq=False)
class Panel:
    """A 2-D view of one array or of one slice of it: what a heatmap draws."""

    name: str  # 'b1', or 'K[1, 0]' for a slice
    analytic: np.ndarray
    numerical: np.ndarray
    rel_error: np.ndarray
    diverging: np.ndarray
    row_labels: list
    column_labels: list
    shape_text: str  # of the array it shows: '(10,)', '()', '3x2'

    @property
    def shape(self) -> tuple[int, int]:
        return self.analytic.shape

    @property
    def n_diverging(self) -> int:
        return int(self.diverging.sum())

    @property
    def relative_difference(self) -> float:
        from engine.gradcheck.compare import norm_relative_difference

        return norm_relative_difference(self.analytic, self.numerical)


def _flat_panel(m: MatrixComparison) -> Panel:
    """A 1-D array as one row, a 0-D one as one cell."""

    def row(a):
        return np.asarray(a).reshape(1, -1)

    return Panel(
        m.name,
        row(m.analytic),
        row(m.numerical),
        row(m.rel_error),
        row(m.diverging),
        m.row_labels,
        m.column_labels,
        m.shape_text,
    )


def array_slices(m: MatrixComparison) -> list[Panel]:
    """Every 2-D slice over the last two axes of a 3-D+ array, in index order."""
    lead = m.shape[:-2]
    rows, cols = m.shape[-2:]
    row_labels = [f"row {r}" for r in range(rows)]
    column_labels = [f"column {c}" for c in range(cols)]
    panels = []
    for where in np.ndindex(*lead):
        panels.append(
            Panel(
                f"{m.name}[{', '.join(map(str, where))}]",
                *(np.asarray(v)[where] for v in (m.analytic, m.numerical, m.rel_error)),
                np.asarray(m.diverging)[where],
                row_labels,
                column_labels,
                f"{rows}x{cols}",
            )
        )
    return panels


def shown_slices(panels: list[Panel], max_slices: int = MAX_SLICES) -> tuple[list[Panel], str]:
    """At most `max_slices` slices, diverging ones first (worst first), shown in index
    order, with a note saying what was left out (or '')."""
    if len(panels) <= max_slices:
        return panels, ""
    order = sorted(
        range(len(panels)),
        key=lambda i: (-panels[i].n_diverging, -float(np.max(panels[i].rel_error)), i),
    )
    keep = sorted(order[:max_slices])
    n_bad = sum(p.n_diverging > 0 for p in panels)
    which = (
        "every diverging one first"
        if n_bad <= max_slices
        else f"the {max_slices} with most diverging entries, of {n_bad} diverging"
    )
    return [panels[i] for i in keep], f"showing {max_slices} of {len(panels)} slices ({which})"


@dataclass(frozen=True, eq=False)
class HeatmapGrid:
    """What a heatmap shows of a matrix: every entry, or each block's worst entry."""

    analytic: np.ndarray
    numerical: np.ndarray
    rel_error: np.ndarray
    diverging: np.ndarray
    row_labels: list
    column_labels: list
    block: tuple[int, int]
    region: tuple[int, int, int, int]  # row start, row stop, column start, column stop

    @property
    def note(self) -> str | None:
        if self.block == (1, 1):
            return None
        return (
            f"each cell is the worst entry (largest relative error) of a "
            f"{self.block[0]}x{self.block[1]} block"
        )


def heatmap_grid(
    m: MatrixComparison,
    max_cells: int = MAX_HEATMAP_CELLS,
    region: tuple[int, int, int, int] | None = None,
) -> HeatmapGrid:
    """The matrix (or a region of it), reduced to at most `max_cells` cells.

    Blocks keep their worst entry, not an average: a single wrong entry in a
    million stays visible, and a block is marked diverging if any entry in it is.
    """
    r0, r1, c0, c1 = region or (0, m.shape[0], 0, m.shape[1])
    parts = [np.asarray(v, float)[r0:r1, c0:c1] for v in (m.analytic, m.numerical, m.rel_error)]
    diverging = m.diverging[r0:r1, c0:c1]
    rows, cols = diverging.shape
    br = min(rows, int(np.ceil(np.sqrt(rows * cols / max_cells))))
    bc = int(np.ceil(cols / max(1, max_cells // -(-rows // br))))
    row_labels, column_labels = m.row_labels[r0:r1], m.column_labels[c0:c1]
    if (br, bc) == (1, 1):
        return HeatmapGrid(*parts, diverging, row_labels, column_labels, (1, 1), (r0, r1, c0, c1))
    R, C = -(-rows // br), -(-cols // bc)

    def blocks(a, fill):
        padded = np.full((R * br, C * bc), fill, dtype=a.dtype)
        padded[:rows, :cols] = a
        return padded.reshape(R, br, C, bc).transpose(0, 2, 1, 3).reshape(R, C, br * bc)

    worst = np.argmax(blocks(parts[2], -1.0), axis=2)[..., None]
    picked = [np.take_along_axis(blocks(a, np.nan), worst, axis=2)[..., 0] for a in parts]
    any_diverging = blocks(diverging, False).any(axis=2)
    return HeatmapGrid(
        *picked,
        any_diverging,
        [_span(row_labels[i * br : (i + 1) * br]) for i in range(R)],
        [_span(column_labels[j * bc : (j + 1) * bc]) for j in range(C)],
        (br, bc),
        (r0, r1, c0, c1),
    )


def _span(labels: list) -> str:
    """'hidden 0'..'hidden 9' -> 'hidden 0-9'."""
    first, last = labels[0], labels[-1]
    if first == last:
        return first
    head, _, a = first.rpartition(" ")
    tail_head, _, b = last.rpartition(" ")
    return f"{head} {a}–{b}" if head == tail_head and head else f"{first}–{last}"


@functools.lru_cache(maxsize=4)
def _heatmap_skeleton(extra_title: str) -> dict:
    """make_subplots' layout for three side-by-side panels, built once (it is slow)."""
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("analytic", "numerical", extra_title),
        horizontal_spacing=0.1,
        shared_yaxes=True,
    )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-45)
    layout = fig.to_dict()["layout"]
    layout.pop("template", None)  # the default template: plotly adds it back, cheaply
    return layout


def matrix_heatmaps(
    m: MatrixComparison,
    third: str = "difference",
    region: tuple[int, int, int, int] | None = None,
    max_cells: int = MAX_HEATMAP_CELLS,
) -> go.Figure:
    """Analytic, numerical and their difference (or log10 relative error), side by side.

    Rows and columns are labelled by unit; diverging cells carry a red 'x'. Matrices
    larger than `max_cells` are shown in blocks (each block's worst entry, noted in the
    title); `region` zooms into rows r0:r1 and columns c0:c1. The figure is built as one
    dict and validated once: plotly's update_* calls cost ~3x more per figure.

    The user's arrays: 2-D in their own orientation, 1-D as one row, 0-D as one cell,
    3-D and 4-D as a grid of 2-D slices (see `slice_heatmaps`; no `region` there).
    """
    if len(m.shape) > 2:
        return slice_heatmaps(m, third, max_cells)
    if len(m.shape) < 2:
        m = _flat_panel(m)
    grid = heatmap_grid(m, max_cells, region)
    analytic, numerical = grid.analytic, grid.numerical
    if third == "log_rel_error":
        extra = np.log10(np.maximum(grid.rel_error, 1e-17))
        extra_title, extra_scale, extra_mid = "log10 relative error", "Viridis", None
    else:
        extra, extra_title = analytic - numerical, "analytic - numerical"
        extra_scale, extra_mid = "RdBu_r", 0.0
    x, y = grid.column_labels, grid.row_labels
    limit = float(max(np.nanmax(np.abs(analytic)), np.nanmax(np.abs(numerical)), 1e-300))
    hover = (
        "%{y}, %{x}<br>analytic %{customdata[0]:.6g}<br>numerical %{customdata[1]:.6g}"
        "<br>relative error %{customdata[2]:.2e}<extra></extra>"
    )
    custom = np.stack([analytic, numerical, grid.rel_error], -1)
    rows, cols = np.nonzero(grid.diverging)
    marked = rows.size <= MAX_MARKERS
    data = []
    # one shared colour bar for analytic and numerical (in the gap after panel 2)
    for col, (z, scale, mid, bar_x) in enumerate(
        [
            (analytic, "RdBu_r", 0.0, None),
            (numerical, "RdBu_r", 0.0, 0.635),
            (extra, extra_scale, extra_mid, 1.01),
        ],
        start=1,
    ):
        axes = dict(xaxis=f"x{col}" if col > 1 else "x", yaxis=f"y{col}" if col > 1 else "y")
        bounds = dict(zmin=-limit, zmax=limit) if col < 3 else dict(zmid=mid)
        colorbar = dict(xanchor="left", len=0.9, thickness=10)
        if bar_x is not None:
            colorbar["x"] = bar_x
        data.append(
            dict(
                type="heatmap",
                z=z,
                x=x,
                y=y,
                colorscale=scale,
                customdata=custom,
                hovertemplate=hover,
                colorbar=colorbar,
                showscale=bar_x is not None,
                **{k: v for k, v in bounds.items() if v is not None},
                **axes,
            )
        )
        if rows.size and marked:
            data.append(_divergence_marks(x, y, rows, cols, 12, axes))
    r0, r1, c0, c1 = grid.region
    where = "" if (r1 - r0, c1 - c0) == m.shape else f", rows {r0}-{r1 - 1}, columns {c0}-{c1 - 1}"
    notes = [
        n for n in (grid.note, None if marked else f"{rows.size} diverging cells, not marked") if n
    ]
    layout = copy.deepcopy(_heatmap_skeleton(extra_title))
    layout.update(
        title=dict(
            text=f"{_named_shape(m.name, m.shape_text, where)}: {m.n_diverging} of "
            f"{m.analytic.size} entries diverge (marked x), relative difference "
            f"{m.relative_difference:.3g}" + (f"<br><sub>{'; '.join(notes)}</sub>" if notes else "")
        ),
        height=min(900, max(260, 80 + 22 * len(y))),
        margin=dict(l=10, r=10, t=110 if notes else 70, b=10),
    )
    return go.Figure(dict(data=data, layout=layout))


def _named_shape(name: str, shape_text: str, where: str = "") -> str:
    """'Theta1 (5x4)', 'b1 (10,)', 'K (2, 3, 2, 2)', 's (scalar)', zoom region appended."""
    if shape_text == "()":
        return f"{name} (scalar{where})"
    if shape_text.startswith("("):
        return f"{name} {shape_text}{where}"
    return f"{name} ({shape_text}{where})"


def _third(grid: HeatmapGrid, third: str):
    """The third panel's values, title, colour scale and midpoint."""
    if third == "log_rel_error":
        extra = np.log10(np.maximum(grid.rel_error, 1e-17))
        return extra, "log10 relative error", "Viridis", None
    return grid.analytic - grid.numerical, "analytic - numerical", "RdBu_r", 0.0


def slice_heatmaps(
    m: MatrixComparison,
    third: str = "difference",
    max_cells: int = MAX_HEATMAP_CELLS,
    max_slices: int = MAX_SLICES,
) -> go.Figure:
    """A 3-D or 4-D array as a grid: one row per 2-D slice over its last two axes
    (K[i] for 3-D, K[i, j] for 4-D), columns analytic, numerical and the third panel.

    One colour scale per column, shared by every slice, so slices compare at a glance;
    at most `max_slices` rows (diverging slices first), noted in the title.
    """
    panels, cap_note = shown_slices(array_slices(m), max_slices)
    n = len(panels)
    grids = [heatmap_grid(p, max(1, max_cells // n)) for p in panels]
    thirds = [_third(g, third) for g in grids]
    extra_title, extra_scale, extra_mid = thirds[0][1:]
    fig = make_subplots(
        rows=n,
        cols=3,
        subplot_titles=("analytic", "numerical", extra_title) + ("",) * (3 * (n - 1)),
        horizontal_spacing=0.1,
        vertical_spacing=min(0.3 / n, 0.08),
        row_titles=[p.name for p in panels],
    )
    layout = fig.to_dict()["layout"]
    layout.pop("template", None)
    limit = float(
        max(max(np.nanmax(np.abs(g.analytic)), np.nanmax(np.abs(g.numerical))) for g in grids)
    )
    limit = max(limit, 1e-300)
    extra_limit = max(float(np.nanmax(np.abs(t[0]))) for t in thirds) or 1.0
    data, unmarked = [], 0
    for r, (panel, grid, (extra, *_)) in enumerate(zip(panels, grids, thirds)):
        hover = (
            f"{panel.name} %{{y}}, %{{x}}<br>analytic %{{customdata[0]:.6g}}<br>numerical "
            "%{customdata[1]:.6g}<br>relative error %{customdata[2]:.2e}<extra></extra>"
        )
        x, y = grid.column_labels, grid.row_labels
        custom = np.stack([grid.analytic, grid.numerical, grid.rel_error], -1)
        rows, cols = np.nonzero(grid.diverging)
        marked = rows.size <= MAX_MARKERS // n
        unmarked += 0 if marked else rows.size
        for c, (z, scale, bar_x) in enumerate(
            [
                (grid.analytic, "RdBu_r", None),
                (grid.numerical, "RdBu_r", 0.635),
                (extra, extra_scale, 1.01),
            ],
            start=1,
        ):
            number = 3 * r + c
            axes = dict(
                xaxis="x" if number == 1 else f"x{number}",
                yaxis="y" if number == 1 else f"y{number}",
            )
            if c < 3:
                bounds = dict(zmin=-limit, zmax=limit)
            elif extra_mid is None:
                bounds = {}
            else:
                bounds = dict(zmin=-extra_limit, zmax=extra_limit)
            data.append(
                dict(
                    type="heatmap",
                    z=z,
                    x=x,
                    y=y,
                    colorscale=scale,
                    customdata=custom,
                    hovertemplate=hover,
                    colorbar=dict(xanchor="left", len=0.9, thickness=10, x=bar_x or 0),
                    showscale=r == 0 and bar_x is not None,
                    **bounds,
                    **axes,
                )
            )
            if rows.size and marked:
                data.append(_divergence_marks(x, y, rows, cols, 10, axes))
    for key, value in list(layout.items()):
        if key.startswith("yaxis"):
            number = int(key[5:] or 1)
            value.update(autorange="reversed", type="category", showticklabels=number % 3 == 1)
        elif key.startswith("xaxis"):
            value.update(type="category", tickangle=-45)
    rows, cols = grids[0].diverging.shape
    lead = ", ".join("ijklmn"[: len(m.shape) - 2])
    notes = [
        f"one row per {rows}x{cols} slice {m.name}[{lead}]",
        cap_note,
        grids[0].note or "",
        f"{unmarked} diverging cells, not marked" if unmarked else "",
    ]
    layout.update(
        title=dict(
            text=f"{_named_shape(m.name, m.shape_text)}: {m.n_diverging} of "
            f"{m.analytic.size} entries diverge (marked x), relative difference "
            f"{m.relative_difference:.3g}"
            f"<br><sub>{'; '.join(n for n in notes if n)}</sub>"
        ),
        height=min(2400, 110 + n * max(120, 40 + 18 * rows)),
        margin=dict(l=10, r=60, t=110, b=10),
    )
    return go.Figure(dict(data=data, layout=layout))


def gradient_scatter(result: CheckResult) -> go.Figure:
    """Analytic vs numerical for every parameter, y = x for reference, diverging in red.

    One trace per matrix for the agreeing entries, one for ReLU kinks, and one,
    'diverges (N)', holding exactly the diverging entries. Hover says where each
    point lives; WebGL takes over above WEBGL_ABOVE points. Built as one dict and
    validated once (see matrix_heatmaps).
    """
    table = result.table()
    kind = "scattergl" if len(table) > WEBGL_ABOVE else "scatter"
    hover = (
        "%{text}<br>analytic %{x:.6g}<br>numerical %{y:.6g}"
        "<br>relative error %{customdata:.2e}<extra></extra>"
    )

    founding = result.layout.founding
    array = "matrix" if founding else "array"

    def points(part: pd.DataFrame) -> dict:
        # one hover string per point: far cheaper for plotly to copy than object columns
        if not founding:
            where = part["entry"]
            return dict(
                type=kind,
                x=part["analytic"].to_numpy(),
                y=part["numerical"].to_numpy(),
                text=where.to_numpy(),
                customdata=part["rel error"].to_numpy(),
                hovertemplate=hover,
                mode="markers",
            )
        where = (
            part["matrix"]
            + " row "
            + part["row"].astype(str)
            + " ("
            + part["row unit"]
            + "), column "
            + part["column"].astype(str)
            + " ("
            + part["column unit"]
            + ")"
        )
        return dict(
            type=kind,
            x=part["analytic"].to_numpy(),
            y=part["numerical"].to_numpy(),
            text=where.to_numpy(),
            customdata=part["rel error"].to_numpy(),
            hovertemplate=hover,
            mode="markers",
        )

    kinked = table["kink"] & result.beyond_noise & ~table["diverges"]
    calm = table[~table["diverges"] & ~kinked]
    sampled = len(calm) > MAX_SCATTER_POINTS
    if sampled:  # every diverging point stays; agreeing ones are sampled
        keep = np.random.default_rng(0).choice(len(calm), MAX_SCATTER_POINTS, replace=False)
        calm = calm.iloc[np.sort(keep)]
    lo = float(min(table["analytic"].min(), table["numerical"].min(), 0))
    hi = float(max(table["analytic"].max(), table["numerical"].max(), 0))
    pad = 0.05 * (hi - lo or 1.0)
    data = [
        dict(
            type="scatter",
            x=[lo - pad, hi + pad],
            y=[lo - pad, hi + pad],
            mode="lines",
            name="y = x",
            line=dict(color="grey", dash="dash", width=1),
            hoverinfo="skip",
        )
    ]
    for k, name in enumerate(result.layout.names):
        data.append(
            dict(
                name=name,
                marker=dict(color=matrix_colour(k), size=6, opacity=0.8),
                **points(calm[calm[array] == name]),
            )
        )
    if kinked.any():
        data.append(
            dict(
                name=f"ReLU kink ({int(kinked.sum())})",
                marker=dict(color=KINK_COLOUR, size=9, symbol="diamond-open"),
                **points(table[kinked]),
            )
        )
    bad = table[table["diverges"]]
    data.append(
        dict(
            name=f"diverges ({len(bad)})",
            marker=dict(
                color=DIVERGING_COLOUR,
                size=11,
                symbol="x",
                line=dict(width=1, color=DIVERGING_COLOUR),
            ),
            **points(bad),
        )
    )
    title = (
        f"Analytic vs numerical, all {len(table):,} parameters "
        f"({result.n_diverging:,} diverge)"
        + (
            f"<br><sub>agreeing points: a random {MAX_SCATTER_POINTS:,} of them shown; every "
            "diverging point is shown</sub>"
            if sampled
            else ""
        )
    )
    layout = dict(
        title=dict(text=title),
        xaxis=dict(title=dict(text="analytic (backprop)")),
        yaxis=dict(
            title=dict(text="numerical (finite differences)"), scaleanchor="x", scaleratio=1
        ),
        height=480,
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return go.Figure(dict(data=data, layout=layout))


EPSILON_STYLES = {
    "central, float64": ("#1f77b4", "solid", 2),
    "forward, float64": ("#2ca02c", "dash", 2),
    "central, float32": ("#9467bd", "solid", 2),
    "forward, float32": ("#8c564b", "dash", 2),
    "your check": (DIVERGING_COLOUR, "solid", 4),
}


def epsilon_curves(sweep: pd.DataFrame, current_eps: float) -> go.Figure:
    """Relative difference against eps, log-log, one curve per sweep curve, best eps starred."""
    fig = go.Figure()
    for name, part in sweep.groupby("curve", sort=False):
        colour, dash, width = EPSILON_STYLES.get(name, ("black", "solid", 2))
        values = part["relative_difference"].clip(lower=1e-17)
        fig.add_trace(
            go.Scatter(
                x=part["eps"],
                y=values,
                mode="lines+markers",
                name=name,
                line=dict(color=colour, dash=dash, width=width),
                legendgroup=name,
                hovertemplate=f"{name}<br>eps %{{x:.0e}}<br>relative difference %{{y:.2e}}"
                "<extra></extra>",
            )
        )
        best = part.loc[part["relative_difference"].idxmin()]
        fig.add_trace(
            go.Scatter(
                x=[best["eps"]],
                y=[max(best["relative_difference"], 1e-17)],
                mode="markers",
                marker=dict(symbol="star", size=14, color=colour),
                showlegend=False,
                legendgroup=name,
                hovertemplate=f"best for {name}: eps %{{x:.0e}}, %{{y:.2e}}<extra></extra>",
            )
        )
    fig.add_vline(
        x=current_eps,
        line=dict(color="red", dash="dot"),
        annotation_text=f"current eps = {current_eps:.0e}",
    )
    fig.update_xaxes(
        type="log",
        title="eps (finite-difference step)",
        autorange="reversed",
        exponentformat="power",
    )
    fig.update_yaxes(
        type="log", title="relative difference ||n-a|| / ||n+a||", exponentformat="power"
    )
    fig.update_layout(
        height=480,
        title="Truncation (large eps) versus round-off (small eps)",
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return fig


def training_curves(runs: dict) -> go.Figure:
    """Cost per iteration for each named run (e.g. 'with bugs' and 'fixed')."""
    fig = go.Figure()
    for k, (name, costs) in enumerate(runs.items()):
        fig.add_trace(
            go.Scatter(
                x=np.arange(len(costs)),
                y=costs,
                mode="lines",
                name=name,
                line=dict(color=DIVERGING_COLOUR if k == 0 and len(runs) > 1 else matrix_colour(k)),
            )
        )
    fig.update_layout(
        xaxis_title="iteration",
        yaxis_title="cost J(theta)",
        height=420,
        title="Training cost per iteration",
        margin=dict(l=10, r=10, t=60, b=10),
    )
    return fig


def _divergence_marks(x, y, rows, cols, size: int, axes: dict) -> dict:
    """An x over each diverging cell of a heatmap (`rows`, `cols`: its indices)."""
    return dict(
        type="scatter",
        x=[x[c] for c in cols],
        y=[y[r] for r in rows],
        mode="markers",
        marker=dict(
            symbol="x-thin",
            size=size,
            color=DIVERGING_COLOUR,
            line=dict(width=2, color=DIVERGING_COLOUR),
        ),
        name="diverges",
        showlegend=False,
        hoverinfo="skip",
        **axes,
    )


def error_change_heatmap(
    m: MatrixComparison, change: np.ndarray, max_cells: int = MAX_HEATMAP_CELLS
) -> go.Figure:
    """How one array's per-entry relative error moved between two runs: log10 after minus
    before, so -8 is "a hundred million times closer" and 0 is "unchanged".

    `m` is the array in the later run (its name and unit labels); `change` has its shape.
    A 1-D array is one row, a 0-D one a cell, 3-D and more are stacked into rows (one per
    leading index). Arrays beyond `max_cells` are shown in blocks, each block keeping its
    largest move either way, so one entry that changed in a million stays visible.
    """
    change = np.asarray(change, dtype=float)
    if change.ndim == 2:
        grid, rows, columns = change, list(m.row_labels), list(m.column_labels)
    elif change.ndim < 2:  # labelled as the gradient heatmaps label it (`_flat_panel`)
        grid, rows, columns = change.reshape(1, -1), list(m.row_labels), list(m.column_labels)
    else:
        grid = change.reshape(-1, change.shape[-1])
        rows = [f"[{', '.join(map(str, i))}]" for i in np.ndindex(*change.shape[:-1])]
        columns = [f"{i}" for i in range(change.shape[-1])]
    note = ""
    n_rows, n_cols = grid.shape
    block_rows = min(n_rows, int(np.ceil(np.sqrt(n_rows * n_cols / max_cells))))
    block_cols = int(np.ceil(n_cols / max(1, max_cells // -(-n_rows // block_rows))))
    if (block_rows, block_cols) != (1, 1):
        R, C = -(-n_rows // block_rows), -(-n_cols // block_cols)
        padded = np.full((R * block_rows, C * block_cols), 0.0)
        padded[:n_rows, :n_cols] = grid
        blocks = padded.reshape(R, block_rows, C, block_cols).transpose(0, 2, 1, 3)
        blocks = blocks.reshape(R, C, -1)
        pick = np.argmax(np.abs(blocks), axis=2)[..., None]
        grid = np.take_along_axis(blocks, pick, axis=2)[..., 0]
        rows = [_span(rows[i * block_rows : (i + 1) * block_rows]) for i in range(R)]
        columns = [_span(columns[j * block_cols : (j + 1) * block_cols]) for j in range(C)]
        note = (
            f"<br><sub>each cell is the largest change in a {block_rows}x{block_cols} block</sub>"
        )
    limit = float(max(np.nanmax(np.abs(grid)), 1.0))
    better, worse = int((change < -1).sum()), int((change > 1).sum())
    hover = "%{y}, %{x}<br>log10 relative error change %{z:+.2f}<extra></extra>"
    data = [
        dict(
            type="heatmap",
            z=grid,
            x=columns,
            y=rows,
            colorscale="RdBu_r",
            zmin=-limit,
            zmax=limit,
            hovertemplate=hover,
            colorbar=dict(title=dict(text="log10 change"), thickness=10),
        )
    ]
    layout = dict(
        title=dict(
            text=f"{_named_shape(m.name, m.shape_text)}: relative error change, after vs "
            f"before ({better} entries >10x closer, {worse} >10x further){note}"
        ),
        xaxis=dict(type="category", tickangle=-45),
        yaxis=dict(type="category", autorange="reversed"),
        height=min(900, max(240, 100 + 22 * len(rows))),
        margin=dict(l=10, r=10, t=90 if note else 70, b=10),
    )
    return go.Figure(dict(data=data, layout=layout))
