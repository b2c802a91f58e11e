"""Policies side by side: solve each in one session, then tidy comparison tables (pandas).

``comparison.csv`` is one long table with a row per (policy, section, item, metric): the
policy's value, the baseline policy's value and the change. Sections: ``system`` (objective and
its terms, value at the baseline's weights, exports, imports, unserved), ``class`` (granted MW,
served, curtailed TWh and hours, unserved per load class), ``zone`` (granted MW, served TWh,
mean and peak zonal price), ``applicant`` (granted MW, served MWh, value at the baseline's
weights, rank by served share; rank 1 is the best served, so a negative change is a move up)
and ``limit`` (each of the policy's limits, binding or not: its level and the limit, in TWh per
year, pro rata for shorter horizons, as the policy states it, for an export cap or domestic
floor, in MW of (1 + margin) × firm demand granted against firm supply capacity for a reserve
margin; and its dual from the final stage: the objective gained per MWh over the horizon, or
per MW, the limit is raised). A limit row's baseline and change are empty where the baseline
has no such limit.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from planner.background import forks, pays_off
from planner.errors import InfeasibleError
from planner.forkmap import map_forked
from planner.instance.instance import Instance
from planner.parallel import NICENESS, Outcome, SessionProcess, ends_session, solve_in_turn
from planner.policies import BASE, PolicySpec, apply_policy, name_of, structure_key
from planner.report.columns import UNIT_SUFFIXES, short_figure
from planner.report.comparison import Comparison as ReportComparison
from planner.report.limits import (
    binds,
    limit_kind,
    limit_note,
    policy_limits,
    shown_limit,
)
from planner.report.render import clear_outputs
from planner.report.run_record import run_record
from planner.report.tables import ResultData, read_json_object, write_csv, write_json, write_tables
from planner.session import PolicyRun, Session, coarse_starts, cold_first_stage, starts_from
from planner.solve import SolverOptions

KEYS = ["section", "item", "metric", "unit"]


@dataclass
class Comparison:
    baseline: str
    runs: list[PolicyRun]
    table: pd.DataFrame
    """Long table: policy, section, item, metric, unit, value, baseline, change."""
    infeasible: dict[str, str] = field(default_factory=dict)
    """Policies whose limits cannot all hold (no allocation exists), with the reason: not in
    ``runs`` nor the table."""


def run_policies(inst: Instance, policies: list[PolicySpec | None], options: SolverOptions,
                 warm: bool = True, progress: Callable[[str], None] | None = None,
                 jobs: int | None = None) -> list[PolicyRun | InfeasibleError]:
    """Solve every policy in ``solve_order`` and return the runs in the order given: in one
    session, or with two ``jobs`` in two at once (``split``; the second in a child process,
    planner/parallel.py; None: two where the machine has two cores and the instance is large
    enough, ``pays_off``). ``warm=False`` solves each from scratch (same answers; for checks
    and benchmarks). ``progress`` is called with each policy's name as it is done (the second
    session's from a thread, one call at a time; an error it raises there is only printed).
    A policy without a solution gives its InfeasibleError as its outcome; any other planner
    error a session meets is raised."""
    order = solve_order(inst, policies)
    first, second = split(inst, policies, order) if sessions(inst, jobs) > 1 else (order, [])
    outcomes: dict[int, Outcome | None] = {}
    shown: set[str] = set()
    showing = threading.Lock()  # the second session's names come from a thread

    def show(*names: str) -> None:
        with showing:
            for name in names:
                if progress and name not in shown:
                    progress(name)
                shown.add(name)

    def solve(session: Session, ks: list[int]) -> None:
        # strict=False: the outcomes stop early only at an error, raised here
        for k, outcome in zip(ks, solve_in_turn(session, [policies[k] for k in ks]), strict=False):
            if ends_session(outcome):
                raise outcome
            outcomes[k] = outcome
            show(name_of(policies[k]))

    later = [policies[k] for k in second]
    with ExitStack() as stack:
        # forked: the second session's coarse optima start now, at its priority, its copy once
        # the LP is built; else its process starts now and builds the LP beside this one
        coarse = stack.enter_context(coarse_starts(inst, options, later, NICENESS)) \
            if second and forks() else None
        other = stack.enter_context(SessionProcess(inst, options, later, warm, progress=show)) \
            if second and coarse is None else None
        session = stack.enter_context(Session(inst, options, warm=warm,
                                              upcoming=[policies[k] for k in first]))
        if coarse is not None:
            other = stack.enter_context(SessionProcess(inst, options, later, warm, session,
                                                       coarse, show))
        solve(session, first)
        if other:
            outcomes |= dict(zip(second, other.outcomes(), strict=True))
            if coarse is not None:  # the copy has ended: no one reads them now
                coarse.close()
            if error := next((o for o in outcomes.values() if ends_session(o)), None):
                raise error
            show(*(name_of(policies[k]) for k, o in outcomes.items() if o is not None))
            solve(session, [k for k in second if outcomes[k] is None])  # the child failed
    return [outcomes[k] for k in range(len(policies))]


def sessions(inst: Instance, jobs: int | None) -> int:
    """Sessions that solve policies at once: ``jobs``, or with None two where the machine has
    two cores or more and the instance is large enough (``pays_off``: below, a started child
    process costs more than it saves; not measured again since it is forked on Linux)."""
    if jobs is not None:
        return jobs
    return 2 if (os.cpu_count() or 1) > 1 and pays_off(inst) else 1


def _follows_first(k: int, policies: list[PolicySpec | None], specs: list[Instance]) -> bool:
    """Does policy k start from the first policy's solution (``starts_from``) without tiers,
    adding only subproblem rows (an export cap, a domestic floor)? Then it takes back the
    first's kept cuts and starts at its grants and basis."""
    return starts_from(specs[k], policies[k], specs[0]) and (
        policies[k] is None or policies[k].tiers is None)


