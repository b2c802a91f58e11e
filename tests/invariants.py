"""Relations every solved instance must satisfy, recomputed from the written result tables.

Each ``check_*`` function raises AssertionError naming the broken relation, the entity and the
hour. Zone-level relations are checked on the CSV files alone (dispatch.csv, flows.csv,
prices.csv, storage.csv, allocation.csv, summary.json) plus the instance's data. The CSV files
hold no hourly values per applicant, so firm shares, ramps, windows and curtailment limits use
``result.arrays`` (served, unserved and own supply in MW per applicant and hour), after
``check_tables_agree`` has shown that those arrays add up to the CSV files' totals.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

import planner
from planner.instance.instance import Applicant, Instance
from planner.report.tables import ResultData, read_saved, write_tables
from planner.results import Result

CSV_TOL = 2e-3
"""MW or MWh. The CSV files round to four decimals; a sum of a dozen rounded numbers stays below."""
ROUNDING = 5e-5
"""Largest rounding error of one number in a CSV file."""
LP_TOL = 1e-5
"""MW or MWh, for unrounded values from result.arrays (HiGHS feasibility tolerance is 1e-7)."""


@dataclass
class Tables:
    allocation: pd.DataFrame
    dispatch: pd.DataFrame
    flows: pd.DataFrame
    prices: pd.DataFrame
    storage: pd.DataFrame
    summary: dict


def read_tables(folder: Path) -> Tables:
    """The result files of a solve, as written, read with the planner's own reader."""
    saved = read_saved(folder)
    names = ("allocation", "dispatch", "flows", "prices", "storage")
    return Tables(**{name: saved.tables[name] for name in names}, summary=saved.summary)


def solve_and_write(inst: Instance, folder: Path) -> tuple[Result, Tables]:
    """Solve, write the tables with the planner's writer, read them back."""
    result = planner.solve(inst)
    write_tables(ResultData.of(result), folder)
    return result, read_tables(folder)


def check_all(inst: Instance, result: Result, tables: Tables) -> None:
    """Every invariant of this module."""
    check_table_shapes(inst, tables)
    check_tables_agree(inst, result, tables)
    check_zone_balance(inst, tables)
    check_network_tables(inst, tables)
    check_bounds(inst, result, tables)
    check_firm_shares(inst, result)
    check_ramps(inst, result)
    check_energy_windows(inst, result)
    check_curtailment_limits(inst, result)
    check_reservoirs(inst, tables)
    check_objective(inst, result, tables)


# --------------------------------------------------------------------------------------------
# helpers


def _hourly(df: pd.DataFrame, column: str, key: str, value: str, hours: int) -> np.ndarray:
    """The ``column`` of the rows whose ``key`` equals ``value``, ordered by hour."""
    rows = df[df[key] == value].sort_values("hour")
    assert list(rows["hour"]) == list(range(hours)), f"{key}={value}: hours missing or repeated"
    return rows[column].to_numpy(dtype=float)


def _assert_le(lhs: np.ndarray, rhs: np.ndarray, tol: float, what: str) -> None:
    """lhs ≤ rhs + tol everywhere; the message names the worst hour."""
    gap = np.asarray(lhs, dtype=float) - np.asarray(rhs, dtype=float)
    if gap.size and gap.max() > tol:
        k = int(np.argmax(gap))
        raise AssertionError(f"{what}: violated by {gap.max():.6g} at index {k} "
                             f"(lhs {np.ravel(lhs)[k]:.6g}, rhs {np.ravel(rhs)[k]:.6g})")


def _assert_close(actual, expected, tol: float, what: str) -> None:
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    _assert_le(actual, expected, tol, f"{what} (too large)")
    _assert_le(expected, actual, tol, f"{what} (too small)")


def _profile(a: Applicant, hours: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(a.profile, dtype=float), (hours,))


def windows(hours: int, length: int) -> list[range]:
    """Windows of ``length`` hours tiling the horizon from hour 0; the last may be shorter."""
    return [range(s, min(s + length, hours)) for s in range(0, hours, length)]


# --------------------------------------------------------------------------------------------
# the tables themselves


