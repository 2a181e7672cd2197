"""One conclusion of the diagnosis, shared by its two levels and everything that shows it."""

from __future__ import annotations

from dataclasses import dataclass

from engine.bugs.catalogue import BUGS


@dataclass(frozen=True)
class Finding:
    """One conclusion: `message` says it in words, `evidence` gives the numbers."""

    message: str
    evidence: str
    bug_id: str | None = None
    score: float = 0.0
    kind: str = "pattern"  # reproduction | pattern | noise | agreement | summary

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
        }
