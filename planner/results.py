"""Solution → tidy pandas tables (allocation, dispatch, flows, prices, storage) and a summary."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planner.instance.instance import Instance
from planner.model.index import ModelIndex
from planner.model.lazy import reservoir_columns, reservoir_levels
from planner.solve import Solution

TOL_MW = 1e-6
"""Served MW below demand by more than this counts as a curtailed hour."""


@dataclass
class Arrays:
    """Optimal values as arrays: one row per entity, one column per hour."""

    granted_mw: np.ndarray
    served_mw: np.ndarray
    unserved_mw: np.ndarray
    own_supply_mw: np.ndarray
    generation_mw: np.ndarray
    storage_mwh: np.ndarray
    spill_mwh: np.ndarray
    flow_mw: np.ndarray
    net_export_mw: np.ndarray
    zonal_price: np.ndarray


@dataclass
class Result:
    """Everything a solve produces; the tables are what the reports are written from."""

    instance: Instance
    allocation: pd.DataFrame
    dispatch: pd.DataFrame
    flows: pd.DataFrame
    prices: pd.DataFrame
    storage: pd.DataFrame
    curtailment: pd.DataFrame
    applicant_hours: pd.DataFrame
    generation: pd.DataFrame
    binding: pd.DataFrame
    summary: dict
    arrays: Arrays = field(repr=False)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every CSV table by file stem (``applicants.csv`` holds ``applicant_hours``)."""
        return {"allocation": self.allocation, "dispatch": self.dispatch, "flows": self.flows,
                "prices": self.prices, "storage": self.storage, "curtailment": self.curtailment,
                "applicants": self.applicant_hours, "generation": self.generation,
                "binding": self.binding}


def _matrix(sol: Solution, var: pyo.Var, rows: int, hours: int) -> np.ndarray:
    return sol.values(var).reshape(rows, hours) if rows else np.zeros((0, hours))


def extract(m: pyo.ConcreteModel, ix: ModelIndex, sol: Solution) -> Arrays:
    """Read every variable family and the zonal prices out of the solution."""
    inst, H = ix.inst, ix.inst.hours
    names = list(ix.applicants)
    granted = sol.values(m.granted_mw)
    served = np.zeros((len(names), H))
    unserved = np.zeros((len(names), H))
    own = np.zeros((len(names), H))
    pos = {a: k for k, a in enumerate(names)}
    flex = _matrix(sol, m.served_mw, len(ix.flexible), H)
    for k, a in enumerate(ix.flexible):
        served[pos[a]] = flex[k]
    uns = _matrix(sol, m.unserved_mw, len(ix.with_unserved), H)
    for k, a in enumerate(ix.with_unserved):
        unserved[pos[a]] = uns[k]
    own_m = _matrix(sol, m.own_supply_mw, len(ix.with_own_supply), H)
    for k, a in enumerate(ix.with_own_supply):
        own[pos[a]] = own_m[k]
    for a in ix.firm:
        served[pos[a]] = ix.applicants[a].profile * granted[pos[a]] - unserved[pos[a]]
    generation, spill = reservoir_columns(ix, sol.lp.col_slices, sol.x)
    return Arrays(
        granted_mw=granted, served_mw=served, unserved_mw=unserved, own_supply_mw=own,
        generation_mw=_matrix(sol, m.generation_mw, len(inst.supply), H),
        storage_mwh=reservoir_levels(ix, generation, spill),
        spill_mwh=spill,
        flow_mw=_matrix(sol, m.flow_mw, len(ix.arcs), H),
        net_export_mw=_matrix(sol, m.net_export_mw, len(inst.interconnectors), H),
        # HiGHS reports duals of the maximisation; the price is minus that (NOK/MWh).
        zonal_price=-sol.duals(m.zone_balance).reshape(len(inst.zones), H),
    )