def check_table_shapes(inst: Instance, t: Tables) -> None:
    """One row per applicant, zone × hour, arc × hour, hour, reservoir × hour."""
    H, Z = inst.hours, len(inst.zones)
    assert list(t.allocation["applicant"]) == [a.name for a in inst.applicants]
    assert len(t.dispatch) == Z * H
    assert sorted(set(t.dispatch["zone"])) == sorted(inst.zones)
    assert len(t.flows) == (2 * len(inst.lines) + 2 * len(inst.interconnectors)) * H
    assert list(t.prices.columns) == ["hour", "timestamp", *inst.zones]
    assert list(t.prices["hour"]) == list(range(H))
    assert len(t.storage) == sum(s.reservoir for s in inst.supply) * H
    assert t.summary["status"] == "optimal"
    assert t.summary["hours"] == H


def check_tables_agree(inst: Instance, result: Result, t: Tables) -> None:
    """result.arrays add up to the CSV files: per-applicant totals in allocation.csv, class sums
    per zone and hour in dispatch.csv, generation by kind in dispatch.csv and storage.csv."""
    v, H = result.arrays, inst.hours
    alloc = t.allocation
    _assert_close(alloc["granted_mw"], v.granted_mw, CSV_TOL, "granted_mw vs arrays")
    _assert_close(alloc["served_mwh"], v.served_mw.sum(axis=1), CSV_TOL, "served_mwh vs arrays")
    _assert_close(alloc["unserved_mwh"], v.unserved_mw.sum(axis=1), CSV_TOL,
                  "unserved_mwh vs arrays")
    _assert_close(alloc["own_supply_mwh"], v.own_supply_mw.sum(axis=1), CSV_TOL,
                  "own_supply_mwh vs arrays")
    for z in inst.zones:
        d = t.dispatch
        for cls in {a.load_class for a in inst.applicants}:
            rows = [k for k, a in enumerate(inst.applicants) if a.zone == z and a.load_class == cls]
            _assert_close(_hourly(d, f"served_{cls}_mw", "zone", z, H),
                          v.served_mw[rows].sum(axis=0), CSV_TOL, f"{z}: served_{cls}_mw")
        here = [k for k, a in enumerate(inst.applicants) if a.zone == z]
        _assert_close(_hourly(d, "unserved_mw", "zone", z, H), v.unserved_mw[here].sum(axis=0),
                      CSV_TOL, f"{z}: unserved_mw")
        _assert_close(_hourly(d, "own_supply_mw", "zone", z, H),
                      v.own_supply_mw[here].sum(axis=0), CSV_TOL, f"{z}: own_supply_mw")
        for kind in {s.kind for s in inst.supply}:
            rows = [k for k, s in enumerate(inst.supply) if s.zone == z and s.kind == kind]
            _assert_close(_hourly(d, f"{kind}_mw", "zone", z, H),
                          v.generation_mw[rows].sum(axis=0), CSV_TOL, f"{z}: {kind}_mw")
    for k, s in enumerate(inst.supply):
        if s.reservoir:
            _assert_close(_hourly(t.storage, "generation_mwh", "reservoir", s.name, H),
                          v.generation_mw[k], CSV_TOL, f"{s.name}: storage.csv generation")


# --------------------------------------------------------------------------------------------
# zones and network


def balance_columns(inst: Instance) -> tuple[list[str], list[str]]:
    """dispatch.csv columns of supply by kind and of served load by class."""
    kinds = [f"{k}_mw" for k in sorted({s.kind for s in inst.supply})]
    served = [f"served_{c}_mw" for c in sorted({a.load_class for a in inst.applicants})]
    return kinds, served


def check_zone_balance(inst: Instance, t: Tables) -> None:
    """Per zone and hour, from dispatch.csv alone:

        Σ_kind supply + own supply + line inflow (after losses) − line outflow − exports + imports
          − Σ_class served = 0.

    Unserved energy is *not* a term: it is demand that was not met, not energy that flowed
    (served_* of a firm load is its demand less its unserved part). The column set is checked
    too, so that a new dispatch column cannot silently stay out of this balance."""
    d = t.dispatch
    kinds, served = balance_columns(inst)
    expected = {"zone", "hour", "timestamp", *kinds, "curtailed_supply_mw", "own_supply_mw",
                *served, "unserved_mw", "exports_mw", "imports_mw", "line_inflow_mw",
                "line_outflow_mw", "spill_mwh", "zonal_price_nok_per_mwh"}
    assert set(d.columns) == expected, f"dispatch.csv columns changed: {set(d.columns) ^ expected}"
    supply = d[kinds].sum(axis=1) + d["own_supply_mw"]
    network = d["line_inflow_mw"] - d["line_outflow_mw"] - d["exports_mw"] + d["imports_mw"]
    residual = supply + network - d[served].sum(axis=1)
    bad = residual.abs() > CSV_TOL
    assert not bad.any(), ("zone balance broken:\n"
                           + d.loc[bad, ["zone", "hour"]].assign(residual=residual[bad]).to_string())


