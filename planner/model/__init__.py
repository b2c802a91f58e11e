"""Instance → Pyomo model. One ``define_*`` function per variable or constraint family;
models/formulation.md writes the LP out with the same names."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

import pyomo.environ as pyo

from planner.instance.instance import Instance
from planner.model.balance import define_zone_balance
from planner.model.index import ModelIndex
from planner.model.loads import (
    define_behind_the_meter,
    define_curtailment_limit,
    define_demand_cap,
    define_energy_windows,
    define_firm_supply,
    define_load_variables,
    define_ramp_limits,
)
from planner.model.network import define_exchange, define_line_flows
from planner.model.objective import define_objective
from planner.model.supply import define_generation, define_reservoirs

FAMILIES = (
    define_load_variables,
    define_generation,
    define_reservoirs,
    define_line_flows,
    define_exchange,
    define_zone_balance,
    define_demand_cap,
    define_firm_supply,
    define_curtailment_limit,
    define_energy_windows,
    define_ramp_limits,
    define_behind_the_meter,
    define_objective,
)


def build_model(inst: Instance) -> tuple[pyo.ConcreteModel, ModelIndex]:
    """The allocation LP of an instance, and the index it was built from."""
    ix = ModelIndex(inst)
    m = pyo.ConcreteModel(name=inst.name)
    with cyclic_gc_paused():
        for family in FAMILIES:
            family(m, ix)
    return m, ix


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off inside. A build makes millions of Pyomo objects
    and next to no cyclic garbage, yet the allocations trigger full collections, each of which
    walks every object made so far: on the Norway year 14 of them took 4.5 s of a 6.7 s build
    (1.8 s without). After, every object goes to the oldest generation, as the collections
    would have put them, without walking them; the collector is back on as it was. (That move
    does not count towards the next full collection, which may then come soon and walk the
    model once: a year-long session makes it itself while its coarse optimum is computed,
    planner/session.py.)"""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.unfreeze()
        if enabled:
            gc.enable()
