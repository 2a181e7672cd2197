import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.bugs.catalogue import BUGS
from engine.scenario.codec import (
    MAX_BUGS_LENGTH,
    MAX_EXPORT_BYTES,
    recorded_relative_difference,
    scenario_from_json,
    scenario_from_params,
    scenario_to_json,
    scenario_to_params,
)
from engine.scenario.settings import Scenario
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


def test_an_integer_too_large_for_a_float_in_a_file_falls_back_with_a_notice():
    text = json.dumps({"format": "gradscope-scenario", "version": 1, "scenario": {"m": 10**400}})
    scenario, notices, _ = scenario_from_json(text)
    assert scenario.m == Scenario().m and "is not a valid number" in notices[0]


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


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000 + "]" * 100_000, '{"format": "gradscope-scenario", "x": ' + "{" * 50_000],
)
def test_deeply_nested_json_is_a_clear_value_error(text):
    with pytest.raises(ValueError, match="nested too deeply|not valid JSON"):
        scenario_from_json(text)


def test_a_scenario_value_nested_hundreds_deep_falls_back_with_a_notice():
    depth = 800
    text = '{"format": "gradscope-scenario", "scenario": {"m": %s}}' % ("[" * depth + "]" * depth)
    scenario, notices, _ = scenario_from_json(text)
    assert scenario.m == Scenario().m and "is not a valid number" in notices[0]


def test_a_number_with_thousands_of_digits_is_not_valid_json():
    with pytest.raises(ValueError, match="not valid JSON"):
        scenario_from_json('{"format": "gradscope-scenario", "n": ' + "1" * 5000 + "}")


def test_files_above_the_export_bound_are_refused_before_parsing():
    text = " " * MAX_EXPORT_BYTES + scenario_to_json(Scenario())
    with pytest.raises(ValueError, match="larger than 8 MB.*share link"):
        scenario_from_json(text)


@pytest.mark.parametrize("result", [[1, 2], "fail", {"relative_difference": "1"}, None, True])
def test_a_result_section_of_any_other_shape_records_no_relative_difference(result):
    text = json.dumps({"format": "gradscope-scenario", "scenario": {}, "result": result})
    _, _, document = scenario_from_json(text)
    assert recorded_relative_difference(document) is None


def test_the_recorded_relative_difference_is_read_from_the_result_section():
    text = scenario_to_json(Scenario(), {"result": {"relative_difference": 6.6}})
    assert recorded_relative_difference(json.loads(text)) == 6.6


def test_thousands_of_unknown_fields_make_a_one_line_notice():
    fields = {f"field{i}": i for i in range(10_000)}
    text = json.dumps({"format": "gradscope-scenario", "scenario": fields})
    _, notices, _ = scenario_from_json(text)
    assert len(notices) == 1 and "and 9995 more" in notices[0] and len(notices[0]) < 200


def test_a_link_listing_every_bug_twice_with_spaces_keeps_them_all():
    scenario, notices = scenario_from_params({"bugs": ", ".join(list(BUGS) * 2)})
    assert scenario.bugs == tuple(BUGS) and notices == []


def test_a_bug_list_beyond_the_bound_is_cut_at_a_comma_and_says_what_was_dropped():
    ids = list(BUGS) * 3
    value = ",".join(ids)
    assert len(value) > MAX_BUGS_LENGTH
    scenario, notices = scenario_from_params({"bugs": value})
    kept = len(value[:MAX_BUGS_LENGTH].split(",")) - 1  # whole ids before the bound
    assert scenario.bugs == tuple(BUGS)
    assert notices == [
        f"The link's bug list is longer than {MAX_BUGS_LENGTH} characters; "
        f"{len(ids) - kept} item(s) after it were ignored: "
        + ", ".join(repr(i) for i in ids[kept : kept + 5])
        + f" and {len(ids) - kept - 5} more."
    ]


def test_other_link_values_beyond_the_bound_are_cut_with_a_notice():
    _, notices = scenario_from_params({"sizes": "3-" * 200 + "3"})
    assert any("'sizes' is longer than 300 characters" in n for n in notices)
