"""One conclusion of the diagnosis, shared by its two levels and everything that shows it.

Every finding about a disagreement names its `cause`, one id of CAUSES, so scripts and
CI can act on it, and the `arrays` (the user's names) it concerns; `lines` are the lines
of the user's file to look at, most likely first (empty when GradScope cannot tell).
Findings that are not about a disagreement (the gradients agree, a degenerate check
point) have no cause.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.bugs.catalogue import BUGS

CAUSES = (
    "sign",  # an array or a block exactly negated
    "scale",  # a constant factor: 1/m, mean versus sum, 2 from a squared loss
    "regularization",  # the penalty differs between cost and gradient
    "layout",  # transposed, unrolled in the wrong order, permuted or shifted entries
    "zeroed",  # entries zero where the derivative is not
    "backward-chain",  # an error inside the backward pass: arrays below a point disagree
    "loss-mismatch",  # the gradient is of a different function than the cost
    "checker",  # the numerical side is wrong (a checker the user brings)
    "precision",  # round-off of the dtype: not a bug
    "kink",  # non-differentiable points: not a bug
    "unknown",  # no hypothesis explains the difference: the localisation only
)


@dataclass(frozen=True)
class Finding:
    """One conclusion: `message` says it in words, `evidence` gives the numbers."""

    message: str
    evidence: str
    bug_id: str | None = None
    score: float = 0.0
    kind: str = "pattern"  # reproduction | pattern | noise | agreement | summary
    cause: str | None = None  # one of CAUSES; None for agreement and degenerate points
    arrays: tuple[str, ...] = ()  # the user's names of the arrays it concerns
    lines: tuple[int, ...] = ()  # the user's lines to look at, most likely first (<= 5)

    @property
    def bug_title(self) -> str | None:
        return BUGS[self.bug_id].title if self.bug_id else None

    def as_dict(self) -> dict:
        return {
            "message": self.message,
            "evidence": self.evidence,
            "bug_id": self.bug_id,
            "score": round(self.score, 3),
            "kind": self.kind,
            "cause": self.cause,
            "arrays": list(self.arrays),
            "lines": list(self.lines),
        }
