"""The planner's error types; each maps to a distinct CLI exit code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One located problem in an input file: where it is and what to do about it."""

    file: str
    line: int | None
    column: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f":{self.line}"
            if self.column is not None:
                where += f":{self.column}"
        field = f"{self.field}: " if self.field else ""
        return f"{where}: {field}{self.message}"


class PlannerError(Exception):
    """Base of all errors the planner reports without a traceback."""

    exit_code = 1


class InputError(PlannerError):
    """The instance (or its series files) is invalid; nothing was solved."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        n = len(problems)
        head = f"{n} problem{'s' if n != 1 else ''} in the input:"
        super().__init__("\n".join([head, *(f"  {p}" for p in problems)]))

    def __reduce__(self) -> tuple:  # pickled with its problems (planner/parallel.py)
        return InputError, (self.problems,)


class InfeasibleError(PlannerError):
    """HiGHS proved the LP infeasible; no allocation is reported."""

    exit_code = 3


class UnboundedError(PlannerError):
    """HiGHS found the LP unbounded (a value term without a limit); no allocation is reported."""

    exit_code = 4


class SolverLimitError(PlannerError):
    """The solver stopped at a time or iteration limit before proving optimality."""

    exit_code = 5


class SolverError(PlannerError):
    """The solver failed or returned a status that is not a proven optimum."""

    exit_code = 6


class VerificationError(PlannerError):
    """The written result breaks a relation of the LP beyond tolerance (planner/verify.py); the
    result folder is marked failed and is not an answer."""

    exit_code = 7
