"""The Python API: instance → built model → optimal result, with timings of each step."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from planner.diagnose import MAX_MODEL_SIZE, iis_members, iis_text, size_problem
from planner.errors import InfeasibleError, InputError
from planner.instance.instance import Instance
from planner.model import build_model
from planner.results import Result, build_result
from planner.solve import SolverOptions, compile_lp, solve_staged, to_highs, write_mps


def staged_columns(m, lp) -> np.ndarray:
    """Columns fixed in the first stage of a staged solve: every applicant's grant."""
    cols = lp.col_slices[m.granted_mw.name]
    return np.arange(cols.start, cols.stop)


def solve(inst: Instance, options: SolverOptions | None = None,
          mps_path: str | Path | None = None, unserved: bool = True,
          max_size: int = MAX_MODEL_SIZE) -> Result:
    """Build the allocation LP of an instance, solve it with HiGHS, return the result tables.

    ``unserved=False`` fixes every unserved_mw at 0, so connected load must be served and the
    LP may be infeasible; the InfeasibleError then names HiGHS's irreducible infeasible set.
    Instances whose LP would exceed ``max_size`` rows + columns are refused (InputError) before
    anything is built. Raises InfeasibleError, UnboundedError, SolverLimitError or SolverError
    unless HiGHS proves the optimum; nothing partial is returned."""
    options = options or SolverOptions()
    too_large = size_problem(inst, max_size)
    if too_large:
        raise InputError([too_large])
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    m, ix = build_model(inst)
    t1 = time.perf_counter()
    lp = compile_lp(m)
    if not unserved and "unserved_mw" in lp.col_slices:
        lp.col_upper[lp.col_slices["unserved_mw"]] = 0.0
    t2 = time.perf_counter()
    timings.update(build_s=t1 - t0, compile_s=t2 - t1)
    if mps_path is not None:
        write_mps(m, lp, Path(mps_path), options)
        timings["mps_s"] = time.perf_counter() - t2
    h = to_highs(lp, options)
    try:
        sol = solve_staged(h, lp, staged_columns(m, lp), options)
    except InfeasibleError as exc:
        raise InfeasibleError(f"{exc}\n{iis_text(iis_members(h, m))}") from None
    timings.update(sol.timings)
    t3 = time.perf_counter()
    result = build_result(m, ix, sol, timings)
    timings["results_s"] = time.perf_counter() - t3
    return result
