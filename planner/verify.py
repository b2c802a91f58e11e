"""Independent verification of a written result: recompute every relation of the LP from the
result files (CSV + summary.json) and the instance's input data, never from the Pyomo model.

Each relation belongs to a *family* (balance, bounds, firm_shares, ...). For each family the
checker reports the largest residual (absolute, in the family's unit) and where it occurs; a
residual beyond its tolerance (see :class:`Tolerances`) fails the family. ``planner solve`` runs
this after writing; ``planner verify RESULT_DIR`` runs it on saved results.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputError, Problem
from planner.instance.instance import Instance
from planner.policies import PolicySpec, apply_policy, firm_supply_mw, per_horizon_mwh, recorded_policy
from planner.report.tables import read_csv
from planner.results import objective_from_terms

TABLES = ("allocation", "dispatch", "flows", "prices", "storage", "applicants", "generation",
          "binding")
"""The CSV files of a result folder (file stems); summary.json comes with them."""

FAMILIES = {
    "tables": "MW or MWh",
    "balance": "MW",
    "bounds": "MW or MWh",
    "line_limits": "MW",
    "firm_shares": "MW",
    "curtailment_limits": "MWh",
    "ramps": "MW",
    "energy_windows": "MWh",
    "reservoirs": "MWh",
    "objective": "NOK",
    "policy_limits": "MWh or MW",
}
"""Verified families and the unit of their residuals. ``tables``: the files agree with each other
and with the instance (totals, sums by zone and class, limits and inflows as in the input).
``policy_limits``: the recorded policy's export cap, domestic floor and reserve margin."""


@dataclass(frozen=True)
class Tolerances:
    """How far a relation may be off before verification fails.

    A relation ``lhs ≤ rhs`` (or ``=``) of n numbers read from the CSV files holds if its
    residual is at most ``rounding × n + relative × max(1, |lhs|, |rhs|)``:

    - the CSV files round every number to four decimals, so each contributes up to 5e-5;
    - HiGHS meets rows to a feasibility tolerance of 1e-7 on its *scaled* LP; on the unscaled
      rows that is about 1e-7 of the row's size (reservoirs of 1e7 MWh: about 1 MWh).

    The objective is checked against its terms to ``objective_relative`` of Σ|terms|, plus the
    rounding of every number each term is recomputed from.
    """

    rounding: float = 5e-5
    """Largest rounding error of one number in a CSV file (four decimals), MW, MWh or NOK/MWh."""
    relative: float = 1e-7
    """Residual allowed per unit of the relation's size."""
    objective_relative: float = 1e-7
    """Objective residual allowed per NOK of Σ |objective terms|."""


@dataclass
class FamilyResult:
    """The worst residual of one family of relations."""

    family: str
    unit: str
    largest_residual: float = 0.0
    where: str = ""
    violations: int = 0
    checked: int = 0
    first_violation: str = ""

    @property
    def passed(self) -> bool:
        return self.violations == 0


@dataclass
class Verification:
    """The outcome of verifying one result folder."""

    folder: str
    instance_file: str
    tolerances: Tolerances
    families: dict[str, FamilyResult] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(f.passed for f in self.families.values())

    def failed(self) -> list[FamilyResult]:
        return [f for f in self.families.values() if not f.passed]

    def to_json(self) -> dict:
        return {"passed": self.passed, "folder": self.folder, "instance_file": self.instance_file,
                "tolerances": asdict(self.tolerances),
                "families": {name: {**asdict(f), "passed": f.passed}
                             for name, f in self.families.items()}}

    def line(self) -> str:
        """One line for the console."""
        worst = ", ".join(f"{f.family} {f.largest_residual:.2g} {f.unit}"
                          for f in self.families.values())
        if self.passed:
            return f"verified: all {len(self.families)} families hold (largest residuals: {worst})"
        bad = "; ".join(f"{f.family}: {f.violations} violations, worst {f.largest_residual:.6g} "
                        f"{f.unit} at {f.where}" for f in self.failed())
        return f"VERIFICATION FAILED: {bad}"


# --------------------------------------------------------------------------------------------
# reading a result folder


@dataclass
class Tables:
    """The files of a result folder, as written."""

    allocation: pd.DataFrame
    dispatch: pd.DataFrame
    flows: pd.DataFrame
    prices: pd.DataFrame
    storage: pd.DataFrame
    applicants: pd.DataFrame
    generation: pd.DataFrame
    binding: pd.DataFrame
    summary: dict


