"""A built allocation LP, re-solved policy after policy from what the last solve learnt.

The LP is held either in one HiGHS instance (the full LP) or, where ``planner.api.decomposes``
says so (from 336 hours), in a grant decomposition (planner/decompose.py) whose subproblem is
one HiGHS instance; if the decomposition cannot prove an optimum, the session moves to the
full LP with every edit made so far. A policy that changes only weights, limits or tiers is
applied to the LP as a diff: new column costs, new rows for its limits and tier holds, and the
rows of the previous policy relaxed to free rows, so HiGHS starts from the last optimal basis
(and the decomposition from the last optimal grants). A policy that changes connection terms
(firm share, curtailment cap) changes which variables and rows exist, and rebuilds the model.

Priority tiers are solved lexicographically (models/formulation.md, section 11): stage k
maximises the value of tiers 1..k with the value of every earlier tier held within the policy's
relative tolerance; a final stage maximises the full objective with every tier held. The zonal
prices come from that final stage.
"""

from __future__ import annotations

import gc
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from itertools import takewhile
from typing import NamedTuple

import highspy
import numpy as np
import pandas as pd

from planner.api import (
    add_violated_rows,
    decomposes,
    grant_columns,
    may_decompose,
    resolver,
    start_at,
    start_from_coarse,
)
from planner.background import CoarseStarts, pays_off
from planner.decompose import DecompositionFailed, GrantDecomposition
from planner.errors import (
    InfeasibleError,
    PlannerError,
    SolverError,
    SolverLimitError,
    UnboundedError,
)
from planner.instance.aggregate import aggregate, can_aggregate
from planner.instance.instance import Applicant, Instance
from planner.model import build_model
from planner.model.index import ModelIndex, windows
from planner.model.lazy import storage_level_rows
from planner.policies import (
    QUEUE,
    PolicySpec,
    TierSpec,
    apply_policy,
    firm_supply_mw,
    name_of,
    per_horizon_mwh,
    structure_key,
    tier_members,
)
from planner.report.run_record import record_run
from planner.report.tables import rounded
from planner.results import Result, binding_frame, build_result
from planner.solve import (
    INF,
    Solution,
    SolverOptions,
    append_rows,
    compile_lp,
    one_blas_thread,
    run_highs,
    set_pricing,
    solve_staged,
    to_highs,
    whole_solve,
)


def starts_from(inst: Instance, policy: PolicySpec | None, earlier: Instance) -> bool:
    """Does a policy (``inst`` applied) start from the solution of an earlier one (instance
    ``earlier``) in the same session, not from its own coarse optimum? It does with the same
    weights and no reserve margin: without tiers its first stage takes back the earlier
    solve's kept cuts (same costs); with the connection queue as tiers the earlier optimum
    reaches the queue's leading tiers, which are then skipped (``Session._tier_stages``), and
    its grants start the probes of the rest."""
    return _same_weights(inst, earlier) and (
        policy is None or (policy.reserve_margin is None and policy.tiers in (None, QUEUE)))


def _same_weights(inst: Instance, earlier: Instance) -> bool:
    return [a.weight_nok_per_mwh for a in inst.applicants] == \
        [a.weight_nok_per_mwh for a in earlier.applicants]


def _keeps_costs(inst: Instance, policy: PolicySpec | None, earlier: Instance) -> bool:
    """Are a policy's first-stage costs those of ``earlier``'s final stage (the same weights,
    no tiers)?"""
    return _same_weights(inst, earlier) and (policy is None or policy.tiers is None)


def cold_first_stage(inst: Instance, policy: PolicySpec | None, earlier: list[Instance]) -> bool:
    """Does a policy (``inst`` applied) start its first stage from its coarse optimum when the
    policies ``earlier`` (applied) were solved before it in a warm session, in order
    (``Session._run_decomposed``)? Not if one solved on the same model (since the last
    rebuild) has a solution it starts from (``starts_from``), nor if, without tiers, one with
    the same weights kept cuts under its first stage's costs (its final stage's): it then
    starts from the best grants so far (``GrantDecomposition.knows_costs``; the cuts come back
    only where they fit its LP, as the status quo's do for a reserve margin, not those of
    `flexible_mining`'s held tiers). Not predicted: a pool dropped (beyond POOL_SIZE other
    costs, or after a failed solve), which leaves the coarse optimum to this process; a tiered
    policy's first stage that a probe skips, which leaves it unused."""
    key = structure_key(inst)
    same_model = takewhile(lambda e: structure_key(e) == key, reversed(earlier))
    return not any(starts_from(inst, policy, e) or _keeps_costs(inst, policy, e)
                   for e in same_model)


def coarse_starts(inst: Instance, options: SolverOptions, upcoming: list[PolicySpec | None],
                  niceness: int = 0, warm: bool = True) -> CoarseStarts:
    """The coarse optima of the upcoming policies that start from theirs (``cold_first_stage``),
    in a child process ``niceness`` below this one's CPU priority where the instance is large
    enough; the others' are computed in this process if ever asked for. In a cold session
    (not ``warm``) every policy starts from its own."""
    background = may_decompose(inst, options) and pays_off(inst)
    specs = [apply_policy(inst, p) for p in upcoming]
    cold = [p for k, p in enumerate(upcoming)
            if not warm or cold_first_stage(specs[k], p, specs[:k])]
    return CoarseStarts(inst, options, cold, background, niceness)


FORECAST_PERIOD_H = 24
"""Hours averaged into one period of the model that forecasts which tiers a probe skips
(``coarse_reached``)."""

FORECAST_LIMIT_S = 30.0
"""Longest the forecast may take (per solve of its coarse model): beyond, there is none."""