def allocation_table(inst: Instance, v: Arrays) -> pd.DataFrame:
    """One row per applicant: what it asked for, what it was granted and served, its value."""
    apps = inst.applicants
    profile = np.array([a.profile for a in apps]).reshape(len(apps), inst.hours)
    demand = profile * v.granted_mw[:, None]
    delivered = v.served_mw + v.unserved_mw
    firm = np.array([a.firm_share for a in apps])
    weight = np.array([a.weight_nok_per_mwh for a in apps])
    voll = np.array([a.value_of_lost_load_nok_per_mwh for a in apps])
    own_cost = np.array([a.own_cost_nok_per_mwh for a in apps])
    served_mwh = v.served_mw.sum(axis=1)
    demand_mwh = demand.sum(axis=1)
    unserved_mwh = v.unserved_mw.sum(axis=1)
    own_mwh = v.own_supply_mw.sum(axis=1)
    return pd.DataFrame({
        "applicant": [a.name for a in apps],
        "zone": [a.zone for a in apps],
        "class": [a.load_class for a in apps],
        "queue_position": pd.array([a.queue_position for a in apps], dtype="Int64"),
        "protected": [a.protected for a in apps],
        "requested_mw": [a.requested_mw for a in apps],
        "existing_mw": [a.existing_mw for a in apps],
        "granted_mw": v.granted_mw,
        "granted_firm_mw": v.granted_mw * firm,
        "granted_nonfirm_mw": v.granted_mw * (1 - firm),
        "requested_mwh": (profile * np.array([a.requested_mw for a in apps])[:, None]).sum(axis=1),
        "demand_mwh": demand_mwh,
        "served_mwh": served_mwh,
        "served_share": np.divide(served_mwh, demand_mwh, out=np.zeros_like(served_mwh),
                                  where=demand_mwh > 0),
        "curtailed_mwh": np.maximum(demand_mwh - served_mwh - unserved_mwh, 0.0),
        "curtailed_hours": (delivered < demand - TOL_MW).sum(axis=1),
        "unserved_mwh": unserved_mwh,
        "own_supply_mwh": own_mwh,
        "weight_nok_per_mwh": weight,
        "value_nok": weight * served_mwh - voll * unserved_mwh - own_cost * own_mwh,
    })


def _hour_frame(inst: Instance, keys: dict[str, list], n: int) -> pd.DataFrame:
    """Index columns of a long table: the keys repeated over hours, with hour and timestamp."""
    stamps = inst.timestamps()
    frame = {k: np.repeat(np.asarray(vals, dtype=object), inst.hours) for k, vals in keys.items()}
    frame["hour"] = np.tile(np.arange(inst.hours), n)
    frame["timestamp"] = np.tile(stamps, n)
    return pd.DataFrame(frame)


def dispatch_table(inst: Instance, ix: ModelIndex, v: Arrays) -> pd.DataFrame:
    """Zone × hour: supply by kind, served by class, trade, line transfers, unserved."""
    Z, H = len(inst.zones), inst.hours
    zone_of = {z: k for k, z in enumerate(inst.zones)}
    df = _hour_frame(inst, {"zone": list(inst.zones)}, Z)

    def by_zone(rows: np.ndarray, zones: list[str], groups: list[str] | None = None):
        keys = sorted(set(groups)) if groups is not None else [None]
        out = {}
        for key in keys:
            acc = np.zeros((Z, H))
            for k, z in enumerate(zones):
                if groups is None or groups[k] == key:
                    acc[zone_of[z]] += rows[k]
            out[key] = acc.ravel()
        return out

    kinds = [s.kind for s in inst.supply]
    for kind, col in by_zone(v.generation_mw, [s.zone for s in inst.supply], kinds).items():
        df[f"{kind}_mw"] = col
    avail = np.array([s.capacity_mw * s.availability for s in inst.supply]).reshape(-1, H)
    unused = np.where(np.array([s.reservoir for s in inst.supply])[:, None], 0.0,
                      avail - v.generation_mw)
    df["curtailed_supply_mw"] = by_zone(unused, [s.zone for s in inst.supply])[None]
    zones_a = [a.zone for a in inst.applicants]
    df["own_supply_mw"] = by_zone(v.own_supply_mw, zones_a)[None]
    classes = [a.load_class for a in inst.applicants]
    for cls, col in by_zone(v.served_mw, zones_a, classes).items():
        df[f"served_{cls}_mw"] = col
    df["unserved_mw"] = by_zone(v.unserved_mw, zones_a)[None]
    net = by_zone(v.net_export_mw, [i.zone for i in inst.interconnectors])[None]
    df["exports_mw"] = by_zone(np.maximum(v.net_export_mw, 0),
                               [i.zone for i in inst.interconnectors])[None]
    df["imports_mw"] = df["exports_mw"] - net
    received = v.flow_mw * (1 - np.array([a[4] for a in ix.arcs]))[:, None]
    df["line_inflow_mw"] = by_zone(received, [a[2] for a in ix.arcs])[None]
    df["line_outflow_mw"] = by_zone(v.flow_mw, [a[1] for a in ix.arcs])[None]
    df["spill_mwh"] = by_zone(v.spill_mwh, [s.zone for s in inst.supply if s.reservoir])[None]
    df["zonal_price_nok_per_mwh"] = v.zonal_price.ravel()
    return df


