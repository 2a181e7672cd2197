"""`gradscope.check_params`: the engine's check of the user's own arrays, as a value that
Jupyter shows inline and that writes the app's report.

Nothing is computed here that the app does not compute: the check is
`engine.params.check.check_params`, the findings `engine.diagnosis.diagnose.diagnose`,
the heatmaps the Your code page's own figure builder, the report the app's and the
CLI's file, the text the CLI's.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engine.diagnosis.diagnose import diagnose
from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.params import check as engine_check
from presentation import figures
from presentation.report import build_report, describe_model
from presentation.text import check_body

HEATMAP_ARRAYS = 24  # as on the Your code page: the most diverging first; all in .result.table()
NO_PARAMETER_ROWS = np.array([], dtype=int)  # the text summary: every row is in .result.table()
STATUS_COLOURS = {  # the report's badges: (background, text)
    "pass": ("#e3f6e8", "#1b7f3b"),
    "warn": ("#fff2dc", "#a35c00"),
    "fail": ("#fde4e4", "#b42318"),
}
CELL = "border:1px solid #ddd;padding:0.2rem 0.5rem;"


@dataclass(frozen=True, eq=False, repr=False)
class NotebookCheck:
    """One check of the user's arrays with its ranked findings (most likely first).

    `subject` says what was checked, in the report's title and the text summary.
    """

    result: CheckResult
    findings: tuple[Finding, ...]
    subject: str

    @property
    def passed(self) -> bool:
        """No entry diverges beyond the noise floor (a float32 check may still warn)."""
        return self.result.agrees

    @property
    def top_finding(self) -> str | None:
        """The most likely explanation, in words."""
        return self.findings[0].message if self.findings else None

    def write_report(self, path: str | Path) -> Path:
        """The self-contained HTML report the app and the CLI write (~4.9 MB, offline);
        returns its absolute path. Missing folders are created."""
        path = Path(path).resolve()
        path.parent.mkdir(parents=True, exist_ok=True)
        report = build_report(None, self.result, list(self.findings), subject=self.subject)
        path.write_text(report, encoding="utf-8")
        return path

    def __str__(self) -> str:
        """The CLI's text: per-array lines, verdict and noise floor, diagnosis."""
        body = check_body(self.result, list(self.findings), NO_PARAMETER_ROWS)
        return "\n".join([f"GradScope check: {self.subject}", *body])

    def __repr__(self) -> str:
        r = self.result
        return (
            f"<NotebookCheck {r.status.upper()}: {r.n_diverging} of {r.layout.n_params} "
            f"entries diverge, relative difference {r.relative_difference:.3g}; {self.subject}>"
        )

    def _repr_pretty_(self, printer, cycle: bool) -> None:
        """IPython's terminal shows the text summary, as Jupyter shows the HTML."""
        printer.text(repr(self) if cycle else str(self))

    def _repr_html_(self) -> str:
        """Jupyter's inline view. plotly.js is embedded once per output (~4.7 MB), so it
        draws offline and in every front end (JupyterLab, VS Code, an exported notebook)."""
        return inline_html(self)


def check_params(
    loss: Callable[[], object],
    params,
    grads=None,
    *,
    subject: str | None = None,
    **options,
) -> NotebookCheck:
    """Check the gradient of `loss()` with respect to the arrays in `params`, diagnosed.

    The arguments are `engine.check_params`'s (see its docstring: `loss` takes no
    arguments and returns the loss or `(loss, grads)`; `params` is an array, a dict,
    list or tuple of arrays, or an object holding them; `**options` are `eps`,
    `dtype`, `threshold`, `segments`, `order`, `set_params`, ...). `subject` names the
    check in the report (default: the arrays, parameter count and dtype).
    """
    result = engine_check.check_params(loss, params, grads, **options)
    findings = tuple(diagnose(result))
    return NotebookCheck(result, findings, subject or describe_model(result))