def read_tables(folder: Path) -> Tables:
    """The result files of a solve; a missing or unreadable file is an InputError naming it."""
    read: dict[str, pd.DataFrame] = {}
    problems: list[Problem] = []
    for name in TABLES:
        path = folder / f"{name}.csv"
        try:
            df = read_csv(path)  # the writer's reader: names stay text, formula guards undone
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            problems.append(Problem(str(path), None, None, "", f"cannot read the result table "
                                    f"({exc}); solve again to rewrite the folder"))
            continue
        read[name] = df
    path = folder / "summary.json"
    try:
        summary = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        problems.append(Problem(str(path), None, None, "", f"cannot read ({exc})"))
    if problems:
        raise InputError(problems)
    return Tables(**read, summary=summary)


def instance_of(folder: Path, tables: Tables) -> Path:
    """The instance file a result folder was solved from (recorded in summary.json)."""
    recorded = tables.summary.get("instance_file")
    if not recorded:
        raise InputError([Problem(str(folder / "summary.json"), None, None, "instance_file",
                                  "no instance recorded; pass --instance FILE")])
    return Path(recorded)


# --------------------------------------------------------------------------------------------
# the checker's bookkeeping


class _Checker:
    """Collects the residuals of every relation, family by family."""

    def __init__(self, tol: Tolerances):
        self.tol = tol
        self.families = {name: FamilyResult(name, unit) for name, unit in FAMILIES.items()}

    def le(self, family: str, lhs, rhs, where: Callable[[int], str], terms: int = 1) -> None:
        """Record lhs ≤ rhs elementwise; ``terms`` CSV numbers enter each side's rounding."""
        lhs, rhs = _flat(lhs, rhs)
        if not lhs.size:
            return
        gap = lhs - rhs
        allowed = self.tol.rounding * terms + self.tol.relative * np.maximum(
            1.0, np.maximum(np.abs(lhs), np.abs(rhs)))
        self._record(family, gap, allowed, where)

    def eq(self, family: str, actual, expected, where: Callable[[int], str],
           terms: int = 1) -> None:
        """Record actual = expected elementwise (residual |actual − expected|)."""
        actual, expected = _flat(actual, expected)
        if not actual.size:
            return
        allowed = self.tol.rounding * terms + self.tol.relative * np.maximum(
            1.0, np.maximum(np.abs(actual), np.abs(expected)))
        self._record(family, np.abs(actual - expected), allowed, where)

    def scalar(self, family: str, residual: float, allowed: float, where: str) -> None:
        self._record(family, np.array([abs(residual)]), np.array([allowed]), lambda _: where)

    def broken(self, family: str, where: str) -> None:
        """A structural fault (missing rows, unknown names): the family fails outright."""
        self._record(family, np.array([np.inf]), np.array([0.0]), lambda _: where)

    def _record(self, family: str, gap: np.ndarray, allowed: np.ndarray,
                where: Callable[[int], str]) -> None:
        f = self.families[family]
        # a blank cell or missing row is a violation, never a pass
        gap = np.where(np.isnan(gap), np.inf, gap)
        allowed = np.nan_to_num(allowed, nan=0.0)
        f.checked += gap.size
        k = int(np.argmax(gap))
        if gap[k] > f.largest_residual or not f.where:
            f.largest_residual, f.where = max(float(gap[k]), 0.0), where(k)
        over = gap > allowed
        if over.any():
            if not f.violations:
                j = int(np.argmax(over))
                f.first_violation = f"{where(j)}: residual {gap[j]:.6g} > {allowed[j]:.3g}"
            f.violations += int(over.sum())


def _flat(a, b) -> tuple[np.ndarray, np.ndarray]:
    """Both sides as flat float arrays of the first side's shape (the second broadcast to it)."""
    a = np.atleast_1d(np.asarray(a, dtype=float))
    return a.ravel(), np.broadcast_to(np.asarray(b, dtype=float), a.shape).ravel()


def _grid(df: pd.DataFrame, key: str, names: list[str], column: str, hours: int) -> np.ndarray:
    """``column`` as an array (entity × hour) in the order of ``names``; NaN where rows are
    missing (which the checker counts as a violation)."""
    wide = df.pivot_table(index=key, columns="hour", values=column, aggfunc="first",
                          dropna=False) if len(df) else pd.DataFrame()
    return wide.reindex(index=names, columns=range(hours)).to_numpy(dtype=float)


