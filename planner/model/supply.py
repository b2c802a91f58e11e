"""Supply: generation of every plant and the reservoirs' storage."""

from __future__ import annotations

import pyomo.environ as pyo

from planner.model.index import ModelIndex
from planner.model.loads import linear


def define_generation(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """generation_mw[s,t] ∈ [0, capacity_mw × availability[t]].

    Variable renewables and run-of-river are curtailed by producing below the bound."""
    plants = {s.name: s for s in ix.inst.supply}
    m.generation_mw = pyo.Var(
        list(plants), ix.hours,
        bounds=lambda m, s, t: (0.0, float(plants[s].capacity_mw * plants[s].availability[t])))


def define_reservoirs(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """storage_mwh[r,t] ∈ [0, storage size], ≥ final level at the last hour; spill_mwh[r,t] ≥ 0;

    storage_balance[r,t]: storage[r,t] = storage[r,t−1] + inflow[r,t] − generation[r,t] − spill[r,t]
    with storage[r,−1] = the initial level (all MWh; one hour per period)."""
    plants = {s.name: s for s in ix.inst.supply if s.reservoir}
    last = ix.hours[-1]

    def storage_bounds(m, r, t):
        s = plants[r]
        return (s.final_storage_mwh if t == last else 0.0), s.storage_mwh

    m.storage_mwh = pyo.Var(ix.reservoirs, ix.hours, bounds=storage_bounds)
    m.spill_mwh = pyo.Var(ix.reservoirs, ix.hours, bounds=(0.0, None))

    def balance(m, r, t):
        s = plants[r]
        coefs = [1.0, 1.0, 1.0]
        storage = ix.hourly(m.storage_mwh)[r]
        variables = [storage[t], ix.hourly(m.generation_mw)[r][t], ix.hourly(m.spill_mwh)[r][t]]
        rhs = float(s.inflow_mwh[t])
        if t == 0:
            rhs += s.initial_storage_mwh
        else:
            coefs.append(-1.0)
            variables.append(storage[t - 1])
        return (rhs, linear(coefs, variables), rhs)

    m.storage_balance = pyo.Constraint(ix.reservoirs, ix.hours, rule=balance)
