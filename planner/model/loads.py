"""Applicants: grants, served and unserved energy, and their flexibility terms."""

from __future__ import annotations

import pyomo.environ as pyo
from pyomo.core.expr.numeric_expr import LinearExpression

from planner.model.index import ModelIndex, windows


def linear(coefs: list, variables: list, constant: float = 0.0) -> LinearExpression:
    """A Pyomo linear expression built without operator overloading (fast for long sums)."""
    return LinearExpression(constant=constant, linear_coefs=coefs, linear_vars=variables)


def define_load_variables(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """granted_mw[a] ∈ [existing, requested] (= requested for free applicants);
    served_mw[a,t] ≥ 0 for flexible applicants, ≤ profile × requested for free ones;
    unserved_mw[a,t] ∈ [0, profile × existing] for applicants with delivery obligations;
    own_supply_mw[a,t] ∈ [0, own capacity × availability] behind the meter."""
    apps = ix.applicants
    T = ix.hours

    def granted_bounds(m, a):
        app = apps[a]
        return (app.requested_mw if a in ix.free else app.existing_mw), app.requested_mw

    m.granted_mw = pyo.Var(list(apps), bounds=granted_bounds)

    def served_bounds(m, a, t):
        app = apps[a]
        return 0.0, (float(app.profile[t] * app.requested_mw) if a in ix.free else None)

    m.served_mw = pyo.Var(ix.flexible, T, bounds=served_bounds)
    m.unserved_mw = pyo.Var(
        ix.with_unserved, T,
        bounds=lambda m, a, t: (0.0, float(apps[a].profile[t] * apps[a].existing_mw)))
    m.own_supply_mw = pyo.Var(
        ix.with_own_supply, T,
        bounds=lambda m, a, t: (0.0, float(apps[a].own_capacity_mw * apps[a].own_availability[t])))


def served_expr(m: pyo.ConcreteModel, ix: ModelIndex, a: str, t: int) -> tuple[list, list]:
    """Served MW of applicant a in hour t as (coefs, vars).

    firm applicants: served = profile[t] × granted − unserved;
    others: the served_mw variable."""
    app = ix.applicants[a]
    if a in ix.flexible:
        return [1.0], [ix.hourly(m.served_mw)[a][t]]
    coefs, variables = [float(app.profile[t])], [m.granted_mw[a]]
    if a in ix.unserved:
        coefs.append(-1.0)
        variables.append(ix.hourly(m.unserved_mw)[a][t])
    return coefs, variables


def define_demand_cap(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """demand_cap[a,t]: served_mw[a,t] ≤ cap[a,t] × granted_mw[a].

    cap = profile (share of the connection used), or 1 for applicants with energy windows, whose
    load may shift inside a window up to the full connection. Free applicants have this as a
    variable bound instead (granted = requested)."""
    rows = [a for a in ix.flexible if a not in ix.free]
    caps = {a: ix.demand_cap(ix.applicants[a]) for a in rows}

    def rule(m, a, t):
        served = ix.hourly(m.served_mw)[a][t]
        return (None, linear([1.0, -float(caps[a][t])], [served, m.granted_mw[a]]), 0.0)

    m.demand_cap = pyo.Constraint(rows, ix.hours, rule=rule)


def _delivered(m: pyo.ConcreteModel, ix: ModelIndex, a: str, hours) -> tuple[list, list]:
    """Σ_t served + unserved over the given hours (unserved counts as delivered for
    obligations: it is the shortfall the value of lost load pays for)."""
    coefs, variables = [], []
    for t in hours:
        coefs.append(1.0)
        variables.append(ix.hourly(m.served_mw)[a][t])
        if a in ix.unserved:
            coefs.append(1.0)
            variables.append(ix.hourly(m.unserved_mw)[a][t])
    return coefs, variables


def define_firm_supply(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """firm_supply[a,t]: served_mw[a,t] + unserved_mw[a,t] ≥ firm_share × profile[t] × granted_mw[a].

    The firm part of a connection is served in every hour it is used; only flexible applicants
    with 0 < firm share need the row (firm applicants are substituted)."""
    rows = [a for a in ix.flexible if ix.applicants[a].firm_share > 0]

    def rule(m, a, t):
        app = ix.applicants[a]
        coefs, variables = _delivered(m, ix, a, (t,))
        coefs.append(-app.firm_share * float(app.profile[t]))
        variables.append(m.granted_mw[a])
        return (0.0, linear(coefs, variables), None)

    m.firm_supply = pyo.Constraint(rows, ix.hours, rule=rule)


def define_curtailment_limit(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """curtailment_limit[a]: Σ_t (served + unserved) ≥ (1 − max_curtailment_share) × Σ_t profile[t]
    × granted_mw[a]. A non-firm contract: at most that share of the demand energy is curtailed."""
    rows = [a for a in ix.flexible if ix.applicants[a].max_curtailment_share < 1
            and ix.applicants[a].firm_share < 1]

    def rule(m, a):
        app = ix.applicants[a]
        coefs, variables = _delivered(m, ix, a, ix.hours)
        coefs.append(-(1 - app.max_curtailment_share) * float(app.profile.sum()))
        variables.append(m.granted_mw[a])
        return (0.0, linear(coefs, variables), None)

    m.curtailment_limit = pyo.Constraint(rows, rule=rule)


def define_energy_windows(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """For applicants with windows of N hours, for every window w:

    window_energy[a,w]: Σ_{t∈w} (served + unserved) ≥ min_share × Σ_{t∈w} profile[t] × granted;
    window_cap[a,w]:    Σ_{t∈w} served ≤ Σ_{t∈w} profile[t] × granted
    (the load may move inside the window, not grow)."""
    spans = {a: windows(len(ix.hours), ix.applicants[a].window_hours)
             for a in ix.flexible if ix.applicants[a].window_hours}
    index = [(a, w) for a, ws in spans.items() for w in range(len(ws))]

    def energy(m, a, w):
        app, hours = ix.applicants[a], spans[a][w]
        coefs, variables = _delivered(m, ix, a, hours)
        coefs.append(-app.window_min_share * float(app.profile[hours.start:hours.stop].sum()))
        variables.append(m.granted_mw[a])
        return (0.0, linear(coefs, variables), None)

    def cap(m, a, w):
        app, hours = ix.applicants[a], spans[a][w]
        coefs = [1.0] * len(hours) + [-float(app.profile[hours.start:hours.stop].sum())]
        variables = [*ix.hourly(m.served_mw)[a][hours.start:hours.stop], m.granted_mw[a]]
        return (None, linear(coefs, variables), 0.0)

    m.window_energy = pyo.Constraint(index, rule=energy)
    m.window_cap = pyo.Constraint(index, rule=cap)


def define_ramp_limits(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """For t ≥ 1 (MW/h):
    ramp_up[a,t]:   served_mw[a,t] − served_mw[a,t−1] ≤ ramp_mw_per_h;
    ramp_down[a,t]: served_mw[a,t−1] − served_mw[a,t] ≤ ramp_mw_per_h."""
    rows = [a for a in ix.flexible if ix.applicants[a].ramp_mw_per_h is not None]

    def rule(sign: float):
        def build(m, a, t):
            served = ix.hourly(m.served_mw)[a]
            step = linear([sign, -sign], [served[t], served[t - 1]])
            return (None, step, ix.applicants[a].ramp_mw_per_h)
        return build

    m.ramp_up = pyo.Constraint(rows, ix.hours[1:], rule=rule(1.0))
    m.ramp_down = pyo.Constraint(rows, ix.hours[1:], rule=rule(-1.0))


def define_behind_the_meter(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """own_supply_use[a,t]: own_supply_mw[a,t] ≤ served_mw[a,t].

    The plant behind the meter covers part of the site's own load (its grid draw is
    served − own supply) and cannot feed the grid."""

    def rule(m, a, t):
        own, served = ix.hourly(m.own_supply_mw)[a][t], ix.hourly(m.served_mw)[a][t]
        return (None, linear([1.0, -1.0], [own, served]), 0.0)

    m.own_supply_use = pyo.Constraint(ix.with_own_supply, ix.hours, rule=rule)
