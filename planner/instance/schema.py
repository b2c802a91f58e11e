"""The instance file's schema: strict pydantic models, units in every field description.

Conventions: power in MW, energy in MWh, money in NOK, prices and values in NOK/MWh,
shares in [0, 1]. A *series* is hourly data over the horizon, given as a constant,
an inline list, or a column of a CSV file beside the instance.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, Strict

Name = Annotated[str, Field(min_length=1, max_length=80, pattern=r"^[^\x00-\x1f]+$")]
NonNegative = Annotated[float, Field(ge=0)]
Share = Annotated[float, Field(ge=0, le=1)]
Source = Annotated[str, Field(description="Where the figures of this entry come from.")]


class Strict_(BaseModel):
    """Base of every schema model: unknown keys, NaN and infinity are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False, frozen=True)


class SeriesFile(Strict_):
    """An hourly series read from one column of a CSV file (one header row, one row per hour)."""

    file: str = Field(description="CSV path, relative to the instance file; may not leave its folder.")
    column: str = Field(description="Column header in the CSV file.")
    scale: float = Field(1.0, description="Factor applied to every value (e.g. MW per unit).")


Series = float | list[float] | SeriesFile
"""A constant, an inline list with one value per hour, or a CSV column."""


class TimeSpec(Strict_):
    start: Annotated[datetime, Strict(False)] = Field(
        description="Timestamp of the first hour (ISO 8601, local time of the instance)."
    )
    hours: int = Field(ge=1, le=8784, description="Number of hourly periods (8760 = a year).")


class Zone(Strict_):
    name: Name = Field(description="Bidding-zone name, e.g. NO1.")
    description: str = ""


class Market(Strict_):
    name: Name = Field(description="Foreign market (price area), e.g. DE.")
    price_nok_per_mwh: Series = Field(description="Hourly market price (NOK/MWh).")
    source: Source = ""


class Line(Strict_):
    model_config = ConfigDict(populate_by_name=True)

    name: Name
    from_zone: str = Field(alias="from", description="Zone at the sending end of capacity_mw.")
    to_zone: str = Field(alias="to", description="Zone at the receiving end of capacity_mw.")
    capacity_mw: NonNegative = Field(description="Transfer limit from → to (MW).")
    reverse_capacity_mw: NonNegative = Field(description="Transfer limit to → from (MW).")
    loss_factor: float = Field(0.0, ge=0, lt=1, description="Share of a flow lost on the way.")
    source: Source = ""


class Interconnector(Strict_):
    name: Name
    zone: str = Field(description="Norwegian zone at this end.")
    market: str = Field(description="Foreign market at the other end.")
    export_mw: NonNegative = Field(description="Export limit zone → market (MW).")
    import_mw: NonNegative = Field(description="Import limit market → zone (MW).")
    source: Source = ""


class Supply(Strict_):
    """A generator or hydro system in a zone. Fields left out come from the kind's preset."""

    name: Name
    zone: str
    kind: str = Field(description="Supply kind preset from models/supply_kinds.yaml.")
    capacity_mw: NonNegative = Field(description="Installed (turbine) capacity (MW).")
    availability: Series | None = Field(
        None, description="Share of capacity available each hour (0..1); default from the kind."
    )
    marginal_cost_nok_per_mwh: float | None = Field(None, description="Cost of output (NOK/MWh).")
    storage_mwh: NonNegative | None = Field(None, description="Reservoir size (MWh), reservoirs.")
    inflow_mwh: Series | None = Field(None, description="Hourly inflow to the reservoir (MWh/h).")
    initial_storage_share: Share | None = Field(None, description="Filling at the start (0..1).")
    final_storage_share: Share | None = Field(
        None, description="Minimum filling at the end (0..1)."
    )
    source: Source = ""


class Window(Strict_):
    hours: int = Field(ge=1, le=8784, description="Window length (h); windows tile the horizon.")
    min_share: Share = Field(description="Share of the window's demand that must be served.")


