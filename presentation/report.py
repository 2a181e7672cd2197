"""One self-contained HTML file for a check: the thing to attach to a chat, an issue, a forum.

Everything is inside the file (plotly.js embedded once, ~4.7 MB), so it opens offline
in any browser. Every piece of text from outside (scenario values, findings) is
escaped; nothing is rendered as raw HTML except the figures Plotly builds.
"""

from __future__ import annotations

import datetime as _dt
import html
import operator
import os
import re

import plotly.io as pio

from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.scenario.settings import Scenario
from presentation import figures

FULL_TABLE_LIMIT = 20_000

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2rem auto;
       max-width: 1200px; color: #222; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .muted { color: #666; font-size: 0.9rem; }
.status { display: inline-block; padding: 0.2rem 0.7rem; border-radius: 1rem; font-weight: 600; }
.pass { background: #e3f6e8; color: #1b7f3b; } .warn { background: #fff2dc; color: #a35c00; }
.fail { background: #fde4e4; color: #b42318; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-size: 0.85rem; }
th, td { border: 1px solid #ddd; padding: 0.25rem 0.5rem; text-align: right; }
th { background: #f5f5f5; } td.text { text-align: left; }
tr.diverges td { background: #fbe0e0; } tr.kink td { background: #fff0dd; }
.finding { border: 1px solid #ddd; border-radius: 0.5rem; padding: 0.6rem 1rem; margin: 0.6rem 0; }
.evidence { color: #555; font-size: 0.85rem; } code { background: #f3f3f3; padding: 0 0.2rem; }
.cause { font-size: 0.85rem; margin-top: 0.3rem; }
.badge { display: inline-block; padding: 0 0.5rem; border-radius: 0.6rem; background: #ece6fb;
         color: #5b3ba8; font-weight: 600; }
.excerpt { background: #f6f6f6; padding: 0.4rem 0.6rem; margin: 0.2rem 0 0; overflow-x: auto;
           font-size: 0.85rem; }
"""

# What each cause id of the diagnosis (engine.diagnosis.finding.CAUSES) means, in plain
# words for someone debugging their own code: shown next to the id by the app and the report.
CAUSE_WORDS = {
    "sign": "an array, or a block of it, has the wrong sign: exactly negated",
    "scale": "off by a constant factor: 1/m, mean versus sum, a 2 from a squared loss, "
    "the batch size",
    "regularization": "the penalty differs between cost and gradient: missing, extra, "
    "a wrong factor, or the bias regularised",
    "layout": "the right numbers in the wrong places: transposed, unrolled in the wrong "
    "order, a wrong slice or an off-by-one shift",
    "zeroed": "entries are zero where the derivative is not",
    "backward-chain": "the backward pass goes wrong at one step: the arrays below it "
    "disagree, those above agree",
    "loss-mismatch": "the gradient is of a different function than the one the cost computes",
    "checker": "the numerical side is what is wrong: your own gradient checker",
    "precision": "round-off of the dtype, not a bug",
    "kink": "a non-differentiable point (ReLU, max, hinge) within the step, not a bug",
    "unknown": "no single explanation fits: the arrays (and lines) named are where to look",
}


def report_filename(scenario: Scenario, extension: str = "html") -> str:
    """E.g. gradscope-3-5-3-m5-seed0-sigmoid-sign-flip+numgrad-skips-first.html."""
    bugs = "+".join(scenario.bugs) or "correct"
    name = f"gradscope-{'-'.join(map(str, scenario.layer_sizes))}-m{scenario.m}-seed{scenario.seed}"
    name += f"-{scenario.activation}" if scenario.activation != "sigmoid" else ""
    return re.sub(r"[^A-Za-z0-9+._-]", "_", f"{name}-{bugs}")[:180] + f".{extension}"


def describe_model(result: CheckResult) -> str:
    """The user's model in one line: its arrays, parameter count and dtype."""
    return (
        f"{result.layout.describe_arrays()}; {result.layout.n_params:,} parameters, {result.dtype}"
    )


def build_report(
    scenario: Scenario | None,
    result: CheckResult,
    findings: list[Finding],
    share_link: str | None = None,
    extra_figures: dict | None = None,
    subject: str | None = None,
    source: str | None = None,
    source_name: str | None = None,
    run_link: str | None = None,
) -> str:
    """The whole report as one HTML string.

    `scenario` is the built-in network's settings; for the user's own code pass None
    (and optionally `subject`, e.g. the file checked): the report then describes the
    user's arrays (names, shapes, parameter count, dtype) instead. With the user's
    `source` (the text of the file `source_name` the findings' lines are in), each finding
    with lines quotes them, and the whole file closes the report: a pasted-code check is
    shown with its code. `run_link` is the saved run's link, when it was saved.
    """
    e = html.escape
    about = scenario.describe() if scenario is not None else (subject or describe_model(result))
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>GradScope report: {e(about)}</title>",
        f"<style>{STYLE}</style></head><body>",
        "<h1>GradScope report</h1>",
        f"<p class='muted'>{e(about)}; generated "
        f"{_dt.datetime.now(_dt.timezone.utc):%Y-%m-%d %H:%M} UTC</p>",
        _status(result),
    ]
    if scenario is not None:
        parts += ["<h2>Scenario</h2>", _scenario_table(scenario)]
    else:
        parts += ["<h2>Model</h2>", _model_table(result)]
    if share_link:
        parts.append(
            f"<p>Share link: <a href='{e(share_link, quote=True)}'>{e(share_link)}</a></p>"
        )
    if run_link:
        parts.append(f"<p>Saved run: <a href='{e(run_link, quote=True)}'>{e(run_link)}</a></p>")
    heading = "Per weight matrix" if result.layout.founding else "Per array"
    parts += [f"<h2>{heading}</h2>", _matrix_table(result)]
    parts += [f"<p class='muted'>{e(result.noise.explain())}</p>"]
    parts += ["<h2>Diagnosis</h2>"] + [
        _finding(i, f, source, source_name) for i, f in enumerate(findings, 1)
    ]
    parts.append("<h2>Figures</h2>")
    charts = [figures.matrix_heatmaps(m) for m in result.matrices]
    charts.append(figures.gradient_scatter(result))
    charts += list((extra_figures or {}).values())
    for index, fig in enumerate(charts):
        parts.append(
            pio.to_html(
                fig, include_plotlyjs=index == 0, full_html=False, config={"displaylogo": False}
            )
        )
    parts += ["<h2>Every parameter</h2>", _parameter_table(result)]
    if source:
        parts += [f"<h2>The code{': ' + e(source_name) if source_name else ''}</h2>"]
        parts.append(f"<pre class='excerpt'>{e(numbered(source))}</pre>")
    parts.append("</body></html>")
    return "\n".join(parts)


def numbered(source: str) -> str:
    """The file with its line numbers, as the findings name them."""
    lines = _split_lines(source)
    width = len(str(len(lines)))
    return "\n".join(f"{n:>{width}} | {line}" for n, line in enumerate(lines, 1))


def _status(result: CheckResult) -> str:
    return (
        f"<p><span class='status {result.status}'>{result.status.upper()}</span> "
        f"relative difference ||n-a||/||n+a|| = <b>{result.relative_difference:.6g}</b>; "
        f"{result.n_diverging} of {result.layout.n_params} entries diverge; worst: "
        f"{html.escape(result.describe_worst())}</p>"
    )


def _scenario_table(scenario: Scenario) -> str:
    rows = {
        "layer sizes": "-".join(map(str, scenario.layer_sizes)),
        "examples m": scenario.m,
        "seed": scenario.seed,
        "lambda": f"{scenario.lamb:g}",
        "eps": f"{scenario.eps:g}",
        "hidden activation": scenario.activation,
        "threshold": "auto" if scenario.threshold is None else f"{scenario.threshold:g}",
        "bugs switched on": ", ".join(scenario.bugs) or "none",
    }
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td class='text'>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{body}</table>"


def _model_table(result: CheckResult) -> str:
    rows = {
        "arrays": result.layout.describe_arrays(),
        "parameters": f"{result.layout.n_params:,}",
        "dtype": result.dtype,
        "eps": f"{result.eps:g}",
        "differences": result.method,
        "threshold": f"{result.threshold:g}",
    }
    body = "".join(
        f"<tr><th>{html.escape(k)}</th><td class='text'>{html.escape(str(v))}</td></tr>"
        for k, v in rows.items()
    )
    return f"<table>{body}</table>"


def _matrix_table(result: CheckResult) -> str:
    head = (
        f"<tr><th>{'matrix' if result.layout.founding else 'array'}</th><th>shape</th>"
        "<th>relative difference</th><th>diverging</th><th>worst entry</th></tr>"
    )
    body = "".join(
        f"<tr><td class='text'>{html.escape(m.name)}</td><td>{html.escape(m.shape_text)}</td>"
        f"<td>{m.relative_difference:.3g}</td><td>{m.n_diverging} / {m.analytic.size}</td>"
        f"<td class='text'>{html.escape(m.describe_worst())}</td></tr>"
        for m in result.matrices
    )
    return f"<table>{head}{body}</table>"


def source_lines(source: str, lines) -> list[int]:
    """The `lines` (1-based) that exist in `source`, in their order, each once."""
    count = len(_split_lines(source))
    shown: list[int] = []
    for line in lines:
        try:
            number = operator.index(line)  # ints, NumPy's too; never a float or a text
        except TypeError:
            continue
        if 1 <= number <= count and number not in shown:
            shown.append(number)
    return shown


def source_excerpt(source: str, lines) -> str:
    """Those `lines` of the user's `source`, most likely first, each after its number:
    '  57 | dhidden[dhidden <= 0] = 0', without the indentation they all share. Lines
    outside the source are skipped; '' when none is left."""
    shown = source_lines(source, lines)
    if not shown:
        return ""
    text = _split_lines(source)
    quoted = {line: text[line - 1].rstrip() for line in shown}
    margins = [q[: len(q) - len(q.lstrip())] for q in quoted.values() if q.strip()]
    shared = len(os.path.commonprefix(margins)) if margins else 0
    width = max(4, len(str(max(shown))))
    return "\n".join(f"{line:>{width}} | {quoted[line][shared:]}" for line in shown)


def excerpt_title(shown: list[int], source_name: str | None = None) -> str:
    """'Look at lines 57, 52, 60 of model.py' ('of your file' without a name)."""
    where = source_name or "your file"
    numbers = ", ".join(map(str, shown))
    return f"Look at line{'s' * (len(shown) != 1)} {numbers} of {where}"


def _split_lines(source: str) -> list[str]:
    """The source's lines as Python numbers them (\\n, \\r\\n or \\r end a line; a form
    feed does not, unlike str.splitlines)."""
    lines = re.split(r"\r\n|\r|\n", source)
    return lines[:-1] if lines[-1] == "" else lines  # "" has none, "a\\n" one


def _finding(
    rank: int, finding: Finding, source: str | None = None, source_name: str | None = None
) -> str:
    e = html.escape
    tag = f" <code>{e(finding.bug_id)}</code>" if finding.bug_id else ""
    parts = [
        f"<div class='finding'><b>{rank}.</b>{tag} {e(finding.message)}",
        f"<div class='evidence'>Evidence: {e(finding.evidence)}</div>",
    ]
    if finding.cause is not None:
        gloss = CAUSE_WORDS.get(finding.cause, "")
        arrays = (
            f"; arrays: {', '.join(f'<code>{e(a)}</code>' for a in finding.arrays)}"
            if finding.arrays
            else ""
        )
        parts.append(
            f"<div class='cause'><span class='badge'>cause: {e(finding.cause)}</span> "
            f"{e(gloss)}{arrays}</div>"
        )
    shown = source_lines(source, finding.lines) if source and finding.lines else []
    if shown:
        parts.append(
            f"<div class='cause'>{e(excerpt_title(shown, source_name))}:</div>"
            f"<pre class='excerpt'>{e(source_excerpt(source, shown))}</pre>"
        )
    elif finding.lines:
        parts.append(f"<div class='cause'>lines: {', '.join(map(str, finding.lines))}</div>")
    parts.append("</div>")
    return "".join(parts)


def _parameter_table(result: CheckResult) -> str:
    table = result.table()
    note = ""
    if len(table) > FULL_TABLE_LIMIT:
        table = table[table["diverges"] | table["kink"]]
        note = (
            f"<p class='muted'>{result.layout.n_params:,} parameters: only the "
            f"{len(table):,} diverging or kinked rows are listed.</p>"
        )
    if not result.layout.founding:
        return note + _arrays_parameter_table(table)
    columns = [
        "matrix",
        "row",
        "column",
        "row unit",
        "column unit",
        "analytic",
        "numerical",
        "abs diff",
        "rel error",
        "diverges",
    ]
    head = "<tr><th>index</th>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr>"
    rows = []
    for index, r in zip(table.index, table.to_dict("records")):
        css = "diverges" if r["diverges"] else ("kink" if r["kink"] else "")
        rows.append(
            f"<tr class='{css}'><td>{index}</td><td class='text'>{r['matrix']}</td>"
            f"<td>{r['row']}</td><td>{r['column']}</td>"
            f"<td class='text'>{html.escape(r['row unit'])}</td>"
            f"<td class='text'>{html.escape(r['column unit'])}</td>"
            f"<td>{r['analytic']:.6g}</td><td>{r['numerical']:.6g}</td>"
            f"<td>{r['abs diff']:.2e}</td><td>{r['rel error']:.2e}</td>"
            f"<td>{'yes' if r['diverges'] else ''}</td></tr>"
        )
    return note + f"<table>{head}{''.join(rows)}</table>"


def _arrays_parameter_table(table) -> str:
    """The user's arrays: each entry by its name, e.g. W1[2, 3]."""
    columns = ["entry", "analytic", "numerical", "abs diff", "rel error", "diverges"]
    head = "<tr><th>index</th>" + "".join(f"<th>{c}</th>" for c in columns) + "</tr>"
    rows = []
    for index, r in zip(table.index, table.to_dict("records")):
        css = "diverges" if r["diverges"] else ("kink" if r["kink"] else "")
        rows.append(
            f"<tr class='{css}'><td>{index}</td><td class='text'>{html.escape(r['entry'])}</td>"
            f"<td>{r['analytic']:.6g}</td><td>{r['numerical']:.6g}</td>"
            f"<td>{r['abs diff']:.2e}</td><td>{r['rel error']:.2e}</td>"
            f"<td>{'yes' if r['diverges'] else ''}</td></tr>"
        )
    return f"<table>{head}{''.join(rows)}</table>"
