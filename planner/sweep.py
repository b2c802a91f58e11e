"""Sweep one parameter of a policy and report the allocation as a function of it.

WHAT is ``weight:NAME`` (a load class or an applicant), ``export_cap_twh``,
``domestic_floor_twh`` or ``reserve_margin``. Every step is a warm re-solve in one session.
Breakpoints are where the optimal allocation changes between steps. Where the LP's sensitivity
information gives the exact range, it is used and marked ``exact``: HiGHS's cost ranging when
the swept weight is the cost of a single column (a firm applicant without existing capacity:
its grant), and its bound ranging of the cap or floor row. That ranging is of the full LP in
HiGHS (``method="direct"``, the default below DECOMPOSE_MIN_HOURS); a grant decomposition (the
default from there: on the Norway year a sweep step takes about 20 s, against 110 s on the full
LP) holds no such LP, and its cap or floor breakpoints come from the limit's dual, which changes
only with the basis. Elsewhere the breakpoint lies between two grid values (``grid``); more
steps narrow it. An exact breakpoint is the first basis change after the lower value; should
the interval hold more than one, more steps show them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import highspy
import numpy as np
import pandas as pd

from planner.errors import InfeasibleError, InputError, Problem
from planner.instance.instance import Instance
from planner.policies import BASE, PolicySpec, per_horizon_mwh
from planner.session import Session
from planner.solve import SolverOptions

BOUND_LIMITS = ("export_cap_twh", "domestic_floor_twh")
"""Limits swept as the bound of one row (a reserve margin is a row's coefficients)."""
LIMITS = (*BOUND_LIMITS, "reserve_margin")
STEP_COLUMNS = ["value", "status", "objective_nok", "exports_twh", "imports_twh",
                "limit_dual_nok_per_mwh", "exact_low", "exact_high", "note"]
CHANGE_TOL = 1e-4
"""Granted MW or served MWh differing by more than this (relative to 1 or the value) counts as
a change of the allocation."""
DUAL_TOL = 1e-4
"""A swept limit's dual differing between two steps by more than this share of the sweep's
largest |dual| (or of 1 NOK/MWh) counts as a change of the optimal basis. Loose: a decomposition's
duals combine its points' duals and are proved to a gap of 1e-9, not a vertex's."""


@dataclass
class Sweep:
    what: str
    allocation: pd.DataFrame
    """One row per (value, applicant): granted MW, served MWh, with the objective."""
    steps: pd.DataFrame
    """One row per value (STEP_COLUMNS): status, objective, exports, and the exact range around
    it, if known; an infeasible value has its status, the reason in ``note`` and no figures."""
    breakpoints: pd.DataFrame
    """Between which values the allocation changes, and the exact value where known."""
    exact_ranging: bool
    """Did every solved step have HiGHS's ranging of the full LP (none by grant decomposition)?"""


def check_vary(inst: Instance, what: str) -> None:
    """WHAT must name a class or applicant weight, or a limit; otherwise an input error."""
    if what in LIMITS:
        return
    kind, _, name = what.partition(":")
    known = {a.name for a in inst.applicants} | {a.load_class for a in inst.applicants}
    if kind != "weight" or name not in known:
        hint = ("weight:CLASS, weight:APPLICANT, " + ", ".join(LIMITS))
        classes = ", ".join(sorted({a.load_class for a in inst.applicants}))
        raise InputError([Problem("--vary", None, None, "vary", f"cannot sweep '{what}'; use one "
                                  f"of {hint} (classes: {classes})")])


def check_values(what: str, values: np.ndarray) -> None:
    """The swept values must be finite and distinct, and a limit's at least 0; otherwise an
    input error naming --from/--to."""
    problems = []
    if not np.all(np.isfinite(values)):
        problems.append("every value must be a finite number")
    elif len(np.unique(values)) < len(values):
        problems.append("the values repeat: give --from and --to that differ")
    if what in LIMITS and np.any(values < 0):
        problems.append(f"{what} cannot be negative")
    if problems:
        raise InputError([Problem("--from/--to", None, None, "values",
                                  f"{p} (from {values[0]:g} to {values[-1]:g})")
                          for p in problems])


def with_value(policy: PolicySpec | None, what: str, value: float, inst: Instance) -> PolicySpec:
    """The policy (or the base) with the swept parameter set to ``value``."""
    data = policy.model_dump() if policy else {"name": BASE}
    if what == "reserve_margin":
        data["reserve_margin"] = {**(data.get("reserve_margin") or {}), "margin": value}
    elif what in LIMITS:
        data[what] = value
    else:
        name = what.partition(":")[2]
        section = "applicants" if any(a.name == name for a in inst.applicants) else "classes"
        data.setdefault(section, {})
        data[section][name] = {**(data[section].get(name) or {}), "weight_nok_per_mwh": value}
    data["name"] = f"{data['name']}[{what}={value:g}]"
    return PolicySpec.model_validate(data)


def exact_range(session: Session, what: str, policy: PolicySpec) -> tuple[float, float]:
    """The parameter range over which the last optimal basis stays optimal (nan if unknown: no
    full LP in HiGHS, or tiers)."""
    if session.dec is not None or policy.tiers is not None:
        return np.nan, np.nan
    ok, ranging = session.highs.getRanging()
    if ok != ok.kOk:
        return np.nan, np.nan
    inst = session.base
    if what in BOUND_LIMITS:
        row = session.limit_rows[what]
        scale = per_horizon_mwh(inst, 1.0)
        if session.highs.getBasis().row_status[row] == highspy.HighsBasisStatus.kBasic:
            # not binding: any limit on the far side of the row's activity keeps the basis
            activity = session.highs.getSolution().row_value[row] / scale
            return (activity, np.inf) if what == "export_cap_twh" else (-np.inf, activity)
        return ranging.row_bound_dn.value_[row] / scale, ranging.row_bound_up.value_[row] / scale
    name = what.partition(":")[2]
    app = next((a for a in inst.applicants if a.name == name), None)
    if app is None:
        return np.nan, np.nan
    cols, coefs = session.served_energy(app)
    if len(cols) != 1:
        return np.nan, np.nan
    return (ranging.col_cost_dn.value_[cols[0]] / coefs[0],
            ranging.col_cost_up.value_[cols[0]] / coefs[0])


def limit_dual(session: Session, what: str, policy: PolicySpec) -> float:
    """The dual of the swept cap or floor row in the last solve: NOK of objective per MWh the
    limit is raised (MWh over the horizon; ≥ 0 for a cap, ≤ 0 for a floor, 0 where it does not
    bind); nan for other parameters (a reserve margin's dual moves with the margin within a
    basis) and for tiers (the final stage's, with the holds, is not the policy's sensitivity)."""
    if what not in BOUND_LIMITS or policy.tiers is not None:
        return np.nan
    return float(session.last_row_dual[session.limit_rows[what]])


def sweep(inst: Instance, policy: PolicySpec | None, what: str, values: np.ndarray,
          options: SolverOptions | None = None,
          progress: Callable[[float], None] | None = None) -> Sweep:
    """Solve the policy at every value of the parameter, warm, in one session (by the method
    of ``options``: exact ranges need the full LP, module docstring)."""
    check_vary(inst, what)
    check_values(what, values)
    options = options or SolverOptions()
    session = Session(inst, options)
    tables, steps, decomposed = [], [], False
    for value in values:
        p = with_value(policy, what, float(value), inst)
        was_decomposed = session.dec is not None
        try:
            run = session.solve(p)
        except InfeasibleError as exc:  # where a limit cannot hold: a finding, not a failure
            steps.append({"value": float(value), "status": "infeasible", "note": str(exc)})
            if was_decomposed and session.dec is None:  # it proved that on the full LP
                session = Session(inst, options)
        else:
            decomposed |= session.dec is not None
            lo, hi = exact_range(session, what, p)
            alloc = run.result.allocation
            tables.append(pd.DataFrame({"parameter": what, "value": float(value),
                                        "applicant": alloc["applicant"], "class": alloc["class"],
                                        "zone": alloc["zone"], "granted_mw": alloc["granted_mw"],
                                        "served_mwh": alloc["served_mwh"]}))
            kpis = run.result.summary["kpis"]
            steps.append({"value": float(value), "status": "optimal", "note": "",
                          "objective_nok": run.result.summary["objective_nok"],
                          "exports_twh": kpis["exports_twh"], "imports_twh": kpis["imports_twh"],
                          "limit_dual_nok_per_mwh": limit_dual(session, what, p),
                          "exact_low": lo, "exact_high": hi})
        if progress:
            progress(float(value))
    if not tables:
        raise InfeasibleError(f"infeasible at every value of {what} from {values[0]:g} to "
                              f"{values[-1]:g}; at the first: {steps[0]['note']}")
    allocation = pd.concat(tables, ignore_index=True)
    steps_df = pd.DataFrame(steps, columns=STEP_COLUMNS)
    return Sweep(what, allocation, steps_df, _breakpoints(what, allocation, steps_df),
                 exact_ranging=not decomposed)


def _breakpoints(what: str, allocation: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Where consecutive steps differ: the allocation (weights), or the basis (limits: the
    allocation is linear in a cap between basis changes, so every step differs; the exact range,
    else a change of the limit's dual, which is constant between basis changes), or whether
    the LP has a solution at all (``change``: allocation, infeasible or feasible)."""
    values = steps["value"].to_numpy()
    grid = {v: g[["granted_mw", "served_mwh"]].to_numpy() for v, g in allocation.groupby("value")}
    every_dual = steps["limit_dual_nok_per_mwh"].abs()
    largest_dual = max(1.0, float(every_dual.max())) if every_dual.notna().any() else 1.0
    rows = []
    for k in range(len(values) - 1):
        if values[k] not in grid or values[k + 1] not in grid:
            if (values[k] in grid) != (values[k + 1] in grid):
                rows.append({"from_value": values[k], "to_value": values[k + 1],
                             "breakpoint": np.nan, "method": "grid",
                             "change": "feasible" if values[k + 1] in grid else "infeasible",
                             "applicants_changed": ""})
            continue
        a, b = grid[values[k]], grid[values[k + 1]]
        changed = not np.allclose(a, b, rtol=CHANGE_TOL, atol=CHANGE_TOL)
        lo, hi = steps.loc[k, "exact_low"], steps.loc[k, "exact_high"]
        duals = steps.loc[k:k + 1, "limit_dual_nok_per_mwh"].to_numpy(dtype=float)
        if not np.isnan(duals).any():  # constant within a basis, which the allocation is not
            changed = abs(duals[1] - duals[0]) > DUAL_TOL * largest_dual
        exact = np.nan
        if not np.isnan(hi):
            inside = lo - 1e-9 <= values[k + 1] <= hi + 1e-9
            if what in LIMITS:
                changed = not inside
            if changed and not inside:
                exact = hi if values[k + 1] > values[k] else lo
        if changed:
            moved = allocation[allocation["value"] == values[k + 1]].reset_index(drop=True)
            before = allocation[allocation["value"] == values[k]].reset_index(drop=True)
            diff = (moved["granted_mw"] - before["granted_mw"]).abs() + \
                (moved["served_mwh"] - before["served_mwh"]).abs()
            rows.append({"from_value": values[k], "to_value": values[k + 1],
                         "breakpoint": exact, "method": "grid" if np.isnan(exact) else "exact",
                         "change": "allocation",
                         "applicants_changed": "; ".join(moved.loc[diff > CHANGE_TOL, "applicant"])})
    return pd.DataFrame(rows, columns=["from_value", "to_value", "breakpoint", "method", "change",
                                       "applicants_changed"])


RANGED_LEGEND = ("breakpoints (exact: from HiGHS's ranging of the optimal basis; grid: between "
                 "the two values)")
DECOMPOSED_LEGEND = ("breakpoints (grid: between the two values; solved by grant decomposition, "
                     "which has no ranging: --method direct gives exact ones, slower)")


def sweep_text(result: Sweep) -> str:
    """Served energy per class (MWh) at every value, then the breakpoints."""
    wide = result.allocation.pivot_table(index="value", columns="class", values="served_mwh",
                                         aggfunc="sum")
    wide.columns = [f"{c} MWh" for c in wide.columns]
    steps = result.steps.set_index("value")
    wide = wide.reindex(steps.index)  # infeasible values: no allocation
    wide["objective NOK"] = steps["objective_nok"]
    wide["status"] = steps["status"]
    lines = [f"sweep of {result.what}: served energy by class",
             wide.to_string(float_format="{:,.2f}".format), ""]
    if (bad := int((steps["status"] == "infeasible").sum())):
        lines += [f"infeasible at {bad} of {len(steps)} values: no allocation meets the limits "
                  "there (the reason of each is in sweep_steps.csv, note)", ""]
    if result.breakpoints.empty:
        lines.append("no breakpoint: the allocation is the same at every value")
    else:
        lines.append(RANGED_LEGEND if result.exact_ranging else DECOMPOSED_LEGEND)
        lines.append(result.breakpoints.to_string(index=False))
    return "\n".join(lines)