def check_network_tables(inst: Instance, t: Tables) -> None:
    """dispatch.csv's line and trade columns are the sums of flows.csv's rows; losses are the
    loss factor times the flow; dispatch.csv's price column is prices.csv."""
    H, f = inst.hours, t.flows
    loss = {line.name: line.loss_factor for line in inst.lines}
    lines = f[f["kind"] == "line"]
    links = f[f["kind"] == "interconnector"]
    _assert_close(lines["loss_mw"], lines["flow_mw"] * lines["link"].map(loss), CSV_TOL,
                  "loss_mw = loss_factor × flow_mw")
    assert (links["loss_mw"] == 0).all(), "interconnectors have no losses"
    for z in inst.zones:
        def total(rows: pd.DataFrame, column: str) -> np.ndarray:
            return rows.groupby("hour")[column].sum().reindex(range(H), fill_value=0.0).to_numpy()

        received = total(lines[lines["to"] == z], "flow_mw") - total(lines[lines["to"] == z],
                                                                     "loss_mw")
        _assert_close(_hourly(t.dispatch, "line_inflow_mw", "zone", z, H), received, CSV_TOL,
                      f"{z}: line_inflow_mw vs flows.csv")
        _assert_close(_hourly(t.dispatch, "line_outflow_mw", "zone", z, H),
                      total(lines[lines["from"] == z], "flow_mw"), CSV_TOL,
                      f"{z}: line_outflow_mw vs flows.csv")
        _assert_close(_hourly(t.dispatch, "exports_mw", "zone", z, H),
                      total(links[links["from"] == z], "flow_mw"), CSV_TOL,
                      f"{z}: exports_mw vs flows.csv")
        _assert_close(_hourly(t.dispatch, "imports_mw", "zone", z, H),
                      total(links[links["to"] == z], "flow_mw"), CSV_TOL,
                      f"{z}: imports_mw vs flows.csv")
        _assert_close(_hourly(t.dispatch, "zonal_price_nok_per_mwh", "zone", z, H),
                      t.prices[z].to_numpy(dtype=float), CSV_TOL, f"{z}: price vs prices.csv")


# --------------------------------------------------------------------------------------------
# bounds