def _at(labels: list[str], hours: int) -> Callable[[int], str]:
    """Where a flat (entity × hour) index points: 'entity, hour h'."""
    return lambda k: f"{labels[k // hours]}, hour {k % hours}"


def _each(labels: list[str]) -> Callable[[int], str]:
    return lambda k: labels[k]


# --------------------------------------------------------------------------------------------
# the relations


def as_solved(inst: Instance, t: Tables, folder: str = "") -> tuple[Instance, PolicySpec | None]:
    """The base instance as the policy recorded in the folder's summary.json changed it, and
    that policy (None: the instance as given)."""
    policy = recorded_policy(t.summary, str(Path(folder) / "summary.json"))
    return apply_policy(inst, policy), policy


def verify_tables(inst: Instance, t: Tables, tol: Tolerances | None = None,
                  folder: str = "", instance_file: str = "") -> Verification:
    """Recompute every family from the tables and the instance as the policy recorded in
    summary.json changed it (weights, terms, limits; the base instance is given); never raises
    on a violation."""
    inst, policy = as_solved(inst, t, folder)
    c = _Checker(tol or Tolerances())
    ok = _check_structure(c, inst, t)
    if ok:
        grids = Grids(inst, t)
        _check_tables(c, inst, t, grids)
        _check_balance(c, inst, grids)
        _check_bounds(c, inst, t, grids)
        _check_lines(c, inst, t)
        _check_obligations(c, inst, grids)
        _check_reservoirs(c, inst, grids)
        _check_objective(c, inst, t, grids)
        _check_policy_limits(c, inst, policy, t, grids)
    return Verification(folder, instance_file, c.tol, c.families)


def _check_structure(c: _Checker, inst: Instance, t: Tables) -> bool:
    """Row counts and names as the instance implies; the relations need them."""
    H = inst.hours
    expected = {
        "allocation": len(inst.applicants), "dispatch": len(inst.zones) * H,
        "flows": (2 * len(inst.lines) + 2 * len(inst.interconnectors)) * H, "prices": H,
        "storage": sum(s.reservoir for s in inst.supply) * H,
        "applicants": len(inst.applicants) * H, "generation": len(inst.supply) * H,
    }
    ok = True
    for name, rows in expected.items():
        if len(getattr(t, name)) != rows:
            c.broken("tables", f"{name}.csv has {len(getattr(t, name))} rows, expected {rows}")
            ok = False
    if ok and list(t.allocation["applicant"]) != [a.name for a in inst.applicants]:
        c.broken("tables", "allocation.csv: applicants differ from the instance")
        ok = False
    if list(t.prices.columns) != ["hour", "timestamp", *inst.zones]:
        c.broken("tables", "prices.csv: columns differ from the instance's zones")
        ok = False
    if t.summary.get("status") != "optimal" or t.summary.get("hours") != H:
        c.broken("tables", "summary.json: status is not optimal or hours differ from the instance")
        ok = False
    return ok


class Grids:
    """Hourly arrays (entity × hour) of the result files, in the instance's order."""

    def __init__(self, inst: Instance, t: Tables):
        H = inst.hours
        self.apps = [a.name for a in inst.applicants]
        self.plants = [s.name for s in inst.supply]
        self.zones = list(inst.zones)
        self.reservoirs = [s.name for s in inst.supply if s.reservoir]
        ah = {col: _grid(t.applicants, "applicant", self.apps, col, H)
              for col in ("demand_mw", "served_mw", "unserved_mw", "own_supply_mw")}
        self.demand, self.served = ah["demand_mw"], ah["served_mw"]
        self.unserved, self.own = ah["unserved_mw"], ah["own_supply_mw"]
        self.generation = _grid(t.generation, "supply", self.plants, "generation_mw", H)
        self.available = _grid(t.generation, "supply", self.plants, "available_mw", H)
        self.dispatch = {col: _grid(t.dispatch, "zone", self.zones, col, H)
                         for col in t.dispatch.columns if col not in ("zone", "hour", "timestamp")}
        self.storage = {col: _grid(t.storage, "reservoir", self.reservoirs, col, H)
                        for col in ("storage_mwh", "inflow_mwh", "generation_mwh", "spill_mwh",
                                    "storage_limit_mwh")}
        self.granted = t.allocation["granted_mw"].to_numpy(dtype=float)


