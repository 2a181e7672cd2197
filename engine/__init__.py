"""GradScope's engine: gradient checks that say which matrix, which entries, which bug.

Pure NumPy/SciPy/pandas; no Streamlit. Usable from notebooks, the CLI
(`python -m engine`), the app and tests.
"""

from .bugs import BUGS, SEED_BUGS, Bug, implementation_with
from .check import check, check_functions, check_problem
from .compare import CheckResult, MatrixComparison
from .diagnosis import Finding, diagnose
from .layout import Layout
from .network import Problem, cost, gradient, make_problem
from .noise import NoiseFloor
from .numerical import loop_gradient, network_numerical_gradient

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
    "check_problem",
    "cost",
    "diagnose",
    "gradient",
    "implementation_with",
    "loop_gradient",
    "make_problem",
    "network_numerical_gradient",
]
