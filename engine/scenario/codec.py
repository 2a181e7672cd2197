"""The scenario as URL query parameters and as a JSON file, both ways.

Writing is exact: `scenario_from_params(scenario_to_params(s)) == (s, [])`, and the
same for JSON. Reading accepts anything (a hand-edited link, a hostile one, a file
from another version) and always returns a valid scenario: each bad value falls
back to its default, or is clamped, with a notice in plain words saying so.
Notices quote values with repr() and are plain text: never render them as HTML.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

from engine.bugs.catalogue import BUGS
from engine.scenario.clamp import (
    Wording,
    clamped_number,
    finite_number,
    known_activation,
    known_bugs,
)
from engine.scenario.parse import parse_layer_sizes
from engine.scenario.settings import MAX_LAYERS, MAX_UNITS, Scenario

FORMAT = "gradscope-scenario"
VERSION = 1
DEFAULT = Scenario()
PARAM_NAMES = {  # scenario field -> query parameter
    "layer_sizes": "sizes",
    "m": "m",
    "seed": "seed",
    "lamb": "lambda",
    "eps": "eps",
    "activation": "activation",
    "threshold": "threshold",
    "bugs": "bugs",
}
MAX_VALUE_LENGTH = 300
# A bug list fits every catalogue id twice over, spaces after commas included; a longer
# one is cut at a comma, never inside an id, with a notice naming what was dropped.
MAX_BUGS_LENGTH = max(MAX_VALUE_LENGTH, len(", ".join(list(BUGS) * 2)))
# Exports carry every parameter (~320 bytes each): 8 MB holds the export of a scenario
# of about 25,000 parameters. Bigger ones are refused with a message before parsing (the
# share link, or the file's "scenario" section alone, restores the same scenario).
# .streamlit/config.toml's server.maxUploadSize is the same number.
MAX_EXPORT_BYTES = 8 * 1024**2
MAX_LISTED = 5  # items quoted in one notice


def scenario_to_params(scenario: Scenario) -> dict[str, str]:
    """Query parameters for the settings that differ from the defaults."""
    values = {
        "layer_sizes": "-".join(map(str, scenario.layer_sizes)),
        "m": str(scenario.m),
        "seed": str(scenario.seed),
        "lamb": repr(scenario.lamb),
        "eps": repr(scenario.eps),
        "activation": scenario.activation,
        "threshold": "" if scenario.threshold is None else repr(scenario.threshold),
        "bugs": ",".join(scenario.bugs),
    }
    return {
        PARAM_NAMES[field]: text
        for field, text in values.items()
        if getattr(scenario, field) != getattr(DEFAULT, field)
    }


def scenario_from_params(params: Mapping) -> tuple[Scenario, list[str]]:
    """A valid scenario from any mapping of query parameters, and what had to change."""
    notices: list[str] = []
    known = {name: field for field, name in PARAM_NAMES.items()}
    raw = {}
    for name, value in params.items():
        if name not in known:
            notices.append(f"Unknown link parameter {_quote(name)} ignored.")
            continue
        if isinstance(value, (list, tuple)):  # repeated parameter: the last one wins
            value = value[-1] if value else ""
        raw[known[name]] = _bounded_text(name, str(value), notices)
    return _scenario_from_raw(raw, notices), notices


def _bounded_text(name: str, text: str, notices: list[str]) -> str:
    """A link value within its length bound; a bug list is cut between ids, never inside."""
    if name != "bugs":
        if len(text) > MAX_VALUE_LENGTH:
            notices.append(
                f"Link parameter {_quote(name)} is longer than {MAX_VALUE_LENGTH} characters; "
                "only its start was read."
            )
            return text[:MAX_VALUE_LENGTH]
        return text
    if len(text) <= MAX_BUGS_LENGTH:
        return text
    kept = text[: MAX_BUGS_LENGTH + 1]
    kept = kept[: kept.rfind(",")] if "," in kept else ""
    dropped = [item.strip() for item in text[len(kept) :].split(",") if item.strip()]
    notices.append(
        f"The link's bug list is longer than {MAX_BUGS_LENGTH} characters; "
        f"{len(dropped)} item(s) after it were ignored: {_listing(dropped)}."
    )
    return kept


def scenario_to_json(scenario: Scenario, extra: dict | None = None) -> str:
    """The scenario (and optional results) as a JSON document that can be loaded back."""
    document = {"format": FORMAT, "version": VERSION, "scenario": scenario.to_dict()}
    document.update(extra or {})
    return json.dumps(_finite(document), indent=2, allow_nan=False, default=_plain)


def scenario_from_json(text: str | bytes) -> tuple[Scenario, list[str], dict]:
    """(scenario, notices, document) from an exported file.

    Anything that is not a readable GradScope export (too big, not JSON, nested too
    deeply, the wrong shape) raises ValueError with a message in words; a readable one
    with odd values gives notices, as a link would.
    """
    if len(text) > MAX_EXPORT_BYTES:
        raise ValueError(
            f"This file is larger than {MAX_EXPORT_BYTES // 1024**2} MB, the most a restore "
            "reads (the export of a scenario of about 25,000 parameters). The share link "
            'restores the same scenario, and so does the file with only its "format", '
            '"version" and "scenario" sections.'
        )
    try:
        document = json.loads(text)
    except RecursionError:
        raise ValueError("This file is nested too deeply to be a GradScope export.") from None
    except ValueError as error:  # bad JSON or encoding, or a number with too many digits
        raise ValueError(f"This file is not valid JSON ({_quote(error, 200)}).") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ValueError(f'This JSON is not a GradScope export (expected "format": "{FORMAT}").')
    scenario_data = document.get("scenario")
    if not isinstance(scenario_data, dict):
        raise ValueError('This GradScope export has no "scenario" section.')
    notices: list[str] = []
    unknown = set(scenario_data) - set(PARAM_NAMES)
    if unknown:
        notices.append(f"Unknown scenario field(s) ignored: {_listing(sorted(unknown))}.")
    raw = {k: v for k, v in scenario_data.items() if k in PARAM_NAMES}
    try:
        scenario = _scenario_from_raw(raw, notices)
    except RecursionError:  # quoting a value nested almost as deep as Python allows
        raise ValueError("This file is nested too deeply to be a GradScope export.") from None
    return scenario, notices, document


def recorded_relative_difference(document: dict) -> float | None:
    """The relative difference an export says its scenario had, if it says so plainly."""
    result = document.get("result")
    value = result.get("relative_difference") if isinstance(result, dict) else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if math.isfinite(value) else None


# --- field by field ---------------------------------------------------------------


def _scenario_from_raw(raw: dict, notices: list[str]) -> Scenario:
    fields = {
        "layer_sizes": _sizes(raw.get("layer_sizes"), notices),
        **{name: _number(raw, name, notices) for name in ("m", "seed", "lamb", "eps")},
        "activation": _activation(raw.get("activation"), notices),
        "threshold": _threshold(raw.get("threshold"), notices),
        "bugs": _bugs(raw.get("bugs"), notices),
    }
    return Scenario.create(**fields)


def _unset(value) -> bool:
    """An empty link parameter or a null in a file: the setting keeps its default."""
    return value is None or value == ""


def _sizes(value, notices) -> tuple[int, ...]:
    if _unset(value):
        return DEFAULT.layer_sizes
    try:
        sizes = parse_layer_sizes(value)
    except ValueError:
        notices.append(f"Layer sizes {_quote(value)} are not whole numbers; using the default.")
        return DEFAULT.layer_sizes
    if not 2 <= len(sizes) <= MAX_LAYERS or any(s < 1 for s in sizes):
        notices.append(
            f"Layer sizes {_quote(value)} need 2 to {MAX_LAYERS} layers of at least 1 unit; "
            "using the default."
        )
        return DEFAULT.layer_sizes
    clamped = tuple(min(s, MAX_UNITS) for s in sizes)
    if clamped != sizes:
        notices.append(f"Layer sizes capped at {MAX_UNITS} units each.")
    return clamped


def _number(raw: dict, name: str, notices) -> int | float:
    value = raw.get(name)
    return (
        getattr(DEFAULT, name) if _unset(value) else clamped_number(value, name, _WORDING, notices)
    )


def _activation(value, notices) -> str:
    return DEFAULT.activation if _unset(value) else known_activation(value, _WORDING, notices)


def _threshold(value, notices) -> float | None:
    if _unset(value) or value == "auto":
        return None
    number = finite_number(value)
    if number is None or not 0 < number <= 1e3:
        notices.append(f"Threshold {_quote(value)} must be a positive number; using auto.")
        return None
    return number


def _bugs(value, notices) -> tuple[str, ...]:
    if _unset(value):
        return ()
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    return known_bugs([str(i).strip() for i in items if str(i).strip()], _WORDING, notices)


def _quote(value, limit: int = 60) -> str:
    text = str(value)
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _listing(items) -> str:
    """Quoted items, the first few only: a notice stays a line however long the input."""
    items = list(items)
    shown = ", ".join(map(_quote, items[:MAX_LISTED]))
    return shown + (f" and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else "")


_WORDING = Wording(  # a link's or a file's notices: "lambda '-1' is outside 0..1e+06; ..."
    not_a_number="{name} {value} is not a valid number; using {default!r}.",
    not_whole="{name} {value} is not a valid number; using {default!r}.",
    outside="{name} {value} is outside {low:g}..{high:g}; using {kept:g}.",
    unknown_activation="Activation {value} is unknown; using {default}.",
    unknown_bugs="Unknown bug id(s) ignored: {ids}.",
    quote=_quote,
    listing=_listing,
    names={"lamb": "lambda"},
)


def _finite(value):
    """Standard JSON has no inf or NaN: write them as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _plain(value):
    """JSON for numpy scalars and arrays inside `extra`."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")