def solve_order(inst: Instance, policies: list[PolicySpec | None]) -> list[int]:
    """Indices of ``policies`` in the order a session solves them best: the first policy; then
    those that follow it (``_follows_first``: on the Norway year `domestic_first` took 0.7 s
    right after `status_quo`, against 29.0 s after `flexible_mining`); then the others as
    given. Not tiers (new stage costs), nor a reserve margin: its rows on the grants cut the
    first policy's grants off, and the grants move far (`reserve_margin` took 37.1 s right
    after `domestic_first`, against 5.4–10.2 s last, and `flexible_mining` had not finished
    260 s after it). Policies that change connection terms (and so rebuild the model) come
    after all that keep the built structure. The order changes only the time: each policy's
    optimum is proved, whatever ran before."""
    specs = [apply_policy(inst, p) for p in policies]

    def rank(k: int) -> tuple[bool, bool]:
        near_first = k == 0 or _follows_first(k, policies, specs)
        return structure_key(specs[k]) != structure_key(inst), not near_first

    return sorted(range(len(policies)), key=rank)


def split(inst: Instance, policies: list[PolicySpec | None], order: list[int]
          ) -> tuple[list[int], list[int]]:
    """``order`` cut into the shares of two sessions. The first keeps the first policy and
    those that need no coarse optimum after it (``cold_first_stage``): they start from its
    solution (on the Norway year `first_come_first_served` took 83 s after `status_quo`,
    143.1 s solved first in a session, its objective without tiers included) or from its
    grants with its cuts (`reserve_margin`: 8.3 s after `first_come_first_served`, which left
    the first session 14 s less to do than the second in compare; session 17). Every other
    policy starts its first stage from its own coarse optimum wherever it runs: they are dealt
    alternately, the second session first, each with the policies right after it that start
    from its solution or share its new connection terms (``_dealt_together``), so that no
    policy starts colder or rebuilds the model where one session would not. On the Norway
    year, once the queue's probes went together (session 22), the second session's
    `value_creation`, `market` and `flexible_mining` ended 14 s after the first session's
    share; with `market` dealt to the first (3.8–4.1 s there after `reserve_margin`, against
    2.7–3.0 s after `value_creation`) the two ended within 5 s."""
    specs = {k: apply_policy(inst, policies[k]) for k in order}
    stays = {k: k == order[0] or not cold_first_stage(specs[k], policies[k], [specs[order[0]]])
             for k in order}
    dealt: list[list[int]] = []
    for k in (k for k in order if not stays[k]):
        if dealt and _dealt_together(inst, specs[dealt[-1][-1]], specs[k], policies[k]):
            dealt[-1].append(k)
        else:
            dealt.append([k])
    return ([k for k in order if stays[k]] + [k for group in dealt[1::2] for k in group],
            [k for group in dealt[0::2] for k in group])


