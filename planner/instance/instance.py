"""The validated instance: every default resolved, every series an hourly numpy array.

This is what the model is built from. It is frozen; a policy makes a changed copy
(``dataclasses.replace``), never edits it in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd


@dataclass(frozen=True, eq=False)
class Applicant:
    """A load asking for grid capacity, or protected demand (``protected=True``)."""

    name: str
    zone: str
    load_class: str
    requested_mw: float
    existing_mw: float
    profile: np.ndarray
    """Share of the connection used in each hour (0..1)."""
    weight_nok_per_mwh: float
    firm_share: float
    max_curtailment_share: float
    value_of_lost_load_nok_per_mwh: float
    ramp_mw_per_h: float | None = None
    window_hours: int | None = None
    window_min_share: float = 0.0
    own_capacity_mw: float = 0.0
    own_cost_nok_per_mwh: float = 0.0
    own_availability: np.ndarray | None = None
    queue_position: int | None = None
    protected: bool = False


@dataclass(frozen=True, eq=False)
class Supply:
    name: str
    zone: str
    kind: str
    capacity_mw: float
    availability: np.ndarray
    """Share of capacity available in each hour (0..1)."""
    marginal_cost_nok_per_mwh: float
    reservoir: bool = False
    storage_mwh: float = 0.0
    inflow_mwh: np.ndarray | None = None
    initial_storage_mwh: float = 0.0
    final_storage_mwh: float = 0.0


@dataclass(frozen=True)
class Line:
    name: str
    from_zone: str
    to_zone: str
    capacity_mw: float
    reverse_capacity_mw: float
    loss_factor: float = 0.0


@dataclass(frozen=True)
class Interconnector:
    name: str
    zone: str
    market: str
    export_mw: float
    import_mw: float


@dataclass(frozen=True, eq=False)
class Market:
    name: str
    price_nok_per_mwh: np.ndarray


@dataclass(frozen=True, eq=False)
class Instance:
    name: str
    start: datetime
    hours: int
    zones: tuple[str, ...]
    markets: tuple[Market, ...]
    lines: tuple[Line, ...]
    interconnectors: tuple[Interconnector, ...]
    supply: tuple[Supply, ...]
    applicants: tuple[Applicant, ...]
    description: str = ""
    path: Path | None = None
    sha256: str = ""

    def timestamps(self) -> pd.DatetimeIndex:
        """Start time of every hour of the horizon."""
        return pd.date_range(self.start, periods=self.hours, freq="h")

    def market(self, name: str) -> Market:
        return next(m for m in self.markets if m.name == name)