def coarse_reached(base: Instance, policy: PolicySpec, options: SolverOptions
                   ) -> dict[str, bool]:
    """Which of the policy's tiers (by stage name) a probe skips, reaching their largest value,
    when it is solved on ``base`` averaged over periods of FORECAST_PERIOD_H hours; {} where
    those periods do not tile the instance or the coarse LP has no proved optimum within
    FORECAST_LIMIT_S. A forecast that groups the hourly LP's probes (``Session._probe_ahead``),
    never an answer: each probe still proves its tiers on the hourly LP. On the Norway year
    the 24-h model (365 periods) forecasts every one of `first_come_first_served`'s 26 tiers
    as the hourly LP finds them, in 0.8 s. It is decomposed as the hourly LP is, whatever its
    length, so that its probes too are at fixed grants: solved as one LP it finds tier 19
    reachable, which a probe at the best grants so far does not. Its warnings
    are its own, not the policy's, and are not shown (the filter is process-wide while it
    runs)."""
    if not can_aggregate(base, FORECAST_PERIOD_H):
        return {}
    limit = min(options.time_limit_s or FORECAST_LIMIT_S, FORECAST_LIMIT_S)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with Session(aggregate(base, FORECAST_PERIOD_H),
                         replace(options, method="grants", coarse_periods_h=(),
                                 time_limit_s=limit)) as session:
                stages = session.solve(policy).stages
    except PlannerError:
        return {}
    return {stage.name: stage.skipped for stage in stages}


PROBE_MISSES = 2
"""After this many tiers in a row whose probe failed (together with the tiers after it and
then alone, or alone), the policy's later tiers are optimised without probing (a failed probe
doubles the cost of its tier, as in deficit periods)."""


@dataclass
class Stage:
    """One solve of a policy: a tier (value of that tier alone) or the final full objective."""

    name: str
    objective_nok: float
    value_nok: float
    seconds: float
    iterations: int
    skipped: bool = False
    """No optimisation was needed: a known or probed solution already gives this tier its
    largest possible value (see Session._tier_stages)."""
    probed: bool = False
    """Skipped thanks to a probe (``Session._probe``: one LP solve, of this tier or of several
    together, ``Session._probe_ahead``), not a known solution."""
    hold_row: int | None = None
    fixed_cols: np.ndarray | None = None
    """A tier at its largest value is held by fixing the columns that value determines (and
    making its window rows equalities), not by a row."""
    tight_rows: np.ndarray | None = None
    tight_weights: np.ndarray | None = None
    priority_cost: float = 0.0
    """NOK of the full objective given up per NOK of this tier's value held: minus the dual of
    the tier's hold row in the final stage (0 where the hold does not bind)."""


@dataclass
class PolicyRun:
    """A policy's optimal result and how it was obtained."""

    policy: str
    result: Result
    stages: list[Stage] = field(default_factory=list)
    rebuilt: bool = False


