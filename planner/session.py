"""A built allocation LP held in one HiGHS instance, re-solved policy after policy.

A policy that changes only weights, limits or tiers is applied to the LP already in HiGHS as a
diff: new column costs (``changeColsCost``), new rows for its limits and tier holds
(``addRow``), and the rows of the previous policy relaxed to free rows (``changeRowsBounds``),
so HiGHS starts from the last optimal basis. A policy that changes connection terms (firm
share, curtailment cap) changes which variables and rows exist, and rebuilds the model.

Priority tiers are solved lexicographically (models/formulation.md, section 11): stage k
maximises the value of tiers 1..k with the value of every earlier tier held within the policy's
relative tolerance; a final stage maximises the full objective with every tier held. The zonal
prices come from that final stage.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import highspy
import numpy as np

from planner.api import add_violated_rows, staged_columns
from planner.errors import InfeasibleError
from planner.instance.instance import Applicant, Instance
from planner.model import build_model
from planner.model.index import ModelIndex
from planner.policies import PolicySpec, apply_policy, per_horizon_mwh, tier_members
from planner.results import Result, build_result
from planner.solve import (
    INF,
    Solution,
    SolverOptions,
    append_rows,
    compile_lp,
    run_highs,
    solve_staged,
    to_highs,
)


def structure_key(inst: Instance) -> tuple:
    """What decides the LP's variables, rows and coefficients besides weights: the terms."""
    return tuple((a.name, a.firm_share, a.max_curtailment_share) for a in inst.applicants)


def firm_supply_mw(inst: Instance, zone: str | None) -> float:
    """Firm supply capacity (MW) of a zone, or of the system: reservoir hydro turbines and
    thermal plants at nameplate, plus import capacity over interconnectors (and, for a zone,
    over lines into it)."""
    plants = sum(s.capacity_mw for s in inst.supply
                 if (s.reservoir or s.kind == "thermal") and zone in (None, s.zone))
    imports = sum(i.import_mw for i in inst.interconnectors if zone in (None, i.zone))
    if zone is not None:
        imports += sum(x.reverse_capacity_mw for x in inst.lines if x.from_zone == zone)
        imports += sum(x.capacity_mw for x in inst.lines if x.to_zone == zone)
    return plants + imports


