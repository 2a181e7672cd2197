"""The check as JSON: one shape for the CLI's `--json` and the app's export file.

Both carry the scenario, the result's summary, the findings and the parameter rows,
in that order; they differ only in their envelope. The CLI prints a plain document
with the rows its `--table` choice names; the app's file is a scenario export
(`engine.scenario.codec`) that loads back, with every row up to a size.
"""

from __future__ import annotations

import json

import numpy as np

from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult
from engine.runs.record import Run
from engine.scenario.codec import scenario_to_json
from engine.scenario.settings import Scenario

EXPORT_EVERY_ROW_UP_TO = 50_000  # parameters; a row costs ~320 bytes of JSON


def flagged_rows(result: CheckResult) -> np.ndarray:
    """The diverging and kinked parameters, by index."""
    return np.flatnonzero(result.diverging | result.kinks)


def result_sections(
    result: CheckResult, findings: list[Finding], rows, rows_note: str | None = None
) -> dict:
    """The result's summary, the findings, and the parameter table's `rows` (indices),
    after a note on which rows these are when it is not obvious."""
    sections = {"result": result.summary(), "findings": [f.as_dict() for f in findings]}
    if rows_note is not None:
        sections["parameters_note"] = rows_note
    table = result.table().iloc[rows].reset_index()
    sections["parameters"] = json.loads(table.to_json(orient="records"))
    return sections


def check_document(scenario: Scenario, result: CheckResult, findings: list[Finding], rows) -> dict:
    """What the CLI's `--json` prints: the scenario and the result's sections."""
    return {"scenario": scenario.to_dict(), **result_sections(result, findings, rows)}


def export_file(scenario: Scenario, result: CheckResult, findings: list[Finding]) -> str:
    """The app's JSON export: a scenario export that loads back, with the results.

    Every parameter up to EXPORT_EVERY_ROW_UP_TO; above, the diverging and kinked ones
    (a 1M-parameter export with every row was 326 MB of text built per click).
    """
    rows, note = np.arange(result.layout.n_params), None
    if result.layout.n_params > EXPORT_EVERY_ROW_UP_TO:
        rows = flagged_rows(result)
        note = (
            f"{len(rows):,} of {result.layout.n_params:,} parameters: the diverging and "
            f"kinked ones (every parameter is exported up to {EXPORT_EVERY_ROW_UP_TO:,})"
        )
    return scenario_to_json(scenario, result_sections(result, findings, rows, note))


def run_document(run: Run, link: str) -> dict:
    """A saved run as JSON (the CLI's `runs export`, the Runs page's download): what it
    is and its link, its settings and code, its verdict and findings, the check's data
    (layout, noise floor, threshold) and every array as a list."""
    return {
        "id": run.id,
        "link": link,
        "title": run.title,
        "kind": run.kind,
        "created": run.created.isoformat(),
        "verdict": run.verdict,
        "diverging_arrays": list(run.diverging_arrays),
        "settings": run.settings,
        "code": run.code,
        "other_files": run.other_files,
        "summary": run.summary,
        "findings": run.findings,
        "check": run.check,
        "gradients": {
            "analytic": run.arrays["analytic"].tolist(),
            "numerical": run.arrays["numerical"].tolist(),
        },
        "theta": run.arrays["theta"].tolist(),
        "kinks": run.arrays["kinks"].astype(bool).tolist(),
    }