class Session:
    """An instance's LP, built once, that solves policy after policy from the last basis."""

    def __init__(self, inst: Instance, options: SolverOptions | None = None, warm: bool = True,
                 upcoming: list[PolicySpec | None] | None = None):
        """``upcoming``: the policies to be solved (None: the base instance), in order; a child
        process computes the coarse optima they will start from while this one builds the LP
        and solves the policies before them (planner/background.py). Close the session (or use
        it as a context manager) to stop a child still running."""
        self.base = inst
        self.options = options or SolverOptions()
        self.warm = warm
        """False: every solve starts from scratch (for benchmarks and tests)."""
        self.builds = 0
        self.inst = inst
        """The instance of the policy being solved."""
        self._upcoming = coarse_starts(inst, self.options, upcoming or [], warm=warm)
        """The coarse optima of the upcoming policies (``coarse_starts``)."""
        self._coarse: tuple[CoarseStarts, int] | None = None
        """Where the current policy's coarse optimum is: a list and the position in it."""
        self.coarse_s = self.coarse_wait_s = 0.0
        """Seconds the current policy's coarse optimum took, and the seconds its stages waited
        for it (part of theirs)."""
        self._build(inst)

    def take_over(self, coarse: CoarseStarts) -> None:
        """In a forked copy of this session (planner/parallel.py): solve other policies than
        those it was made for, from the coarse optima ``coarse`` computes (made by
        ``coarse_starts`` for them). The first session's are kept, not closed: their
        process is the parent's child, and dropping them would tell it is still running."""
        self._parents_coarse = self._upcoming
        self._upcoming = coarse
        self.build_s = 0.0  # the parent built the LP; the copy reports none

    def _build(self, inst: Instance, granted_mw: dict[str, float] | None = None) -> None:
        """Build and compile the LP; ``granted_mw`` (by applicant, an earlier model's optimum)
        is the decomposition's first point."""
        start = time.perf_counter()
        self.model, self.index = build_model(inst)
        self.lp = compile_lp(self.model)
        sl = self.lp.col_slices
        self.dec: GrantDecomposition | None = None
        """The decomposition holding the LP; None: the full LP in ``self.highs``."""
        self.highs: highspy.Highs | None = None
        grants = grant_columns(self.model, self.lp)
        if decomposes(inst, self.lp, grants, self.options):
            try:
                self.dec = GrantDecomposition(self.lp.copy(), grants, self.options)
            except DecompositionFailed:
                self.dec = None
        if self.dec is None:
            self.highs = to_highs(self.lp, self.options)
        else:
            start_at(self.dec, self.index, granted_mw)
        if self.dec is not None and pays_off(inst):
            # a long session lives long: one full collection now, while the coarse optimum is
            # computed beside (0.9 s on the Norway year), and the collector walks the model
            # again only once the oldest generation has grown by a quarter; without it, the
            # first full collection came during compare's first_come_first_served (1.7 s)
            gc.collect()
        self.structure = structure_key(inst)
        self.built_weights = {a.name: a.weight_nok_per_mwh for a in inst.applicants}
        self.policy_rows: list[int] = []
        self.stale_rows: list[int] = []
        """Freed rows of earlier policies, deleted once a solve has made them basic."""
        self.solved = False
        self.own_costs = True
        """Every policy solved on this LP so far (in a cold session: the current one) kept the
        instance's own costs (``_set_pricing``)."""
        self.last_x: np.ndarray | None = None
        """The last optimal solution, a candidate for skipping the next policy's tier stages."""
        self.last_row_dual: np.ndarray | None = None
        """The row duals of the last optimal solve (objective per unit of each row: NOK in a
        policy's final stage)."""
        self.limit_specs: list[PolicyLimit] = []
        """The current policy's limit rows."""
        self.fixed = np.zeros(len(self.lp.cost), dtype=bool)
        """Columns the current policy's tier holds fix at a bound (restored by the next), as a
        mask: a set of indices took 1.2 s of `first_come_first_served`'s 31 s on the Norway
        year to update."""
        self.tight = np.zeros(0, dtype=np.int32)
        """window_cap rows the current policy's tier holds make equalities (restored by the next)."""
        self.refined: set[tuple[int, int]] = set()
        """Reservoir blocks whose hourly storage_level rows are in HiGHS (kept for every policy:
        they belong to the base model)."""
        self.builds += 1
        self.build_s = time.perf_counter() - start
        """Build and compile time (s), reported with the next solve."""
        H = inst.hours
        self._cols = self.index.applicant_columns(sl)
        row = self.lp.row_slices["window_cap"].start if "window_cap" in self.lp.row_slices else 0
        self._window_rows: dict[str, np.ndarray] = {}
        """window_cap rows of each applicant with energy windows (model order: applicant, window)."""
        for a in self.index.flexible:
            if length := self.index.applicants[a].window_hours:
                count = len(windows(H, length))
                self._window_rows[a] = np.arange(row, row + count)
                row += count

    # -- columns and coefficients -------------------------------------------------------

    def _granted_mw(self) -> dict[str, float] | None:
        """Each applicant's grant (MW) in the last solution, if there is one."""
        if self.last_x is None:
            return None
        return {a: float(self.last_x[cols["granted_mw"][0]]) for a, cols in self._cols.items()}

    def applicant_columns(self, a: str) -> np.ndarray:
        """Every column of an applicant: grant, served, unserved and own supply."""
        return np.concatenate(list(self._cols[a].values()))

    def served_energy(self, app: Applicant) -> tuple[np.ndarray, np.ndarray]:
        """(columns, coefficients) of the applicant's served energy over the horizon (MWh).

        Flexible: Σ_t served_mw; firm: Σ_t profile × granted − Σ_t unserved (formulation §6.1).
        It is also the objective's derivative with respect to the applicant's weight."""
        cols = self._cols[app.name]
        if app.name in self.index.flexible:
            return cols["served_mw"], np.ones(len(cols["served_mw"]))
        idx = [cols["granted_mw"]]
        coefs = [np.array([float(app.profile.sum())])]
        if "unserved_mw" in cols:
            idx.append(cols["unserved_mw"])
            coefs.append(-np.ones(len(cols["unserved_mw"])))
        return np.concatenate(idx), np.concatenate(coefs)

    def trade_columns(self) -> np.ndarray:
        return self.lp.columns("net_export_mw")

    def costs(self, inst: Instance) -> np.ndarray:
        """Column costs of the objective under the instance's weights: the compiled costs plus
        (new − built weight) × the served-energy coefficients, as the objective is linear in
        the weights."""
        cost = self.lp.cost.copy()
        for app in inst.applicants:
            delta = app.weight_nok_per_mwh - self.built_weights[app.name]
            if delta:
                cols, coefs = self.served_energy(app)
                cost[cols] += delta * coefs
            self.model.weight_nok_per_mwh[app.name] = app.weight_nok_per_mwh
        return cost

    # -- HiGHS edits ----------------------------------------------------------------------

    def _set_costs(self, cost: np.ndarray) -> None:
        if self.dec is not None:
            self.dec.set_costs(cost)
            return
        n = len(cost)
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost)

    def _add_row(self, lower: float, upper: float, cols: np.ndarray, coefs: np.ndarray) -> None:
        order = np.argsort(cols)
        cols, coefs = cols[order].astype(np.int32), coefs[order].astype(float)
        if self.dec is not None:
            self.policy_rows.append(self.dec.add_row(lower, upper, cols, coefs))
            return
        self.highs.addRow(lower, upper, len(cols), cols, coefs)
        self.policy_rows.append(self.highs.getNumRow() - 1)

    def _fix(self, cols: np.ndarray, value: np.ndarray) -> None:
        """Fix columns (distinct) at values, until the next policy."""
        self._set_bounds(cols, value, value)
        self.fixed[cols] = True

    def _unfix(self, cols: np.ndarray) -> None:
        self._set_bounds(cols, self.lp.col_lower[cols], self.lp.col_upper[cols])
        self.fixed[cols] = False

    def _set_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        idx = cols.astype(np.int32)
        if self.dec is not None:
            self.dec.set_col_bounds(idx, lower, upper)
            return
        if self.highs.changeColsBounds(len(idx), idx, lower, upper) != highspy.HighsStatus.kOk:
            raise SolverError(f"HiGHS refused new bounds for {len(idx)} columns")

    def _tighten(self, rows: np.ndarray) -> None:
        """window_cap rows (≤ 0) become equalities: each window served in full."""
        self._set_row_lower(rows, self.lp.row_upper[rows])
        self.tight = np.union1d(self.tight, rows).astype(np.int32)

    def _loosen(self, rows: np.ndarray) -> None:
        self._set_row_lower(rows, self.lp.row_lower[rows])
        self.tight = np.setdiff1d(self.tight, rows).astype(np.int32)

    def _set_row_lower(self, rows: np.ndarray, lower: np.ndarray) -> None:
        self._set_row_bounds(rows, lower, self.lp.row_upper[rows])

    def _set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        idx = rows.astype(np.int32)
        if self.dec is not None:
            self.dec.set_row_bounds(idx, lower, upper)
            return
        if self.highs.changeRowsBounds(len(idx), idx, lower, upper) != highspy.HighsStatus.kOk:
            raise SolverError(f"HiGHS refused new bounds for {len(idx)} rows")

    def _undo_policy(self) -> None:
        """Restore the columns the previous policy fixed and free its rows (bounds ±inf)
        instead of deleting them: deleting a row that is nonbasic would invalidate the basis.
        In the full LP, freed rows that a later solve has made basic are deleted then, which
        keeps the basis valid, so rows do not pile up. (The decomposition keeps them: a free
        row costs its subproblem nothing.)"""
        self._unfix(np.flatnonzero(self.fixed))
        self._loosen(self.tight)
        if self.dec is None:
            self._delete_stale_rows()
        else:  # its holds go, and with them the reason for a small first box (HELD_RADIUS)
            self.dec.held = False
        if self.policy_rows:
            idx = np.array(self.policy_rows, dtype=np.int32)
            self._set_row_bounds(idx, np.full(len(idx), -INF), np.full(len(idx), INF))
            if self.dec is None:
                self.stale_rows += self.policy_rows
            self.policy_rows = []
            self.limit_specs = []

    def _delete_stale_rows(self) -> None:
        basis = self.highs.getBasis()
        stale = [r for r in self.stale_rows
                 if not basis.valid or basis.row_status[r] == highspy.HighsBasisStatus.kBasic]
        if stale:
            gone = np.array(sorted(stale), dtype=np.int32)
            self.highs.deleteRows(len(gone), gone)

            def shift(rows: list[int]) -> list[int]:  # row indices after the deletion
                return [r - int(np.searchsorted(gone, r)) for r in rows]

            self.stale_rows = shift([r for r in self.stale_rows if r not in stale])
            self.policy_rows = shift(self.policy_rows)

    def _add_limit(self, entity: str, unit: str, lower: float, upper: float, cols: np.ndarray,
                   coefs: np.ndarray) -> None:
        self._add_row(lower, upper, cols, coefs)
        self.limit_specs.append(PolicyLimit(entity, unit, self.policy_rows[-1], lower, upper, cols,
                                            coefs))

    @property
    def limit_rows(self) -> dict[str, int]:
        """Row of each of the current policy's limits, by ``PolicyLimit.entity``."""
        return {limit.entity: limit.row for limit in self.limit_specs}

    def _limit_state(self, sol: Solution) -> tuple[np.ndarray, np.ndarray]:
        """Each of the current policy's limits in ``sol``: its level (coefs · x) and its row
        dual (NOK the objective gains per unit the limit is raised: ≥ 0 for a cap, ≤ 0 for a
        floor; from the final stage, as the prices)."""
        specs = self.limit_specs
        return (np.array([limit.coefs @ sol.x[limit.cols] for limit in specs]),
                sol.row_dual[[limit.row for limit in specs]])

    def _limit_binding(self, level: np.ndarray, dual: np.ndarray) -> pd.DataFrame | None:
        """The current policy's limit rows that bind (``_limit_state``), as binding.csv rows
        (family policy_limit; dual per MWh over the horizon for the export cap and domestic
        floor, per MW of firm supply capacity for a reserve margin)."""
        if not self.limit_specs:
            return None
        return binding_frame(
            "policy_limit", [(limit.entity, None) for limit in self.limit_specs], level,
            np.array([limit.lower for limit in self.limit_specs]),
            np.array([limit.upper for limit in self.limit_specs]), dual)

    def _limit_record(self, level: np.ndarray, dual: np.ndarray) -> list[dict]:
        """The current policy's limits for the run record (summary.json), binding or not:
        entity, unit (of the row: MWh over the horizon, or MW), sense (upper: a cap, lower: a
        floor), limit, level and dual_nok_per_unit_raised (``_limit_state``: negative for a
        binding floor, unlike binding.csv's dual per unit relaxed); the level and dual at the
        tables' precision (``rounded``), so that the solver's last digits do not reach the
        reports."""
        level, dual = rounded(level) + 0.0, rounded(dual) + 0.0
        return [{"entity": limit.entity, "unit": limit.unit,
                 "sense": "upper" if limit.upper < INF else "lower",
                 "limit": limit.upper if limit.upper < INF else limit.lower,
                 "level": float(lv), "dual_nok_per_unit_raised": float(d)}
                for limit, lv, d in zip(self.limit_specs, level, dual, strict=True)]

    def _add_limits(self, inst: Instance, policy: PolicySpec) -> None:
        """Rows for the policy's export cap, domestic floor and reserve margin."""
        if policy.export_cap_twh is not None:
            cols = self.trade_columns()
            self._add_limit("export_cap_twh", "MWh", -INF,
                            per_horizon_mwh(inst, policy.export_cap_twh), cols, np.ones(len(cols)))
        if policy.domestic_floor_twh is not None:
            parts = [self.served_energy(a) for a in inst.applicants if a.load_class != "exports"]
            cols = np.concatenate([p[0] for p in parts])
            coefs = np.concatenate([p[1] for p in parts])
            self._add_limit("domestic_floor_twh", "MWh",
                            per_horizon_mwh(inst, policy.domestic_floor_twh), INF,
                            *_merge(cols, coefs))
        if policy.reserve_margin is not None:
            rm = policy.reserve_margin
            for zone in (None,) if rm.scope == "system" else inst.zones:
                apps = [a for a in inst.applicants if zone in (None, a.zone) and a.firm_share > 0]
                capacity = firm_supply_mw(inst, zone)
                least = (1 + rm.margin) * sum(a.firm_share * a.existing_mw for a in apps)
                if least > capacity + 1e-6:
                    where = "the system" if zone is None else f"zone {zone}"
                    raise InfeasibleError(
                        f"policy '{policy.name}': reserve margin {rm.margin:.0%} cannot hold in "
                        f"{where} even with no new grants: (1 + margin) × firm demand already "
                        f"connected = {least:,.0f} MW > firm supply {capacity:,.0f} MW; lower "
                        "the margin" + (" or try scope: zone" if rm.scope == "system" else
                                           " or try scope: system"))
                if apps:
                    cols = np.concatenate([self._cols[a.name]["granted_mw"] for a in apps])
                    coefs = np.array([(1 + rm.margin) * a.firm_share for a in apps])
                    self._add_limit("reserve_margin" if zone is None else f"reserve_margin {zone}",
                                    "MW", -INF, capacity, cols, coefs)

    # -- solving --------------------------------------------------------------------------

    def _run(self, keep: bool = True, first_stage: bool = True) -> Solution:
        """The optimum of the LP as edited, with the hourly reservoir rows it needs. A
        decomposition that cannot prove one tries once more without its cuts, then hands the
        LP to a full-LP HiGHS instance, which the session keeps from then on. ``keep``: the
        decomposition keeps the cuts for later solves with the same costs (not for a tier's
        own stage costs, which seldom come back). ``first_stage``: the policy's first stage
        (tier or final), which may start from the coarse optimum (``_run_decomposed``)."""
        with whole_solve(self.options):
            sol = self._run_full() if self.dec is None else self._run_or_retry(keep, first_stage)
        self.last_x, self.last_row_dual = sol.x, sol.row_dual
        return sol

    def _run_or_retry(self, keep: bool, first_stage: bool) -> Solution:
        self.dec.solve_s = 0.0  # the time limit holds for each solve, retry included
        try:
            return self._run_decomposed(keep, first_stage)
        except DecompositionFailed:
            # the cuts' rounding may be what failed (feasibility cuts are not exact to the
            # last NOK): once more from the best grants without them, before the full LP
            self.dec.forget(pools=True)
            try:
                return self._run_decomposed(keep, False)
            except DecompositionFailed:
                return self._leave_decomposition()

    def _leave_decomposition(self) -> Solution:
        """Solve the LP as edited so far in a full-LP HiGHS instance, within what is left of
        this solve's time limit; later solves use it with the full limit."""
        self.highs = to_highs(self.dec.lp, self.options.after(self.dec.solve_s))
        set_pricing(self.highs, self.options.pricing(self.own_costs))
        self.dec, self.solved = None, True
        sol = self._run_full()
        if "time_limit" in (full := self.options.highs_options()):
            self.highs.setOptionValue("time_limit", full["time_limit"])
        return sol

    def _any_solution(self) -> np.ndarray:
        """A solution of the LP as edited, with the hourly reservoir rows it needs (a probe
        needs no more). In the decomposition, the subproblem's at the best grants so far: one
        warm solve, no master (DecompositionFailed if none)."""
        if self.dec is None:
            return self._run().x
        self.dec.solve_s = 0.0  # the time limit holds for each probe
        x = self.dec.probe()
        while (block := storage_level_rows(self.index, self.lp.col_slices, x,
                                           self.refined)) is not None:
            self.dec.append(block)
            x = self.dec.probe()
        self.last_x = x
        return x

    def _run_decomposed(self, keep: bool, first_stage: bool) -> Solution:
        """From the coarse optimum in a first solve, and in a policy's first stage whose costs
        no kept cuts fit (new weights, or a first tier). In compare on the Norway year `market`
        took 10.4 s from it against 75.6 s from the last policy's grants, `value_creation`
        61.9 against 30.3 s, and after `market` `flexible_mining`'s tier 1 86–134 s against
        157–183 s. Else from the best grants so far: a later stage follows earlier ones, whose
        grants the coarse optimum ignores. Tiers reached in full fix columns (restarted,
        `first_come_first_served`'s tiers 19 and 25 took 25.8 and 37.9 s against 14.8 and
        25.4 s); a tier held by a row cuts the coarse optimum off (restarted, the standalone
        `flexible_mining`'s final stage found no grants that keep the holds: 42 feasibility
        cuts, then the full LP), while the last tier's grants keep them."""
        dec = self.dec
        if not self.warm:
            dec.reset()
        first = dec.best is None and dec.start is None
        if first or (first_stage and not dec.knows_costs()):
            self.coarse_s, wait_s = start_from_coarse(dec, self.index, *self._coarse,
                                                      restart=True)
            self.coarse_wait_s += wait_s
        sol = add_violated_rows(self.lp, self.index, dec.solve(keep), self.refined, dec.append,
                                lambda _: dec.solve(keep))
        sol.lp = self.lp  # the model's bounds, not the policy's edits, label binding limits
        return sol

    def close(self) -> None:
        """Stop the child process computing coarse optima of upcoming policies, if it runs."""
        self._upcoming.close()

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run_full(self) -> Solution:
        if not self.warm:
            self.highs.clearSolver()
        if not self.solved and not self.fixed.any():  # staging would reset fixed grants
            sol = solve_staged(self.highs, self.lp, grant_columns(self.model, self.lp), self.options)
        else:
            sol = run_highs(self.highs, self.lp)
        self.solved = True
        # the storage_level rows go to HiGHS only, after the model's and the policies' rows:
        # the session never edits them, and the model's row slices stay where they are
        return add_violated_rows(self.lp, self.index, sol, self.refined,
                                 lambda block: append_rows(self.highs, block),
                                 resolver(self.highs, self.lp, self.options))

    def _feasible(self, x: np.ndarray) -> bool:
        """x satisfies the model's rows, the column bounds and the current policy's limit rows
        (``_within``). (The hourly storage_level rows hold for any solution the session
        returned: row generation stops only when none is violated.)"""
        lp = self.lp
        rows = [(lp.row_lower, lp.row_upper, lp.matrix @ x), (lp.col_lower, lp.col_upper, x)]
        rows += [(np.array([lim.lower]), np.array([lim.upper]), np.array([lim.coefs @ x[lim.cols]]))
                 for lim in self.limit_specs]
        return all(_within(lower, upper, value) for lower, upper, value in rows)

    @one_blas_thread
    def solve(self, policy: PolicySpec | None = None) -> PolicyRun:
        """The policy's optimal result (the base instance's with ``None``).

        Raises InfeasibleError, UnboundedError, SolverLimitError or SolverError unless every
        stage is proven optimal; nothing partial is returned."""
        start = time.perf_counter()
        self.inst = inst = apply_policy(self.base, policy)
        self.coarse_s = self.coarse_wait_s = 0.0
        k = next((k for k, p in enumerate(self._upcoming.policies) if p is policy), None)
        self._coarse = (self._upcoming, k) if k is not None else (
            CoarseStarts(self.base, self.options, [policy], background=False), 0)
        rebuilt = structure_key(inst) != self.structure
        if rebuilt:
            self._build(inst, self._granted_mw())
        self._set_pricing(policy)
        self._undo_policy()
        cost = self.costs(inst)
        stages: list[Stage] = []
        if policy is not None:
            self._add_limits(inst, policy)
        try:
            if policy is not None:
                stages = self._tier_stages(inst, policy, cost)
            self._set_costs(cost)
            t0 = time.perf_counter()
            sol = self._run(first_stage=not stages)
        except InfeasibleError as exc:
            if policy is None:
                raise
            raise InfeasibleError(f"policy '{policy.name}': {exc}; its limits "
                                  f"({_limits_text(policy)}) cannot all be met") from None
        for stage in stages:
            stage.priority_cost = _priority_cost(stage, sol, cost)
        stages.append(Stage("final", sol.objective, sol.objective, time.perf_counter() - t0,
                            _iterations(sol)))
        timings = {"build_s": self.build_s, "solve_s": sum(s.seconds for s in stages),
                   "coarse_s": self.coarse_s, "coarse_wait_s": self.coarse_wait_s}
        self.build_s = 0.0
        result = build_result(self.model, ModelIndex(inst), sol, timings)
        level, dual = self._limit_state(sol)
        if (limits := self._limit_binding(level, dual)) is not None:
            result.binding = pd.concat([result.binding, limits], ignore_index=True)
        record_run(result.summary, self.options, {
            "name": policy.name if policy else None,
            "overrides": policy.model_dump(mode="json") if policy else None,
            "rebuilt": rebuilt,
            "tier_tolerance": policy.tier_tolerance if policy and policy.tiers else None,
            "stages": [_stage_record(s) for s in stages],
            "limits": self._limit_record(level, dual),
        })
        timings["total_s"] = time.perf_counter() - start
        return PolicyRun(name_of(policy), result, stages, rebuilt)

    def _set_pricing(self, policy: PolicySpec | None) -> None:
        """Devex (SolverOptions.pricing) while the policies solved on this LP, this one
        included, keep the instance's own costs (its weights, no tiers: the status quo, then
        policies that only add limits to it, as `domestic_first`); HiGHS's choice from the
        first that changes them on (in a cold session, for each that does). On the Norway year
        `first_come_first_served` after the status quo and `domestic_first` took 36.0 s with
        the change at its own tiers, 45.4 s with the change at `domestic_first`."""
        own = _keeps_costs(self.inst, policy, self.base)
        self.own_costs = own and (self.own_costs or not self.warm)
        set_pricing(self.dec.highs if self.dec is not None else self.highs,
                    self.options.pricing(self.own_costs))

    def _tier_stages(self, inst: Instance, policy: PolicySpec, cost: np.ndarray) -> list[Stage]:
        """Solve the tiers in order and hold each tier's value for the stages after it.

        A tier is first checked for its largest possible value (``Tier``: loads granted and
        served in full, nothing unserved): if a known solution meets the LP and every hold so
        far and reaches it, or a probe finds such a solution, that solution is optimal for the
        stage, no optimisation is run, and the tier is held by fixing the columns that value
        determines and making its window rows equalities (exact, and the LP loses columns).
        Otherwise stage k maximises the value of tiers 1..k and the tier is held by a row
        value_k(x) ≥ value_k* − tolerance × max(1, |value_k*|).
        Known solutions are each solved stage's and, if it meets this policy's limits, the
        previous policy's; a probe fixes the tier at its largest value and asks HiGHS for any
        feasible point (``_probe``), until PROBE_MISSES probes in a row fail. In the
        decomposition a coarse forecast (``_forecast``) lets a probe take the tiers after it
        that the forecast expects to reach their largest value too (``_probe_ahead``), and a
        tier it expects to fall short is optimised with no probe. A known or probed solution
        is optimal for stage k when the earlier tiers are held by fixed columns; where one is
        held by a row, within that row's tolerance."""
        stages: list[Stage] = []
        if self.last_x is None and policy.tiers == QUEUE and self.dec is not None:
            stages.append(self._untiered_start(cost))
        cumulative = np.zeros(len(cost), dtype=bool)
        known = [self.last_x] if self.last_x is not None and self._feasible(self.last_x) else []
        holds: list[Callable[[np.ndarray], bool]] = []
        """Whether a point meets each hold so far: a fixed tier exactly, a row within its bound."""
        tol = policy.tier_tolerance
        tiers = [t for k, spec in enumerate(tier_members(inst, policy))
                 if (t := self._tier(f"tier {k + 1}: {spec.label()}", spec, cost))]
        misses = 0
        kept_cost: np.ndarray | None = None
        forecast: dict[str, bool] | None = None
        batched: set[str] = set()
        """Tiers a probe of several reached (``_probe_ahead``)."""
        for k, tier in enumerate(tiers):
            cumulative[tier.cols] = True
            stage_cost = np.where(cumulative, cost, 0.0)
            t0 = time.perf_counter()
            x = next((x for x in known if tier.reached_by(x) and all(h(x) for h in holds)), None)
            probed = x is None and tier.best < INF and misses < PROBE_MISSES
            if probed and forecast is None:
                forecast = self._forecast(policy, tiers[k:])
            if probed and forecast.get(tier.label, True):
                if kept_cost is None:
                    kept_cost = stage_cost
                x, reached = self._probe_ahead(tiers[k:], forecast, kept_cost)
                if reached is None:  # the forecast missed: probe one by one from here
                    forecast, reached = {}, set()
                batched |= reached
                misses = 0 if x is not None else misses + 1
            else:  # not probed (found in a known solution, no largest value, too many
                # misses, or short of its largest value in the forecast): skipped if found,
                # thanks to a probe if a probe of several found it
                probed = x is not None and tier.label in batched
            if x is not None:
                stage = Stage(tier.label, float(cost[cumulative] @ x[cumulative]), tier.best,
                              time.perf_counter() - t0, 0, skipped=True, probed=probed)
            else:
                self._set_costs(kept_cost := stage_cost)
                sol = self._run(keep=False, first_stage=not stages)
                x = sol.x
                stage = Stage(tier.label, sol.objective, float(cost[tier.cols] @ x[tier.cols]),
                              time.perf_counter() - t0, _iterations(sol))
            known.insert(0, x)
            stages.append(stage)
            if tier.reached_by(x):
                self._fix(tier.fixed, tier.fixed_x)
                self._tighten(tier.windows)
                stage.fixed_cols, stage.tight_rows = tier.fixed, tier.windows
                stage.tight_weights = tier.window_weights
                holds.append(tier.reached_by)
            else:
                least = stage.value_nok - tol * max(1.0, abs(stage.value_nok))
                self._add_row(least, INF, tier.cols, tier.coefs)
                stage.hold_row = self.policy_rows[-1]
                if self.dec is not None and not stage.skipped:  # its points become cuts
                    self.dec.hold_objective(np.array([s.hold_row for s in stages
                                                      if s.hold_row is not None]))
                holds.append(lambda x, c=tier.cols, v=tier.coefs, least=least: v @ x[c] >= least)
        return stages

    def _untiered_start(self, cost: np.ndarray) -> Stage:
        """The optimum of the policy's objective without its tiers, for a queue policy solved
        first in the decomposition: it reaches the queue's leading tiers (protected demand,
        existing connections), which are then skipped, and its grants start the probes of the
        rest, as an earlier policy's optimum does (``starts_from``). On the Norway year
        `first_come_first_served` solved first took 283.7 s without it."""
        t0 = time.perf_counter()
        self._set_costs(cost)
        sol = self._run()
        return Stage("start: objective without tiers", sol.objective, sol.objective,
                     time.perf_counter() - t0, _iterations(sol))

    def _tier(self, label: str, spec: TierSpec, cost: np.ndarray) -> Tier | None:
        cols = spec.columns(self._cols, self.lp)
        if cols is None:
            return None
        best = INF if spec.trade else 0.0
        fixed: dict[int, float] = {}
        window_rows, window_weights = [], []
        costly = [self._cols[a]["unserved_mw"] for a in self.index.with_unserved] \
            if spec.existing else []
        for app in spec.applicants:
            col = self._cols[app.name]
            costly += [col[f] for f in ("unserved_mw", "own_supply_mw") if f in col]
            energy = float(app.profile.sum())
            if app.weight_nok_per_mwh < 0:
                best = INF
            if app.weight_nok_per_mwh <= 0 or energy == 0:
                continue
            best += app.weight_nok_per_mwh * app.requested_mw * energy
            fixed[int(col["granted_mw"][0])] = app.requested_mw
            if app.window_hours:
                window_rows.append(self._window_rows[app.name])
                window_weights.append(np.full(len(window_rows[-1]), app.weight_nok_per_mwh))
            elif "served_mw" in col:
                fixed |= dict(zip(col["served_mw"].tolist(),
                                  (app.profile * app.requested_mw).tolist(), strict=True))
        for c in costly:  # lost load and own supply only lower the value: 0 at the largest
            fixed |= dict.fromkeys(c[cost[c] < 0].tolist(), 0.0)
        return Tier(label, cols, cost[cols], best, *_arrays(fixed),
                    np.concatenate(window_rows or [np.zeros(0, dtype=int)]).astype(np.int32),
                    np.concatenate(window_weights or [np.zeros(0)]))

    def _forecast(self, policy: PolicySpec, tiers: list[Tier]) -> dict[str, bool]:
        """``coarse_reached`` for the policy where the LP is decomposed (its probes cost a
        subproblem solve each) and two or more of ``tiers`` have a largest value (else no
        probes can go together: on the Norway year `flexible_mining`'s tier 2 took 4.1 s with
        its forecast, 0.6 s of it, and without), else {}."""
        if self.dec is None or sum(t.best < INF for t in tiers) < 2:
            return {}
        return coarse_reached(self.base, policy, self.options)

    def _probe_ahead(self, tiers: list[Tier], forecast: dict[str, bool], kept_cost: np.ndarray
                     ) -> tuple[np.ndarray | None, set[str] | None]:
        """``_probe`` of tiers[0] together with the tiers right after it that the forecast
        expects a probe to skip too: a solution that reaches them all answers each one's
        probe, in one solve (on the Norway year `first_come_first_served`'s tiers 8–18 took
        2.9 s so, against 11.5 s one by one); tiers[0] alone if there are none or no such
        solution is found. Returns the solution (None: none found) and the labels of the tiers
        it reaches together: None where there were tiers to probe together and that probe found
        no solution (the forecast missed: the caller probes one by one from there), else an
        empty set where tiers[0] was probed alone."""
        ahead = list(takewhile(lambda t: t.best < INF and forecast.get(t.label, False),
                               tiers[1:]))
        together = [tiers[0], *ahead]
        if ahead:
            x = self._probe(Tier.joined(together), kept_cost)
            if x is not None and all(t.reached_by(x) for t in together):
                return x, {t.label for t in together}
        return self._probe(tiers[0], kept_cost), (None if ahead else set())

    def _probe(self, tier: Tier, kept_cost: np.ndarray) -> np.ndarray | None:
        """A solution of the LP (with the holds so far) that gives the tier its largest value,
        or None if none is found: the columns that value determines are fixed, the windows of
        loads with energy windows must be served in full, and HiGHS looks for any feasible
        point: with a zero objective in the full LP (``kept_cost`` unused); in the
        decomposition, the subproblem's optimum under ``kept_cost`` at the best grants so far,
        as a zero objective makes every ratio test of its warm dual simplex a tie (measured on
        2 016 Norway hours: 10–26 s a probe, against 0.1–1.5 s for a point). ``kept_cost`` is
        the first probed stage's costs, then those of the last probe or tier stage, so that a
        probe after a probe only adds bounds to an optimal basis: on the Norway year
        `first_come_first_served`'s tiers 20–24 took 0.2–0.3 s each against 1.5–2.0 s with
        each stage's own costs, the policy after the status quo 32.1 s against 38.7 s. Which
        tiers a probe takes together: ``_probe_ahead`` (a probe of all the tiers left, first,
        fails on the Norway year: with it, then one by one, the policy took 32.1 s against
        28.8–29.7 s one by one)."""
        rows = np.setdiff1d(tier.windows, self.tight)
        cols = tier.fixed[~self.fixed[tier.fixed]]  # not fixed by an earlier tier
        cuts = list(self.dec.feasibility) if self.dec is not None else []
        self._fix(tier.fixed, tier.fixed_x)
        self._tighten(rows)
        self._set_costs(np.zeros(len(self.lp.cost)) if self.dec is None else kept_cost)
        try:
            x = self._any_solution()
        # zero objective: infeasible or unbounded both mean no such point (as does a
        # decomposition that finds none); at a limit the tier is optimised instead
        except (InfeasibleError, UnboundedError, SolverLimitError, DecompositionFailed):
            return None
        finally:
            self._unfix(cols)
            self._loosen(rows)
            if self.dec is not None:  # the LP is back to what they were made for
                self.dec.restore_feasibility(cuts)
        return x if tier.reached_by(x) else None