def _zone_sum(rows: np.ndarray, zone_of_row: list[str], zones: list[str]) -> np.ndarray:
    """Sum the rows (entity × hour) of each zone: zone × hour."""
    out = np.zeros((len(zones), rows.shape[1] if rows.ndim == 2 else 0))
    for k, z in enumerate(zone_of_row):
        out[zones.index(z)] += rows[k]
    return out


def _check_tables(c: _Checker, inst: Instance, t: Tables, g: Grids) -> None:
    """The files agree: applicants.csv and generation.csv sum to allocation.csv and dispatch.csv;
    demand is profile × granted; requests, limits and availabilities are the instance's."""
    H, alloc = inst.hours, t.allocation
    apps = g.apps
    for col, grid in (("served_mwh", g.served), ("unserved_mwh", g.unserved),
                      ("own_supply_mwh", g.own)):
        c.eq("tables", alloc[col], grid.sum(axis=1), lambda k, col=col: f"{apps[k]}: {col}",
             terms=H + 1)
    profile = np.array([a.profile for a in inst.applicants]).reshape(len(apps), H)
    c.eq("tables", g.demand, profile * g.granted[:, None], _at(apps, H), terms=2)
    c.eq("tables", alloc["demand_mwh"], g.demand.sum(axis=1), _each(apps), terms=H + 1)
    c.eq("tables", alloc["requested_mw"], [a.requested_mw for a in inst.applicants], _each(apps))
    c.eq("tables", alloc["existing_mw"], [a.existing_mw for a in inst.applicants], _each(apps))
    avail = np.array([s.capacity_mw * s.availability for s in inst.supply]).reshape(-1, H)
    c.eq("tables", g.available, avail, _at(g.plants, H))

    zones = g.zones
    za = [a.zone for a in inst.applicants]

    def by_group(grid: np.ndarray, zone_of_row: list[str], group_of_row: list[str],
                 column: str) -> None:
        """dispatch.csv's column of each group (class or kind) = its rows summed by zone."""
        for key in sorted(set(group_of_row)):
            rows = np.array([x == key for x in group_of_row])
            name = column.format(key)
            c.eq("tables", g.dispatch[name],
                 _zone_sum(grid[rows], [z for z, r in zip(zone_of_row, rows, strict=True) if r],
                           zones),
                 _at([f"{z}: {name}" for z in zones], H), terms=len(group_of_row) + 1)

    by_group(g.served, za, [a.load_class for a in inst.applicants], "served_{}_mw")
    by_group(g.generation, [s.zone for s in inst.supply], [s.kind for s in inst.supply], "{}_mw")
    for col, grid in (("unserved_mw", g.unserved), ("own_supply_mw", g.own)):
        c.eq("tables", g.dispatch[col], _zone_sum(grid, za, zones),
             _at([f"{z}: {col}" for z in zones], H), terms=len(apps) + 1)
    res = [k for k, s in enumerate(inst.supply) if s.reservoir]
    c.eq("tables", g.storage["generation_mwh"], g.generation[res], _at(g.reservoirs, H), terms=2)
    c.eq("tables", g.storage["inflow_mwh"],
         np.array([inst.supply[k].inflow_mwh for k in res]).reshape(-1, H), _at(g.reservoirs, H))
    c.eq("tables", g.storage["storage_limit_mwh"],
         np.array([inst.supply[k].storage_mwh for k in res]).reshape(-1, 1) * np.ones(H),
         _at(g.reservoirs, H))
    prices = np.array([t.prices[z].to_numpy(dtype=float) for z in zones]).reshape(len(zones), H)
    c.eq("tables", g.dispatch["zonal_price_nok_per_mwh"], prices,
         _at([f"{z}: price vs prices.csv" for z in zones], H), terms=2)


