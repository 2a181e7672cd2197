"""GradScope's engine: gradient checks that say which matrix, which entries, which bug.

Pure NumPy/SciPy/pandas; no Streamlit. Usable from notebooks, the CLI
(`python -m engine`), the app and tests.
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