def check_bounds(inst: Instance, result: Result, t: Tables) -> None:
    """0 ≤ flow ≤ limit (limits as in the instance), 0 ≤ storage ≤ size with the end level
    reached, existing ≤ granted ≤ requested, 0 ≤ generation ≤ capacity × availability,
    0 ≤ unserved ≤ profile × existing, 0 ≤ own supply ≤ min(capacity × availability, served),
    served ≤ cap × granted (cap = profile, or 1 inside energy windows): own supply covers part
    of the site's load, it does not add to it."""
    H, f = inst.hours, t.flows
    limit: dict[tuple[str, str, str], float] = {}
    for line in inst.lines:
        limit[line.name, line.from_zone, line.to_zone] = line.capacity_mw
        limit[line.name, line.to_zone, line.from_zone] = line.reverse_capacity_mw
    for ic in inst.interconnectors:
        limit[ic.name, ic.zone, ic.market] = ic.export_mw
        limit[ic.name, ic.market, ic.zone] = ic.import_mw
    expected_limit = [limit[row] for row in zip(f["link"], f["from"], f["to"], strict=True)]
    _assert_close(f["limit_mw"], expected_limit, CSV_TOL, "flows.csv limit_mw vs instance")
    _assert_le(-f["flow_mw"], np.zeros(len(f)), CSV_TOL, "flow_mw ≥ 0")
    _assert_le(f["flow_mw"], f["limit_mw"], CSV_TOL, "flow_mw ≤ limit_mw")
    for ic in inst.interconnectors:
        rows = f[f["link"] == ic.name]
        out = _hourly(rows, "flow_mw", "to", ic.market, H)
        back = _hourly(rows, "flow_mw", "from", ic.market, H)
        assert not ((out > CSV_TOL) & (back > CSV_TOL)).any(), f"{ic.name}: both directions used"

    for s in inst.supply:
        if not s.reservoir:
            continue
        level = _hourly(t.storage, "storage_mwh", "reservoir", s.name, H)
        size = _hourly(t.storage, "storage_limit_mwh", "reservoir", s.name, H)
        _assert_close(size, np.full(H, s.storage_mwh), CSV_TOL, f"{s.name}: storage_limit_mwh")
        _assert_le(-level, np.zeros(H), CSV_TOL, f"{s.name}: storage ≥ 0")
        _assert_le(level, size, CSV_TOL, f"{s.name}: storage ≤ size")
        _assert_le([s.final_storage_mwh], level[-1:], CSV_TOL, f"{s.name}: end level reached")
        _assert_le(-_hourly(t.storage, "spill_mwh", "reservoir", s.name, H), np.zeros(H),
                   CSV_TOL, f"{s.name}: spill ≥ 0")

    alloc = t.allocation
    _assert_close(alloc["requested_mw"], [a.requested_mw for a in inst.applicants], CSV_TOL,
                  "requested_mw vs instance")
    _assert_close(alloc["existing_mw"], [a.existing_mw for a in inst.applicants], CSV_TOL,
                  "existing_mw vs instance")
    _assert_le(alloc["existing_mw"], alloc["granted_mw"], CSV_TOL, "granted ≥ existing")
    _assert_le(alloc["granted_mw"], alloc["requested_mw"], CSV_TOL, "granted ≤ requested")

    for z in inst.zones:
        for kind in {s.kind for s in inst.supply}:
            here = [s for s in inst.supply if s.zone == z and s.kind == kind]
            cap = sum((s.capacity_mw * s.availability for s in here), np.zeros(H))
            gen = _hourly(t.dispatch, f"{kind}_mw", "zone", z, H)
            _assert_le(-gen, np.zeros(H), CSV_TOL, f"{z}: {kind} generation ≥ 0")
            _assert_le(gen, cap, CSV_TOL, f"{z}: {kind} generation ≤ capacity × availability")
    _assert_le(-t.dispatch["curtailed_supply_mw"], np.zeros(len(t.dispatch)), CSV_TOL,
               "curtailed_supply_mw ≥ 0")

    v = result.arrays
    for k, a in enumerate(inst.applicants):
        served, unserved, own = v.served_mw[k], v.unserved_mw[k], v.own_supply_mw[k]
        profile = _profile(a, H)
        cap = np.ones(H) if a.window_hours else profile
        _assert_le(-served, np.zeros(H), LP_TOL, f"{a.name}: served ≥ 0")
        _assert_le(-unserved, np.zeros(H), LP_TOL, f"{a.name}: unserved ≥ 0")
        _assert_le(unserved, profile * a.existing_mw, LP_TOL,
                   f"{a.name}: unserved ≤ profile × existing")
        _assert_le(-own, np.zeros(H), LP_TOL, f"{a.name}: own supply ≥ 0")
        own_avail = (a.own_capacity_mw * a.own_availability if a.own_availability is not None
                     else np.zeros(H))
        _assert_le(own, own_avail, LP_TOL, f"{a.name}: own supply ≤ capacity × availability")
        _assert_le(own, served, LP_TOL, f"{a.name}: own supply ≤ served")
        _assert_le(served, cap * v.granted_mw[k], LP_TOL, f"{a.name}: served ≤ cap × granted")


# --------------------------------------------------------------------------------------------
# delivery obligations of the applicants (hourly values from result.arrays)


def check_firm_shares(inst: Instance, result: Result) -> None:
    """served + unserved ≥ firm_share × profile × granted in every hour."""
    v, H = result.arrays, inst.hours
    for k, a in enumerate(inst.applicants):
        need = a.firm_share * _profile(a, H) * v.granted_mw[k]
        _assert_le(need, v.served_mw[k] + v.unserved_mw[k], LP_TOL, f"{a.name}: firm share")


