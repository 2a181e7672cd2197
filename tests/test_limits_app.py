"""Each page refuses the work it would run, not only the one exact check (AppTest)."""

import pytest

from engine.scenario.settings import Scenario
from tests.app_helpers import open_page, plotly_figures, start_app, texts
from ui.frame import SETTINGS_KEY, settings_of

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def app_with(**changes):
    at = start_app()
    at.session_state[SETTINGS_KEY] = {**settings_of(Scenario()), **changes}
    return at


def test_the_epsilon_page_refuses_a_sweep_beyond_the_limits_with_its_estimate():
    at = open_page(app_with(sizes="1000-990-10", m=100), "epsilon")
    assert not at.exception
    assert "too large to run here" in at.error[0].value
    assert "epsilon sweep" in at.error[0].value and "parameters, about" in at.error[0].value
    assert not plotly_figures(at)


def test_the_gradient_check_page_still_runs_that_scenario():
    at = open_page(app_with(sizes="1000-990-10", m=100), "check")
    assert not at.exception and not at.error
    assert "Fast screen" in texts(at)


def test_the_bug_lab_skips_only_a_comparison_too_large_to_run():
    at = open_page(app_with(sizes="300-300-10", m=500), "bugs")
    assert not at.error and len(plotly_figures(at)) == 2
    at = at.selectbox(key="compare-bug").set_value("float32").run()
    assert not at.exception
    assert "float32 switched on" in at.error[0].value
    assert not plotly_figures(at)
    assert any(b.label == "Switch on" for b in at.button)  # the catalogue is still there


def test_training_refuses_a_run_too_long_before_it_starts():
    at = open_page(app_with(sizes="300-300-10", m=2000), "training")
    at.radio(key="train-data").set_value("generated").run()
    at = at.number_input(key="train-maxiter").set_value(500).run()
    assert not at.exception
    assert "500 fmin_cg iterations" in at.error[0].value
    assert not any(b.label == "Train" for b in at.button)
