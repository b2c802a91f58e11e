"""The Python API: instance → built model → optimal result, with timings of each step."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import highspy
import numpy as np

from planner.diagnose import MAX_MODEL_SIZE, iis_members, iis_text, size_problem
from planner.errors import InfeasibleError, InputError
from planner.instance.instance import Instance
from planner.model import build_model
from planner.model.index import ModelIndex
from planner.model.lazy import RowBlock, storage_level_rows
from planner.report.run_record import record_run
from planner.results import Result, build_result
from planner.solve import (
    CompiledLP,
    Solution,
    SolverOptions,
    add_rows,
    compile_lp,
    run_highs,
    solve_staged,
    to_highs,
    write_mps,
)


def staged_columns(m, lp) -> np.ndarray:
    """Columns fixed in the first stage of a staged solve: every applicant's grant."""
    cols = lp.col_slices[m.granted_mw.name]
    return np.arange(cols.start, cols.stop)


def add_violated_rows(h: highspy.Highs, lp: CompiledLP, ix: ModelIndex, sol: Solution,
                      options: SolverOptions, refined: set[tuple[int, int]],
                      add: Callable[[RowBlock], None]) -> Solution:
    """Row generation for the hourly reservoir levels (planner/model/lazy.py): hand the
    storage_level rows the solution violates to ``add`` (which puts them in HiGHS) and re-solve
    from the last basis, until none is violated. ``refined`` holds the blocks added so far.
    Solve times and simplex iterations add up over the rounds, and the time limit holds for
    their sum; ``storage_level_rounds`` and ``storage_level_blocks`` in the iteration counts
    tell how much was added."""
    timings, iterations = dict(sol.timings), dict(sol.iterations)
    rounds = 0
    while (block := storage_level_rows(ix, lp.col_slices, sol.x, refined)) is not None:
        add(block)
        if options.time_limit_s is not None:
            h.setOptionValue("time_limit", max(options.time_limit_s - timings["solve_s"], 0.0))
        sol = run_highs(h, lp)
        rounds += 1
        timings["solve_s"] += sol.timings["solve_s"]
        iterations = {k: iterations[k] + sol.iterations[k] for k in iterations}
    sol.timings = timings
    sol.iterations = iterations | {"storage_level_rounds": rounds,
                                   "storage_level_blocks": len(refined)}
    return sol


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
    h = to_highs(lp, options)
    try:
        sol = solve_staged(h, lp, staged_columns(m, lp), options)
        sol = add_violated_rows(h, lp, ix, sol, options, set(),
                                lambda block: add_rows(h, lp, "storage_level", block))
    except InfeasibleError as exc:
        raise InfeasibleError(f"{exc}\n{iis_text(iis_members(h, m, lp))}") from None
    finally:
        if mps_path is not None:  # the last LP handed to HiGHS, also when it failed
            t = time.perf_counter()
            write_mps(m, lp, Path(mps_path), options)
            timings["mps_s"] = time.perf_counter() - t
    timings.update(sol.timings)
    t3 = time.perf_counter()
    result = build_result(m, ix, sol, timings)
    timings["results_s"] = time.perf_counter() - t3
    record_run(result.summary, options)
    return result
