"""Links, downloads and restoring exports, through AppTest."""

import json

import pytest

from engine.scenario.codec import scenario_to_json
from engine.scenario.settings import Scenario
from tests.app_helpers import ROOT, open_page, start_app, texts
from ui.frame import SETTINGS_KEY, settings_of
from ui.share import export_document, report_document

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def app_with_link(**params):
    from streamlit.testing.v1 import AppTest

    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    return at.run()


def relative_difference_shown(at) -> str:
    return next(m.value for m in at.metric if m.label == "Relative difference")


def upload(at, name: str, content: bytes):
    """Upload into the sidebar's restore box (a new box after each restore) and rerun."""
    at.sidebar.file_uploader[0].upload(name, content, "application/json")
    return at.run()


def test_a_link_reproduces_the_scenario_and_its_numbers():
    at = app_with_link(sizes="4-6-3", m="9", seed="3", bugs="bias-regularized")
    assert at.sidebar.text_input(key="w-sizes").value == "4-6-3"
    assert at.sidebar.toggle(key="bug-bias-regularized").value
    expected = Scenario.create(layer_sizes=(4, 6, 3), m=9, seed=3, bugs=["bias-regularized"])
    assert relative_difference_shown(at) == f"{expected.run().relative_difference:.3g}"
    assert not at.warning


def test_the_address_bar_follows_the_settings_and_leaves_defaults_out():
    at = start_app()
    assert dict(at.query_params) == {}
    at = at.sidebar.toggle(key="bug-float32").set_value(True).run()
    assert dict(at.query_params) == {"bugs": "float32"}


def test_hostile_link_parameters_get_plain_text_notices_never_markup():
    at = app_with_link(m="-5", bugs="<img src=x onerror=alert(1)>", sizes="**bold**")
    assert not at.exception
    plain = "\n".join(t.value for t in at.text)
    assert "<img src=x onerror=alert(1)>" in plain and "**bold**" in plain
    assert "<img" not in "\n".join(m.value for m in at.markdown)
    assert "PASS" in texts(at)  # the defaults took over


@pytest.mark.parametrize("page", ["overview", "check", "bugs", "epsilon", "training"])
def test_every_page_offers_the_report_and_data_downloads(page):
    at = open_page(start_app(), page)
    labels = [d.label for d in at.get("download_button")]
    assert {"Report (HTML, works offline)", "JSON", "CSV"} <= set(labels)


def test_every_chart_has_an_interactive_html_download():
    at = open_page(start_app(), "check")
    charts = len(at.get("plotly_chart"))
    html_buttons = [d for d in at.get("download_button") if "interactive HTML" in d.label]
    assert charts == len(html_buttons) == 3


def test_uploading_an_export_restores_the_view_and_confirms_the_numbers():
    scenario = Scenario(layer_sizes=(3, 4, 2), m=6, seed=11, bugs=("column-major-unroll",))
    at = upload(start_app(), "view.json", export_document(scenario).encode())
    assert at.sidebar.text_input(key="w-sizes").value == "3-4-2"
    assert at.sidebar.toggle(key="bug-column-major-unroll").value
    assert "the same as in the file" in at.success[0].value


@pytest.mark.parametrize(
    "content, word",
    [
        (b"\x00\x01 not json at all", "not valid JSON"),
        (b'{"format": "something-else"}', "not a GradScope export"),
        (json.dumps({"format": "gradscope-scenario", "scenario": {"m": "lots"}}).encode(), "m"),
        (b"[" * 100_000, "nested too deeply"),
        (b"[1, 2]", "not a GradScope export"),
        (b" " * (8 * 1024**2) + b"{}", "larger than 8 MB"),
    ],
    ids=["binary", "other-format", "bad-value", "deep", "list", "too-big"],
)
def test_a_corrupt_upload_is_explained_and_changes_nothing_it_cannot_read(content, word):
    at = start_app().sidebar.toggle(key="bug-float32").set_value(True).run()
    at = upload(at, "bad.json", content)
    assert not at.exception
    assert word in "\n".join(t.value for t in at.text)
    if word != "m":
        assert at.sidebar.toggle(key="bug-float32").value  # nothing was changed


