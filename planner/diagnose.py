"""Where the system is short: cheap checks before solving, a summary of unserved energy after
solving, and HiGHS's irreducible infeasible set (IIS) mapped back to the instance when the LP
has no solution (possible only with unserved energy disabled, ``--no-unserved``).

The loader already refuses energy windows longer than the horizon and reservoirs whose end level
cannot be reached from their start level plus inflow (planner/instance/load.py); this module adds
the check that needs the whole network: firm demand above what can reach a zone.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd
import pyomo.environ as pyo

from planner.errors import Problem
from planner.instance.instance import Instance
from planner.instance.yamlsource import SourceTree, read_document
from planner.model.index import STORAGE_BLOCK_HOURS, has_obligation, is_firm, is_free
from planner.solve import CompiledLP

IIS_LISTED = 25
"""Members of an IIS printed one by one; the rest are counted by family."""


def firm_demand_mw(inst: Instance) -> np.ndarray:
    """Zone × hour: load that must be served or becomes unserved energy (MW): the existing MW of
    firm applicants and protected demand, and the firm share of the others' existing MW."""
    out = np.zeros((len(inst.zones), inst.hours))
    for a in inst.applicants:
        share = 1.0 if is_firm(a) else a.firm_share
        out[inst.zones.index(a.zone)] += share * a.profile * a.existing_mw
    return out


def reachable_mw(inst: Instance) -> np.ndarray:
    """Zone × hour: the most power that can reach a zone's loads (MW): its plants at capacity ×
    availability, behind-the-meter plants, every line into it at capacity less losses, and every
    interconnector at its import limit. Reservoir energy is not counted against it."""
    out = np.zeros((len(inst.zones), inst.hours))
    z = inst.zones.index
    for s in inst.supply:
        out[z(s.zone)] += s.capacity_mw * s.availability
    for a in inst.applicants:
        if a.own_availability is not None:
            out[z(a.zone)] += a.own_capacity_mw * a.own_availability
    for line in inst.lines:
        out[z(line.to_zone)] += line.capacity_mw * (1 - line.loss_factor)
        out[z(line.from_zone)] += line.reverse_capacity_mw * (1 - line.loss_factor)
    for ic in inst.interconnectors:
        out[z(ic.zone)] += ic.import_mw
    return out


def _hour_list(hours: np.ndarray, shown: int = 5) -> str:
    listed = ", ".join(str(h) for h in hours[:shown])
    return listed + (f", … ({hours.size} h)" if hours.size > shown else "")


def precheck(inst: Instance, tree: SourceTree | None = None) -> list[Problem]:
    """Zones whose firm demand exceeds what can reach them in some hour: unserved energy there is
    certain (and with unserved energy disabled, the LP is infeasible)."""
    if tree is None and inst.path is not None:
        tree = read_document(inst.path)
    firm, reach = firm_demand_mw(inst), reachable_mw(inst)
    problems = []
    for k in range(len(inst.zones)):
        short = np.flatnonzero(firm[k] > reach[k] + 1e-6)
        if not short.size:
            continue
        worst = short[np.argmax(firm[k, short] - reach[k, short])]
        msg = (f"firm demand exceeds local supply plus import capacity in {short.size} h (hours "
               f"{_hour_list(short)}); worst hour {worst}: {firm[k, worst]:,.1f} MW firm, "
               f"{reach[k, worst]:,.1f} MW can reach the zone. Unserved energy is certain: add "
               "supply or transfer capacity, or lower existing_mw / firm_share there")
        where = ["zones", k]
        problems.append(tree.problem(where, msg) if tree else
                        Problem(str(inst.path or ""), None, None, f"zones[{k}]", msg))
    return problems


MAX_MODEL_SIZE = 2_000_000
"""Default limit on rows + columns of the LP (the full-year Norway LP has about 0.83 M). Pyomo
needs roughly 1 KB of memory per row or column while building, HiGHS far less."""