def check_ramps(inst: Instance, result: Result) -> None:
    """|served[t] − served[t−1]| ≤ ramp_mw_per_h."""
    for k, a in enumerate(inst.applicants):
        if a.ramp_mw_per_h is not None:
            step = np.abs(np.diff(result.arrays.served_mw[k]))
            _assert_le(step, np.full(step.shape, a.ramp_mw_per_h), LP_TOL, f"{a.name}: ramp")


def check_energy_windows(inst: Instance, result: Result) -> None:
    """In each window w: Σ_w (served + unserved) ≥ min_share × Σ_w profile × granted and
    Σ_w served ≤ Σ_w profile × granted (load moves inside a window, it does not grow)."""
    v, H = result.arrays, inst.hours
    for k, a in enumerate(inst.applicants):
        if not a.window_hours:
            continue
        profile = _profile(a, H)
        for w in windows(H, a.window_hours):
            demand = profile[w.start:w.stop].sum() * v.granted_mw[k]
            served = v.served_mw[k, w.start:w.stop].sum()
            delivered = served + v.unserved_mw[k, w.start:w.stop].sum()
            _assert_le([a.window_min_share * demand], [delivered], LP_TOL,
                       f"{a.name}: window {w.start}-{w.stop - 1} min share")
            _assert_le([served], [demand], LP_TOL, f"{a.name}: window {w.start}-{w.stop - 1} cap")


def check_curtailment_limits(inst: Instance, result: Result) -> None:
    """Σ_t (served + unserved) ≥ (1 − max_curtailment_share) × Σ_t profile × granted."""
    v, H = result.arrays, inst.hours
    for k, a in enumerate(inst.applicants):
        demand = _profile(a, H).sum() * v.granted_mw[k]
        delivered = v.served_mw[k].sum() + v.unserved_mw[k].sum()
        _assert_le([(1 - a.max_curtailment_share) * demand], [delivered], LP_TOL * H,
                   f"{a.name}: curtailment limit")


# --------------------------------------------------------------------------------------------
# reservoirs and objective


def check_reservoirs(inst: Instance, t: Tables) -> None:
    """storage.csv: storage[t] = storage[t−1] + inflow[t] − generation[t] − spill[t], with
    storage[−1] the initial level of the instance; inflow as in the instance; generation within
    capacity × availability."""
    H = inst.hours
    for s in inst.supply:
        if not s.reservoir:
            continue
        col = {c: _hourly(t.storage, c, "reservoir", s.name, H)
               for c in ("storage_mwh", "inflow_mwh", "generation_mwh", "spill_mwh")}
        _assert_close(col["inflow_mwh"], s.inflow_mwh, CSV_TOL, f"{s.name}: inflow vs instance")
        before = np.concatenate([[s.initial_storage_mwh], col["storage_mwh"][:-1]])
        expected = before + col["inflow_mwh"] - col["generation_mwh"] - col["spill_mwh"]
        _assert_close(col["storage_mwh"], expected, CSV_TOL, f"{s.name}: storage continuity")
        _assert_le(col["generation_mwh"], s.capacity_mw * s.availability, CSV_TOL,
                   f"{s.name}: generation ≤ capacity × availability")


