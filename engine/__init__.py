"""GradScope's engine: gradient checks that say which matrix, which entries, which bug.

Pure NumPy/SciPy/pandas: no Streamlit, no Plotly. Usable from notebooks, the CLI
(`python -m engine`), the app and tests.

The public API is `__all__` below, loaded on first use (PEP 562): the sandboxed
child that runs a visitor's code imports `engine.params` and `engine.runners` alone,
not pandas and the whole catalogue. The subpackages are internal, as `jax/_src` is:
`network` (the built-in network and its swappable pieces), `gradcheck` (finite
differences, noise floor, comparison, screen, sweep), `bugs` (the catalogue, one
module per mistake), `diagnosis` (from two gradients to a named mistake), `scenario`
(the settings of a check, their codecs and workload), `params` (the user's own
parameters as they hold them: dicts, lists, objects) and `runners` (user code in a
sandbox, Dask, training).
"""

from __future__ import annotations

import importlib

from engine.memory import reuse_freed_memory

reuse_freed_memory()

_HOMES = {
    "BUGS": "engine.bugs.catalogue",
    "SEED_BUGS": "engine.bugs.catalogue",
    "Bug": "engine.bugs.bug",
    "CheckResult": "engine.gradcheck.compare",
    "Finding": "engine.diagnosis.finding",
    "Layout": "engine.network.layout",
    "MatrixComparison": "engine.gradcheck.compare",
    "NoiseFloor": "engine.gradcheck.noise",
    "Problem": "engine.network.model",
    "check": "engine.gradcheck.check",
    "check_functions": "engine.gradcheck.check",
    "check_layer": "engine.params.check",
    "check_params": "engine.params.check",
    "check_problem": "engine.gradcheck.check",
    "cost": "engine.network.model",
    "diagnose": "engine.diagnosis.diagnose",
    "gradient": "engine.network.model",
    "implementation_with": "engine.bugs.catalogue",
    "loop_gradient": "engine.gradcheck.numerical",
    "make_problem": "engine.network.model",
    "network_numerical_gradient": "engine.gradcheck.numerical",
}

__all__ = list(_HOMES)


def __getattr__(name: str):
    """`engine.check` and the rest of `__all__`, imported from their home when first asked."""
    if name not in _HOMES:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
