"""Why did an applicant get what it got? For every applicant granted less than it asked for,
curtailed or left unserved, name what limited it, from the written result files:

- the zone's price at or above the applicant's weight (the next MWh is worth more elsewhere);
- transfer limits into the zone (lines, and interconnector imports) at their limit, with the
  congestion rent (reduced cost of the flow, NOK/MWh) from binding.csv;
- reservoirs of the zone empty or full, as periods of weeks;
- all local supply of the zone at its available capacity;
- the applicant's own binding rows (firm share, curtailment limit, windows, ramps, demand cap)
  and its grant at a bound, with their duals from binding.csv;
- the applicants of the same zone served in those hours instead, with their weights.

Each reason is one row of explain.csv; ``planner explain RESULT_DIR --applicant NAME`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputError, Problem
from planner.instance.instance import Instance
from planner.report.tables import read_csv, write_csv
from planner.verify import Grids, Tables, as_solved, read_tables

TOL_MW = 1e-3
"""MW: a quantity within this of its limit is at the limit (the files carry four decimals)."""
PRICE_TOL = 0.01
"""NOK/MWh: a zone price within this of an applicant's weight counts as equal to it."""

COLUMNS = ["applicant", "zone", "weight_nok_per_mwh", "requested_mw", "granted_mw",
           "curtailed_mwh", "unserved_mwh", "reason", "constraint", "hours", "first_hour",
           "last_hour", "shadow_price_nok_per_unit", "detail"]
"""explain.csv: one row per (applicant, reason). ``hours`` counts the hours (or windows) in which
the reason holds among the hours the applicant was short; ``shadow_price_nok_per_unit`` is the
mean dual over them (NOK per MW or MWh of the constraint; blank where no dual applies)."""

REASONS: dict = {
    "firm_supply": "firm share served (firm_supply rows binding)",
    "curtailment_limit": "curtailment limit reached",
    "window_energy": "energy window minimum binding",
    "window_cap": "energy window cap binding",
    "ramp_up": "ramp limit (up) binding",
    "ramp_down": "ramp limit (down) binding",
    "demand_cap": "demand cap (profile × grant) binding",
    "own_supply_use": "own supply limited to the site's load",
    ("served_mw", "lower"): "curtailed to zero",
    ("unserved_mw", "upper"): "existing load entirely unserved",
}
"""Text for an applicant's own rows, and for the bounds that limit it, in binding.csv. Other
bounds (served at its full demand, unserved at zero) are not limits and are left out."""


@dataclass(frozen=True)
class Reason:
    reason: str
    constraint: str
    hours: np.ndarray
    """Hours (or window numbers) in which it holds."""
    shadow_price: float | None
    detail: str