def check_layer(
    forward: Callable,
    inputs,
    backward: Callable | None = None,
    *,
    subject: str | None = None,
    **options,
) -> NotebookCheck:
    """Check a layer's backward as a vector-Jacobian product, diagnosed: the arguments
    are `engine.check_layer`'s (`forward(*inputs)`; `backward(dout, cache)` for a NumPy
    pair, found by name beside the forward when not given; autograd for torch tensors,
    jax.vjp for JAX functions)."""
    result = engine_check.check_layer(forward, inputs, backward, **options)
    findings = tuple(diagnose(result))
    return NotebookCheck(result, findings, subject or describe_model(result))


def inline_html(check: NotebookCheck) -> str:
    """Verdict, per-array table, findings and one heatmap figure per array. Styles are
    inline: a notebook's output shares the page, so no stylesheet may leak into it."""
    return "\n".join(
        [
            "<div class='gradscope-check'>",
            _verdict(check),
            _array_table(check.result),
            _findings(check.findings),
            *_heatmaps(check.result),
            "</div>",
        ]
    )


def _verdict(check: NotebookCheck) -> str:
    r, e = check.result, html.escape
    background, colour = STATUS_COLOURS[r.status]
    worst = f"; worst: {e(r.describe_worst())}" if not r.agrees else ""
    return (
        f"<p><span style='background:{background};color:{colour};font-weight:600;"
        f"padding:0.1rem 0.6rem;border-radius:1rem'>{r.status.upper()}</span> "
        f"GradScope check: {e(check.subject)}</p>"
        f"<p>relative difference ||n-a||/||n+a|| = <b>{r.relative_difference:.6g}</b>; "
        f"{r.n_diverging} of {r.layout.n_params} entries diverge{worst}</p>"
        f"<p style='color:#666;font-size:0.85em'>{e(r.noise.explain())}</p>"
    )


def _array_table(result: CheckResult) -> str:
    head = "".join(
        f"<th style='{CELL}'>{c}</th>"
        for c in ("array", "shape", "relative difference", "entries diverging")
    )
    rows = []
    for m in result.matrices:
        shade = "background:#fbe0e0;" if not m.agrees else ""
        rows.append(
            f"<tr style='{shade}'><td style='{CELL}text-align:left'>{html.escape(m.name)}</td>"
            f"<td style='{CELL}'>{html.escape(m.shape_text)}</td>"
            f"<td style='{CELL}'>{m.relative_difference:.3g}</td>"
            f"<td style='{CELL}'>{m.n_diverging} / {m.analytic.size}</td></tr>"
        )
    return f"<table style='border-collapse:collapse'><tr>{head}</tr>{''.join(rows)}</table>"


def _findings(findings: tuple[Finding, ...]) -> str:
    items = "".join(
        f"<li>{html.escape(f.message)}<div style='color:#555;font-size:0.85em'>"
        f"evidence: {html.escape(f.evidence)}{_cause(f)}</div></li>"
        for f in findings
    )
    return f"<p><b>Diagnosis</b> (most likely first)</p><ol>{items}</ol>"


def _cause(f: Finding) -> str:
    if f.cause is None:
        return ""
    arrays = f"; arrays: {', '.join(f.arrays)}" if f.arrays else ""
    lines = f"; lines: {', '.join(map(str, f.lines))}" if f.lines else ""
    return html.escape(f"; cause: {f.cause}{arrays}{lines}")


def _heatmaps(result: CheckResult) -> list[str]:
    """The Your code page's heatmaps: the most diverging arrays first, shown in order."""
    order = sorted(range(len(result.matrices)), key=lambda i: -result.matrices[i].n_diverging)
    shown = sorted(order[:HEATMAP_ARRAYS])
    parts = []
    if len(shown) < len(result.matrices):
        parts.append(
            f"<p style='color:#666'>Heatmaps of {len(shown)} of {len(result.matrices)} arrays "
            "(the most diverging); every entry is in .result.table() and the report.</p>"
        )
    for position, index in enumerate(shown):
        figure = figures.matrix_heatmaps(result.matrices[index])
        parts.append(
            figure.to_html(
                full_html=False, include_plotlyjs=position == 0, config={"displaylogo": False}
            )
        )
    return parts