def _dealt_together(inst: Instance, before: Instance, spec: Instance,
                    policy: PolicySpec | None) -> bool:
    """Does a policy (``spec``, applied) go to the session of the one solved before it
    (``before``): does it start from that one's solution, or share its new connection terms
    (solved apart, each would rebuild the model)?"""
    key = structure_key(spec)
    return not cold_first_stage(spec, policy, [before]) or (
        key == structure_key(before) != structure_key(inst))


def _applicant_metrics(run: PolicyRun, reference: Instance) -> pd.DataFrame:
    """Per applicant: granted MW, served MWh, value at the reference (baseline) weights, rank."""
    alloc = run.result.allocation
    apps = {a.name: a for a in reference.applicants}
    weight = alloc["applicant"].map(lambda n: apps[n].weight_nok_per_mwh)
    voll = alloc["applicant"].map(lambda n: apps[n].value_of_lost_load_nok_per_mwh)
    own_cost = alloc["applicant"].map(lambda n: apps[n].own_cost_nok_per_mwh)
    value = weight * alloc["served_mwh"] - voll * alloc["unserved_mwh"] - own_cost * alloc["own_supply_mwh"]
    share = np.divide(alloc["served_mwh"], alloc["requested_mwh"],
                      out=np.zeros(len(alloc)), where=alloc["requested_mwh"] > 0)
    rank = pd.Series(share).rank(ascending=False, method="min")
    frames = [
        ("granted_mw", "MW", alloc["granted_mw"]),
        ("served_mwh", "MWh", alloc["served_mwh"]),
        ("served_share_of_request", "share", pd.Series(share)),
        ("value_at_baseline_weights_nok", "NOK", value),
        ("rank", "rank", rank),
    ]
    return pd.concat([pd.DataFrame({"section": "applicant", "item": alloc["applicant"],
                                    "metric": m, "unit": u, "value": np.asarray(v, dtype=float)})
                      for m, u, v in frames], ignore_index=True)


def policy_metrics(run: PolicyRun, reference: Instance) -> pd.DataFrame:
    """The long metric rows of one policy (section, item, metric, unit, value); values of the
    loads at the weights of ``reference``, the baseline policy's instance."""
    res = run.result
    alloc, dispatch, summary = res.allocation, res.dispatch, res.summary
    rows: list[tuple[str, str, str, str, float]] = []
    applicant_rows = _applicant_metrics(run, reference)
    base_value = applicant_rows.query("metric == 'value_at_baseline_weights_nok'")["value"].sum()
    terms = summary["objective_terms_nok"]
    system = {
        ("objective_nok", "NOK"): summary["objective_nok"],
        **{(name, "NOK"): val for name, val in terms.items()},
        ("loads_value_at_baseline_weights_nok", "NOK"): base_value,
        ("exports_twh", "TWh"): summary["kpis"]["exports_twh"],
        ("imports_twh", "TWh"): summary["kpis"]["imports_twh"],
        ("unserved_mwh", "MWh"): summary["kpis"]["unserved_mwh"],
        ("curtailed_load_twh", "TWh"): summary["kpis"]["curtailed_load_twh"],
        ("spill_twh", "TWh"): summary["kpis"]["spill_twh"],
        ("priority_cost_in_prices", "NOK/NOK"): priority_cost_in_prices(summary),
    }
    rows += [("system", "all", m, u, float(v)) for (m, u), v in system.items()]
    by_class = alloc.groupby("class", sort=True)
    for cls, g in by_class:
        rows += [("class", cls, "granted_mw", "MW", g["granted_mw"].sum()),
                 ("class", cls, "served_twh", "TWh", g["served_mwh"].sum() / 1e6),
                 ("class", cls, "curtailed_twh", "TWh", g["curtailed_mwh"].sum() / 1e6),
                 ("class", cls, "curtailed_hours", "h", g["curtailed_hours"].sum()),
                 ("class", cls, "unserved_mwh", "MWh", g["unserved_mwh"].sum())]
    by_zone = alloc.groupby("zone", sort=False)
    prices = res.prices
    for zone in res.instance.zones:
        g = by_zone.get_group(zone) if zone in by_zone.groups else alloc.iloc[:0]
        rows += [("zone", zone, "granted_mw", "MW", g["granted_mw"].sum()),
                 ("zone", zone, "served_twh", "TWh", g["served_mwh"].sum() / 1e6),
                 ("zone", zone, "mean_price_nok_per_mwh", "NOK/MWh", prices[zone].mean()),
                 ("zone", zone, "peak_price_nok_per_mwh", "NOK/MWh", prices[zone].max())]
    zone_trade = dispatch.groupby("zone", sort=False)[["exports_mw", "imports_mw"]].sum() / 1e6
    for zone, row in zone_trade.iterrows():
        rows += [("zone", zone, "exports_twh", "TWh", row["exports_mw"]),
                 ("zone", zone, "imports_twh", "TWh", row["imports_mw"])]
    rows += _limit_rows(summary)
    frame = pd.DataFrame(rows, columns=[*KEYS, "value"])
    return pd.concat([frame, applicant_rows], ignore_index=True)


