"""The objective: value of served energy plus trade, less costs and lost load (NOK)."""

from __future__ import annotations

import pyomo.environ as pyo

from planner.model.index import ModelIndex
from planner.model.loads import linear


def define_objective(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """maximise  Σ_a,t weight[a] × served[a,t]                       (value_served)
               + Σ_i,t price[market(i),t] × net_export[i,t]         (export revenue − import cost)
               − Σ_s,t marginal_cost[s] × generation[s,t]           (generation_cost)
               − Σ_a,t own_cost[a] × own_supply[a,t]                (own_supply_cost)
               − Σ_a,t value_of_lost_load[a] × unserved[a,t]        (lost_load_cost)

    weight[a] is a mutable Param (NOK/MWh), so a policy can change it without a rebuild."""
    inst = ix.inst
    m.weight_nok_per_mwh = pyo.Param(list(ix.applicants), mutable=True,
                                     initialize={a.name: a.weight_nok_per_mwh
                                                 for a in inst.applicants})
    coefs: list = []
    variables: list = []
    for a, app in ix.applicants.items():
        w = m.weight_nok_per_mwh[a]
        if a in ix.flexible:
            coefs.extend([w] * inst.hours)
            variables.extend(ix.hourly(m.served_mw)[a])
        else:
            # firm: served = profile × granted − unserved, summed over the hours
            coefs.append(w * float(app.profile.sum()))
            variables.append(m.granted_mw[a])
        if a in ix.unserved:
            loss = app.value_of_lost_load_nok_per_mwh
            coef = loss if a in ix.flexible else w + loss
            coefs.extend([-coef] * inst.hours)
            variables.extend(ix.hourly(m.unserved_mw)[a])
        if a in ix.with_own_supply:
            coefs.extend([-app.own_cost_nok_per_mwh] * inst.hours)
            variables.extend(ix.hourly(m.own_supply_mw)[a])
    for link in inst.interconnectors:
        price = inst.market(link.market).price_nok_per_mwh
        coefs.extend(price.tolist())
        variables.extend(ix.hourly(m.net_export_mw)[link.name])
    for s in inst.supply:
        if s.marginal_cost_nok_per_mwh:
            coefs.extend([-s.marginal_cost_nok_per_mwh] * inst.hours)
            variables.extend(ix.hourly(m.generation_mw)[s.name])
    m.value_nok = pyo.Objective(expr=linear(coefs, variables), sense=pyo.maximize)