def estimate_size(inst: Instance) -> tuple[int, int]:
    """(rows, columns) of the LP, estimated from the instance before anything is built (the
    same split of applicants as planner/model/index.py; tests/test_diagnose.py checks it
    against built models). The storage_level rows of row generation come on top, at most
    23 per reservoir and day that needs them."""
    H, apps = inst.hours, inst.applicants
    flexible = [a for a in apps if not is_firm(a)]
    reservoirs = sum(s.reservoir for s in inst.supply)
    levels = reservoirs * -(-H // STORAGE_BLOCK_HOURS)  # one per reservoir and block
    cols = len(apps) + levels + H * (len(flexible) + sum(has_obligation(a) for a in apps)
                                     + sum(a.own_capacity_mw > 0 for a in apps) + len(inst.supply)
                                     + reservoirs + 2 * len(inst.lines) + len(inst.interconnectors))
    windows = sum(-(-H // a.window_hours) for a in flexible if a.window_hours)
    rows = (levels + H * (len(inst.zones)
                 + sum(not is_free(a) for a in flexible) + sum(a.firm_share > 0 for a in flexible)
                 + sum(a.own_capacity_mw > 0 for a in apps))
            + 2 * (H - 1) * sum(a.ramp_mw_per_h is not None for a in flexible)
            + sum(a.max_curtailment_share < 1 and a.firm_share < 1 for a in flexible)
            + 2 * windows)
    return rows, cols


def size_problem(inst: Instance, limit: int) -> Problem | None:
    """A located refusal if the LP would exceed ``limit`` rows + columns."""
    rows, cols = estimate_size(inst)
    if rows + cols <= limit:
        return None
    msg = (f"the LP would have about {rows:,} rows and {cols:,} columns ({rows + cols:,} in all), "
           f"above the limit of {limit:,}; shorten the horizon, merge applicants, or raise the "
           "limit with --max-size")
    tree = read_document(inst.path) if inst.path else None
    return tree.problem(["time", "hours"], msg) if tree else Problem("", None, None, "", msg)


# --------------------------------------------------------------------------------------------
# after the solve: unserved energy


SHORTAGE_REASONS = ("transfer limit", "import limit", "reservoir", "local supply")
"""Reasons of explain.csv that say why energy could not reach a zone."""


def unserved_summary(inst: Instance, applicant_hours: pd.DataFrame,
                     explain: pd.DataFrame) -> list[str]:
    """One line per zone with unserved energy: MWh, hours, applicants, and the network and
    supply limits that caused it (from explain.csv, over the hours each applicant was short)."""
    rows = applicant_hours[applicant_hours["unserved_mw"] > 1e-3]
    lines = []
    for zone, here in rows.groupby("zone", sort=False):
        hours = np.unique(here["hour"].to_numpy())
        who = here.groupby("applicant")["unserved_mw"].sum().sort_values(ascending=False)
        causes = explain[explain["applicant"].isin(who.index)
                         & explain["reason"].str.startswith(SHORTAGE_REASONS)]
        cause = "; ".join(dict.fromkeys(causes["detail"])) or "no binding limit recorded"
        lines.append(
            f"unserved in {zone}: {here['unserved_mw'].sum():,.1f} MWh in {hours.size} h "
            f"(hours {_hour_list(hours)}); applicants: "
            + ", ".join(f"{a} {mwh:,.1f} MWh" for a, mwh in who.items())
            + f"; caused by: {cause}")
    return lines


# --------------------------------------------------------------------------------------------
# infeasible LP: the IIS in the instance's terms


FIELDS = {
    "zone_balance": "zone {0}: supply, demand and transfers in hour {1}",
    "storage_balance": "supply '{0}': storage_mwh, inflow_mwh, initial_storage_share (day block {1})",
    "storage_level": "supply '{0}': storage_mwh, inflow_mwh, initial_storage_share (hour {1})",
    "firm_supply": "applicant '{0}': firm_share (hour {1})",
    "curtailment_limit": "applicant '{0}': max_curtailment_share",
    "window_energy": "applicant '{0}': window.min_share (window {1})",
    "window_cap": "applicant '{0}': window (window {1})",
    "demand_cap": "applicant '{0}': profile × grant (hour {1})",
    "ramp_up": "applicant '{0}': ramp_mw_per_h (hour {1})",
    "ramp_down": "applicant '{0}': ramp_mw_per_h (hour {1})",
    "own_supply_use": "applicant '{0}': own_supply (hour {1})",
    "granted_mw": "applicant '{0}': existing_mw ≤ grant ≤ requested_mw",
    "served_mw": "applicant '{0}': served ≥ 0 (hour {1})",
    "unserved_mw": "applicant '{0}': no unserved energy allowed (--no-unserved), hour {1}",
    "own_supply_mw": "applicant '{0}': own_supply.capacity_mw × availability (hour {1})",
    "generation_mw": "supply '{0}': capacity_mw × availability (hour {1})",
    "storage_mwh": "supply '{0}': storage_mwh, final_storage_share (end of day block {1})",
    "spill_mwh": "supply '{0}': spill ≥ 0 (hour {1})",
    "flow_mw": "line '{0}': capacity_mw / reverse_capacity_mw (hour {1})",
    "net_export_mw": "interconnector '{0}': export_mw / import_mw (hour {1})",
}
"""The instance fields behind each row or column family of the LP."""


@dataclass(frozen=True)
class IisMember:
    family: str
    key: tuple
    bound: str

    def field(self) -> str:
        return FIELDS.get(self.family, f"{self.family}{list(self.key)}").format(*self.key)


def _keys(m: pyo.ConcreteModel, ctype) -> list[tuple[str, tuple]]:
    """(family, index) of every row or column, in the compiled LP's order (as compile_lp)."""
    out = []
    for comp in m.component_objects(ctype, active=True, descend_into=True):
        for key in comp:
            out.append((comp.name, key if isinstance(key, tuple) else (key,)))
    return out


def iis_members(h: highspy.Highs, m: pyo.ConcreteModel, lp: CompiledLP) -> list[IisMember] | None:
    """HiGHS's IIS of an infeasible LP as named rows and bounds, or None if HiGHS finds none."""
    if not hasattr(highspy, "IisStrategy"):  # highspy before 1.10 has no IIS
        return None
    # from the LP's infeasibility certificate, then reduced to an irreducible set
    strategy = int(highspy.IisStrategy.kIisStrategyFromLp) | int(
        highspy.IisStrategy.kIisStrategyIrreducible)
    h.setOptionValue("iis_strategy", strategy)
    status, iis = h.getIis()
    if status != highspy.HighsStatus.kOk or not iis.valid_:
        return None
    rows = _keys(m, pyo.Constraint) + [(f, (o, t)) for f, o, t in lp.added_row_keys()]
    cols = _keys(m, pyo.Var)

    def bound(code: int) -> str:
        return highspy.IisBoundStatus(code).name.removeprefix("kIisBoundStatus").lower()

    members = [IisMember(*rows[i], bound(b)) for i, b in zip(iis.row_index_, iis.row_bound_,
                                                               strict=True)]
    members += [IisMember(*cols[j], bound(b)) for j, b in zip(iis.col_index_, iis.col_bound_,
                                                               strict=True)]
    return [x for x in members if x.bound != "free"]  # free: in the rows, its bounds not needed


def iis_text(members: list[IisMember] | None) -> str:
    """The IIS for the error message: each member's instance fields, then counts by family."""
    if members is None:
        return "HiGHS found no irreducible infeasible set"
    counts = Counter(x.family for x in members)
    zones = sorted({str(x.key[0]) for x in members if x.family == "zone_balance"})
    hours = sorted({x.key[1] for x in members if len(x.key) == 2 and isinstance(x.key[1], int)
                    and not x.family.startswith(("window", "storage_balance", "storage_mwh"))})
    lines = [f"irreducible infeasible set: {len(members)} rows and bounds that cannot hold together "
             f"(zones {', '.join(zones) or '-'}; hours {_hour_list(np.array(hours, dtype=int))}; "
             + ", ".join(f"{n} {f}" for f, n in counts.most_common()) + "):"]
    lines += [f"  {x.family}[{','.join(map(str, x.key))}] ({x.bound} bound): {x.field()}"
              for x in members[:IIS_LISTED]]
    if len(members) > IIS_LISTED:
        lines.append(f"  … and {len(members) - IIS_LISTED} more")
    return "\n".join(lines)
