"""Plotly figures from engine results: no Streamlit here, so notebooks and reports share them.

Colour conventions, used by every figure: one qualitative colour per weight matrix;
diverging entries always in DIVERGING_COLOUR with an 'x' marker, kinks in KINK_COLOUR.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .compare import CheckResult, MatrixComparison

MATRIX_COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#bcbd22")
DIVERGING_COLOUR = "#d62728"
KINK_COLOUR = "#ff7f0e"
WEBGL_ABOVE = 5000  # points; SVG scatters get slow beyond a few thousand


def matrix_colour(index: int) -> str:
    return MATRIX_COLOURS[index % len(MATRIX_COLOURS)]


def _hover_grid(m: MatrixComparison) -> np.ndarray:
    """Per cell: analytic, numerical, relative error (for hovertemplates)."""
    return np.stack(
        [np.asarray(m.analytic, float), np.asarray(m.numerical, float), m.rel_error], -1
    )


def matrix_heatmaps(m: MatrixComparison, third: str = "difference") -> go.Figure:
    """Analytic, numerical and their difference (or log10 relative error), side by side.

    Rows and columns are labelled by unit; diverging cells carry a red 'x'.
    """
    analytic, numerical = np.asarray(m.analytic, float), np.asarray(m.numerical, float)
    if third == "log_rel_error":
        extra, extra_title = np.log10(np.maximum(m.rel_error, 1e-17)), "log10 relative error"
        extra_scale, extra_mid = "Viridis", None
    else:
        extra, extra_title = analytic - numerical, "analytic - numerical"
        extra_scale, extra_mid = "RdBu_r", 0.0
    x, y = m.column_labels, m.row_labels
    limit = float(max(np.abs(analytic).max(), np.abs(numerical).max(), 1e-300))
    fig = make_subplots(
        rows=1,
        cols=3,
        subplot_titles=("analytic", "numerical", extra_title),
        horizontal_spacing=0.1,
        shared_yaxes=True,
    )
    hover = (
        "%{y}, %{x}<br>analytic %{customdata[0]:.6g}<br>numerical %{customdata[1]:.6g}"
        "<br>relative error %{customdata[2]:.2e}<extra></extra>"
    )
    custom = _hover_grid(m)
    rows, cols = np.nonzero(m.diverging)
    # one shared colour bar for analytic and numerical (in the gap after panel 2)
    for col, (z, scale, mid, bar_x) in enumerate(
        [
            (analytic, "RdBu_r", 0.0, None),
            (numerical, "RdBu_r", 0.0, 0.635),
            (extra, extra_scale, extra_mid, 1.01),
        ],
        start=1,
    ):
        bounds = dict(zmin=-limit, zmax=limit) if col < 3 else dict(zmid=mid)
        fig.add_trace(
            go.Heatmap(
                z=z,
                x=x,
                y=y,
                colorscale=scale,
                customdata=custom,
                hovertemplate=hover,
                colorbar=dict(x=bar_x, xanchor="left", len=0.9, thickness=10),
                showscale=bar_x is not None,
                **{k: v for k, v in bounds.items() if v is not None},
            ),
            row=1,
            col=col,
        )
        if rows.size:
            fig.add_trace(
                go.Scatter(
                    x=[x[c] for c in cols],
                    y=[y[r] for r in rows],
                    mode="markers",
                    marker=dict(
                        symbol="x-thin",
                        size=12,
                        color=DIVERGING_COLOUR,
                        line=dict(width=2, color=DIVERGING_COLOUR),
                    ),
                    name="diverges",
                    showlegend=False,
                    hoverinfo="skip",
                ),
                row=1,
                col=col,
            )
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_xaxes(type="category", tickangle=-45)
    fig.update_layout(
        title=f"{m.name} ({m.shape[0]}x{m.shape[1]}): {m.n_diverging} of {m.analytic.size} "
        f"entries diverge (marked x), relative difference {m.relative_difference:.3g}",
        height=max(260, 80 + 22 * m.shape[0]),
        margin=dict(l=10, r=10, t=70, b=10),
    )
    return fig


def gradient_scatter(result: CheckResult) -> go.Figure:
    """Analytic vs numerical for every parameter, y = x for reference, diverging in red.

    One trace per matrix for the agreeing entries, one for ReLU kinks, and one,
    'diverges (N)', holding exactly the diverging entries. Hover says where each
    point lives; WebGL takes over above WEBGL_ABOVE points.
    """
    table = result.table()
    Scatter = go.Scattergl if len(table) > WEBGL_ABOVE else go.Scatter
    hover = (
        "%{text}<br>analytic %{x:.6g}<br>numerical %{y:.6g}"
        "<br>relative error %{customdata:.2e}<extra></extra>"
    )
    # one string per point: far cheaper for plotly to copy than several object columns
    where = (
        table["matrix"]
        + " row "
        + table["row"].astype(str)
        + " ("
        + table["row unit"]
        + "), column "
        + table["column"].astype(str)
        + " ("
        + table["column unit"]
        + ")"
    )

    def points(part: pd.DataFrame) -> dict:
        return dict(
            x=part["analytic"].to_numpy(),
            y=part["numerical"].to_numpy(),
            text=where[part.index].to_numpy(),
            customdata=part["rel error"].to_numpy(),
            hovertemplate=hover,
            mode="markers",
        )

    kinked = table["kink"] & result.beyond_noise & ~table["diverges"]
    calm = table[~table["diverges"] & ~kinked]
    fig = go.Figure()
    lo = float(min(table["analytic"].min(), table["numerical"].min(), 0))
    hi = float(max(table["analytic"].max(), table["numerical"].max(), 0))
    pad = 0.05 * (hi - lo or 1.0)
    fig.add_trace(
        go.Scatter(
            x=[lo - pad, hi + pad],
            y=[lo - pad, hi + pad],
            mode="lines",
            name="y = x",
            line=dict(color="grey", dash="dash", width=1),
            hoverinfo="skip",
        )
    )
    for k, name in enumerate(result.layout.names):
        fig.add_trace(
            Scatter(
                name=name,
                marker=dict(color=matrix_colour(k), size=6, opacity=0.8),
                **points(calm[calm["matrix"] == name]),
            )
        )
    if kinked.any():
        fig.add_trace(
            Scatter(
                name=f"ReLU kink ({int(kinked.sum())})",
                marker=dict(color=KINK_COLOUR, size=9, symbol="diamond-open"),
                **points(table[kinked]),
            )
        )
    bad = table[table["diverges"]]
    fig.add_trace(
        Scatter(
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
    fig.update_layout(
        title=f"Analytic vs numerical, all {len(table)} parameters ({result.n_diverging} diverge)",
        xaxis_title="analytic (backprop)",
        yaxis_title="numerical (finite differences)",
        height=480,
        margin=dict(l=10, r=10, t=60, b=10),
    )
    fig.update_yaxes(scaleanchor="x", scaleratio=1)
    return fig


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