def _check_balance(c: _Checker, inst: Instance, g: Grids) -> None:
    """Per zone and hour, from dispatch.csv: Σ_kind supply + own supply + line inflow (after
    losses) − line outflow − exports + imports − Σ_class served = 0. Unserved energy is not a
    term: it is demand that was not met, not energy that flowed."""
    d = g.dispatch
    kinds = [f"{k}_mw" for k in sorted({s.kind for s in inst.supply})]
    served = [f"served_{cl}_mw" for cl in sorted({a.load_class for a in inst.applicants})]
    inflow = sum((d[k] for k in kinds), np.zeros_like(d["own_supply_mw"])) + d["own_supply_mw"] \
        + d["line_inflow_mw"] + d["imports_mw"]
    outflow = sum((d[k] for k in served), np.zeros_like(inflow)) + d["line_outflow_mw"] \
        + d["exports_mw"]
    c.eq("balance", inflow, outflow, _at(g.zones, inst.hours), terms=len(kinds) + len(served) + 5)


def _check_lines(c: _Checker, inst: Instance, t: Tables) -> None:
    """flows.csv: limits as in the instance, 0 ≤ flow ≤ limit, losses = loss factor × flow, an
    interconnector used in one direction at a time; dispatch.csv's line and trade columns are the
    sums of flows.csv's rows."""
    f, H = t.flows, inst.hours
    limit: dict[tuple[str, str, str], float] = {}
    loss: dict[tuple[str, str, str], float] = {}
    for line in inst.lines:
        limit[line.name, line.from_zone, line.to_zone] = line.capacity_mw
        limit[line.name, line.to_zone, line.from_zone] = line.reverse_capacity_mw
        loss[line.name, line.from_zone, line.to_zone] = line.loss_factor
        loss[line.name, line.to_zone, line.from_zone] = line.loss_factor
    for ic in inst.interconnectors:
        limit[ic.name, ic.zone, ic.market] = ic.export_mw
        limit[ic.name, ic.market, ic.zone] = ic.import_mw
        loss[ic.name, ic.zone, ic.market] = loss[ic.name, ic.market, ic.zone] = 0.0
    arcs = list(zip(f["link"], f["from"], f["to"], strict=True))
    unknown = [a for a in arcs if a not in limit]
    if unknown:
        c.broken("line_limits", f"flows.csv: link {unknown[0]} is not in the instance")
        return
    label = [f"{a}>{b} ({n}), hour {h}" for (n, a, b), h in zip(arcs, f["hour"], strict=True)]
    where = _each(label)
    flow = f["flow_mw"].to_numpy(dtype=float)
    c.eq("line_limits", f["limit_mw"], [limit[a] for a in arcs], where)
    c.le("line_limits", flow, f["limit_mw"].to_numpy(dtype=float), where, terms=2)
    c.le("line_limits", -flow, 0.0, where)
    c.eq("line_limits", f["loss_mw"], flow * np.array([loss[a] for a in arcs]), where, terms=2)
    for ic in inst.interconnectors:
        rows = f[f["link"] == ic.name]
        out = _grid(rows[rows["to"] == ic.market], "link", [ic.name], "flow_mw", H)[0]
        back = _grid(rows[rows["from"] == ic.market], "link", [ic.name], "flow_mw", H)[0]
        c.le("line_limits", np.minimum(out, back), 0.0,
             lambda k, n=ic.name: f"{n}: both directions in hour {k}", terms=2)

    def by_zone(rows: pd.DataFrame, side: str, column: str) -> np.ndarray:
        total = rows.groupby([side, "hour"])[column].sum()
        return np.array([total.get(z, pd.Series(dtype=float)).reindex(range(H), fill_value=0.0)
                         .to_numpy() for z in inst.zones]).reshape(len(inst.zones), H)

    lines, links = f[f["kind"] == "line"], f[f["kind"] == "interconnector"]
    d = {col: _grid(t.dispatch, "zone", list(inst.zones), col, H)
         for col in ("line_inflow_mw", "line_outflow_mw", "exports_mw", "imports_mw")}
    n = 2 * len(inst.lines) + len(inst.interconnectors) + 1
    at = _at(list(inst.zones), H)
    c.eq("tables", d["line_inflow_mw"],
         by_zone(lines, "to", "flow_mw") - by_zone(lines, "to", "loss_mw"), at, terms=2 * n)
    c.eq("tables", d["line_outflow_mw"], by_zone(lines, "from", "flow_mw"), at, terms=n)
    c.eq("tables", d["exports_mw"], by_zone(links, "from", "flow_mw"), at, terms=n)
    c.eq("tables", d["imports_mw"], by_zone(links, "to", "flow_mw"), at, terms=n)


