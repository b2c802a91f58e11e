"""Network: transfers between zones and exchange with foreign markets."""

from __future__ import annotations

import pyomo.environ as pyo

from planner.model.index import ModelIndex


def define_line_flows(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """flow_mw[arc,t] ∈ [0, capacity of the arc] for both directions of every line
    (line_limit as a variable bound; its reduced cost is the congestion rent, NOK/MWh).
    A share loss_factor of the flow is lost before it reaches the receiving zone."""
    caps = {arc[0]: arc[3] for arc in ix.arcs}
    m.flow_mw = pyo.Var(list(caps), ix.hours, bounds=lambda m, arc, t: (0.0, caps[arc]))


def define_exchange(m: pyo.ConcreteModel, ix: ModelIndex) -> None:
    """net_export_mw[i,t] ∈ [−import_mw, export_mw]: positive exports from the zone to the market,
    negative imports; it earns (or pays) the market price."""
    links = {i.name: i for i in ix.inst.interconnectors}
    m.net_export_mw = pyo.Var(list(links), ix.hours,
                              bounds=lambda m, i, t: (-links[i].import_mw, links[i].export_mw))
