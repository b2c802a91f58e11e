"""planner: allocate scarce grid capacity among competing loads with a linear program.

    import planner
    result = planner.solve(planner.load_instance("instances/norway-2030.yaml"))
    result.allocation  # pandas DataFrame, one row per applicant
"""

from planner.api import solve
from planner.compare import compare
from planner.errors import (
    InfeasibleError,
    InputError,
    PlannerError,
    SolverError,
    SolverLimitError,
    UnboundedError,
)
from planner.instance.load import load_instance
from planner.policies import PolicySpec, apply_policy, load_policies
from planner.results import Result
from planner.session import Session
from planner.solve import SolverOptions

__version__ = "0.1.0"

__all__ = [
    "InfeasibleError",
    "InputError",
    "PlannerError",
    "PolicySpec",
    "Result",
    "Session",
    "SolverError",
    "SolverLimitError",
    "SolverOptions",
    "UnboundedError",
    "__version__",
    "apply_policy",
    "compare",
    "load_instance",
    "load_policies",
    "solve",
]