def _check_bounds(c: _Checker, inst: Instance, t: Tables, g: Grids) -> None:
    """existing ≤ granted ≤ requested; 0 ≤ generation ≤ capacity × availability; 0 ≤ storage ≤
    size with the end level reached; spill ≥ 0; 0 ≤ served ≤ cap × granted (cap = profile, or 1
    inside energy windows); 0 ≤ unserved ≤ profile × existing; 0 ≤ own supply ≤ min(capacity ×
    availability, served)."""
    H, apps = inst.hours, g.apps
    c.le("bounds", [a.existing_mw for a in inst.applicants], g.granted,
         lambda k: f"{apps[k]}: granted ≥ existing")
    c.le("bounds", g.granted, [a.requested_mw for a in inst.applicants],
         lambda k: f"{apps[k]}: granted ≤ requested")
    avail = np.array([s.capacity_mw * s.availability for s in inst.supply]).reshape(-1, H)
    c.le("bounds", -g.generation, 0.0, _at(g.plants, H))
    c.le("bounds", g.generation, avail, _at(g.plants, H))
    c.le("bounds", -t.dispatch["curtailed_supply_mw"].to_numpy(dtype=float), 0.0,
         lambda k: f"dispatch.csv row {k + 2}: curtailed_supply_mw ≥ 0")
    res = [s for s in inst.supply if s.reservoir]
    level = g.storage["storage_mwh"]
    c.le("bounds", -level, 0.0, _at(g.reservoirs, H))
    c.le("bounds", level, np.array([[s.storage_mwh] for s in res]).reshape(-1, 1), _at(g.reservoirs, H))
    c.le("bounds", [s.final_storage_mwh for s in res], level[:, -1] if H and res else [],
         lambda k: f"{g.reservoirs[k]}: end level reached")
    c.le("bounds", -g.storage["spill_mwh"], 0.0, _at(g.reservoirs, H))

    profile = np.array([a.profile for a in inst.applicants]).reshape(len(apps), H)
    cap = np.array([np.ones(H) if a.window_hours else a.profile for a in inst.applicants])
    own_avail = np.array([a.own_capacity_mw * a.own_availability if a.own_availability is not None
                          else np.zeros(H) for a in inst.applicants]).reshape(len(apps), H)
    existing = np.array([a.existing_mw for a in inst.applicants])
    at = _at(apps, H)
    c.le("bounds", -g.served, 0.0, at)
    c.le("bounds", -g.unserved, 0.0, at)
    c.le("bounds", -g.own, 0.0, at)
    c.le("bounds", g.unserved, profile * existing[:, None], at)
    c.le("bounds", g.own, own_avail, at)
    c.le("bounds", g.own, g.served, at, terms=2)
    c.le("bounds", g.served, cap.reshape(len(apps), H) * g.granted[:, None], at, terms=2)


def _check_obligations(c: _Checker, inst: Instance, g: Grids) -> None:
    """firm share: served + unserved ≥ firm_share × profile × granted every hour;
    ramps: |served[t] − served[t−1]| ≤ ramp_mw_per_h;
    curtailment: Σ_t (served + unserved) ≥ (1 − max_curtailment_share) × Σ_t profile × granted;
    windows: Σ_w (served + unserved) ≥ min_share × Σ_w profile × granted, Σ_w served ≤ Σ_w
    profile × granted."""
    H = inst.hours
    for k, a in enumerate(inst.applicants):
        served, delivered = g.served[k], g.served[k] + g.unserved[k]
        demand = a.profile * g.granted[k]
        c.le("firm_shares", a.firm_share * demand, delivered, _at([a.name], H), terms=3)
        if a.ramp_mw_per_h is not None and H > 1:
            c.le("ramps", np.abs(np.diff(served)), a.ramp_mw_per_h,
                 lambda h, n=a.name: f"{n}, hour {h + 1}", terms=2)
        c.le("curtailment_limits", (1 - a.max_curtailment_share) * demand.sum(), delivered.sum(),
             lambda _, n=a.name: n, terms=2 * H + 1)
        if a.window_hours:
            starts = list(range(0, H, a.window_hours))
            sums = np.add.reduceat
            labels = [f"{a.name}, window hours {s}-{min(s + a.window_hours, H) - 1}"
                      for s in starts]
            n = 2 * a.window_hours + 1
            c.le("energy_windows", a.window_min_share * sums(demand, starts),
                 sums(delivered, starts), _each(labels), terms=n)
            c.le("energy_windows", sums(served, starts), sums(demand, starts), _each(labels),
                 terms=n)


