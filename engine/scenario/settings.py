"""The scenario: every setting that changes a check's result, as one small value.

It is what the app caches by, puts in the URL and exports; the CLI builds one
from flags. `Scenario.create` validates and normalises, so two equal scenarios
always mean the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from engine.bugs.catalogue import SEED_BUGS, validate_bugs
from engine.gradcheck.check import check_problem
from engine.gradcheck.compare import CheckResult
from engine.network.layout import validate_layer_sizes
from engine.network.model import (
    Problem,
    make_problem,
    validate_activation,
    validate_eps,
    validate_lambda,
)

# What a scenario may ask for (the app, links and files share these bounds).
LIMITS = {"m": (1, 100_000), "seed": (0, 2**31 - 1), "lamb": (0.0, 1e6), "eps": (1e-15, 0.5)}
MAX_LAYERS = 12
MAX_UNITS = 100_000


@dataclass(frozen=True)
class Scenario:
    layer_sizes: tuple[int, ...] = (3, 5, 3)
    m: int = 5
    seed: int = 0
    lamb: float = 1.0
    eps: float = 1e-4
    activation: str = "sigmoid"
    threshold: float | None = None
    bugs: tuple[str, ...] = ()

    @classmethod
    def create(cls, **settings) -> Scenario:
        """A validated scenario; ValueError names the first bad setting."""
        unknown = set(settings) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown scenario setting(s): {sorted(unknown)}")
        s = replace(cls(), **settings)
        return cls(
            layer_sizes=_bounded_sizes(validate_layer_sizes(s.layer_sizes)),
            m=_within(_whole(s.m, "m", minimum=1), "m"),
            seed=_within(_whole(s.seed, "seed", minimum=0), "seed"),
            lamb=_within(validate_lambda(s.lamb), "lamb"),
            eps=_within(validate_eps(s.eps), "eps"),
            activation=validate_activation(s.activation),
            threshold=None if s.threshold is None else _positive(s.threshold, "threshold"),
            bugs=validate_bugs(s.bugs),
        )

    def problem(self) -> Problem:
        return make_problem(self.layer_sizes, self.m, self.seed, self.lamb, self.activation)

    def run(self, numerical: str = "fast", progress=None) -> CheckResult:
        return check_problem(
            self.problem(), self.bugs, self.eps, self.threshold, numerical, progress
        )

    def with_bugs(self, bugs) -> Scenario:
        return replace(self, bugs=validate_bugs(bugs))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["layer_sizes"] = list(self.layer_sizes)
        data["bugs"] = list(self.bugs)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> Scenario:
        return cls.create(**data)

    def describe(self) -> str:
        sizes = "-".join(map(str, self.layer_sizes))
        return (
            f"layers {sizes}, m = {self.m}, seed {self.seed}, lambda = {self.lamb:g}, "
            f"eps = {self.eps:g}, {self.activation} hidden units"
        )


SEED_SCENARIO = Scenario(bugs=SEED_BUGS)


def _within(value, name: str):
    low, high = LIMITS[name]
    if not low <= value <= high:
        raise ValueError(f"{name} must be between {low} and {high}, got {value!r}")
    return value


def _bounded_sizes(sizes: tuple[int, ...]) -> tuple[int, ...]:
    if len(sizes) > MAX_LAYERS or max(sizes) > MAX_UNITS:
        raise ValueError(
            f"layer_sizes allows at most {MAX_LAYERS} layers of at most {MAX_UNITS} units, "
            f"got {sizes!r}"
        )
    return sizes


def _whole(value, name: str, minimum: int) -> int:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a whole number, got {value!r}") from None
    if isinstance(value, bool) or not number.is_integer() or number < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    return int(number)


def _positive(value, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not number > 0 or number == float("inf"):
        raise ValueError(f"{name} must be > 0 and finite, got {value!r}")
    return number
