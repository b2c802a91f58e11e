"""Index sets and data prepared once from the instance, so constraint rules only look things up.

The split of applicants decides the LP's shape (see models/formulation.md, "Substitutions"):

- *firm* applicants (firm share 1, no window, ramp limit or own supply) have no served variable:
  served = profile × granted − unserved, exactly, since firm share 1 pins served to demand;
- *free* applicants (firm share 0, no curtailment cap, no window, no own supply) gain nothing from a
  smaller grant, so granted = requested and their hourly demand cap is a variable bound;
- every other applicant is *flexible*: served is a variable tied to granted by hourly rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from planner.instance.instance import Applicant, Instance


def is_firm(a: Applicant) -> bool:
    return (a.firm_share >= 1.0 and a.window_hours is None and a.ramp_mw_per_h is None
            and a.own_capacity_mw == 0)


def is_free(a: Applicant) -> bool:
    return (not is_firm(a) and a.firm_share == 0 and a.max_curtailment_share >= 1
            and a.window_hours is None and a.own_capacity_mw == 0)


def has_obligation(a: Applicant) -> bool:
    """Does the applicant have a delivery obligation that may need unserved energy?"""
    return a.existing_mw > 0 and (is_firm(a) or a.firm_share > 0 or a.max_curtailment_share < 1
                                  or a.window_min_share > 0)


STORAGE_BLOCK_HOURS = 24
"""Reservoir levels are variables at the end of each block of this many hours (see
``define_reservoirs``); the hours inside a block are checked after the solve."""


def windows(hours: int, length: int) -> list[range]:
    """Consecutive windows of ``length`` hours tiling the horizon (the last may be shorter)."""
    return [range(s, min(s + length, hours)) for s in range(0, hours, length)]


@dataclass
class ModelIndex:
    """Names and arrays the model is built from."""

    inst: Instance
    hours: range = field(init=False)
    applicants: dict[str, Applicant] = field(init=False)
    firm: list[str] = field(init=False)
    flexible: list[str] = field(init=False)
    free: set[str] = field(init=False)
    with_unserved: list[str] = field(init=False)
    unserved: set[str] = field(init=False)
    with_own_supply: list[str] = field(init=False)
    reservoirs: list[str] = field(init=False)
    storage_blocks: list[range] = field(init=False)
    """Consecutive blocks of STORAGE_BLOCK_HOURS hours; reservoir levels are tracked per block."""
    arcs: list[tuple[str, str, str, float, float]] = field(init=False)
    """Directed arcs: (arc name, from zone, to zone, capacity MW, loss factor)."""

    def __post_init__(self) -> None:
        self._hourly: dict[int, tuple[object, dict[str, list]]] = {}
        inst = self.inst
        self.hours = range(inst.hours)
        self.applicants = {a.name: a for a in inst.applicants}
        self.firm = [a.name for a in inst.applicants if is_firm(a)]
        self.flexible = [a.name for a in inst.applicants if not is_firm(a)]
        self.free = {a.name for a in inst.applicants if is_free(a)}
        self.with_unserved = [a.name for a in inst.applicants if has_obligation(a)]
        self.unserved = set(self.with_unserved)
        self.with_own_supply = [a.name for a in inst.applicants if a.own_capacity_mw > 0]
        self.reservoirs = [s.name for s in inst.supply if s.reservoir]
        self.storage_blocks = windows(inst.hours, STORAGE_BLOCK_HOURS)
        self.arcs = []
        for line in inst.lines:
            self.arcs.append((f"{line.name}:{line.from_zone}>{line.to_zone}", line.from_zone,
                              line.to_zone, line.capacity_mw, line.loss_factor))
            self.arcs.append((f"{line.name}:{line.to_zone}>{line.from_zone}", line.to_zone,
                              line.from_zone, line.reverse_capacity_mw, line.loss_factor))

    def hourly(self, var) -> dict[str, list]:
        """An hour-indexed variable family as {key: [VarData per hour]}; built once per family.

        Rules index these lists instead of the Var (a Var lookup costs about 1 µs). The cache is
        keyed by the Var object's id, and holds the Var so that the id stays its own: its
        ``name`` is built anew on every call (about 5 µs, a third of the Norway model's build
        time when rules asked for it per row)."""
        key = id(var)
        if key not in self._hourly:
            data = list(var.values())
            keys = list(dict.fromkeys(k for k, _ in var.index_set()))
            H = len(self.hours)
            self._hourly[key] = (var, {k: data[i * H:(i + 1) * H] for i, k in enumerate(keys)})
        return self._hourly[key][1]

    def applicant_columns(self, col_slices: dict[str, slice]) -> dict[str, dict[str, np.ndarray]]:
        """Each applicant's columns in the compiled LP (``col_slices``), by variable family:
        granted_mw, and served_mw, unserved_mw and own_supply_mw (one per hour) where it has
        them."""
        H = len(self.hours)
        columns: dict[str, dict[str, np.ndarray]] = {}
        for family, names in (("served_mw", self.flexible), ("unserved_mw", self.with_unserved),
                              ("own_supply_mw", self.with_own_supply)):
            for k, a in enumerate(names):
                start = col_slices[family].start + k * H
                columns.setdefault(a, {})[family] = np.arange(start, start + H)
        for k, a in enumerate(self.applicants):
            columns.setdefault(a, {})["granted_mw"] = np.array([col_slices["granted_mw"].start + k])
        return columns

    def demand_cap(self, a: Applicant) -> np.ndarray:
        """Hourly cap on served MW per granted MW: the profile, or 1 where energy may shift."""
        return np.ones(self.inst.hours) if a.window_hours else a.profile
