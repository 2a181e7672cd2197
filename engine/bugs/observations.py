"""What the diagnosis sees in two gradients, as plain data a bug's detector can read.

The level-1 pattern finders (`engine/diagnosis/patterns.py`) measure these without
knowing any bug; each catalogue bug's `detect` may claim one and write the finding.
An observation no bug claims gets the finders' own, generic words.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from engine.network.layout import Layout


def fmt(x: float) -> str:
    """A number as findings write it: three significant digits."""
    return f"{x:.3g}"


@dataclass(frozen=True)
class CheckerSettings:
    """How the numerical gradient was taken, and how fine that makes the check."""

    dtype: str
    method: str
    agrees: bool
    noise_absolute: float  # a correct gradient may differ by this much per entry
    noise_truncation: float  # the stencil's share of it
    evidence: str  # the largest difference and the noise floor, in words


@dataclass(frozen=True, eq=False)
class ZeroedNumerical:
    """Numerical entries that are exactly 0.0 where the analytic ones are not."""

    indices: np.ndarray  # flat parameter indices, ascending
    explains_all: bool  # they are all the diverging entries
    layout: Layout
    analytic: np.ndarray


@dataclass(frozen=True)
class SignFlip:
    """Matrices whose analytic gradient is exactly minus the numerical one."""

    what: str  # which matrices, whole or bias column only, in words
    in_output_layer: bool
    first_matrix: str
    evidence: str


@dataclass(frozen=True)
class ConstantFactor:
    """Analytic = k * numerical in every diverging matrix's bias column."""

    k: float
    m: int | None  # the number of examples, when the check knows it
    lowest: float  # the smallest and largest ratio analytic / numerical
    highest: float

    @property
    def equals_m(self) -> bool:
        return self.m is not None and abs(self.k - self.m) < 1e-6 * self.m

    @property
    def whole_number(self) -> bool:
        return abs(self.k - round(self.k)) < 1e-6 and round(self.k) >= 2

    @property
    def hint(self) -> str:
        """Whether the factor may be the number of examples, in words (or '')."""
        if self.equals_m:
            return f" (k equals m = {self.m}, the number of examples)"
        if self.whole_number and round(self.k) == 2:
            return " (twice: a term counted two times, or a missing 1/2)"
        if self.whole_number:
            return f" (is {round(self.k)} your number of examples m?)"
        return ""

    @property
    def description(self) -> str:
        """The factor, and whether it may be the number of examples, in words."""
        hint = self.hint
        return (
            f"The analytic gradient is a constant {fmt(self.k)} times the numerical one in "
            f"every bias column{hint}"
        )

    @property
    def evidence(self) -> str:
        return f"bias-column ratios analytic/numerical span {fmt(self.lowest)}..{fmt(self.highest)}"


@dataclass(frozen=True)
class MatrixSeen:
    name: str
    n_diverging: int
    size: int


@dataclass(frozen=True)
class Permutation:
    """Matrices holding the right values in the wrong places."""

    matrices: tuple[MatrixSeen, ...]
    column_major: bool  # the places are those of a column-major unrolling

    @property
    def names(self) -> str:
        return " and ".join(m.name for m in self.matrices)


@dataclass(frozen=True)
class MultipleOfTheta:
    """analytic - numerical = c * theta in the bias columns only, or the weights only."""

    c: float
    in_bias: bool
    lambda_and_m: tuple[float, int] | None

    @property
    def as_lambda_over_m(self) -> str:
        """How c compares with lambda/m, in words for a finding."""
        if self.lambda_and_m is None:
            return " (lambda/m?)"
        lamb, m = self.lambda_and_m
        return f" = lambda/m = {lamb:g}/{m}"


@dataclass(frozen=True)
class HiddenLayersOnly:
    """The hidden layers' matrices diverge while the output layer's agrees."""

    output: str
    diverging: tuple[str, ...]
    sigmoid_hidden: bool  # the hidden units are (or may be) sigmoids
    evidence: str


@dataclass(frozen=True, eq=False)
class ShrunkOutputError:
    """The output layer's bias gradient has the right sign but is smaller than it should be."""

    output: str
    ratios: np.ndarray  # analytic / numerical, in (0, 1), over the usable bias entries


Observation = (
    CheckerSettings
    | ZeroedNumerical
    | SignFlip
    | ConstantFactor
    | Permutation
    | MultipleOfTheta
    | HiddenLayersOnly
    | ShrunkOutputError
)
