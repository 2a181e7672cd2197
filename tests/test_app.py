"""The app, page by page, through Streamlit's AppTest (no browser)."""

import numpy as np
import pytest

from engine.scenario.settings import Scenario
from tests.app_helpers import PAGES, open_page, plotly_figures, start_app, texts, trace_values
from ui.frame import SETTINGS_KEY, settings_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def toggle_bug(at, bug_id, on=True):
    return at.sidebar.toggle(key=f"bug-{bug_id}").set_value(on).run()


@pytest.mark.parametrize("page", list(PAGES))
def test_every_page_renders_without_exception(page):
    at = open_page(start_app(), page)
    assert not at.exception
    assert not at.error


def test_overview_shows_pass_for_the_correct_scenario():
    at = start_app()
    assert "PASS" in texts(at)


def test_sign_flip_turns_the_status_to_fail():
    at = toggle_bug(start_app(), "sigmoid-sign-flip")
    assert "FAIL" in texts(at)
    assert "sigmoid-sign-flip" in texts(at)


def test_sign_flip_marks_theta2_diverging_while_theta1_passes():
    at = open_page(toggle_bug(start_app(), "sigmoid-sign-flip"), "check")
    metrics = [(m.label, m.value) for m in at.metric]
    diverging = [value for label, value in metrics if label == "Diverging"]
    assert diverging == ["0 / 20", "18 / 18"]


def test_the_scatters_diverging_trace_holds_exactly_the_diverging_parameters():
    at = open_page(toggle_bug(start_app(), "numgrad-skips-first"), "check")
    at = toggle_bug(at, "bias-regularized")
    result = Scenario(bugs=("bias-regularized", "numgrad-skips-first")).run()
    scatter = next(
        f for f in plotly_figures(at) if f["layout"]["title"]["text"].startswith("Analytic vs")
    )
    trace = next(t for t in scatter["data"] if t["name"].startswith("diverges"))
    expected = np.flatnonzero(result.diverging)
    assert trace["name"] == f"diverges ({expected.size})"
    np.testing.assert_array_equal(
        np.sort(trace_values(trace, "x")), np.sort(result.analytic[expected])
    )
    np.testing.assert_array_equal(
        np.sort(trace_values(trace, "y")), np.sort(result.numerical[expected])
    )


def test_heatmaps_are_drawn_per_weight_matrix_with_unit_labels():
    at = open_page(start_app(), "check")
    heatmaps = [f for f in plotly_figures(at) if f["data"][0]["type"] == "heatmap"]
    assert len(heatmaps) == 2
    first = heatmaps[0]["data"][0]
    assert list(first["x"]) == ["bias", "input 0", "input 1", "input 2"]
    assert list(first["y"])[0] == "hidden 0"


def test_settings_survive_page_switches():
    at = toggle_bug(start_app(), "bias-regularized")
    at.sidebar.text_input(key="w-sizes").input("4-6-3").run()
    for page in ["check", "bugs", "epsilon", "training", "overview"]:
        at = open_page(at, page)
        assert at.sidebar.toggle(key="bug-bias-regularized").value is True
        assert at.sidebar.text_input(key="w-sizes").value == "4-6-3"


def test_loading_the_seed_scenario_switches_both_seed_bugs_on():
    at = start_app()
    next(b for b in at.button if b.label == "Load the seed's scenario").click().run()
    assert at.sidebar.toggle(key="bug-sigmoid-sign-flip").value
    assert at.sidebar.toggle(key="bug-numgrad-skips-first").value
    assert "FAIL" in texts(at)


def test_bug_lab_switches_a_bug_on_from_its_card():
    at = open_page(start_app(), "bugs")
    next(b for b in at.button if b.key == "flip-cost-reg-factor").click().run()
    assert at.sidebar.toggle(key="bug-cost-reg-factor").value is True
    assert "cost-reg-factor" in texts(at)


def test_bug_lab_compares_bug_on_and_off_side_by_side():
    at = open_page(start_app(), "bugs")
    at.selectbox(key="compare-bug").select("column-major-unroll").run()
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert len(titles) == 2
    assert "(0 diverge)" in titles[1] and "(0 diverge)" not in titles[0]


