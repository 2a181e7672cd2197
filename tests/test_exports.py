"""One JSON shape for the CLI's --json and the app's export file (presentation.exports)."""

import json

import numpy as np

from engine.diagnosis.diagnose import diagnose
from engine.scenario.codec import scenario_from_json
from engine.scenario.settings import Scenario
from presentation.exports import (
    EXPORT_EVERY_ROW_UP_TO,
    check_document,
    export_file,
    flagged_rows,
)


def checked(scenario: Scenario):
    result = scenario.run()
    return scenario, result, diagnose(result)


def test_flagged_rows_are_the_diverging_and_kinked_parameters():
    _, result, _ = checked(Scenario(bugs=("bias-regularized",)))
    rows = flagged_rows(result)
    assert set(rows) == set(np.flatnonzero(result.diverging)) | set(np.flatnonzero(result.kinks))
    assert 0 < len(rows) < result.layout.n_params


def test_the_cli_document_is_the_scenario_then_the_results_with_the_rows_asked_for():
    scenario, result, findings = checked(Scenario(bugs=("sigmoid-sign-flip",)))
    document = check_document(scenario, result, findings, np.array([3, 20]))
    assert list(document) == ["scenario", "result", "findings", "parameters"]
    assert document["scenario"] == scenario.to_dict()
    assert [row["index"] for row in document["parameters"]] == [3, 20]


def test_the_export_file_loads_back_with_every_parameter_and_the_same_sections():
    scenario, result, findings = checked(Scenario(bugs=("sigmoid-sign-flip",)))
    text = export_file(scenario, result, findings)
    restored, notices, document = scenario_from_json(text)
    assert restored == scenario and notices == []
    assert list(document) == ["format", "version", "scenario", "result", "findings", "parameters"]
    every_row = check_document(scenario, result, findings, np.arange(result.layout.n_params))
    assert {k: document[k] for k in ("result", "findings", "parameters")} == json.loads(
        json.dumps({k: every_row[k] for k in ("result", "findings", "parameters")})
    )


def test_an_export_above_the_row_limit_carries_the_flagged_rows_and_says_so():
    scenario, result, findings = checked(
        Scenario(layer_sizes=(300, 200, 10), m=5, bugs=("bias-regularized",))
    )
    assert result.layout.n_params > EXPORT_EVERY_ROW_UP_TO
    document = json.loads(export_file(scenario, result, findings))
    assert [row["index"] for row in document["parameters"]] == list(flagged_rows(result))
    assert "diverging and kinked" in document["parameters_note"]
    assert list(document)[-2:] == ["parameters_note", "parameters"]
