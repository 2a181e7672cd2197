import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings

from engine.bugs.catalogue import BUGS, SEED_BUGS
from engine.scenario.clamp import Wording, clamped_number, known_activation, known_bugs
from engine.scenario.parse import parse_layer_sizes, parse_shapes
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


# --- text into values (engine.scenario.parse) ---------------------------------------


@pytest.mark.parametrize(
    "text", ["3-5-3", "3,5,3", "3 5 3", "3, 5, 3", "3 - 5 - 3", "3;5;3", " 3-5-3 ", [3, "5", 3]]
)
def test_layer_sizes_read_the_same_whatever_the_separator(text):
    assert parse_layer_sizes(text) == (3, 5, 3)


def test_a_dash_after_no_digit_is_a_minus_sign_left_for_validation_to_refuse():
    assert parse_layer_sizes("3--5") == (3, -5)


@pytest.mark.parametrize("text", ["three", "3.5-2", "3-x-3", "3/5/3"])
def test_layer_sizes_that_are_not_whole_numbers_raise_value_error(text):
    with pytest.raises(ValueError, match="whole numbers"):
        parse_layer_sizes(text)


def test_shapes_read_rows_by_columns_in_unrolling_order():
    assert parse_shapes("5x4, 3X6") == [(5, 4), (3, 6)]


@pytest.mark.parametrize("text", ["", "  ", "5x4,", "5 by 4"])
def test_missing_or_malformed_shapes_raise_value_error(text):
    with pytest.raises(ValueError, match="5x4,3x6"):
        parse_shapes(text)


# --- outside values brought within bounds (engine.scenario.clamp) -------------------

WORDS = Wording(
    not_a_number="{name}: {value} is no number, {default}",
    not_whole="{name}: {value} is not whole, {default}",
    outside="{name}: {value} outside {low}..{high}, {kept}",
    unknown_activation="activation {value}, {default}",
    unknown_bugs="bugs {ids}",
    quote=repr,
    listing=lambda ids: "+".join(ids),
    names={"lamb": "lambda"},
)


@pytest.mark.parametrize(
    "value, name, kept, notice",
    [
        ("0", "m", 1, "m: '0' outside 1..100000, 1"),
        (1e9, "m", 100_000, "m: 1000000000.0 outside 1..100000, 100000"),
        (-2, "lamb", 0.0, "lambda: -2 outside 0.0..1000000.0, 0.0"),
        ("lots", "m", 5, "m: 'lots' is no number, 5"),
        (float("nan"), "eps", 1e-4, "eps: nan is no number, 0.0001"),
        (2.5, "seed", 0, "seed: 2.5 is not whole, 0"),
    ],
)
def test_a_number_beyond_its_limits_is_clamped_or_defaulted_with_a_notice(
    value, name, kept, notice
):
    notices = []
    assert clamped_number(value, name, WORDS, notices) == kept
    assert notices == [notice]


def test_a_number_within_its_limits_passes_as_the_settings_type_without_a_notice():
    notices = []
    assert clamped_number("7", "m", WORDS, notices) == 7 and notices == []
    assert isinstance(clamped_number(7, "lamb", WORDS, notices), float) and notices == []


def test_an_unknown_activation_falls_back_to_the_default_with_a_notice():
    notices = []
    assert known_activation("relu", WORDS, notices) == "relu" and notices == []
    assert known_activation("softmax", WORDS, notices) == "sigmoid"
    assert notices == ["activation 'softmax', sigmoid"]


def test_unknown_bug_ids_are_named_and_dropped_known_ones_kept_in_catalogue_order():
    first, second = list(BUGS)[:2]
    notices = []
    assert known_bugs([second, "x", first, "y"], WORDS, notices) == (first, second)
    assert notices == ["bugs x+y"]
