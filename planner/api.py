"""The Python API: instance → built model → optimal result, with timings of each step."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import highspy
import numpy as np
import pyomo.environ as pyo

from planner.background import CoarseStarts, pays_off
from planner.decompose import DecompositionFailed, GrantDecomposition
from planner.diagnose import MAX_MODEL_SIZE, iis_members, iis_text, size_problem
from planner.errors import InfeasibleError, InputError, PlannerError
from planner.instance.aggregate import aggregate, can_aggregate
from planner.instance.instance import Instance
from planner.model import build_model
from planner.model.index import ModelIndex
from planner.model.lazy import RowBlock, storage_level_rows
from planner.policies import TierSpec, structure_key
from planner.report.run_record import record_run
from planner.results import Result, build_result
from planner.solve import (
    CompiledLP,
    Solution,
    SolverOptions,
    add_rows,
    compile_lp,
    one_blas_thread,
    run_highs,
    solve_staged,
    to_highs,
    whole_solve,
    write_mps,
)

DECOMPOSE_MIN_HOURS = 336
"""With ``method="auto"``, LPs of at least this many hours are solved by grant decomposition.
Measured on the Norway instance's first hours (benchmarks/method_threshold.py, session 20;
the same objectives to 10⁻¹³ from 336 h), full LP against decomposition, ``planner.solve``:
168 h 0.18 against 0.15 s, 336 h 0.43 against 0.25 s, 672 h 1.45 against 0.50 s, 1 344 h 4.3
against 1.1 s, 1 848 h 10.1 against 1.5 s; compare of its 7 policies: 168 h 0.53 against
0.94 s, 336 h 1.36 against 1.39 s, 672 h 7.0 against 2.6 s, 1 344 h 27.5 against 4.9 s,
1 848 h 61.9 against 7.1 s. Below two weeks the decomposition gains little or loses (the
teaching week, 6 applicants: 0.03 s direct against 0.06 s; at 168 h the two methods'
`first_come_first_served` differ by 7 × 10⁻⁸, within its tiers' tolerance). It was 2 000 h
until session 20, measured when the decomposition was slower."""


def grant_columns(m, lp) -> np.ndarray:
    """Every applicant's grant column: fixed in the first stage of a staged solve, the master's
    variables in the grant decomposition."""
    return lp.columns(m.granted_mw.name)


class CoarseModels:
    """Coarse models built once per length and connection terms (``structure_key``), for the
    policies of one base instance: a policy that changes only weights sets them on the built
    model (a mutable parameter) and compiles it again, which gives the LP a new build would,
    without the build (on the Norway year 2.5 s of a coarse optimum's 5–10 s)."""

    def __init__(self) -> None:
        self._built: dict[tuple, tuple[pyo.ConcreteModel, ModelIndex]] = {}

    def compiled(self, coarse: Instance) -> tuple[pyo.ConcreteModel, ModelIndex, CompiledLP]:
        """The model of the coarse instance ``coarse``, with its weights, and its LP. The index
        is the first build's: its applicants' names and terms hold, their weights may not."""
        key = (coarse.hours, structure_key(coarse))
        if key not in self._built:
            self._built[key] = build_model(coarse)
        m, ix = self._built[key]
        for app in coarse.applicants:
            m.weight_nok_per_mwh[app.name] = app.weight_nok_per_mwh
        return m, ix, compile_lp(m)


def coarse_grants(inst: Instance, options: SolverOptions, tier: TierSpec | None = None,
                  models: CoarseModels | None = None) -> dict[str, float] | None:
    """The decomposition's first point (SolverOptions.coarse_periods_h): the optimal grants
    (MW by applicant) of the instance averaged over periods of the first length, solved by
    decomposition from the coarse grants of the lengths after it (without hourly reservoir
    rows: a start needs no more); None where the periods do not tile the instance or no
    optimum is proved there. With ``tier``, the grants that maximise that tier's value alone
    (the columns ``TierSpec.columns`` names; a tiered policy's first stage, models/formulation.md
    §11) instead of the objective. ``models``: models built for earlier policies of the same
    base instance, reused where the terms are the same (``CoarseModels``)."""
    if not options.coarse_periods_h:
        return None
    period_h, *longer = options.coarse_periods_h
    if not can_aggregate(inst, period_h):
        return None
    coarse = aggregate(inst, period_h)
    if models is None:
        models = CoarseModels()
    m, ix, lp = models.compiled(coarse)
    if tier is not None:
        valued = np.zeros(len(lp.cost), dtype=bool)
        valued[tier.columns(ix.applicant_columns(lp.col_slices), lp)] = True
        lp.cost = np.where(valued, lp.cost, 0.0)
    cols = grant_columns(m, lp)
    inner = replace(options, method="grants",  # the longer periods counted in these periods
                    coarse_periods_h=tuple(p // period_h for p in longer))
    try:
        dec = GrantDecomposition(lp, cols, inner)
        start_at(dec, ix, coarse_grants(coarse, inner, tier, models))
        dec.solve(keep=False)
    except (DecompositionFailed, PlannerError):
        return None
    return dict(zip(ix.applicants, dec.best.x[cols].tolist(), strict=True))


def timed_coarse_grants(inst: Instance, options: SolverOptions, tier: TierSpec | None = None,
                        models: CoarseModels | None = None
                        ) -> tuple[dict[str, float] | None, float]:
    """``coarse_grants`` and the seconds they took."""
    start = time.perf_counter()
    return coarse_grants(inst, options, tier, models), time.perf_counter() - start


def start_from_coarse(dec: GrantDecomposition, ix: ModelIndex, starts: CoarseStarts, k: int,
                      restart: bool = False) -> tuple[float, float]:
    """``start_at`` the k-th coarse optimum of ``starts``, the seconds spent waiting for it
    counted in the decomposition's time limit; returns (seconds the coarse optimum took,
    seconds waited for it)."""
    t = time.perf_counter()
    granted_mw, coarse_s = starts.result(k)
    wait_s = time.perf_counter() - t
    dec.solve_s += wait_s
    start_at(dec, ix, granted_mw, restart)
    return coarse_s, wait_s


def start_at(dec: GrantDecomposition, ix: ModelIndex, granted_mw: dict[str, float] | None,
             restart: bool = False) -> None:
    """Make grants by applicant (MW; None: none) the decomposition's first point while it has
    no best grants; ``restart``: in place of the best grants so far too."""
    if granted_mw is None:
        return
    first, names = dec.lp.col_slices["granted_mw"].start, list(ix.applicants)
    grants = np.array([granted_mw[names[c - first]] for c in dec.grants.tolist()])
    if restart:
        dec.restart(grants)
    else:
        dec.start = grants


def resolver(h: highspy.Highs, lp: CompiledLP, options: SolverOptions
             ) -> Callable[[float], Solution]:
    """Re-solve from HiGHS's last basis within what is left of the time limit, given the solve
    seconds spent so far."""
    def resolve(spent_s: float) -> Solution:
        if options.time_limit_s is not None:
            h.setOptionValue("time_limit", max(options.time_limit_s - spent_s, 0.0))
        return run_highs(h, lp)
    return resolve


def add_violated_rows(lp: CompiledLP, ix: ModelIndex, sol: Solution,
                      refined: set[tuple[int, int]], add: Callable[[RowBlock], None],
                      resolve: Callable[[float], Solution]) -> Solution:
    """Row generation for the hourly reservoir levels (planner/model/lazy.py): hand the
    storage_level rows the solution violates to ``add`` (which puts them in the LP) and
    ``resolve`` (warm), until none is violated. ``refined`` holds the blocks added so far.
    Solve times and simplex iterations add up over the rounds, and the time limit holds for
    their sum; ``storage_level_rounds`` and ``storage_level_blocks`` in the iteration counts
    tell how much was added."""
    timings, iterations = dict(sol.timings), dict(sol.iterations)
    rounds = 0
    while (block := storage_level_rows(ix, lp.col_slices, sol.x, refined)) is not None:
        add(block)
        sol = resolve(timings["solve_s"])
        rounds += 1
        timings["solve_s"] += sol.timings["solve_s"]
        iterations = {k: iterations[k] + sol.iterations[k] for k in iterations}
    sol.timings = timings
    sol.iterations = iterations | {"storage_level_rounds": rounds,
                                   "storage_level_blocks": len(refined)}
    return sol


def may_decompose(inst: Instance, options: SolverOptions) -> bool:
    """``decomposes`` as far as it can be told before the LP is built."""
    if options.method != "auto":
        return options.method == "grants"
    return inst.hours >= DECOMPOSE_MIN_HOURS and not options.staged


def decomposes(inst: Instance, lp: CompiledLP, grants: np.ndarray, options: SolverOptions) -> bool:
    """Is the LP solved by grant decomposition (SolverOptions.method)? With ``auto``, only if a
    grant is free to move."""
    return may_decompose(inst, options) and (
        options.method == "grants" or bool(np.any(lp.col_upper[grants] > lp.col_lower[grants])))


def _solve_lp(inst: Instance, m, ix: ModelIndex, lp: CompiledLP, options: SolverOptions,
              coarse: CoarseStarts) -> Solution:
    """The optimum, by grant decomposition where it applies (falling back to the full LP where
    it cannot prove one, planner/decompose.py), with the hourly reservoir rows generated. An
    infeasible full LP raises InfeasibleError naming HiGHS's irreducible infeasible set.
    ``coarse``: the decomposition's first point, begun before the LP was built."""
    grants, refined = grant_columns(m, lp), set()
    spent_s = 0.0
    if decomposes(inst, lp, grants, options):
        dec = None
        try:
            dec = GrantDecomposition(lp, grants, options)
            coarse_s, wait_s = start_from_coarse(dec, ix, coarse, 0)
            sol = dec.solve()
            sol.timings |= {"coarse_s": coarse_s, "coarse_wait_s": wait_s,
                            "solve_s": sol.timings["solve_s"] + wait_s}
            return add_violated_rows(lp, ix, sol, refined, lambda block: dec.append(
                block, "storage_level"), lambda _: dec.solve())
        except DecompositionFailed:
            # rows generated so far hold in the full LP too; the time limit covers both
            spent_s = dec.solve_s if dec is not None else 0.0
            options = options.after(spent_s)
    h = to_highs(lp, options)
    try:
        sol = solve_staged(h, lp, grants, options)
        sol.timings["solve_s"] += spent_s
        return add_violated_rows(lp, ix, sol, refined, lambda block: add_rows(
            h, lp, "storage_level", block), resolver(h, lp, options))
    except InfeasibleError as exc:
        raise InfeasibleError(f"{exc}\n{iis_text(iis_members(h, m, lp))}") from None


@one_blas_thread
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
    background = may_decompose(inst, options) and pays_off(inst)  # beside the build
    with CoarseStarts(inst, options, [None], background) as coarse:
        t0 = time.perf_counter()
        m, ix = build_model(inst)
        t1 = time.perf_counter()
        lp = compile_lp(m)
        if not unserved and "unserved_mw" in lp.col_slices:
            lp.col_upper[lp.col_slices["unserved_mw"]] = 0.0
        t2 = time.perf_counter()
        timings.update(build_s=t1 - t0, compile_s=t2 - t1)
        try:
            with whole_solve(options):
                sol = _solve_lp(inst, m, ix, lp, options, coarse)
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
