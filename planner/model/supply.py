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
    """Reservoir levels at the end of each block b of 24 hours (``ix.storage_blocks``):

    storage_mwh[r,b] ∈ [0, storage size], ≥ the final level for the last block; spill_mwh[r,t] ≥ 0;

    storage_balance[r,b]: storage[r,b] = storage[r,b−1] + Σ_{t∈b} (inflow[r,t] − generation[r,t]
    − spill[r,t]), with storage[r,−1] = the initial level (all MWh; one hour per period).

    The hourly level inside a block follows from the same sums; its bounds are the rows
    ``storage_level[r,t]`` (see ``storage_level_rows``), added only where the solution violates
    them. Chaining 8760 hourly levels makes the simplex slow (a level in the basis couples every
    later hour); a chain of 365 daily levels does not."""
    plants = {s.name: s for s in ix.inst.supply if s.reservoir}
    blocks = range(len(ix.storage_blocks))
    last = blocks[-1]

    def storage_bounds(m, r, b):
        s = plants[r]
        return (s.final_storage_mwh if b == last else 0.0), s.storage_mwh

    m.storage_mwh = pyo.Var(ix.reservoirs, blocks, bounds=storage_bounds)
    m.spill_mwh = pyo.Var(ix.reservoirs, ix.hours, bounds=(0.0, None))

    def balance(m, r, b):
        s, hours = plants[r], ix.storage_blocks[b]
        generation = ix.hourly(m.generation_mw)[r][hours.start:hours.stop]
        spill = ix.hourly(m.spill_mwh)[r][hours.start:hours.stop]
        coefs = [1.0] * (1 + 2 * len(hours))
        variables = [m.storage_mwh[r, b], *generation, *spill]
        rhs = float(s.inflow_mwh[hours.start:hours.stop].sum())
        if b == 0:
            rhs += s.initial_storage_mwh
        else:
            coefs.append(-1.0)
            variables.append(m.storage_mwh[r, b - 1])
        return (rhs, linear(coefs, variables), rhs)

    m.storage_balance = pyo.Constraint(ix.reservoirs, blocks, rule=balance)