def flows_table(inst: Instance, ix: ModelIndex, v: Arrays) -> pd.DataFrame:
    """Arc × hour for both directions of every line and interconnector (flow ≥ 0)."""
    links = inst.interconnectors
    names = [a[0].split(":")[0] for a in ix.arcs] + [i.name for i in links] * 2
    kind = ["line"] * len(ix.arcs) + ["interconnector"] * (2 * len(links))
    src = [a[1] for a in ix.arcs] + [i.zone for i in links] + [i.market for i in links]
    dst = [a[2] for a in ix.arcs] + [i.market for i in links] + [i.zone for i in links]
    df = _hour_frame(inst, {"link": names, "kind": kind, "from": src, "to": dst}, len(names))
    flows = np.vstack([v.flow_mw, np.maximum(v.net_export_mw, 0),
                       np.maximum(-v.net_export_mw, 0)]) if names else np.zeros((0, inst.hours))
    limits = [a[3] for a in ix.arcs] + [i.export_mw for i in links] + [i.import_mw for i in links]
    loss = [a[4] for a in ix.arcs] + [0.0] * (2 * len(links))
    df["flow_mw"] = flows.ravel()
    df["limit_mw"] = np.repeat(limits, inst.hours)
    df["loss_mw"] = (flows * np.asarray(loss)[:, None]).ravel() if names else []
    return df


def prices_table(inst: Instance, v: Arrays) -> pd.DataFrame:
    """Hour × zone: zonal price (NOK/MWh), the dual of zone_balance."""
    df = pd.DataFrame({"hour": np.arange(inst.hours), "timestamp": inst.timestamps()})
    for k, z in enumerate(inst.zones):
        df[z] = v.zonal_price[k]
    return df


def storage_table(inst: Instance, ix: ModelIndex, v: Arrays) -> pd.DataFrame:
    """Reservoir × hour: end-of-hour storage, inflow, generation and spill (MWh)."""
    res = [s for s in inst.supply if s.reservoir]
    df = _hour_frame(inst, {"reservoir": [s.name for s in res], "zone": [s.zone for s in res]},
                     len(res))
    gen_rows = [k for k, s in enumerate(inst.supply) if s.reservoir]
    df["storage_mwh"] = v.storage_mwh.ravel()
    df["inflow_mwh"] = np.concatenate([s.inflow_mwh for s in res]) if res else []
    df["generation_mwh"] = v.generation_mw[gen_rows].ravel()
    df["spill_mwh"] = v.spill_mwh.ravel()
    df["storage_limit_mwh"] = np.repeat([s.storage_mwh for s in res], inst.hours)
    return df


