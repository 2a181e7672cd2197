"""GradScope's engine: gradient checks that say which matrix, which entries, which bug.

Pure NumPy/SciPy/pandas: no Streamlit, no Plotly. Usable from notebooks, the CLI
(`python -m engine`), the app and tests.

The public API is `__all__` below. The subpackages are internal, as `jax/_src` is:
`network` (the built-in network and its swappable pieces), `gradcheck` (finite
differences, noise floor, comparison, screen, sweep), `bugs` (the catalogue, one
module per mistake), `diagnosis` (from two gradients to a named mistake), `scenario`
(the settings of a check, their codecs and workload), `params` (the user's own
parameters as they hold them: dicts, lists, objects) and `runners` (user code in a
sandbox, Dask, training).
"""

from engine.bugs.bug import Bug
from engine.bugs.catalogue import BUGS, SEED_BUGS, implementation_with
from engine.diagnosis.diagnose import diagnose
from engine.diagnosis.finding import Finding
from engine.gradcheck.check import check, check_functions, check_problem
from engine.gradcheck.compare import CheckResult, MatrixComparison
from engine.gradcheck.noise import NoiseFloor
from engine.gradcheck.numerical import loop_gradient, network_numerical_gradient
from engine.network.layout import Layout
from engine.network.model import Problem, cost, gradient, make_problem
from engine.params.check import check_params

__all__ = [
    "BUGS",
    "SEED_BUGS",
    "Bug",
    "CheckResult",
    "Finding",
    "Layout",
    "MatrixComparison",
    "NoiseFloor",
    "Problem",
    "check",
    "check_functions",
    "check_params",
    "check_problem",
    "cost",
    "diagnose",
    "gradient",
    "implementation_with",
    "loop_gradient",
    "make_problem",
    "network_numerical_gradient",
]