def _limit_rows(summary: dict) -> list[tuple[str, str, str, str, float]]:
    """The policy's limits (run record, ``Session._limit_record``): level, limit and dual; in
    TWh per year (pro rata, as the policy states them) and NOK per MWh over the horizon for
    energy, in MW and NOK/MW for a reserve margin."""
    rows = []
    for lim in policy_limits(summary):
        level, limit, unit, dual_unit = shown_limit(summary, lim)
        size = unit.lower().replace("/", "_per_")
        rows += [("limit", lim["entity"], f"level_{size}", unit, level),
                 ("limit", lim["entity"], f"limit_{size}", unit, limit),
                 ("limit", lim["entity"], f"dual_nok_per_{dual_unit.lower()}", f"NOK/{dual_unit}",
                  lim["dual_nok_per_unit_raised"])]
    return rows


def priority_cost_in_prices(summary: dict) -> float:
    """The largest priority cost (NOK of total value given up per NOK of a tier's value held)
    of a tier held by a row in the final stage: where that tier's load is marginal, the zonal
    price is its weight × (1 + that cost), as the price values energy with the holds in place
    (docs/policies.md). 0 without such a tier; tiers held by fixed columns do not enter prices."""
    stages = (summary.get("policy") or {}).get("stages") or []
    return max([0.0, *(s["priority_cost"] for s in stages if s.get("held_by") == "row")])


def comparison_table(runs: list[PolicyRun], baseline: str) -> pd.DataFrame:
    """Every policy's metrics with the baseline's value and the change against it."""
    reference = next(r for r in runs if r.policy == baseline).result.instance
    long = pd.concat([policy_metrics(r, reference).assign(policy=r.policy) for r in runs],
                     ignore_index=True)
    ref = long[long["policy"] == baseline][[*KEYS, "value"]].rename(columns={"value": "baseline"})
    table = long.merge(ref, on=KEYS, how="left")
    table["change"] = table["value"] - table["baseline"]
    return table[["policy", *KEYS, "value", "baseline", "change"]]


def compare(inst: Instance, policies: list[PolicySpec | None], baseline: str,
            options: SolverOptions | None = None, warm: bool = True,
            progress: Callable[[str], None] | None = None, jobs: int | None = None
            ) -> Comparison:
    """Solve the policies (``None`` is the base instance, named ``base``; ``jobs``: sessions at
    once, ``run_policies``, which also tells when and from which thread ``progress`` is
    called) and compare them. Policies without a solution are left out of the
    comparison and listed in ``infeasible``; an infeasible baseline raises InfeasibleError."""
    outcomes = run_policies(inst, policies, options or SolverOptions(), warm, progress, jobs)
    runs = [o for o in outcomes if isinstance(o, PolicyRun)]
    infeasible = {name_of(p): str(o) for p, o in zip(policies, outcomes, strict=True)
                  if isinstance(o, InfeasibleError)}
    if baseline in infeasible:
        raise InfeasibleError(f"the baseline has no solution, so nothing can be compared with "
                              f"it: {infeasible[baseline]}")
    return Comparison(baseline, runs, comparison_table(runs, baseline), infeasible)


