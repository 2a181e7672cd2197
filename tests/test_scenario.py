import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings

from engine.bugs.catalogue import SEED_BUGS
from engine.scenario.settings import SEED_SCENARIO, Scenario
from tests import strategies

scenarios = strategies.scenarios()


@settings(max_examples=100)
@given(scenarios)
def test_scenario_round_trips_through_a_plain_dict(scenario):
    assert Scenario.from_dict(scenario.to_dict()) == scenario


def test_the_default_scenario_is_the_seeds_network():
    s = Scenario()
    assert (s.layer_sizes, s.m, s.lamb, s.eps) == ((3, 5, 3), 5, 1.0, 1e-4)
    assert SEED_SCENARIO.bugs == SEED_BUGS


def test_bugs_are_normalised_to_catalogue_order():
    s = Scenario.create(bugs=["numgrad-skips-first", "sigmoid-sign-flip"])
    assert s.bugs == ("sigmoid-sign-flip", "numgrad-skips-first")


@pytest.mark.parametrize(
    "settings_, word",
    [
        (dict(m=0), "m"),
        (dict(m=2.5), "m"),
        (dict(seed=-1), "seed"),
        (dict(eps=0), "eps"),
        (dict(threshold=-1), "threshold"),
        (dict(threshold=float("nan")), "threshold"),
        (dict(layer_sizes=(4,)), "layer_sizes"),
        (dict(bugs=["x"]), "bugs"),
        (dict(colour="red"), "colour"),
    ],
)
def test_invalid_settings_raise_value_error_naming_them(settings_, word):
    with pytest.raises(ValueError, match=word):
        Scenario.create(**settings_)


def test_running_a_scenario_twice_gives_identical_numbers():
    a, b = SEED_SCENARIO.run(), SEED_SCENARIO.run()
    np.testing.assert_array_equal(a.analytic, b.analytic)
    np.testing.assert_array_equal(a.numerical, b.numerical)


def test_engine_imports_no_streamlit():
    code = "import sys, engine, cli.main; sys.exit('streamlit' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0