def test_epsilon_page_draws_the_four_curves_and_your_check_when_bugs_are_on():
    at = open_page(toggle_bug(start_app(), "sigmoid-sign-flip"), "epsilon")
    names = {t.get("name") for t in plotly_figures(at)[0]["data"]}
    assert {
        "central, float64",
        "forward, float64",
        "central, float32",
        "forward, float32",
        "your check",
    } <= names


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(sizes="3-0-3"), "at least 1"),
        (dict(sizes="three"), "whole numbers"),
        (dict(sizes="7"), "at least two layers"),
        (dict(sizes="3000-3000-10", m=10), "too large"),
    ],
)
def test_bad_settings_get_a_clear_message_and_keep_what_was_typed(changes, message):
    at = start_app()
    at.session_state[SETTINGS_KEY] = {**settings_of(Scenario()), **changes}
    at.run()
    assert not at.exception
    assert message in at.error[0].value
    assert at.sidebar.text_input(key="w-sizes").value == changes["sizes"]


@pytest.mark.parametrize(
    "changes, word",
    [
        (dict(m=0), "m = 0"),
        (dict(m="lots"), "m = 'lots'"),
        (dict(eps=0.0), "eps = 0.0"),
        (dict(eps=2e-5), "nearest"),
        (dict(lamb=float("nan")), "lamb"),
        (dict(activation="softmax"), "softmax"),
        (dict(bugs=["sigmoid-sign-flip", "<script>alert(1)</script>"]), "unknown bug"),
    ],
)
def test_out_of_range_settings_are_adjusted_with_a_visible_notice(changes, word):
    at = start_app()
    at.session_state[SETTINGS_KEY] = {**settings_of(Scenario()), **changes}
    at.run()
    assert not at.exception
    assert "Some settings were adjusted" in at.warning[0].value
    assert word in "\n".join(t.value for t in at.text)
    assert "PASS" in texts(at) or "FAIL" in texts(at)


def test_too_large_checks_show_the_estimate():
    at = start_app()
    at.session_state[SETTINGS_KEY] = {
        **settings_of(Scenario()),
        "sizes": "784-300-10",
        "m": 100_000,
    }
    at.run()
    assert "parameters, about" in at.error[0].value


def test_training_shows_fmin_cgs_own_precision_loss_warning_for_the_seed_bug():
    at = open_page(toggle_bug(start_app(), "sigmoid-sign-flip"), "training")
    at.radio(key="train-data").set_value("generated").run()
    next(b for b in at.button if b.label == "Train").click().run()
    assert not at.exception
    assert "Desired error not necessarily achieved due to precision loss." in texts(at)
    assert len(plotly_figures(at)[0]["data"]) == 2  # buggy run over the fixed run


def test_changing_a_setting_hides_stale_training_runs():
    at = open_page(start_app(), "training")
    at.radio(key="train-data").set_value("generated").run()
    next(b for b in at.button if b.label == "Train").click().run()
    assert plotly_figures(at)
    at = toggle_bug(at, "float32")
    assert not plotly_figures(at)
    assert "Press **Train**" in texts(at)


def test_big_networks_show_the_fast_screen_first_and_the_exact_check_on_demand():
    at = start_app()
    at.session_state[SETTINGS_KEY] = {
        **settings_of(Scenario()),
        "sizes": "700-300-10",
        "bugs": ["bias-regularized"],
    }
    at = open_page(at.run(), "check")
    assert "Fast screen" in texts(at) and "Theta1 bias" in texts(at)
    assert not plotly_figures(at)
    next(b for b in at.button if b.label == "Run the exact check").click().run()
    assert not at.exception
    titles = [f["layout"]["title"]["text"] for f in plotly_figures(at)]
    assert len(titles) == 4  # two heatmaps, a zoom into the aggregated Theta1, the scatter
    assert "worst entry" in titles[0] and "rows 0-49" in titles[1]
    assert "bias-regularized" in texts(at)


def test_the_epsilon_sweep_can_run_on_the_servers_dask_cluster_with_the_same_curves(
    monkeypatch,
):
    from engine.runners.cluster import SCHEDULER_VARIABLE

    monkeypatch.setenv(SCHEDULER_VARIABLE, "local")
    at = open_page(toggle_bug(start_app(), "sigmoid-sign-flip"), "epsilon")
    serial = plotly_figures(at)[0]["data"]
    at.radio(key="eps-dask").set_value("cluster").run()
    assert not at.exception
    spread = plotly_figures(at)[0]["data"]
    assert [t.get("name") for t in spread] == [t.get("name") for t in serial]
    assert [t.get("y") for t in spread] == [t.get("y") for t in serial]