REPORT_KPIS = {"system": ("objective_nok", "loads_value_at_baseline_weights_nok", "exports_twh",
                           "imports_twh", "curtailed_load_twh", "unserved_mwh"),
               "class": ("served_twh", "granted_mw"),
               "zone": ("mean_price_nok_per_mwh",)}
"""Metrics of the long table shown in the comparison report, by section."""

REPORT_CHANGES = {"granted_mw": "granted_change_mw", "served_mwh": "served_change_mwh",
                  "value_at_baseline_weights_nok": "value_change_nok"}
"""Applicant metrics of the long table → change columns of the comparison report."""


def comparison_record(comp: Comparison) -> list[tuple[str, str]]:
    """The comparison's run record: the instance (as in each policy's record), the policies,
    the baseline, the planner and the solver."""
    from planner import __version__

    summary = next(r for r in comp.runs if r.policy == comp.baseline).result.summary
    infeasible = [("infeasible", f"{name}: {why}") for name, why in comp.infeasible.items()]
    return [*run_record(summary)[:3], ("policies", ", ".join(r.policy for r in comp.runs)),
            *infeasible, ("baseline", comp.baseline), ("planner version", __version__),
            ("solver", str(summary["solver"]["name"]))]


def report_view(comp: Comparison, record: list[tuple[str, str]]) -> ReportComparison:
    """The comparison in the report's wide form (planner/report/comparison.py): one KPI row per
    policy (class and zone metrics named ``served_<class>_twh``, ``mean_price_<zone>_nok_per_mwh``)
    and one change row per policy and applicant, ranked by the change in value."""
    t = comp.table
    wide = []
    for section, metrics in REPORT_KPIS.items():
        rows = t[(t["section"] == section) & t["metric"].isin(metrics)]
        for metric, group in rows.groupby("metric", sort=False):
            stem, suffix = (metric, "") if section == "system" else _split_suffix(metric)
            for item, cells in group.groupby("item", sort=False):
                name = metric if section == "system" else f"{stem}_{item}{suffix}"
                wide.append(cells.set_index("policy")["value"].rename(name))
    kpis = pd.concat(wide, axis=1).reset_index().rename(columns={"index": "policy"})
    money = [c for c in kpis.columns if c.endswith("_nok")]  # millions read better side by side
    kpis[money] = kpis[money] / 1e6
    kpis = kpis.rename(columns={c: c.removesuffix("_nok") + "_mnok" for c in money})
    apps = t[(t["section"] == "applicant") & t["metric"].isin(REPORT_CHANGES)]
    changes = (apps.pivot_table(index=["policy", "item"], columns="metric", values="change",
                                sort=False)
               .rename(columns=REPORT_CHANGES).reset_index().rename(columns={"item": "applicant"}))
    base = next(r for r in comp.runs if r.policy == comp.baseline).result.allocation
    info = base.set_index("applicant")[["zone", "class"]]
    changes = changes.join(info, on="applicant")[["policy", "applicant", "zone", "class",
                                                  *REPORT_CHANGES.values()]]
    return ReportComparison(kpis, changes, comp.baseline, record=record, limits=limit_table(comp))


def limit_table(comp: Comparison) -> pd.DataFrame:
    """Every policy's limits, one row each, for the comparison report (``ReportComparison``)."""
    rows = []
    for run in comp.runs:
        for lim in policy_limits(run.result.summary):
            level, bound, unit, dual_unit = shown_limit(run.result.summary, lim)
            rows.append({"policy": run.policy, "limit": lim["entity"], "kind": limit_kind(lim),
                         "level": level, "bound": bound, "unit": unit,
                         "dual_per_unit_nok": lim["dual_nok_per_unit_raised"], "per": dual_unit,
                         "binds": binds(lim)})
    return pd.DataFrame(rows)


def _split_suffix(metric: str) -> tuple[str, str]:
    """``served_twh`` → (``served``, ``_twh``), by the report's unit suffixes."""
    for suffix, _ in UNIT_SUFFIXES:
        if metric.endswith(suffix):
            return metric.removesuffix(suffix), suffix
    return metric, ""


