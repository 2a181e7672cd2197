"""The bug catalogue: every module in `engine/bugs/mistakes/`, in catalogue order.

Each module defines `BUG`, a `Bug` holding everything about one mistake (see
`bug.py`), so adding a bug is adding one file there: the catalogue, the sidebar
groups, the diagnosis and the "Your code" examples all find it here.
Bugs compose: `implementation_with(bugs)` applies them in catalogue order.
Ids are public API (URLs, the CLI, exported files): never rename one.
"""

from __future__ import annotations

import importlib
import pkgutil

from engine.bugs import mistakes
from engine.bugs.bug import Bug
from engine.network.pieces import CORRECT, Implementation

# The groups the sidebar and the Bug lab show the catalogue in, one per place a mistake lives.
WHERE_TITLES = {
    "model": "Model (shared by cost and backprop)",
    "backprop": "Backprop (analytic gradient)",
    "cost": "Cost (numerical gradient)",
    "checker": "Checker (the numerical loop)",
}
WHERE = tuple(WHERE_TITLES)

# The founding story: the question's sigmoid, and the numerical loop both posts share.
SEED_BUGS = ("sigmoid-sign-flip", "numgrad-skips-first")


def discover(package=mistakes) -> dict[str, Bug]:
    """Every `BUG` defined by a module of `package`, by id, in catalogue-number order."""
    found = [
        importlib.import_module(f"{package.__name__}.{module.name}").BUG
        for module in pkgutil.iter_modules(package.__path__)
    ]
    numbers = [bug.number for bug in found]
    if len(set(numbers)) != len(numbers):
        raise ValueError(f"catalogue numbers repeat: {sorted(numbers)}")
    return {bug.id: bug for bug in sorted(found, key=lambda bug: bug.number)}


BUGS: dict[str, Bug] = discover()


def validate_bugs(bugs) -> tuple[str, ...]:
    """Known ids, no repeats, in catalogue order; ValueError names the unknown ones."""
    if isinstance(bugs, str):
        bugs = (bugs,)
    bugs = tuple(bugs)
    unknown = [b for b in bugs if b not in BUGS]
    if unknown:
        raise ValueError(f"bugs: unknown id(s) {unknown}; known ids are {', '.join(BUGS)}")
    return tuple(b for b in BUGS if b in bugs)


def implementation_with(bugs, base: Implementation = CORRECT) -> Implementation:
    """The correct implementation with each named bug swapped in."""
    impl = base
    for bug_id in validate_bugs(bugs):
        impl = BUGS[bug_id].realise(impl)
    return impl


def bugs_where(where: str) -> tuple[str, ...]:
    return tuple(b.id for b in BUGS.values() if b.where == where)