def curtailment_table(inst: Instance, v: Arrays) -> pd.DataFrame:
    """Hour × load class: curtailed MW summed over the system, for duration curves.

    An hour below an applicant's demand profile is curtailment only as far as the load is not
    made up in other hours (windows and ramp limits let load move): each applicant's hourly
    shortfall (demand − served − unserved, where positive) is scaled to add up to its net
    shortfall over the horizon. So each class sums to allocation.csv's curtailed_mwh, and an
    applicant that never shifts load keeps its hourly shortfall as it is."""
    apps = inst.applicants
    profile = np.array([a.profile for a in apps]).reshape(len(apps), inst.hours)
    short = profile * v.granted_mw[:, None] - v.served_mw - v.unserved_mw
    below = np.maximum(short, 0.0)
    net = np.maximum(short.sum(axis=1), 0.0)
    total = below.sum(axis=1)
    curtailed = below * np.divide(net, total, out=np.zeros_like(net), where=total > 0)[:, None]
    df = pd.DataFrame({"hour": np.arange(inst.hours), "timestamp": inst.timestamps()})
    classes = np.array([a.load_class for a in apps])
    for cls in sorted(set(classes)):
        df[f"curtailed_{cls}_mw"] = curtailed[classes == cls].sum(axis=0)
    return df


def applicant_hours_table(inst: Instance, v: Arrays) -> pd.DataFrame:
    """Applicant × hour: demand (profile × granted), served, unserved and own supply (MW), so
    that every hourly term of a connection (firm share, ramp, window) can be checked from files."""
    apps = inst.applicants
    df = _hour_frame(inst, {"applicant": [a.name for a in apps], "zone": [a.zone for a in apps]},
                     len(apps))
    profile = np.array([a.profile for a in apps]).reshape(len(apps), inst.hours)
    df["demand_mw"] = (profile * v.granted_mw[:, None]).ravel()
    df["served_mw"] = v.served_mw.ravel()
    df["unserved_mw"] = v.unserved_mw.ravel()
    df["own_supply_mw"] = v.own_supply_mw.ravel()
    return df


def generation_table(inst: Instance, v: Arrays) -> pd.DataFrame:
    """Plant × hour: generation and available capacity (capacity × availability, MW)."""
    plants = inst.supply
    df = _hour_frame(inst, {"supply": [s.name for s in plants], "zone": [s.zone for s in plants],
                            "kind": [s.kind for s in plants]}, len(plants))
    df["generation_mw"] = v.generation_mw.ravel()
    df["available_mw"] = np.concatenate([s.capacity_mw * s.availability for s in plants]) \
        if plants else []
    return df


BINDING_DUAL = 1e-6
"""NOK per unit: a row or bound whose dual (or reduced cost) exceeds this in size is binding."""

BINDING_ROWS = ("demand_cap", "firm_supply", "curtailment_limit", "window_energy", "window_cap",
                "ramp_up", "ramp_down", "own_supply_use")
"""Row families written to binding.csv. zone_balance is in prices.csv; storage_balance's dual
(the water value) is non-zero in nearly every hour and says nothing about what binds."""
BINDING_BOUNDS = ("granted_mw", "served_mw", "unserved_mw", "flow_mw", "net_export_mw",
                  "storage_mwh")
"""Variable families whose bounds are written to binding.csv (reduced costs)."""
NOT_LIMITS = {("unserved_mw", "lower"), ("served_mw", "upper")}
"""Bounds left out of binding.csv: no unserved energy, and a free applicant served in full, are
the normal state, not limits (on the Norway year they were half of the table's 270 000 rows)."""


def _split_key(key) -> tuple[str, int | None]:
    """(entity, hour or window) of a Pyomo index: 'a', ('a', 7) → ('a', None), ('a', 7)."""
    if isinstance(key, tuple):
        return str(key[0]), (int(key[1]) if len(key) > 1 else None)
    return str(key), None