def write_comparison(comp: Comparison, out: Path) -> list[Path]:
    """Each policy's own tables in out/POLICY/ (on a large instance two folders at once, in
    forked copies of this process: planner/forkmap.py), then comparison.csv and
    comparison.json."""
    out.mkdir(parents=True, exist_ok=True)
    clear_outputs(out)
    solved = {run.policy for run in comp.runs}
    for folder in out.iterdir():  # a policy of an earlier compare, or infeasible this time
        if folder.is_dir() and folder.name not in solved and _policy_folder(folder):
            clear_outputs(folder)
            if not any(folder.iterdir()):
                folder.rmdir()

    def folder(run: PolicyRun) -> list[Path]:
        clear_outputs(out / run.policy)
        return write_tables(ResultData.of(run.result), out / run.policy)

    large = bool(comp.runs) and pays_off(comp.runs[0].result.instance)
    written = [path for paths in map_forked(folder, comp.runs, large) for path in paths]
    write_csv(comp.table, out / "comparison.csv")
    data = {
        "baseline": comp.baseline,
        "infeasible": comp.infeasible,
        "policies": {
            run.policy: {
                "summary": {k: run.result.summary[k] for k in ("objective_nok", "objective_terms_nok",
                                                                "kpis", "policy", "timings_s")},
                "metrics": _nested(comp.table[comp.table["policy"] == run.policy]),
            } for run in comp.runs},
    }
    write_json(data, out / "comparison.json")
    return [*written, out / "comparison.csv", out / "comparison.json"]


def _policy_folder(folder: Path) -> bool:
    """Did a compare write this folder: its summary.json records the policy of its name?"""
    policy = (read_json_object(folder / "summary.json") or {}).get("policy")
    return isinstance(policy, dict) and (policy.get("name") or BASE) == folder.name


def _number(x: float) -> float | None:
    """A value for JSON: None (null) for a missing one, as NaN is not JSON."""
    return None if pd.isna(x) else float(x)


def _nested(rows: pd.DataFrame) -> dict:
    """section → item → metric → {value, baseline, change, unit}."""
    out: dict = {}
    for r in rows.itertuples(index=False):
        out.setdefault(r.section, {}).setdefault(r.item, {})[r.metric] = {
            "value": _number(r.value), "baseline": _number(r.baseline),
            "change": _number(r.change), "unit": r.unit}
    return out


SIDE_BY_SIDE = [("class", "granted_mw", 1.0, "MW"), ("class", "served_twh", 1.0, "TWh"),
                ("class", "curtailed_twh", 1.0, "TWh"), ("system", "exports_twh", 1.0, "TWh"),
                ("system", "imports_twh", 1.0, "TWh"), ("system", "unserved_mwh", 1.0, "MWh"),
                ("system", "loads_value_at_baseline_weights_nok", 1e-6, "MNOK"),
                ("zone", "mean_price_nok_per_mwh", 1.0, "NOK/MWh")]
"""(section, metric, scale, unit shown) of the rows in the terminal table."""


def side_by_side(comp: Comparison) -> str:
    """The compact terminal table: the main metrics, one column per policy."""
    t = comp.table
    parts = []
    for section, metric, scale, unit in SIDE_BY_SIDE:
        rows = t[(t["section"] == section) & (t["metric"] == metric)]
        label = metric.removesuffix("_nok").removesuffix("_nok_per_mwh")
        label = label.removesuffix("_twh").removesuffix("_mwh").removesuffix("_mw")
        parts.append(rows.assign(value=rows["value"] * scale,
                                 row=f"{label} ({unit}) " + rows["item"].where(rows["item"] != "all", "")))
    sel = pd.concat(parts)
    wide = sel.pivot_table(index="row", columns="policy", values="value", sort=False)
    wide = wide[[r.policy for r in comp.runs]]
    wide.index.name = None
    wide.columns.name = None
    costs = {r.policy: priority_cost_in_prices(r.result.summary) for r in comp.runs}
    notes = [f"{name}: its prices carry the cost of tier holds, up to {cost:,.2f} NOK per NOK "
             "held (price = weight × (1 + cost) where a held tier's load is marginal; "
             "docs/policies.md, Zonal prices)" for name, cost in costs.items() if cost > 0]
    notes += [f"{r.policy}: {limit_note(r.result.summary, lim)}" for r in comp.runs
              for lim in policy_limits(r.result.summary)]
    notes += [f"{name}: infeasible, not compared: {why}" for name, why in comp.infeasible.items()]
    return "\n".join([f"baseline: {comp.baseline}",
                      wide.to_string(float_format=short_figure), *notes])