class OwnSupply(Strict_):
    capacity_mw: NonNegative = Field(description="Behind-the-meter plant capacity (MW).")
    cost_nok_per_mwh: float = Field(0.0, description="Cost of its output (NOK/MWh).")
    availability: Series = Field(1.0, description="Share of capacity available each hour (0..1).")


class Applicant(Strict_):
    """A load asking for grid capacity. Fields left out come from its class preset."""

    model_config = ConfigDict(populate_by_name=True)

    name: Name
    zone: str
    load_class: str = Field(alias="class", description="Load-class preset (models/load_classes.yaml).")
    requested_mw: NonNegative = Field(description="Grid capacity asked for (MW).")
    existing_mw: NonNegative = Field(
        0.0, description="Capacity already connected (MW): a floor on what is granted."
    )
    queue_position: int | None = Field(None, ge=1, description="Place in the connection queue.")
    profile: Series | None = Field(None, description="Share of the connection used each hour.")
    weight_nok_per_mwh: float | None = Field(None, description="Value of each MWh served (NOK/MWh).")
    firm_share: Share | None = Field(
        None, description="Share of granted MW that must be served every hour (1 = firm)."
    )
    max_curtailment_share: Share | None = Field(
        None, description="Largest share of demand energy that may be curtailed over the horizon."
    )
    ramp_mw_per_h: NonNegative | None = Field(None, description="Largest change of load (MW/h).")
    window: Window | None = Field(None, description="Energy windows: demand may shift inside.")
    own_supply: OwnSupply | None = Field(None, description="Own plant behind the meter.")
    value_of_lost_load_nok_per_mwh: NonNegative | None = Field(
        None, description="Penalty on each MWh of the existing connection left unserved (NOK/MWh)."
    )
    description: str = ""
    source: Source = ""


class ProtectedDemand(Strict_):
    """Existing demand (households, services) that is always connected."""

    model_config = ConfigDict(populate_by_name=True)

    name: Name
    zone: str
    load_class: str = Field("households", alias="class")
    demand_mw: Series = Field(description="Hourly demand (MW).")
    weight_nok_per_mwh: float | None = Field(None, description="Value of each MWh served (NOK/MWh).")
    value_of_lost_load_nok_per_mwh: NonNegative | None = Field(
        None, description="Penalty on each MWh unserved (NOK/MWh)."
    )
    source: Source = ""


class InstanceFile(Strict_):
    """A power-allocation instance: zones, supply, network, markets and the applicants."""

    name: Name
    description: str = ""
    currency: Literal["NOK"] = "NOK"
    time: TimeSpec
    zones: list[Zone] = Field(min_length=1)
    markets: list[Market] = []
    lines: list[Line] = []
    interconnectors: list[Interconnector] = []
    supply: list[Supply] = []
    applicants: list[Applicant] = []
    protected_demand: list[ProtectedDemand] = []
    sources: dict[str, str] = Field({}, description="Citations referred to by `source` fields.")
    policies: list[dict[str, Any]] = Field(
        [], description="Named policies, each an override of this instance (checked by "
                        "planner.policies; `planner schema --policies`, docs/policies.md).")


class LoadClass(Strict_):
    """Defaults of a load class (models/load_classes.yaml)."""

    description: str
    weight_nok_per_mwh: float
    firm_share: Share
    max_curtailment_share: Share
    ramp_mw_per_h: NonNegative | None = None
    window: Window | None = None
    profile: float = Field(1.0, ge=0, le=1, description="Default constant utilisation.")
    value_of_lost_load_nok_per_mwh: NonNegative
    source: str


class SupplyKind(Strict_):
    """Defaults of a supply kind (models/supply_kinds.yaml)."""

    description: str
    reservoir: bool = False
    availability: float = Field(1.0, ge=0, le=1)
    marginal_cost_nok_per_mwh: float = 0.0
    initial_storage_share: Share = 0.6
    final_storage_share: Share = 0.6
    source: str


class Presets(Strict_):
    load_classes: dict[str, LoadClass]
    supply_kinds: dict[str, SupplyKind]