def _check_reservoirs(c: _Checker, inst: Instance, g: Grids) -> None:
    """storage[t] = storage[t−1] + inflow[t] − generation[t] − spill[t], with storage[−1] the
    instance's initial level (MWh)."""
    s = g.storage
    initial = np.array([[x.initial_storage_mwh] for x in inst.supply if x.reservoir])
    if not initial.size:
        return
    before = np.hstack([initial, s["storage_mwh"][:, :-1]])
    c.eq("reservoirs", s["storage_mwh"],
         before + s["inflow_mwh"] - s["generation_mwh"] - s["spill_mwh"],
         _at(g.reservoirs, inst.hours), terms=5)


def objective_terms_from_tables(inst: Instance, t: Tables, g: Grids
                                ) -> tuple[dict[str, float], dict[str, float]]:
    """The objective's terms recomputed from the files and the instance's prices, costs and
    weights (NOK), and for each the largest error the CSV rounding can cause."""
    r = Tolerances().rounding
    alloc = t.allocation
    terms: dict[str, float] = {}
    tol: dict[str, float] = {}
    for name, coef, col in (
            ("value_served_nok", [a.weight_nok_per_mwh for a in inst.applicants], "served_mwh"),
            ("lost_load_cost_nok", [a.value_of_lost_load_nok_per_mwh for a in inst.applicants],
             "unserved_mwh"),
            ("own_supply_cost_nok", [a.own_cost_nok_per_mwh for a in inst.applicants],
             "own_supply_mwh")):
        terms[name] = float(np.asarray(coef) @ alloc[col].to_numpy(dtype=float))
        tol[name] = r * float(np.abs(coef).sum())
    cost = np.array([s.marginal_cost_nok_per_mwh for s in inst.supply])
    terms["generation_cost_nok"] = float(cost @ g.generation.sum(axis=1)) if cost.size else 0.0
    tol["generation_cost_nok"] = r * float(np.abs(cost).sum()) * inst.hours

    markets = {m.name: m.price_nok_per_mwh for m in inst.markets}
    for name, side in (("export_revenue_nok", "to"), ("import_cost_nok", "from")):
        rows = _trade(inst, t, side)
        price = np.array([markets[m][h] for m, h in zip(rows[side], rows["hour"], strict=True)])
        terms[name] = float(price @ rows["flow_mw"].to_numpy(dtype=float)) if len(rows) else 0.0
        tol[name] = r * float(np.abs(price).sum())
    return terms, tol


def _trade(inst: Instance, t: Tables, side: str) -> pd.DataFrame:
    """The rows of flows.csv that flow into a market (``side`` "to": exports) or out of one
    ("from": imports)."""
    f = t.flows[t.flows["kind"] == "interconnector"]
    return f[f[side].isin([m.name for m in inst.markets])]


def _check_objective(c: _Checker, inst: Instance, t: Tables, g: Grids) -> None:
    """summary.json's objective is the sum of its terms; each term matches the files; each
    applicant's value_nok is weight × served − lost load × unserved − own cost × own supply."""
    s = t.summary
    reported = s.get("objective_terms_nok", {})
    terms, rounding = objective_terms_from_tables(inst, t, g)
    if set(reported) != set(terms):
        c.broken("objective", f"summary.json: objective_terms_nok has {sorted(reported)}")
        return
    scale = max(1.0, sum(abs(x) for x in reported.values()))
    rel = c.tol.objective_relative * scale
    c.scalar("objective", s["objective_nok"] - objective_from_terms(reported), rel,
             "summary.json: objective_nok vs the sum of its terms")
    for name, value in terms.items():
        c.scalar("objective", value - reported[name], rounding[name] + rel,
                 f"summary.json: {name} vs the files")
    c.scalar("objective", objective_from_terms(terms) - s["objective_nok"],
             sum(rounding.values()) + rel, "objective recomputed from the files")
    alloc = t.allocation
    weight = np.array([a.weight_nok_per_mwh for a in inst.applicants])
    voll = np.array([a.value_of_lost_load_nok_per_mwh for a in inst.applicants])
    own_cost = np.array([a.own_cost_nok_per_mwh for a in inst.applicants])
    c.eq("objective", alloc["weight_nok_per_mwh"], weight, _each(g.apps))
    value = weight * alloc["served_mwh"] - voll * alloc["unserved_mwh"] - own_cost * alloc[
        "own_supply_mwh"]
    allowed_terms = (np.abs(weight) + voll + np.abs(own_cost) + 1.0).max(initial=1.0)
    c.eq("objective", alloc["value_nok"], value,
         lambda k: f"{g.apps[k]}: allocation.csv value_nok", terms=int(np.ceil(allowed_terms)))