def _limits_text(policy: PolicySpec) -> str:
    parts = []
    if policy.export_cap_twh is not None:
        parts.append(f"export cap {policy.export_cap_twh:g} TWh/yr")
    if policy.domestic_floor_twh is not None:
        parts.append(f"domestic floor {policy.domestic_floor_twh:g} TWh/yr")
    if policy.reserve_margin is not None:
        parts.append(f"reserve margin {policy.reserve_margin.margin:.0%}")
    return ", ".join(parts) or "none"


class PolicyLimit(NamedTuple):
    """A row of a policy's limits, row ``row`` of the LP: lower ≤ coefs · x[cols] ≤ upper;
    ``entity`` names it in binding.csv (the policy field, a reserve margin's zone); ``unit``
    is the row's: MWh over the horizon (an export cap, a domestic floor) or MW (a reserve
    margin: (1 + margin) × firm demand granted against firm supply capacity)."""

    entity: str
    unit: str
    row: int
    lower: float
    upper: float
    cols: np.ndarray
    coefs: np.ndarray


@dataclass
class Tier:
    """A priority tier's columns in the LP and its largest possible value.

    At that value every applicant of the tier is granted its request and served its whole
    profile energy, with nothing unserved and no own supply (which costs): that fixes its grant,
    unserved and own-supply columns and, for applicants without energy windows, its served
    columns. Applicants with windows may still shift energy inside each window but must serve
    each window in full."""

    label: str
    cols: np.ndarray
    coefs: np.ndarray
    """Its value is coefs · x[cols] (NOK)."""
    best: float
    """The largest possible value (NOK); inf where there is none to reach (trade, or a negative
    weight)."""
    fixed: np.ndarray
    fixed_x: np.ndarray
    """Columns that every solution at the largest value has at these values."""
    windows: np.ndarray
    """window_cap rows of its loads with energy windows: at the largest value each window is
    served in full, so these rows hold with equality."""
    window_weights: np.ndarray
    """The weight (NOK/MWh) of the load of each of those rows."""

    @staticmethod
    def joined(tiers: list[Tier]) -> Tier:
        """The tiers as one, whose largest value is reached where each one's is. A column two
        tiers fix (lost load of every applicant, fixed at 0 by a tier of existing connections)
        is fixed once; the caller checks each tier's ``reached_by`` anyway."""
        fixed = {c: v for t in tiers for c, v in zip(t.fixed.tolist(), t.fixed_x.tolist(),
                                                      strict=True)}
        return Tier(" + ".join(t.label for t in tiers),
                    np.concatenate([t.cols for t in tiers]),
                    np.concatenate([t.coefs for t in tiers]), sum(t.best for t in tiers),
                    *_arrays(fixed), np.concatenate([t.windows for t in tiers]),
                    np.concatenate([t.window_weights for t in tiers]))

    def reached_by(self, x: np.ndarray) -> bool:
        """x gives the tier its largest value (to solver precision)."""
        return bool(self.best < INF
                    and self.coefs @ x[self.cols] >= self.best - 1e-9 * max(1.0, abs(self.best))
                    and np.all(np.abs(x[self.fixed] - self.fixed_x)
                               <= 1e-9 * np.maximum(1.0, np.abs(self.fixed_x))))


