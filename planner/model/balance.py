"""The energy balance of each zone in each hour; its dual is the zonal price."""

from __future__ import annotations

import pyomo.environ as pyo

from planner.model.index import ModelIndex
from planner.model.loads import linear, served_expr


def define_zone_balance(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """zone_balance[z,t]:

        Σ_s generation[s,t] + Σ_a own_supply[a,t] + Σ_in (1 − loss) × flow[arc,t]
          − Σ_out flow[arc,t] − Σ_i net_export[i,t] − Σ_a served[a,t] = 0      (MW over 1 h)

    written as supply − demand, so its dual (minimisation of −value) is the zonal price in
    NOK/MWh: the change of the optimum per extra MWh of demand in zone z, hour t."""
    inst = ix.inst
    plants = {z: [s.name for s in inst.supply if s.zone == z] for z in inst.zones}
    loads = {z: [a.name for a in inst.applicants if a.zone == z] for z in inst.zones}
    own = {z: [a for a in ix.with_own_supply if ix.applicants[a].zone == z] for z in inst.zones}
    arcs_in = {z: [(a[0], 1.0 - a[4]) for a in ix.arcs if a[2] == z] for z in inst.zones}
    arcs_out = {z: [a[0] for a in ix.arcs if a[1] == z] for z in inst.zones}
    links = {z: [i.name for i in inst.interconnectors if i.zone == z] for z in inst.zones}

    def rule(m, z, t):
        coefs, variables = [], []
        for s in plants[z]:
            coefs.append(1.0)
            variables.append(ix.hourly(m.generation_mw)[s][t])
        for a in own[z]:
            coefs.append(1.0)
            variables.append(ix.hourly(m.own_supply_mw)[a][t])
        for arc, keep in arcs_in[z]:
            coefs.append(keep)
            variables.append(ix.hourly(m.flow_mw)[arc][t])
        for arc in arcs_out[z]:
            coefs.append(-1.0)
            variables.append(ix.hourly(m.flow_mw)[arc][t])
        for i in links[z]:
            coefs.append(-1.0)
            variables.append(ix.hourly(m.net_export_mw)[i][t])
        for a in loads[z]:
            c, v = served_expr(m, ix, a, t)
            coefs.extend(-x for x in c)
            variables.extend(v)
        return (0.0, linear(coefs, variables), 0.0)

    m.zone_balance = pyo.Constraint(inst.zones, ix.hours, rule=rule)
