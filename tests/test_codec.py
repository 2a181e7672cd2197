import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.codec import (
    scenario_from_json,
    scenario_from_params,
    scenario_to_json,
    scenario_to_params,
)
from engine.scenario import Scenario
from tests import strategies

scenarios = strategies.scenarios(
    max_units=100_000,
    max_layers=12,
    max_m=100_000,
    max_lamb=1e6,
    min_eps=1e-15,
    max_threshold=1e3,
    max_bugs=5,
)


@settings(max_examples=300)
@given(scenarios)
def test_url_parameters_round_trip_exactly(scenario):
    assert scenario_from_params(scenario_to_params(scenario)) == (scenario, [])


@settings(max_examples=300)
@given(scenarios)
def test_json_round_trips_exactly(scenario):
    restored, notices, _ = scenario_from_json(scenario_to_json(scenario))
    assert (restored, notices) == (scenario, [])


@settings(max_examples=500)
@given(
    st.dictionaries(st.text(max_size=12), st.text(max_size=40) | st.lists(st.text(), max_size=3))
)
def test_any_string_map_gives_a_valid_scenario_or_notices_never_an_exception(params):
    scenario, notices = scenario_from_params(params)
    assert Scenario.create(**scenario.__dict__) == scenario
    assert all(isinstance(n, str) for n in notices)


def test_defaults_are_left_out_of_the_url():
    assert scenario_to_params(Scenario()) == {}
    assert scenario_to_params(Scenario(m=7, bugs=("float32",))) == {"m": "7", "bugs": "float32"}


@pytest.mark.parametrize(
    "params, word",
    [
        ({"m": "0"}, "outside"),
        ({"m": "1e9"}, "outside"),
        ({"eps": "nan"}, "not a valid number"),
        ({"sizes": "3-0-3"}, "at least 1 unit"),
        ({"sizes": "999999999-3"}, "capped"),
        ({"bugs": "<script>alert(1)</script>"}, "Unknown bug"),
        ({"activation": "softmax"}, "unknown"),
        ({"colour": "red"}, "Unknown link parameter"),
    ],
)
def test_hostile_or_out_of_range_values_are_named_in_a_notice(params, word):
    _, notices = scenario_from_params(params)
    assert any(word in n for n in notices)


def test_huge_sizes_are_capped_not_refused():
    scenario, _ = scenario_from_params({"sizes": "999999999-3"})
    assert scenario.layer_sizes == (100_000, 3)


def test_repeated_parameters_take_the_last_value():
    scenario, _ = scenario_from_params({"m": ["3", "9"]})
    assert scenario.m == 9


@pytest.mark.parametrize(
    "text, word",
    [
        (b"\xff\xfe not json", "not valid JSON"),
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a GradScope export"),
        (json.dumps({"format": "something-else"}), "not a GradScope export"),
        (json.dumps({"format": "gradscope-scenario"}), 'no "scenario"'),
    ],
)
def test_corrupt_files_raise_a_clear_value_error(text, word):
    with pytest.raises(ValueError, match=word):
        scenario_from_json(text)


def test_results_travel_with_the_scenario_and_infinities_stay_valid_json():
    text = scenario_to_json(Scenario(), {"result": {"relative_difference": float("inf")}})
    document = json.loads(text)
    assert document["result"]["relative_difference"] == "inf"
