"""Chain or loss: what the symmetry of the user's gradient says when nothing simpler does.

`engine.params.symmetry` measures whether the analytic gradient has a symmetric
Jacobian, i.e. is the gradient of *some* function. When no transformation of the
arrays (sign, scale, penalty, layout) explains a disagreement, that tells the two
remaining causes apart:
- symmetric: the backward pass is a consistent gradient, of another function than the
  cost. On the corpus that is as often a chain step differentiating another expression
  (a ReLU mask from the upstream gradient) as a different loss, so the finding says
  both, as `unknown`; the code can then name it (engine/diagnosis/code_patterns.py);
- asymmetric: the gradient of no function at all: a mistake inside the chain of the
  backward pass (a derivative of the wrong quantity, a missing term or upstream
  factor): `backward-chain`.
Scored below every finder that names a transformation, above the bare summary.
"""

from __future__ import annotations

from engine.diagnosis.finding import Finding
from engine.gradcheck.compare import CheckResult

SYMMETRIC_SCORE = 0.45
ASYMMETRIC_SCORE = 0.5


def symmetry_findings(result: CheckResult) -> list[Finding]:
    symmetry = result.symmetry
    if result.agrees or symmetry is None or not symmetry.informative:
        return []
    arrays = tuple(m.name for m in result.matrices if m.n_diverging)
    measured = (
        f"the analytic gradient's Jacobian, probed along {symmetry.directions} random "
        f"directions, has |M - M^T| / |M| = {symmetry.asymmetry:.1e} (round-off alone: "
        f"{symmetry.noise:.0e}; |M| = {symmetry.magnitude:.2g})"
    )
    if symmetry.symmetric:  # two causes fit: named only with more evidence (the code's)
        return [
            Finding(
                message=(
                    "Your gradient is consistently the gradient of some function, only not "
                    "of your cost: either the backward pass follows a different loss than "
                    "the cost computes (another loss's output delta, labels recoded "
                    "differently, a normalisation it does not follow), or one of its steps "
                    "differentiates a different expression (a mask or an activation taken "
                    "from the wrong array). No simpler transformation explains it."
                ),
                evidence=f"{measured}: symmetric, as a true gradient's is",
                score=SYMMETRIC_SCORE,
                cause="unknown",
                arrays=arrays,
            )
        ]
    if symmetry.asymmetric:
        return [
            Finding(
                message=(
                    "Your gradient is not the gradient of any function: a step inside the "
                    "backward chain is wrong (a derivative taken of the wrong quantity, a "
                    "missing or extra factor, a mask or cache from the wrong array, a term "
                    "not carried to the next step), not just a factor on the result."
                ),
                evidence=f"{measured}: a true gradient's is symmetric",
                score=ASYMMETRIC_SCORE,
                cause="backward-chain",
                arrays=arrays,
            )
        ]
    return []