def _stage_record(stage: Stage) -> dict:
    """A stage as summary.json reports it: its figures and how its tier is held."""
    held = ("row" if stage.hold_row is not None
            else "fixed columns" if stage.fixed_cols is not None else None)
    internal = ("hold_row", "fixed_cols", "tight_rows", "tight_weights")
    return {k: v for k, v in vars(stage).items() if k not in internal} | {"held_by": held}


def _iterations(sol: Solution) -> int:
    return sol.iterations["simplex"] + sol.iterations.get("ipm", 0)


def _priority_cost(stage: Stage, sol: Solution, cost: np.ndarray) -> float:
    """NOK of the full objective gained per NOK of the tier's value given up, at the margin:
    minus the dual of its hold row, or, for a tier held by fixed columns, the best ratio
    −reduced cost / cost over those columns (0 where giving up value gains nothing)."""
    if stage.hold_row is not None:
        return -float(sol.row_dual[stage.hold_row])
    if stage.fixed_cols is None:  # no tier held: the final stage, a start without tiers
        return 0.0
    cols = stage.fixed_cols[cost[stage.fixed_cols] != 0]
    ratios = np.concatenate([-sol.col_dual[cols] / cost[cols],
                             -sol.row_dual[stage.tight_rows] / stage.tight_weights])
    return max(0.0, float(np.max(ratios, initial=0.0)))


def _arrays(values: dict[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """(columns, values) of a column → value map, as arrays in column order."""
    cols = np.array(sorted(values), dtype=np.int32)
    return cols, np.array([values[c] for c in cols.tolist()], dtype=float)


def _within(lower: np.ndarray, upper: np.ndarray, value: np.ndarray) -> bool:
    """Within the bounds up to 1e-6 absolute (HiGHS's own tolerance is 1e-7) plus 1e-9 of the
    value, for the long sums of storage rows."""
    slack = 1e-6 + 1e-9 * np.abs(value)
    return bool(np.all(value >= lower - slack) and np.all(value <= upper + slack))


def _merge(cols: np.ndarray, coefs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the coefficients of repeated columns (HiGHS rows take each column once)."""
    unique, inverse = np.unique(cols, return_inverse=True)
    return unique, np.bincount(inverse, weights=coefs)
