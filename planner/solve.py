"""Pyomo model → HiGHS (through highspy) → primal and dual values, or a typed error.

The model is compiled once to matrices with Pyomo's standard-form compiler and handed to
highspy directly: this keeps Pyomo's per-solve overhead to one pass over the expressions and
gives full access to HiGHS (status, basis for warm starts, MPS export of the exact LP).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import highspy
import numpy as np
import pyomo.environ as pyo
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

from planner.errors import InfeasibleError, SolverError, SolverLimitError, UnboundedError

INF = highspy.kHighsInf


@dataclass
class SolverOptions:
    """Options handed to HiGHS (see its documentation for each)."""

    time_limit_s: float | None = None
    solver: str = "choose"
    """HiGHS LP algorithm: choose, simplex, ipm, pdlp."""
    threads: int | None = None
    verbose: bool = False
    extra: dict[str, object] = field(default_factory=dict)


@dataclass
class CompiledLP:
    """The LP as HiGHS sees it, with the map back to Pyomo components."""

    columns: list
    rows: list
    cost: np.ndarray
    col_lower: np.ndarray
    col_upper: np.ndarray
    row_lower: np.ndarray
    row_upper: np.ndarray
    matrix: object  # scipy.sparse csc
    offset: float


@dataclass
class Solution:
    """A proven-optimal solution: values by column and row of the compiled LP."""

    objective: float
    x: np.ndarray
    row_dual: np.ndarray
    col_dual: np.ndarray
    lp: CompiledLP
    status: str
    solver: str
    timings: dict[str, float]
    iterations: dict[str, int]
    _col_of: dict[int, int] | None = None
    _row_of: dict[int, int] | None = None

    def values(self, var: pyo.Var) -> np.ndarray:
        """Values of an indexed variable, in its index order."""
        cols = self._positions(var, self._columns())
        lower = np.array([v.lb if v.lb is not None else 0.0 for v in var.values()])
        return np.where(cols >= 0, self.x[np.maximum(cols, 0)], lower)

    def duals(self, con: pyo.Constraint) -> np.ndarray:
        """Duals of an indexed constraint, in its index order (NOK per unit of the row)."""
        rows = self._positions(con, self._rows())
        return np.where(rows >= 0, self.row_dual[np.maximum(rows, 0)], 0.0)

    def _columns(self) -> dict[int, int]:
        if self._col_of is None:
            self._col_of = {id(v): j for j, v in enumerate(self.lp.columns)}
        return self._col_of

    def _rows(self) -> dict[int, int]:
        if self._row_of is None:
            self._row_of = {id(r.constraint): i for i, r in enumerate(self.lp.rows)}
        return self._row_of

    @staticmethod
    def _positions(component, lookup: dict[int, int]) -> np.ndarray:
        return np.fromiter((lookup.get(id(d), -1) for d in component.values()), dtype=np.int64,
                           count=len(component))


def compile_lp(m: pyo.ConcreteModel) -> CompiledLP:
    """One pass of Pyomo's standard-form compiler; rows keep their sense (mixed form)."""
    info = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    columns = info.columns
    lower = np.array([-INF if v.lb is None else v.lb for v in columns], dtype=float)
    upper = np.array([INF if v.ub is None else v.ub for v in columns], dtype=float)
    rhs = np.asarray(info.rhs, dtype=float)
    sense = np.array([r.bound_type for r in info.rows], dtype=int)
    row_lower = np.where(sense <= 0, rhs, -INF)
    row_upper = np.where(sense >= 0, rhs, INF)
    cost = info.c.toarray().ravel() if info.c.shape[0] else np.zeros(len(columns))
    offset = float(info.c_offset[0]) if len(info.c_offset) else 0.0
    return CompiledLP(columns, info.rows, cost, lower, upper, row_lower, row_upper,
                      info.A.tocsc(), offset)


def to_highs(lp: CompiledLP, options: SolverOptions) -> highspy.Highs:
    """A HiGHS instance holding the LP (maximisation) with the options set."""
    h = highspy.Highs()
    h.setOptionValue("output_flag", options.verbose)
    h.setOptionValue("solver", options.solver)
    if options.time_limit_s is not None:
        h.setOptionValue("time_limit", float(options.time_limit_s))
    if options.threads is not None:
        h.setOptionValue("threads", int(options.threads))
    for key, val in options.extra.items():
        h.setOptionValue(key, val)
    model = highspy.HighsLp()
    model.num_col_ = len(lp.cost)
    model.num_row_ = len(lp.row_lower)
    model.sense_ = highspy.ObjSense.kMaximize
    model.offset_ = lp.offset
    model.col_cost_ = lp.cost
    model.col_lower_ = lp.col_lower
    model.col_upper_ = lp.col_upper
    model.row_lower_ = lp.row_lower
    model.row_upper_ = lp.row_upper
    model.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    model.a_matrix_.start_ = lp.matrix.indptr
    model.a_matrix_.index_ = lp.matrix.indices
    model.a_matrix_.value_ = lp.matrix.data
    h.passModel(model)
    return h


_NAME_CHARS = re.compile(r"[^A-Za-z0-9_\[\],.:>\-]")


def write_mps(lp: CompiledLP, path: Path, options: SolverOptions) -> None:
    """Write the exact LP handed to HiGHS as MPS, with the model's names (spaces → _)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h = to_highs(lp, options)
    for j, v in enumerate(lp.columns):
        h.passColName(j, _NAME_CHARS.sub("_", v.name))
    for i, r in enumerate(lp.rows):
        h.passRowName(i, _NAME_CHARS.sub("_", r.constraint.name))
    h.writeModel(str(path))


def run_highs(h: highspy.Highs, lp: CompiledLP) -> Solution:
    """Solve; only a proven optimum returns, every other outcome raises its own error."""
    start = time.perf_counter()
    h.run()
    elapsed = time.perf_counter() - start
    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    text = h.modelStatusToString(status)
    if status == ms.kInfeasible:
        raise InfeasibleError(f"HiGHS proved the LP infeasible ({text}); no allocation exists "
                              "under these constraints")
    if status in (ms.kUnbounded, ms.kUnboundedOrInfeasible):
        raise UnboundedError(f"HiGHS: {text}; a value term has no limit (check that every "
                             "load and export has a finite capacity)")
    if status in (ms.kTimeLimit, ms.kIterationLimit, ms.kInterrupt):
        raise SolverLimitError(f"HiGHS stopped before proving optimality: {text} after "
                               f"{elapsed:.1f} s; no result written")
    info = h.getInfo()
    if status != ms.kOptimal or info.primal_solution_status != 2:
        raise SolverError(f"HiGHS returned '{text}', not a proven optimum; no result written")
    sol = h.getSolution()
    return Solution(
        objective=float(info.objective_function_value),
        x=np.asarray(sol.col_value), row_dual=np.asarray(sol.row_dual),
        col_dual=np.asarray(sol.col_dual), lp=lp, status="optimal",
        solver=f"HiGHS {h.version()} ({h.getOptionValue('solver')[1]})",
        timings={"solve_s": elapsed},
        iterations={"simplex": int(info.simplex_iteration_count),
                    "ipm": int(info.ipm_iteration_count)},
    )
