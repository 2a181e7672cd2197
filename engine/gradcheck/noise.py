"""How far apart two correct gradients can be: the noise floor of a finite difference.

A finite difference of a correct cost is off by two things:

* round-off: each cost value carries a relative error of a few units of the dtype's
  roundoff u, and the difference divides it by e, so ~ K * u * |J| / e;
* truncation: the Taylor remainder, ~ C * e**2 for central differences and
  ~ C * e for forward ones.

Measured on correct gradients (3-5-3 to 400-25-10, sigmoid and ReLU, e = 1e-6..1e-2):
the worst entry was ~2.3x u*|J|/e from round-off, and ~0.007 e**2 (central) or
~0.135 e (forward; 1/8 is the bound for a sigmoid output unit, whose cross-entropy has
second derivative h(1-h) <= 1/4) from truncation. The constants below keep a margin
of 3.7x to 7x over those worst cases. They assume second derivatives of order one, as
for inputs in [0, 1): scale your inputs, or raise the threshold, if yours are larger.
The penalty lambda/(2m) theta^2 adds exactly lambda/m to the second derivative (and
nothing to the third), so forward differences get lambda/m added to their curvature.

For a black-box loss (a user's own code), the dtype alone can understate its noise: a
loss computed in float32 and summed in float64, a loss with a tolerance inside (an
iterative solver), or large third derivatives. So the loss is also read at a second
step, 2e, for a sample of entries: the two central differences of a correct, smooth
loss differ by their round-off and by 3x the e-step's truncation, so PROBE_FACTOR times
their median difference bounds the noise of the e-step for the whole check (the
median, so that a kink crossed by one sampled step does not widen it). The floor is
the larger of the predicted and the measured one. A bug in the gradient does not move
it: both steps differentiate the same loss.

An entry *diverges* when its absolute difference exceeds this floor AND its relative
error exceeds the relative threshold. So float32 round-off (~1e-3 at e = 1e-4) and
forward-difference truncation (~1e-5) never look like bugs, while a float64 central
check (floor ~1e-10) still sees a bias-only bug of size lambda/m*theta ~ 1e-3.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ROUNDOFF_FACTOR = 10.0
PROBE_FACTOR = 8.0  # measured floor: 8 x the median |D(e) - D(2e)| over the sampled entries
TRUNCATION_FACTOR = {"central": 0.05, "forward": 0.5}
ORDER = {"central": 2, "forward": 1}

# Default relative-error threshold: CS231n's bands say > 1e-2 "probably wrong",
# 1e-4..1e-2 "uncomfortable"; a precise float64 central check can afford the strict end.
DEFAULT_RELATIVE_THRESHOLD = {
    ("float64", "central"): 1e-4,
    ("float64", "forward"): 1e-2,
    ("float32", "central"): 1e-2,
    ("float32", "forward"): 1e-2,
}


def unit_roundoff(dtype) -> float:
    return float(np.finfo(dtype).eps) / 2


@dataclass(frozen=True)
class NoiseFloor:
    """The absolute difference a correct gradient may show, and why."""

    dtype: str
    method: str
    eps: float
    cost_scale: float  # |J(theta)|, at least 1
    penalty_curvature: float = 0.0  # lambda/m when known
    measured: float = 0.0  # from the loss itself (two steps), when measured
    measured_entries: int = 0

    @property
    def roundoff(self) -> float:
        return ROUNDOFF_FACTOR * unit_roundoff(self.dtype) * self.cost_scale / self.eps

    @property
    def truncation(self) -> float:
        curvature = 1.0 + (self.penalty_curvature if self.method == "forward" else 0.0)
        return TRUNCATION_FACTOR[self.method] * curvature * self.eps ** ORDER[self.method]

    @property
    def predicted(self) -> float:
        return self.roundoff + self.truncation

    @property
    def absolute(self) -> float:
        return max(self.predicted, self.measured)

    @property
    def dominant(self) -> str:
        if self.measured > self.predicted:
            return "measured"
        return "round-off" if self.roundoff >= self.truncation else "truncation"

    @property
    def default_threshold(self) -> float:
        return DEFAULT_RELATIVE_THRESHOLD[(self.dtype, self.method)]

    def explain(self) -> str:
        text = (
            f"{self.method} differences in {self.dtype} with e = {self.eps:g}: a correct "
            f"gradient may differ by up to ~{self.absolute:.1e} per entry "
            f"(round-off {self.roundoff:.1e} ~ 10 u |J| / e with u = "
            f"{unit_roundoff(self.dtype):.1e}, |J| = {self.cost_scale:.3g}; truncation "
            f"{self.truncation:.1e} ~ O(e^{ORDER[self.method]})"
        )
        if self.measured_entries:
            text += (
                f"; measured from your loss {self.measured:.1e}: {PROBE_FACTOR:g} x the "
                f"median difference of steps e and 2e over {self.measured_entries} entries"
            )
        return text + (
            f"). The {self.dominant} term dominates; differences below it are noise, not bugs."
        )


def noise_floor(
    dtype,
    method: str,
    eps: float,
    cost_value: float,
    penalty_curvature: float = 0.0,
    measured: tuple[float, int] = (0.0, 0),
) -> NoiseFloor:
    return NoiseFloor(
        dtype=np.dtype(dtype).name,
        method=method,
        eps=float(eps),
        cost_scale=max(1.0, abs(float(cost_value))) if np.isfinite(cost_value) else 1.0,
        penalty_curvature=float(penalty_curvature),
        measured=float(measured[0]),
        measured_entries=int(measured[1]),
    )


def measured_noise(numerical, probe, indices, eps: float, steps) -> tuple[float, int]:
    """(floor, entries): PROBE_FACTOR x the median |D(e) - D(2e)| over the probed
    entries, where D(e) is the check's central difference (`numerical`) and D(2e) comes
    from `probe`, the loss at the entries `indices` moved by `steps` (+2, -2) x e."""
    probe = np.asarray(probe, dtype=np.float64).reshape(len(indices), len(steps))
    if not len(indices):
        return 0.0, 0
    up, down = steps
    wide = (probe[:, 0] - probe[:, 1]) / ((up - down) * float(eps))
    spread = np.abs(np.asarray(numerical, dtype=np.float64)[indices] - wide)
    if not np.all(np.isfinite(spread)):
        return 0.0, 0
    return PROBE_FACTOR * float(np.median(spread)), len(indices)