def _weeks(hours: np.ndarray) -> str:
    """Hours as ranges of weeks (week 1 = hours 0-167): 'weeks 14–17, 40'."""
    weeks = sorted(set((hours // 168 + 1).tolist()))
    spans: list[str] = []
    for w in weeks:
        if spans and spans[-1][1] == w - 1:
            spans[-1] = (spans[-1][0], w)
        else:
            spans.append((w, w))
    text = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in spans)
    return ("week " if len(weeks) == 1 else "weeks ") + text


def _mean_dual(binding: pd.DataFrame, family: str, entity: str, hours: np.ndarray | None,
               bound: str | None = None) -> float | None:
    rows = binding[(binding["family"] == family) & (binding["entity"] == entity)]
    if hours is not None:
        rows = rows[rows["index"].isin(hours.tolist())]
    if bound is not None:
        rows = rows[rows["bound"] == bound]
    return float(rows["dual_nok_per_unit"].mean()) if len(rows) else None


def short_hours(g: Grids, k: int) -> np.ndarray:
    """Hours in which applicant k got less than its demand: curtailed or unserved."""
    delivered = g.served[k] + g.unserved[k]
    return np.flatnonzero((delivered < g.demand[k] - TOL_MW) | (g.unserved[k] > TOL_MW))


def limited(inst: Instance, t: Tables) -> list[int]:
    """Applicants granted less than requested, curtailed or with unserved energy."""
    alloc = t.allocation
    return [k for k in range(len(inst.applicants))
            if alloc["granted_mw"].iat[k] < alloc["requested_mw"].iat[k] - TOL_MW
            or alloc["curtailed_mwh"].iat[k] > TOL_MW or alloc["unserved_mwh"].iat[k] > TOL_MW]


def reasons(inst: Instance, t: Tables, g: Grids, k: int) -> list[Reason]:
    """Everything that limited applicant k, in the hours it was short (or, if it was only
    granted less, over the whole horizon)."""
    a = inst.applicants[k]
    short = short_hours(g, k)
    hours = short if short.size else np.arange(inst.hours)
    z = g.zones.index(a.zone)
    out: list[Reason] = []

    price = g.dispatch["zonal_price_nok_per_mwh"][z]
    high = hours[price[hours] >= a.weight_nok_per_mwh - PRICE_TOL]
    if high.size:
        out.append(Reason("zone price at or above its weight", f"zone_balance[{a.zone}]", high,
                          float(price[high].mean()),
                          f"price in {a.zone} ≥ {a.weight_nok_per_mwh:,.0f} NOK/MWh "
                          f"(mean {price[high].mean():,.0f}) in {high.size} h"))

    f = t.flows
    into = f[(f["to"] == a.zone) & (f["flow_mw"] >= f["limit_mw"] - TOL_MW) & (f["limit_mw"] > 0)]
    for (link, src, kind), rows in into.groupby(["link", "from", "kind"], sort=True):
        at = np.intersect1d(rows["hour"].to_numpy(), hours)
        if not at.size:
            continue
        family, entity = (("flow_mw", f"{link}:{src}>{a.zone}") if kind == "line"
                          else ("net_export_mw", link))
        what = "transfer limit" if kind == "line" else "import limit"
        out.append(Reason(f"{what} {src}→{a.zone} binding", f"{family}[{entity}]", at,
                          _mean_dual(t.binding, family, entity, at),
                          f"{what} {src}→{a.zone} ({rows['limit_mw'].iat[0]:,.0f} MW) binding in "
                          f"{at.size:,} h"))

    for r, s in enumerate(x for x in inst.supply if x.reservoir):
        if s.zone != a.zone:
            continue
        level = g.storage["storage_mwh"][r]
        for state, at in (("empty", hours[level[hours] <= TOL_MW]),
                          ("full", hours[level[hours] >= s.storage_mwh - TOL_MW])):
            if at.size:
                out.append(Reason(f"reservoir {state}", f"storage_mwh[{s.name}]", at,
                                  _mean_dual(t.binding, "storage_mwh", s.name, at),
                                  f"reservoir {s.name} {state} in {_weeks(at)} ({at.size:,} h)"))
        end = _mean_dual(t.binding, "storage_mwh", s.name, np.array([inst.hours - 1]), "lower")
        if end and level[-1] > TOL_MW:  # kept for after the horizon: the water is spoken for
            out.append(Reason("reservoir end level binding", f"storage_mwh[{s.name}]", hours,
                              end, f"reservoir {s.name} must end at {s.final_storage_mwh:,.0f} "
                              f"MWh: the water it holds back is worth {end:,.0f} NOK/MWh"))

    plants = [p for p, s in enumerate(inst.supply) if s.zone == a.zone]
    if plants:
        res_rows = {s.name: r for r, s in enumerate(x for x in inst.supply if x.reservoir)}
        used_up = np.ones(inst.hours, dtype=bool)
        for p in plants:
            s = inst.supply[p]
            at_cap = g.generation[p] >= g.available[p] - TOL_MW
            if s.reservoir:
                at_cap |= g.storage["storage_mwh"][res_rows[s.name]] <= TOL_MW
            used_up &= at_cap
        at = hours[used_up[hours]]
        if at.size:
            out.append(Reason(f"local supply in {a.zone} exhausted", "generation_mw", at, None,
                              f"every plant in {a.zone} at its available capacity (or its "
                              f"reservoir empty) in {at.size:,} h"))

    mine = t.binding[t.binding["entity"] == a.name]
    for (family, bound), rows in mine.groupby(["family", "bound"], sort=True):
        if family == "granted_mw":
            dual = rows["dual_nok_per_unit"].iat[0]
            text = (f"grant at its full request: one more MW requested would be worth {dual:,.0f} "
                    "NOK over the horizon" if bound == "upper" else
                    f"grant held at its existing MW: each MW of that floor costs {dual:,.0f} NOK "
                    "over the horizon (the optimum would grant less)")
            out.append(Reason("grant at a bound", "granted_mw", np.array([0]),
                              float(rows["dual_nok_per_unit"].iat[0]), text))
            continue
        label = REASONS.get(family, REASONS.get((family, bound)))
        if label is None:
            continue
        idx = rows["index"].dropna().to_numpy(dtype=int)
        unit = "windows" if family.startswith("window") else "h"
        out.append(Reason(label, family, idx, float(rows["dual_nok_per_unit"].mean()),
                          f"{label} in {idx.size:,} {unit}" if idx.size else label))

    others = [j for j, b in enumerate(inst.applicants) if b.zone == a.zone and j != k]
    instead = [(inst.applicants[j], float(g.served[j][hours].sum())) for j in others]
    instead = sorted([(b, mwh) for b, mwh in instead if mwh > TOL_MW],
                     key=lambda x: -x[0].weight_nok_per_mwh)
    if instead:
        listed = "; ".join(f"{b.name} (weight {b.weight_nok_per_mwh:,.0f}, {mwh:,.0f} MWh)"
                           for b, mwh in instead)
        out.append(Reason("served instead in the same zone", "", hours, None, listed))
    if not out:
        out.append(Reason("no binding constraint found", "", hours, None,
                          "nothing binds in these hours: an equally good allocation serves it "
                          "(degenerate optimum)"))
    return out


def explain_table(inst: Instance, t: Tables, folder: str = "") -> pd.DataFrame:
    """explain.csv: the reasons of every limited applicant (see COLUMNS), with the weights of
    the policy the tables record (``inst`` is the base instance)."""
    inst, _ = as_solved(inst, t, folder)
    g = Grids(inst, t)
    alloc = t.allocation
    rows = []
    for k in limited(inst, t):
        a = inst.applicants[k]
        for r in reasons(inst, t, g, k):
            rows.append({
                "applicant": a.name, "zone": a.zone, "weight_nok_per_mwh": a.weight_nok_per_mwh,
                "requested_mw": a.requested_mw, "granted_mw": alloc["granted_mw"].iat[k],
                "curtailed_mwh": alloc["curtailed_mwh"].iat[k],
                "unserved_mwh": alloc["unserved_mwh"].iat[k], "reason": r.reason,
                "constraint": r.constraint, "hours": r.hours.size,
                "first_hour": int(r.hours.min()) if r.hours.size else None,
                "last_hour": int(r.hours.max()) if r.hours.size else None,
                "shadow_price_nok_per_unit": r.shadow_price, "detail": r.detail,
            })
    return pd.DataFrame(rows, columns=COLUMNS)


def explain_text(table: pd.DataFrame, applicant: str) -> str:
    """The explanation of one applicant, for the console."""
    rows = table[table["applicant"] == applicant]
    if rows.empty:
        return f"{applicant}: granted what it asked for and fully served; nothing to explain"
    first = rows.iloc[0]
    lines = [f"{applicant} ({first['zone']}, weight {first['weight_nok_per_mwh']:,.0f} NOK/MWh): "
             f"granted {first['granted_mw']:,.1f} of {first['requested_mw']:,.1f} MW, curtailed "
             f"{first['curtailed_mwh']:,.0f} MWh, unserved {first['unserved_mwh']:,.0f} MWh"]
    for _, r in rows.iterrows():
        price = ("" if pd.isna(r["shadow_price_nok_per_unit"])
                 else f"  [shadow price {r['shadow_price_nok_per_unit']:,.1f} NOK/unit]")
        lines.append(f"  - {r['reason']}: {r['detail']}{price}")
    return "\n".join(lines)


def write_explanations(folder: Path, inst: Instance) -> pd.DataFrame:
    """Compute explain.csv from a written result folder (of ``inst``, the base instance) and
    write it there."""
    table = explain_table(inst, read_tables(folder), str(folder))
    write_csv(table, folder / "explain.csv")
    return table


def read_explanations(folder: Path) -> pd.DataFrame:
    """explain.csv of a result folder; computed and written first if the folder lacks it (for
    results written without it), from the instance recorded in summary.json."""
    from planner.instance.load import load_instance
    from planner.verify import instance_of

    path = folder / "explain.csv"
    if not path.exists():
        tables = read_tables(folder)
        return write_explanations(folder, load_instance(instance_of(folder, tables)))
    try:
        table = read_csv(path)
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError([Problem(str(path), None, None, "", f"cannot read ({exc}); solve "
                                  "again to write it")]) from None
    if missing := [c for c in COLUMNS if c not in table.columns]:
        raise InputError([Problem(str(path), 1, None, c, "missing column; solve again (or "
                                  "delete the file: planner explain then writes it anew)")
                          for c in missing])
    return table