def binding_frame(family: str, keys: list[tuple[str, int | None]], value: np.ndarray,
                  lower: np.ndarray, upper: np.ndarray, dual: np.ndarray) -> pd.DataFrame | None:
    """The binding members of one family (rows or bounds) as binding.csv rows, or None."""
    at_upper = np.abs(value - upper) <= np.abs(value - lower)
    hit = np.abs(dual) > BINDING_DUAL
    for bound, side in (("upper", at_upper), ("lower", ~at_upper)):
        if (family, bound) in NOT_LIMITS:
            hit &= ~side
    hit = np.flatnonzero(hit)
    if not hit.size:
        return None
    at_upper = at_upper[hit]
    return pd.DataFrame({
        "family": family,
        "entity": [keys[k][0] for k in hit],
        "index": pd.array([keys[k][1] for k in hit], dtype="Int64"),
        "bound": np.where(at_upper, "upper", "lower"),
        # HiGHS's dual is d(objective)/d(bound); relaxing a lower bound lowers it
        "dual_nok_per_unit": np.where(at_upper, dual[hit], -dual[hit]),
    })


def _block_end_keys(ix: ModelIndex, comp: pyo.Var) -> list[tuple[str, int | None]]:
    """storage_mwh[r,b] is the level at the end of block b: keyed by that hour, like the
    storage_level rows added by row generation (``storage_level[r,t]``)."""
    return [(str(r), ix.storage_blocks[b].stop - 1) for r, b in comp]


def binding_table(m: pyo.ConcreteModel, ix: ModelIndex, sol: Solution) -> pd.DataFrame:
    """Rows and variable bounds that bind at the optimum, with their duals: the gain in objective
    (NOK) per unit (MW or MWh) the row or bound is relaxed (raised if ``bound`` is upper, lowered
    if lower). ``index`` is the hour, the window number for window rows, blank for grants.
    Reservoir levels (the storage_mwh bounds at block ends and the storage_level rows inside
    blocks) are all listed as ``storage_mwh`` with the hour."""
    lp = sol.lp
    activity = lp.matrix @ sol.x
    frames = []
    for name, values, duals, lower, upper, comps in (
            *((n, activity, sol.row_dual, lp.row_lower, lp.row_upper, pyo.Constraint)
              for n in BINDING_ROWS),
            *((n, sol.x, sol.col_dual, lp.col_lower, lp.col_upper, pyo.Var)
              for n in BINDING_BOUNDS)):
        comp = m.component(name)
        if comp is None or comp.ctype is not comps:
            continue
        sl = lp.row_slices[name] if comps is pyo.Constraint else lp.col_slices[name]
        keys = (_block_end_keys(ix, comp) if name == "storage_mwh"
                else [_split_key(k) for k in comp])
        frames.append(binding_frame(name, keys, values[sl], lower[sl], upper[sl], duals[sl]))
    if "storage_level" in lp.row_slices:
        sl = lp.row_slices["storage_level"]
        keys = [(owner, hour) for _, owner, hour in lp.added_row_keys()]
        frames.append(binding_frame("storage_mwh", keys, activity[sl], lp.row_lower[sl],
                                    lp.row_upper[sl], sol.row_dual[sl]))
    frames = [f for f in frames if f is not None]
    columns = ["family", "entity", "index", "bound", "dual_nok_per_unit"]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def objective_terms(inst: Instance, v: Arrays) -> dict[str, float]:
    """The objective recomputed term by term from the optimal values (NOK)."""
    apps = inst.applicants
    weight = np.array([a.weight_nok_per_mwh for a in apps])
    voll = np.array([a.value_of_lost_load_nok_per_mwh for a in apps])
    own_cost = np.array([a.own_cost_nok_per_mwh for a in apps])
    prices = np.array([inst.market(i.market).price_nok_per_mwh
                       for i in inst.interconnectors]).reshape(-1, inst.hours)
    cost = np.array([s.marginal_cost_nok_per_mwh for s in inst.supply])
    exports, imports = np.maximum(v.net_export_mw, 0), np.maximum(-v.net_export_mw, 0)
    return {
        "value_served_nok": float(weight @ v.served_mw.sum(axis=1)),
        "export_revenue_nok": float((prices * exports).sum()),
        "import_cost_nok": float((prices * imports).sum()),
        "generation_cost_nok": float(cost @ v.generation_mw.sum(axis=1)),
        "own_supply_cost_nok": float(own_cost @ v.own_supply_mw.sum(axis=1)),
        "lost_load_cost_nok": float(voll @ v.unserved_mw.sum(axis=1)),
    }


