"""The scenario: every setting that changes a check's result, as one small value.

It is what the app caches by, puts in the URL and exports; the CLI builds one
from flags. `Scenario.create` validates and normalises, so two equal scenarios
always mean the same numbers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace

from .bugs import SEED_BUGS, validate_bugs
from .check import check_problem
from .compare import CheckResult
from .layout import validate_layer_sizes
from .network import Problem, make_problem, validate_activation, validate_eps, validate_lambda

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

# Calibrated on the fast numerical paths (2 cores): per evaluation and example, each
# re-evaluated unit costs ~3.5e-8 s (activation, cross-entropy), each multiply-add of
# a re-run layer ~1.5e-9 s. Against the real path: 400-25-10, m = 100 is estimated at
# 0.8 s (took 0.72 s); deeper nets are overestimated up to 2.5x, the safe side.
SECONDS_PER_UNIT = 3.5e-8
SECONDS_PER_MULTIPLY_ADD = 1.5e-9
MAX_SECONDS = 30.0
MAX_BYTES = 2 * 1024**3
MAX_PARAMS = 2_000_000  # what the app's views (tables, figures) are built to show


class WorkTooLarge(ValueError):
    """The scenario is valid but would take too long or too much memory here."""


@dataclass(frozen=True)
class Workload:
    n_params: int
    unit_evaluations: float
    multiply_adds: float
    bytes: float

    @property
    def seconds(self) -> float:
        return (
            self.unit_evaluations * SECONDS_PER_UNIT + self.multiply_adds * SECONDS_PER_MULTIPLY_ADD
        )

    def describe(self) -> str:
        return (
            f"{self.n_params:,} parameters, about {self.seconds:,.1f} s and "
            f"{self.bytes / 1024**2:,.0f} MB for one exact check"
        )


def estimate_workload(scenario: Scenario) -> Workload:
    """What one exact check of `scenario` costs on the numerical path it will take.

    float64 checks interpolate (a few shifted forward passes per unit, then matrix
    products); float32 checks evaluate every perturbed cost ("batched").
    """
    from .numerical import INTERPOLATION_NODES

    sizes = scenario.layer_sizes
    n_matrices = len(sizes) - 1
    batched = "float32" in scenario.bugs
    n_params, units, madds = 0, 0.0, 0.0
    for k in range(n_matrices):
        rows, cols = sizes[k + 1], sizes[k] + 1
        n_params += rows * cols
        # evaluations of the perturbed unit's layers above, per example
        evaluations = (2.0 * cols if batched else INTERPOLATION_NODES) * rows * scenario.m
        if k == n_matrices - 1:
            units += evaluations  # one output unit moves
        else:
            units += evaluations * (1 + sum(sizes[k + 2 :]))
            # a rank-one update of the next layer, then full layers above it
            madds += evaluations * (
                sizes[k + 2]
                + sum(sizes[layer] * sizes[layer + 1] for layer in range(k + 2, n_matrices))
            )
        if not batched:  # the polynomial applied to every column: matrix products
            madds += 0.1 * (INTERPOLATION_NODES - 1) * rows * scenario.m * cols
    activations = scenario.m * sum(s + 1 for s in sizes) * 8 * 4
    return Workload(n_params, units, madds, activations + n_params * 8 * 12 + 64 * 1024**2)


def check_workload(
    scenario: Scenario, max_seconds=MAX_SECONDS, max_bytes=MAX_BYTES, max_params=MAX_PARAMS
) -> Workload:
    """The workload, or WorkTooLarge with the estimate when it exceeds the limits."""
    work = estimate_workload(scenario)
    if work.seconds > max_seconds or work.bytes > max_bytes or work.n_params > max_params:
        raise WorkTooLarge(
            f"{work.describe()}; the limits here are {max_seconds:g} s, "
            f"{max_bytes / 1024**3:g} GB and {max_params:,} parameters. Use fewer examples "
            "or smaller layers."
        )
    return work


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
