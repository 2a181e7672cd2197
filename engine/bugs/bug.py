"""What a catalogue entry is: one mistake people really make, with all it takes to use it.

A `Bug` says what the mistake is (the buggy and the fixed line, where it lives, the
signature it leaves on the two gradients), carries `realise`, the small function that
swaps the correct piece of an `Implementation` for the buggy one, and `detect`, which
recognises the mistake in what the diagnosis sees (see `observations.py`) and says so
in a `Claim`. Each entry lives in its own module under `engine/bugs/mistakes/`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from engine.bugs.founding import Example
from engine.bugs.observations import Observation
from engine.network.pieces import Implementation

# Which gradient a mistake in each place changes: the model is shared by the cost
# (hence the numerical gradient) and by backprop (the analytic one).
SIDES = {
    "model": ("analytic", "numerical"),
    "backprop": ("analytic",),
    "cost": ("numerical",),
    "checker": ("numerical",),
}


@dataclass(frozen=True)
class Claim:
    """A bug's word on an observation: the finding it makes, in words and numbers."""

    message: str
    evidence: str
    score: float
    kind: str = "pattern"  # pattern | noise


def detects_nothing(seen: Observation) -> Claim | None:
    """For mistakes that leave no pattern of their own: only level 2 can tell them."""
    return None


@dataclass(frozen=True)
class Bug:
    number: int  # the place in the catalogue, which sets its order everywhere
    id: str  # public API (URLs, the CLI, exported files): never rename one
    title: str
    where: str  # the sidebar group: model, backprop, cost or checker
    explanation: str
    buggy_code: str
    fixed_code: str
    signature: str
    realise: Callable[[Implementation], Implementation]
    detect: Callable[[Observation], Claim | None] = detects_nothing
    example: tuple[str, Example] | None = None  # (key, program) for the "Your code" page
    cause: str = "unknown"  # the kind of mistake: one of engine.diagnosis.finding.CAUSES

    @property
    def changes(self) -> tuple[str, ...]:
        """The gradients ('analytic', 'numerical') this mistake alters."""
        return SIDES[self.where]

    def as_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "where": self.where,
            "cause": self.cause,
            "explanation": self.explanation,
            "buggy_code": self.buggy_code,
            "fixed_code": self.fixed_code,
            "signature": self.signature,
        }