def objective_terms_from_tables(inst: Instance, result: Result,
                                t: Tables) -> tuple[dict[str, float], dict[str, float]]:
    """The objective's terms recomputed from the CSV files and the instance's prices, costs and
    weights (NOK), and for each the largest error the CSV rounding can cause."""
    alloc = t.allocation
    weight = np.array([a.weight_nok_per_mwh for a in inst.applicants])
    voll = np.array([a.value_of_lost_load_nok_per_mwh for a in inst.applicants])
    own_cost = np.array([a.own_cost_nok_per_mwh for a in inst.applicants])
    terms: dict[str, float] = {}
    tol: dict[str, float] = {}
    for name, coef, col in (("value_served_nok", weight, "served_mwh"),
                            ("lost_load_cost_nok", voll, "unserved_mwh"),
                            ("own_supply_cost_nok", own_cost, "own_supply_mwh")):
        terms[name] = float(coef @ alloc[col].to_numpy(dtype=float))
        tol[name] = ROUNDING * float(np.abs(coef).sum())

    # generation cost per (zone, kind) column of dispatch.csv where the plants share a cost;
    # otherwise per plant from result.arrays (shown equal to dispatch.csv by check_tables_agree)
    groups: dict[tuple[str, str], list[int]] = defaultdict(list)
    for k, s in enumerate(inst.supply):
        groups[s.zone, s.kind].append(k)
    cost, cost_tol = 0.0, 0.0
    for (zone, kind), rows in groups.items():
        costs = {inst.supply[k].marginal_cost_nok_per_mwh for k in rows}
        if len(costs) == 1:
            c = costs.pop()
            cost += c * _hourly(t.dispatch, f"{kind}_mw", "zone", zone, inst.hours).sum()
            cost_tol += ROUNDING * abs(c) * inst.hours
        else:
            for k in rows:
                cost += inst.supply[k].marginal_cost_nok_per_mwh * result.arrays.generation_mw[k].sum()
    terms["generation_cost_nok"], tol["generation_cost_nok"] = float(cost), cost_tol

    f = t.flows[t.flows["kind"] == "interconnector"]
    markets = {m.name: m.price_nok_per_mwh for m in inst.markets}
    exports = f[f["to"].isin(list(markets)) & ~f["from"].isin(list(markets))]
    imports = f[f["from"].isin(list(markets)) & ~f["to"].isin(list(markets))]
    for name, rows, side in (("export_revenue_nok", exports, "to"),
                             ("import_cost_nok", imports, "from")):
        price = np.array([markets[m][h] for m, h in zip(rows[side], rows["hour"], strict=True)])
        terms[name] = float(price @ rows["flow_mw"].to_numpy(dtype=float)) if len(rows) else 0.0
        tol[name] = ROUNDING * float(np.abs(price).sum())
    return terms, tol


def objective_from_terms(terms: dict[str, float]) -> float:
    return (terms["value_served_nok"] + terms["export_revenue_nok"] - terms["import_cost_nok"]
            - terms["generation_cost_nok"] - terms["own_supply_cost_nok"]
            - terms["lost_load_cost_nok"])


def check_objective(inst: Instance, result: Result, t: Tables) -> None:
    """summary.json: objective_nok = value served + export revenue − import cost − generation
    cost − own supply cost − lost load cost, for its own terms (tightly) and for the terms
    recomputed from the CSV files (within their rounding); allocation.csv's value_nok is
    weight × served − value of lost load × unserved − own cost × own supply."""
    s = t.summary
    reported = s["objective_terms_nok"]
    assert set(reported) == {"value_served_nok", "export_revenue_nok", "import_cost_nok",
                             "generation_cost_nok", "own_supply_cost_nok", "lost_load_cost_nok"}
    scale = max(1.0, sum(abs(x) for x in reported.values()))
    assert abs(s["objective_nok"] - objective_from_terms(reported)) <= 1e-7 * scale, (
        f"objective_nok {s['objective_nok']} ≠ sum of its terms {objective_from_terms(reported)}")
    assert abs(s["objective_residual_nok"]) <= 1e-7 * scale

    terms, tol = objective_terms_from_tables(inst, result, t)
    for name, value in terms.items():
        assert abs(value - reported[name]) <= tol[name] + 1e-7 * scale, (
            f"{name}: {reported[name]} in summary.json, {value} from the CSV files")
    assert abs(objective_from_terms(terms) - s["objective_nok"]) <= sum(tol.values()) + 1e-7 * scale

    alloc = t.allocation
    voll = np.array([a.value_of_lost_load_nok_per_mwh for a in inst.applicants])
    own_cost = np.array([a.own_cost_nok_per_mwh for a in inst.applicants])
    weight = np.array([a.weight_nok_per_mwh for a in inst.applicants])
    _assert_close(alloc["weight_nok_per_mwh"], weight, ROUNDING, "weight_nok_per_mwh vs instance")
    value = weight * alloc["served_mwh"] - voll * alloc["unserved_mwh"] - own_cost * alloc[
        "own_supply_mwh"]
    value_tol = ROUNDING * (np.abs(weight) + voll + np.abs(own_cost) + 1.0)
    gap = np.abs(value - alloc["value_nok"])
    assert (gap <= value_tol).all(), f"allocation.csv value_nok off by up to {gap.max()}"