def objective_from_terms(terms: dict[str, float]) -> float:
    return (terms["value_served_nok"] + terms["export_revenue_nok"] - terms["import_cost_nok"]
            - terms["generation_cost_nok"] - terms["own_supply_cost_nok"]
            - terms["lost_load_cost_nok"])


def class_summary(allocation: pd.DataFrame) -> pd.DataFrame:
    """Per load class: requested and granted MW, served and curtailed TWh, unserved MWh."""
    g = allocation.groupby("class", sort=True)
    return pd.DataFrame({
        "requested_mw": g["requested_mw"].sum(),
        "granted_mw": g["granted_mw"].sum(),
        "granted_firm_mw": g["granted_firm_mw"].sum(),
        "served_twh": g["served_mwh"].sum() / 1e6,
        "curtailed_twh": g["curtailed_mwh"].sum() / 1e6,
        "unserved_mwh": g["unserved_mwh"].sum(),
        "value_mnok": g["value_nok"].sum() / 1e6,
    })


def summarise(inst: Instance, sol: Solution, v: Arrays, allocation: pd.DataFrame,
              dispatch: pd.DataFrame, timings: dict[str, float]) -> dict:
    """summary.json: status, objective and its terms, KPIs, solver and timings."""
    terms = objective_terms(inst, v)
    classes = class_summary(allocation)
    return {
        "instance": inst.name,
        "instance_file": str(inst.path.resolve()) if inst.path else None,
        "instance_sha256": inst.sha256,
        "hours": inst.hours,
        "status": sol.status,
        "objective_nok": sol.objective,
        "objective_terms_nok": terms,
        "objective_residual_nok": sol.objective - objective_from_terms(terms),
        "kpis": {
            "granted_mw": float(allocation["granted_mw"].sum()),
            "requested_mw": float(allocation["requested_mw"].sum()),
            "served_twh": float(allocation["served_mwh"].sum() / 1e6),
            "exports_twh": float(dispatch["exports_mw"].sum() / 1e6),
            "imports_twh": float(dispatch["imports_mw"].sum() / 1e6),
            "unserved_mwh": float(allocation["unserved_mwh"].sum()),
            "curtailed_load_twh": float(allocation["curtailed_mwh"].sum() / 1e6),
            "curtailed_supply_twh": float(dispatch["curtailed_supply_mw"].sum() / 1e6),
            "spill_twh": float(dispatch["spill_mwh"].sum() / 1e6),
            "mean_zonal_price_nok_per_mwh": {
                z: float(v.zonal_price[k].mean()) for k, z in enumerate(inst.zones)},
            "by_class": {cls: {k: float(x) for k, x in row.items()}
                         for cls, row in classes.iterrows()},
        },
        "solver": {"name": sol.solver, "iterations": sol.iterations} | (
            {"quality": sol.quality} if sol.quality else {}),
        "timings_s": timings,
    }


def build_result(m: pyo.ConcreteModel, ix: ModelIndex, sol: Solution,
                 timings: dict[str, float]) -> Result:
    inst = ix.inst
    v = extract(m, ix, sol)
    allocation = allocation_table(inst, v)
    dispatch = dispatch_table(inst, ix, v)
    return Result(
        instance=inst, allocation=allocation, dispatch=dispatch,
        flows=flows_table(inst, ix, v), prices=prices_table(inst, v),
        storage=storage_table(inst, ix, v), curtailment=curtailment_table(inst, v),
        applicant_hours=applicant_hours_table(inst, v), generation=generation_table(inst, v),
        binding=binding_table(m, ix, sol),
        summary=summarise(inst, sol, v, allocation, dispatch, timings), arrays=v,
    )
