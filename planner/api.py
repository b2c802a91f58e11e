"""The Python API: instance → built model → optimal result, with timings of each step."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from planner.instance.instance import Instance
from planner.model import build_model
from planner.report.run_record import record_run
from planner.results import Result, build_result
from planner.solve import SolverOptions, compile_lp, solve_staged, to_highs, write_mps


def staged_columns(m, lp) -> np.ndarray:
    """Columns fixed in the first stage of a staged solve: every applicant's grant."""
    cols = lp.col_slices[m.granted_mw.name]
    return np.arange(cols.start, cols.stop)


def solve(inst: Instance, options: SolverOptions | None = None,
          mps_path: str | Path | None = None) -> Result:
    """Build the allocation LP of an instance, solve it with HiGHS, return the result tables.

    Raises InfeasibleError, UnboundedError, SolverLimitError or SolverError unless HiGHS
    proves the optimum; nothing partial is returned."""
    options = options or SolverOptions()
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    m, ix = build_model(inst)
    t1 = time.perf_counter()
    lp = compile_lp(m)
    t2 = time.perf_counter()
    timings.update(build_s=t1 - t0, compile_s=t2 - t1)
    if mps_path is not None:
        write_mps(m, lp, Path(mps_path), options)
        timings["mps_s"] = time.perf_counter() - t2
    h = to_highs(lp, options)
    sol = solve_staged(h, lp, staged_columns(m, lp), options)
    timings.update(sol.timings)
    t3 = time.perf_counter()
    result = build_result(m, ix, sol, timings)
    timings["results_s"] = time.perf_counter() - t3
    record_run(result.summary, options)
    return result
