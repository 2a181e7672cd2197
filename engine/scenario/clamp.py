"""Settings from outside brought within what a scenario allows, with a notice per change.

A link or an exported file (`engine.scenario.codec`) and the app's stored sidebar
settings (`ui/frame.py`) can hold anything: text where a number belongs, numbers out
of range, bug ids from another version. These functions return a value the scenario
accepts and append a notice in plain words for each value they had to change. The
rules are shared; the words are each caller's own (`Wording`), so the sidebar says
"m = 0 is outside 1..100000" and a link "m '0' is outside 1..100000".
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from engine.bugs.catalogue import BUGS
from engine.network.pieces import HIDDEN_ACTIVATIONS
from engine.scenario.settings import LIMITS, Scenario

DEFAULT = Scenario()


@dataclass(frozen=True)
class Wording:
    """A caller's notices, as `str.format` templates.

    The fields a template may use: `name` (the setting, in `names`' words), `value`
    (what was given, through `quote`), `default`, `low`, `high`, `kept` (the value
    used instead) and `ids` (unknown bug ids, through `listing`).
    """

    not_a_number: str
    not_whole: str
    outside: str
    unknown_activation: str
    unknown_bugs: str
    quote: Callable[[object], str]
    listing: Callable[[list], str]
    names: Mapping[str, str] = field(default_factory=dict)

    def name(self, setting: str) -> str:
        return self.names.get(setting, setting)


def finite_number(value) -> float | None:
    """`value` as a finite float, or None when it is not one (an integer too large for a
    float, as a file may hold, is not one either)."""
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def clamped_number(value, setting: str, wording: Wording, notices: list[str]) -> int | float:
    """A number within LIMITS[setting]: clamped into the range when outside it, the
    default when not a number (or not whole for a whole-number setting such as m)."""
    default = getattr(DEFAULT, setting)
    whole = isinstance(default, int)
    words = {"name": wording.name(setting), "value": wording.quote(value), "default": default}
    number = finite_number(value)
    if number is None:
        notices.append(wording.not_a_number.format(**words))
        return default
    if whole and not number.is_integer():
        notices.append(wording.not_whole.format(**words))
        return default
    low, high = LIMITS[setting]
    kept = type(default)(min(max(number, low), high))
    if kept != number:
        notices.append(wording.outside.format(**words, low=low, high=high, kept=kept))
    return kept


def known_activation(value, wording: Wording, notices: list[str]) -> str:
    """`value` if it is a hidden activation GradScope offers, else the default."""
    if value not in HIDDEN_ACTIVATIONS:
        notices.append(
            wording.unknown_activation.format(
                value=wording.quote(value), default=DEFAULT.activation
            )
        )
        return DEFAULT.activation
    return value


def known_bugs(ids: Iterable, wording: Wording, notices: list[str]) -> tuple[str, ...]:
    """The catalogue's bugs among `ids`, in catalogue order; the others are dropped."""
    ids = list(ids)
    unknown = [i for i in ids if i not in BUGS]
    if unknown:
        notices.append(wording.unknown_bugs.format(ids=wording.listing(unknown)))
    return tuple(b for b in BUGS if b in ids)