@dataclass
class Stage:
    """One solve of a policy: a tier (value of that tier alone) or the final full objective."""

    name: str
    objective_nok: float
    value_nok: float
    seconds: float
    iterations: int
    skipped: bool = False
    """The previous stage's solution already reached this tier's largest possible value."""
    hold_row: int | None = None
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

    def __init__(self, inst: Instance, options: SolverOptions | None = None, warm: bool = True):
        self.base = inst
        self.options = options or SolverOptions()
        self.warm = warm
        """False: every solve starts from scratch (for benchmarks and tests)."""
        self.builds = 0
        self._build(inst)

    def _build(self, inst: Instance) -> None:
        start = time.perf_counter()
        self.model, self.index = build_model(inst)
        self.lp = compile_lp(self.model)
        self.highs = to_highs(self.lp, self.options)
        self.structure = structure_key(inst)
        self.built_weights = {a.name: a.weight_nok_per_mwh for a in inst.applicants}
        self.policy_rows: list[int] = []
        self.stale_rows: list[int] = []
        """Freed rows of earlier policies, deleted once a solve has made them basic."""
        self.limit_rows: dict[str, int] = {}
        """Row of the current policy's export cap or domestic floor, by policy field."""
        self.solved = False
        self.last_x: np.ndarray | None = None
        """The last optimal solution, a candidate for skipping the next policy's tier stages."""
        self.limit_specs: list[tuple[float, float, np.ndarray, np.ndarray]] = []
        """(lower, upper, columns, coefficients) of the current policy's limit rows."""
        self.refined: set[tuple[int, int]] = set()
        """Reservoir blocks whose hourly storage_level rows are in HiGHS (kept for every policy:
        they belong to the base model)."""
        self.builds += 1
        self.build_s = time.perf_counter() - start
        """Build and compile time (s), reported with the next solve."""
        H = inst.hours
        sl = self.lp.col_slices
        self._cols: dict[str, dict[str, np.ndarray]] = {}
        for family, names in (("served_mw", self.index.flexible),
                              ("unserved_mw", self.index.with_unserved),
                              ("own_supply_mw", self.index.with_own_supply)):
            for k, a in enumerate(names):
                start_col = sl[family].start + k * H
                self._cols.setdefault(a, {})[family] = np.arange(start_col, start_col + H)
        for k, a in enumerate(self.index.applicants):
            self._cols.setdefault(a, {})["granted_mw"] = np.array([sl["granted_mw"].start + k])

    # -- columns and coefficients -------------------------------------------------------

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
        sl = self.lp.col_slices["net_export_mw"]
        return np.arange(sl.start, sl.stop)

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
        n = len(cost)
        self.highs.changeColsCost(n, np.arange(n, dtype=np.int32), cost)

    def _add_row(self, lower: float, upper: float, cols: np.ndarray, coefs: np.ndarray) -> None:
        order = np.argsort(cols)
        self.highs.addRow(lower, upper, len(cols), cols[order].astype(np.int32),
                          coefs[order].astype(float))
        self.policy_rows.append(self.highs.getNumRow() - 1)

    def _relax_policy_rows(self) -> None:
        """Free the previous policy's rows (bounds ±inf) instead of deleting them: deleting a
        row that is nonbasic would invalidate the basis. Freed rows that a later solve has made
        basic are deleted then, which keeps the basis valid, so rows do not pile up."""
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
        if self.policy_rows:
            idx = np.array(self.policy_rows, dtype=np.int32)
            n = len(idx)
            self.highs.changeRowsBounds(n, idx, np.full(n, -INF), np.full(n, INF))
            self.stale_rows += self.policy_rows
            self.policy_rows = []
            self.limit_rows = {}
            self.limit_specs = []

    def _add_limit(self, lower: float, upper: float, cols: np.ndarray, coefs: np.ndarray) -> None:
        self._add_row(lower, upper, cols, coefs)
        self.limit_specs.append((lower, upper, cols, coefs))

    def _add_limits(self, inst: Instance, policy: PolicySpec) -> None:
        """Rows for the policy's export cap, domestic floor and reserve margin."""
        if policy.export_cap_twh is not None:
            cols = self.trade_columns()
            self._add_limit(-INF, per_horizon_mwh(inst, policy.export_cap_twh), cols,
                          np.ones(len(cols)))
            self.limit_rows["export_cap_twh"] = self.policy_rows[-1]
        if policy.domestic_floor_twh is not None:
            parts = [self.served_energy(a) for a in inst.applicants if a.load_class != "exports"]
            cols = np.concatenate([p[0] for p in parts])
            coefs = np.concatenate([p[1] for p in parts])
            self._add_limit(per_horizon_mwh(inst, policy.domestic_floor_twh), INF, *_merge(cols, coefs))
            self.limit_rows["domestic_floor_twh"] = self.policy_rows[-1]
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
                        "the margin or use scope: zone/system")
                if apps:
                    cols = np.concatenate([self._cols[a.name]["granted_mw"] for a in apps])
                    coefs = np.array([(1 + rm.margin) * a.firm_share for a in apps])
                    self._add_limit(-INF, capacity, cols, coefs)

    # -- solving --------------------------------------------------------------------------

    def _run(self) -> Solution:
        if not self.warm:
            self.highs.clearSolver()
        if not self.solved:
            sol = solve_staged(self.highs, self.lp, staged_columns(self.model, self.lp), self.options)
        else:
            sol = run_highs(self.highs, self.lp)
        self.solved = True
        # the storage_level rows go to HiGHS only, after the model's and the policies' rows:
        # the session never edits them, and the model's row slices stay where they are
        sol = add_violated_rows(self.highs, self.lp, self.index, sol, self.options, self.refined,
                                lambda block: append_rows(self.highs, block))
        self.last_x = sol.x
        return sol

    def _feasible(self, x: np.ndarray) -> bool:
        """x satisfies the model's rows, the column bounds and the current policy's limit rows,
        within 1e-6 relative. (The hourly storage_level rows hold for any solution the session
        returned: row generation stops only when none is violated.)"""
        lp = self.lp
        rows = [(lp.row_lower, lp.row_upper, lp.matrix @ x), (lp.col_lower, lp.col_upper, x)]
        rows += [(np.array([lo]), np.array([up]), np.array([coefs @ x[cols]]))
                 for lo, up, cols, coefs in self.limit_specs]
        return all(_within(lower, upper, value) for lower, upper, value in rows)

    def solve(self, policy: PolicySpec | None = None) -> PolicyRun:
        """The policy's optimal result (the base instance's with ``None``).

        Raises InfeasibleError, UnboundedError, SolverLimitError or SolverError unless every
        stage is proven optimal; nothing partial is returned."""
        start = time.perf_counter()
        inst = apply_policy(self.base, policy)
        rebuilt = structure_key(inst) != self.structure
        if rebuilt:
            self._build(inst)
        self._relax_policy_rows()
        cost = self.costs(inst)
        stages: list[Stage] = []
        if policy is not None:
            self._add_limits(inst, policy)
        try:
            if policy is not None:
                stages = self._tier_stages(inst, policy, cost)
            self._set_costs(cost)
            t0 = time.perf_counter()
            sol = self._run()
        except InfeasibleError as exc:
            if policy is None:
                raise
            raise InfeasibleError(f"policy '{policy.name}': {exc}; its limits "
                                  f"({_limits_text(policy)}) cannot all be met") from None
        for stage in stages:
            stage.priority_cost = -float(sol.row_dual[stage.hold_row])
        stages.append(Stage("final", sol.objective, sol.objective, time.perf_counter() - t0,
                            sol.iterations["simplex"] + sol.iterations["ipm"]))
        timings = {"build_s": self.build_s, "solve_s": sum(s.seconds for s in stages)}
        self.build_s = 0.0
        result = build_result(self.model, ModelIndex(inst), sol, timings)
        result.summary["policy"] = {
            "name": policy.name if policy else None,
            "rebuilt": rebuilt,
            "tier_tolerance": policy.tier_tolerance if policy and policy.tiers else None,
            "stages": [{k: v for k, v in vars(s).items() if k != "hold_row"} for s in stages],
        }
        timings["total_s"] = time.perf_counter() - start
        return PolicyRun(policy.name if policy else "base", result, stages, rebuilt)

    def _tier_stages(self, inst: Instance, policy: PolicySpec, cost: np.ndarray) -> list[Stage]:
        """Solve the tiers in order; after each, hold its value with a row
        value_k(x) ≥ value_k* − tolerance × max(1, |value_k*|).

        A stage is skipped when a known solution satisfies the LP and every hold so far and
        gives the tier the largest value its columns allow: that solution is then optimal for
        the stage. The known solutions are each solved stage's and, if it is feasible under this
        policy's limits, the previous policy's (so a queue whose early tiers the unranked
        optimum already serves in full starts at the first tier it does not)."""
        stages: list[Stage] = []
        cumulative = np.zeros(len(cost), dtype=bool)
        known = [self.last_x] if self.last_x is not None and self._feasible(self.last_x) else []
        holds: list[tuple[np.ndarray, float]] = []
        tol = policy.tier_tolerance
        for k, tier in enumerate(tier_members(inst, policy)):
            parts = [self.applicant_columns(a.name) for a in tier.applicants]
            if tier.trade:
                parts.append(self.trade_columns())
            if tier.existing:
                parts += [self._cols[a]["unserved_mw"] for a in self.index.with_unserved]
            if not parts:
                continue
            cols = np.unique(np.concatenate(parts))
            cumulative[cols] = True
            best = _largest_value(cost[cols], self.lp.col_lower[cols], self.lp.col_upper[cols])
            label = f"tier {k + 1}: {tier.label()}"
            t0 = time.perf_counter()
            x = next((x for x in known
                      if cost[cols] @ x[cols] >= best - tol * max(1.0, abs(best))
                      and all(cost[c] @ x[c] >= least for c, least in holds)), None)
            if x is not None:
                stages.append(Stage(label, float(cost[cumulative] @ x[cumulative]),
                                    float(cost[cols] @ x[cols]), 0.0, 0, skipped=True))
            else:
                self._set_costs(np.where(cumulative, cost, 0.0))
                sol = self._run()
                known.insert(0, sol.x)
                stages.append(Stage(label, sol.objective, float(cost[cols] @ sol.x[cols]),
                                    time.perf_counter() - t0,
                                    sol.iterations["simplex"] + sol.iterations["ipm"]))
            value = stages[-1].value_nok
            least = value - tol * max(1.0, abs(value))
            holds.append((cols, least))
            self._add_row(least, INF, cols, cost[cols])
            stages[-1].hold_row = self.policy_rows[-1]
        return stages


def _limits_text(policy: PolicySpec) -> str:
    parts = []
    if policy.export_cap_twh is not None:
        parts.append(f"export cap {policy.export_cap_twh:g} TWh/yr")
    if policy.domestic_floor_twh is not None:
        parts.append(f"domestic floor {policy.domestic_floor_twh:g} TWh/yr")
    if policy.reserve_margin is not None:
        parts.append(f"reserve margin {policy.reserve_margin.margin:.0%}")
    return ", ".join(parts) or "none"


def _within(lower: np.ndarray, upper: np.ndarray, value: np.ndarray) -> bool:
    slack = 1e-6 * np.maximum(1.0, np.abs(value))
    return bool(np.all(value >= lower - slack) and np.all(value <= upper + slack))


def _largest_value(cost: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """An upper bound of cost · x over the column bounds (inf where a column is unbounded)."""
    with np.errstate(invalid="ignore"):
        best = np.where(cost > 0, cost * upper, np.where(cost < 0, cost * lower, 0.0))
    return float(best.sum())


def _merge(cols: np.ndarray, coefs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sum the coefficients of repeated columns (HiGHS rows take each column once)."""
    unique, inverse = np.unique(cols, return_inverse=True)
    return unique, np.bincount(inverse, weights=coefs)