def test_the_json_export_carries_scenario_results_findings_and_every_parameter():
    scenario = Scenario(bugs=("sigmoid-sign-flip",))
    document = json.loads(export_document(scenario))
    assert document["scenario"] == json.loads(scenario_to_json(scenario))["scenario"]
    assert document["result"]["status"] == "fail"
    assert document["findings"][0]["bug_id"] == "sigmoid-sign-flip"
    assert len(document["parameters"]) == 38


def test_the_report_is_self_contained_and_escapes_what_it_quotes():
    html = report_document(Scenario(bugs=("bias-regularized",)), "http://x/?a=<script>")
    assert len(html) > 3_000_000  # plotly.js is inside
    assert "<script src=" not in html  # no script is fetched from anywhere
    assert "?a=&lt;script&gt;" in html
    assert html.count("plotly-graph-div") == 3


def test_the_epsilon_page_puts_its_curves_into_the_report():
    at = open_page(start_app(), "epsilon")
    extra = at.session_state["page-figures"]
    assert list(extra) == ["epsilon"]
    html = report_document(Scenario(), "http://x/", extra)
    assert html.count("plotly-graph-div") == 4


def test_an_export_whose_result_is_not_a_table_restores_without_a_confirmation():
    document = {"format": "gradscope-scenario", "scenario": {"m": 7}, "result": [1, 2]}
    at = upload(start_app(), "odd.json", json.dumps(document).encode())
    assert not at.exception
    assert at.sidebar.number_input(key="w-m").value == 7
    assert not at.success and not at.warning


def test_a_restore_releases_the_upload_and_offers_a_fresh_box():
    at = start_app()
    first = at.sidebar.file_uploader[0].key
    at = upload(at, "view.json", export_document(Scenario(m=6)).encode())
    assert at.sidebar.file_uploader[0].key != first
    assert at.sidebar.file_uploader[0].value is None
    assert first not in at.session_state


def test_the_restored_files_name_is_shown_literally_never_as_markdown():
    name = "![x](http://127.0.0.1:9/x.png) **bold** <b>b</b>.json"
    at = upload(start_app(), name, export_document(Scenario(m=6)).encode())
    shown = at.success[0].value
    assert "the same as in the file" in shown
    title, block = shown.split("\n\n", 1)
    assert name not in title and block == f"```text\n{name}\n```"


def test_a_name_with_backticks_cannot_close_its_literal_block():
    name = "a```b````c.json"
    at = upload(start_app(), name, export_document(Scenario(m=6)).encode())
    block = at.success[0].value.split("\n\n", 1)[1]
    assert block == f"`````text\n{name}\n`````"


def test_a_scenario_error_quoting_what_was_typed_is_shown_literally():
    at = start_app()
    at.session_state[SETTINGS_KEY] = {
        **settings_of(Scenario()),
        "sizes": "![x](http://127.0.0.1:9/x)",
    }
    at.run()
    title, block = at.error[0].value.split("\n\n", 1)
    assert title == "**Please fix the scenario in the sidebar.**"
    assert block.startswith("```text\n") and "![x](http://127.0.0.1:9/x)" in block


def test_a_restore_drops_the_servers_copy_of_the_file(monkeypatch):
    from streamlit.runtime.memory_uploaded_file_manager import MemoryUploadedFileManager

    dropped = []
    remove = MemoryUploadedFileManager.remove_file

    def spy(self, session_id, file_id):
        dropped.append(file_id)
        return remove(self, session_id=session_id, file_id=file_id)

    monkeypatch.setattr(MemoryUploadedFileManager, "remove_file", spy)
    upload(start_app(), "view.json", export_document(Scenario(m=6)).encode())
    assert len(dropped) == 1


def test_an_export_above_fifty_thousand_parameters_carries_the_diverging_rows_only():
    scenario = Scenario(layer_sizes=(300, 200, 10), m=5, bugs=("bias-regularized",))
    document = json.loads(export_document(scenario))
    result = scenario.run()
    assert len(document["parameters"]) == result.n_diverging + int(result.kinks.sum())
    assert 0 < len(document["parameters"]) < result.layout.n_params
    assert "diverging and kinked" in document["parameters_note"]
