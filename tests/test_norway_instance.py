"""The Norway instance validates and its annual totals match the fact sheet.

Targets are computed here from the figures of shared/reference/norway-facts.md (§ = section),
not copied from the generator, so a change of the generator or its data that moves a total
out of tolerance fails.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

import planner

ROOT = Path(__file__).resolve().parent.parent
NORWAY = ROOT / "instances" / "norway-2030.yaml"
ZONES = ("NO1", "NO2", "NO3", "NO4", "NO5")

CONSUMPTION_2024_TWH = 136.6  # §2, Statnett daily series
CONSUMPTION_SHARE = {"NO1": 0.261, "NO2": 0.274, "NO3": 0.200, "NO4": 0.141, "NO5": 0.124}  # §1c
NORMAL_INFLOW_TWH = 136.7  # §2, NVE normal
HYDRO_MW_2025 = {"NO1": 4000.9, "NO2": 11386.5, "NO3": 4921.5, "NO4": 5636.5, "NO5": 7996.4}  # §1b
RESERVOIR_TWH = {"NO1": 6.003, "NO2": 34.044, "NO3": 8.921, "NO4": 21.079, "NO5": 17.391}  # §1a
WINTER_PEAK_MW = {"NO1": 7900, "NO2": 6700, "NO3": 4800, "NO4": 2850, "NO5": 2950}  # §9
WIND_CF = 0.324  # §7e


@pytest.fixture(scope="module")
def norway() -> planner.instance.instance.Instance:
    return planner.load_instance(NORWAY)


def _zone_sum(items, zone, value) -> float:
    return float(sum(value(x) for x in items if x.zone == zone))


def test_shape(norway):
    assert norway.zones == ZONES
    assert norway.hours == 8760
    assert {m.name for m in norway.markets} >= {"SE1", "SE2", "SE3", "FI", "DK1", "NL", "DE", "GB"}
    assert len([a for a in norway.applicants if not a.protected]) >= 20


@pytest.mark.parametrize("zone", ZONES)
def test_consumption_matches_zone_share(norway, zone):
    """Protected demand + existing applicants at their profile ≈ §1c share × 136.6 TWh (±0.5 %)."""
    twh = _zone_sum(norway.applicants, zone, lambda a: a.existing_mw * a.profile.sum()) / 1e6
    assert twh == pytest.approx(CONSUMPTION_SHARE[zone] * CONSUMPTION_2024_TWH, rel=0.005)


@pytest.mark.parametrize("zone", ZONES)
def test_peak_load_near_winter_peak(norway, zone):
    """Hourly peak of protected demand + existing applicants within 3 % of §9's winter peak."""
    load = sum(a.existing_mw * a.profile for a in norway.applicants if a.zone == zone)
    assert float(np.max(load)) == pytest.approx(WINTER_PEAK_MW[zone], rel=0.03)


@pytest.mark.parametrize("zone", ZONES)
def test_hydro_inflow_and_storage(norway, zone):
    """Reservoir inflow + run-of-river potential = zone's hydro-MW share of 136.7 TWh (±0.5 %);
    reservoir size as NVE reports it."""
    reservoir = [s for s in norway.supply if s.zone == zone and s.reservoir]
    ror = [s for s in norway.supply if s.zone == zone and s.kind == "run_of_river"]
    twh = (sum(s.inflow_mwh.sum() for s in reservoir)
           + sum((s.capacity_mw * s.availability).sum() for s in ror)) / 1e6
    share = HYDRO_MW_2025[zone] / sum(HYDRO_MW_2025.values())
    assert twh == pytest.approx(share * NORMAL_INFLOW_TWH, rel=0.005)
    assert sum(s.storage_mwh for s in reservoir) / 1e6 == pytest.approx(RESERVOIR_TWH[zone],
                                                                         rel=1e-6)


def test_national_inflow(norway):
    inflow = sum(s.inflow_mwh.sum() for s in norway.supply if s.reservoir)
    ror = sum((s.capacity_mw * s.availability).sum() for s in norway.supply
              if s.kind == "run_of_river")
    assert (inflow + ror) / 1e6 == pytest.approx(NORMAL_INFLOW_TWH, rel=0.005)


@pytest.mark.parametrize("zone", ZONES)
def test_wind_capacity_factor(norway, zone):
    """Wind availability averages the 2024 capacity factor of 32.4 % (±2 %)."""
    wind = [s for s in norway.supply if s.zone == zone and s.kind == "wind"]
    cap = sum(s.capacity_mw for s in wind)
    if cap == 0:
        pytest.skip(f"no wind in {zone} (ENTSO-E reports 0 MW)")
    energy = sum((s.capacity_mw * s.availability).sum() for s in wind)
    assert energy / (cap * norway.hours) == pytest.approx(WIND_CF, rel=0.02)


def test_german_price_level(norway):
    """DE-LU 2024 average 78.51 EUR/MWh (SMARD, §4b) at 11.6 NOK/EUR, within 2 %."""
    assert norway.market("DE").price_nok_per_mwh.mean() == pytest.approx(78.51 * 11.6, rel=0.02)


def test_every_entry_names_its_source():
    """Every supply, line, interconnector, market and applicant carries a source."""
    from ruamel.yaml import YAML

    data = YAML(typ="safe", pure=True).load(NORWAY.read_text(encoding="utf-8"))
    for section in ("markets", "lines", "interconnectors", "supply", "applicants",
                    "protected_demand"):
        for entry in data[section]:
            assert entry.get("source"), f"{section}: {entry['name']} has no source"


@pytest.fixture(scope="module")
def existing_system(norway) -> planner.Result:
    """The full year with every applicant granted only what is already connected: the system
    as it stands, before the queue is served."""
    applicants = tuple(dataclasses.replace(a, requested_mw=a.existing_mw)
                       for a in norway.applicants)
    return planner.solve(dataclasses.replace(norway, applicants=applicants))


def test_existing_system_net_export(existing_system):
    """Net export of the system as it stands lies in §2's recent range, 12–22 TWh/yr (Statnett
    daily data 2020–2025); none of the connected load goes unserved."""
    kpis = existing_system.summary["kpis"]
    assert 12.0 <= kpis["exports_twh"] - kpis["imports_twh"] <= 22.0
    assert kpis["unserved_mwh"] == pytest.approx(0.0, abs=1e-6)


def test_existing_system_price_structure(existing_system):
    """§4a: NO3 and NO4 are far below the south (2023: 44 and 34 øre/kWh against 76–90);
    the southern zones lie within 2023–24's levels of 42–79 EUR/MWh (11.6 NOK/EUR)."""
    price = existing_system.summary["kpis"]["mean_zonal_price_nok_per_mwh"]
    assert max(price["NO3"], price["NO4"]) < min(price["NO1"], price["NO2"], price["NO5"])
    for zone in ("NO1", "NO2", "NO5"):
        assert 42 * 11.6 <= price[zone] <= 79 * 11.6