def _check_policy_limits(c: _Checker, inst: Instance, policy: PolicySpec | None, t: Tables,
                         g: Grids) -> None:
    """The policy's limit rows (models/formulation.md §11): net exports over the interconnectors
    ≤ export cap and Σ served of every class but exports ≥ domestic floor (MWh over the
    horizon); (1 + margin) × Σ firm_share × granted ≤ firm supply capacity (MW), for the system
    or each zone. (Tiers are conditions on optimality, not rows: not checked here.)"""
    if policy is None:
        return
    if policy.export_cap_twh is not None:
        out, back = _trade(inst, t, "to"), _trade(inst, t, "from")
        c.le("policy_limits", [out["flow_mw"].sum() - back["flow_mw"].sum()],
             [per_horizon_mwh(inst, policy.export_cap_twh)],
             lambda _: "net exports (flows.csv) ≤ export_cap_twh", terms=len(out) + len(back))
    if policy.domestic_floor_twh is not None:
        domestic = [a.load_class != "exports" for a in inst.applicants]
        served = t.allocation["served_mwh"].to_numpy(dtype=float)[domestic].sum()
        c.le("policy_limits", [per_horizon_mwh(inst, policy.domestic_floor_twh)], [served],
             lambda _: "domestic_floor_twh ≤ served energy (allocation.csv)", terms=sum(domestic))
    if (rm := policy.reserve_margin) is not None:
        for zone in (None,) if rm.scope == "system" else inst.zones:
            firm = sum(a.firm_share * g.granted[k] for k, a in enumerate(inst.applicants)
                       if zone in (None, a.zone))
            c.le("policy_limits", [(1 + rm.margin) * firm], [firm_supply_mw(inst, zone)],
                 lambda _, z=zone: f"reserve margin of {z or 'the system'}: (1 + margin) × firm "
                                   "demand granted ≤ firm supply", terms=len(inst.applicants))


# --------------------------------------------------------------------------------------------
# entry points


def verify_folder(folder: Path, inst: Instance | None = None,
                  tol: Tolerances | None = None) -> Verification:
    """Verify a result folder against its instance (loaded from summary.json's instance_file
    unless given); the instance file must be the one solved (same SHA-256)."""
    from planner.instance.load import load_instance

    t = read_tables(folder)
    if inst is None:
        inst = load_instance(instance_of(folder, t))
    recorded = t.summary.get("instance_sha256")
    if recorded and inst.sha256 and recorded != inst.sha256:
        raise InputError([Problem(str(inst.path), None, None, "",
                                  f"changed since {folder} was solved (SHA-256 differs); "
                                  "solve again or pass the instance that was solved")])
    return verify_tables(inst, t, tol, str(folder), str(inst.path or ""))


FAILED_MARKER = "VERIFICATION_FAILED"
"""Written into a result folder whose verification failed; it lists the failing families."""


def record(folder: Path, v: Verification) -> None:
    """Write verification.json, set summary.json's ``verification`` to passed or failed, and
    mark a failed folder with a VERIFICATION_FAILED file (removed again once it passes)."""
    from planner.report.tables import write_json

    write_json(v.to_json(), folder / "verification.json")
    summary_path = folder / "summary.json"
    summary = json.loads(summary_path.read_text(encoding="utf-8"))
    summary["verification"] = "passed" if v.passed else "failed"
    write_json(summary, summary_path)
    marker = folder / FAILED_MARKER
    if v.passed:
        marker.unlink(missing_ok=True)
    else:
        marker.write_text(v.line() + "\n" + "".join(
            f"{f.family}: {f.first_violation}\n" for f in v.failed()), encoding="utf-8")
