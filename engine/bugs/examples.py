"""User-style programs for the "Your code" page, run like pasted code: the seed's question
and answer first, then each catalogue bug's own example, in catalogue order.
"""

from __future__ import annotations

from dataclasses import replace

from engine.bugs.catalogue import BUGS, SEED_BUGS
from engine.bugs.founding import ANSWER, QUESTION, Example

FOUNDING = {
    "seed-question": Example(
        "The seed's question (buggy)",
        "The asker's program: a per-example backprop loop and a sigmoid written "
        "1/(1+np.exp(z)). Expect a sign error in Theta2.",
        QUESTION,
        expected_bug=SEED_BUGS[0],  # its numerical loop is GradScope's, without range(1, n)
    ),
    "seed-answer": Example(
        "The seed's answer (fixed)",
        "The accepted answer: sigmoid fixed, backprop vectorised. With GradScope's own "
        "numerical loop (no range(1, n)), it passes.",
        ANSWER,
    ),
}

EXAMPLES: dict[str, Example] = FOUNDING | {
    key: replace(example, expected_bug=bug.id)
    for bug in BUGS.values()
    if bug.example is not None
    for key, example in [bug.example]
}
