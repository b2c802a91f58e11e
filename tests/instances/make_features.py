"""Writes features.yaml: a 48-hour, three-zone test instance using every model feature.

Run it (python tests/instances/make_features.py) after changing the numbers below.
"""

import math
from pathlib import Path

H = 48


def ser(f, nd=3):
    """Hourly values of f as an inline YAML list."""
    return "[" + ", ".join(f"{round(f(t), nd):g}" for t in range(H)) + "]"


def day(t):
    """Daily shape: 0 at 04:00, 1 at 16:00."""
    return 0.5 - 0.5 * math.cos(2 * math.pi * ((t % 24) - 4) / 24)


def de(t):
    return 700 + 350 * math.sin(2 * math.pi * (t - 8) / 24) + 60 * (t // 24)


def se3(t):
    return 0.6 * de(t) - 20


def gb(t):
    return 950 + 200 * math.cos(2 * math.pi * (t - 18) / 24)


def wind(t):
    return 0.45 + 0.4 * math.sin(2 * math.pi * t / 31)


def solar(t):
    return max(0.0, math.sin(math.pi * ((t % 24) - 8) / 8)) if 8 <= t % 24 <= 16 else 0.0


def ror(t):
    return 0.4 + 0.1 * math.sin(2 * math.pi * t / 48)


def inflow(t):
    return 380 + 100 * math.sin(2 * math.pi * t / 48)


def dc(t):
    return 0.6 + 0.25 * day(t)


def pot(t):
    return 0.7 + 0.25 * day(t)


def city(t):
    """330-580 MW, and 810 MW in hours 40-41 (16-17 h of day 2)."""
    return 330 + 250 * day(t) + (230 if t in (40, 41) else 0)


def wind_homes(t):
    return 90 + 40 * day(t)


text = f"""# Generated test instance: three zones over 48 hours, with every model feature at least once.
#
#   feature                   where
#   reservoir, end level      Hydro reservoir (50 % -> 48 %)
#   run_of_river, wind,       Hydro run-of-river, Wind farm, City solar (inline availability)
#   solar, thermal            Wind gas (preset cost), City gas (cost 1 300 NOK/MWh)
#   line loss_factor          Hydro-City 3 %, Wind-City 2 %; Hydro-Wind lossless
#   several markets           DE (via Hydro), SE3 (via City), GB (via Wind)
#   window                    Training campus: 12-hour windows, 90 % of each window's energy
#   0 < firm_share < 1        Training campus 0.6, Electrolyser 0.25, Pot line 0.5
#   max_curtailment_share     Electrolyser 0.4 (weight raised to 950 NOK/MWh)
#   ramp_mw_per_h             Pot line 0.6 MW/h (its profile moves up to 0.96 MW/h)
#   own_supply                Inference DC: 15 MW at 2 500 NOK/MWh (above its weight)
#   existing_mw               Smelter 120, Pot line 30, Inference DC 40, Training campus 20
#   protected demand          one per zone. In hours 40-41 (16-17 h, no sun) City homes jump to
#                             810 MW, more than the 180 (gas) + 291 + 196 (lines after losses)
#                             + 100 (SE3) + 15 (own supply) = 782 MW that can reach the City, so
#                             part of their demand is unserved.
#
# Written by tests/instances/make_features.py; edit that script, not this file.
name: features
description: Three zones, 48 h, every feature of the model (tests only).
time: {{start: "2030-02-04T00:00", hours: {H}}}
zones:
  - name: Hydro
  - name: Wind
  - name: City
markets:
  - name: DE
    price_nok_per_mwh: {ser(de, 1)}
  - name: SE3
    price_nok_per_mwh: {ser(se3, 1)}
  - name: GB
    price_nok_per_mwh: {ser(gb, 1)}
lines:
  - {{name: Hydro-City, from: Hydro, to: City, capacity_mw: 300, reverse_capacity_mw: 300, loss_factor: 0.03}}
  - {{name: Wind-City, from: Wind, to: City, capacity_mw: 200, reverse_capacity_mw: 150, loss_factor: 0.02}}
  - {{name: Hydro-Wind, from: Hydro, to: Wind, capacity_mw: 150, reverse_capacity_mw: 150}}
interconnectors:
  - {{name: Hydro-DE, zone: Hydro, market: DE, export_mw: 150, import_mw: 150}}
  - {{name: City-SE3, zone: City, market: SE3, export_mw: 100, import_mw: 100}}
  - {{name: Wind-GB, zone: Wind, market: GB, export_mw: 80, import_mw: 50}}
supply:
  - name: Hydro reservoir
    zone: Hydro
    kind: hydro_reservoir
    capacity_mw: 700
    storage_mwh: 30000
    inflow_mwh: {ser(inflow, 1)}
    initial_storage_share: 0.5
    final_storage_share: 0.48
  - name: Hydro run-of-river
    zone: Hydro
    kind: run_of_river
    capacity_mw: 80
    availability: {ser(ror)}
  - name: Wind farm
    zone: Wind
    kind: wind
    capacity_mw: 500
    availability: {ser(wind)}
  - {{name: Wind gas, zone: Wind, kind: thermal, capacity_mw: 60}}
  - name: City solar
    zone: City
    kind: solar
    capacity_mw: 50
    availability: {ser(solar)}
  - {{name: City gas, zone: City, kind: thermal, capacity_mw: 200, marginal_cost_nok_per_mwh: 1300}}
applicants:
  - {{name: Smelter, zone: Wind, class: industry, requested_mw: 150, existing_mw: 120}}
  - name: Pot line
    zone: City
    class: industry
    requested_mw: 60
    existing_mw: 30
    firm_share: 0.5
    ramp_mw_per_h: 0.6
    profile: {ser(pot)}
  - name: Training campus
    zone: Hydro
    class: ai_training
    requested_mw: 60
    existing_mw: 20
    firm_share: 0.6
    window: {{hours: 12, min_share: 0.9}}
  - name: Inference DC
    zone: City
    class: ai_inference
    requested_mw: 80
    existing_mw: 40
    profile: {ser(dc)}
    own_supply: {{capacity_mw: 15, cost_nok_per_mwh: 2500, availability: 1.0}}
  - name: Electrolyser
    zone: Wind
    class: hydrogen
    requested_mw: 100
    firm_share: 0.25
    max_curtailment_share: 0.4
    weight_nok_per_mwh: 950
  - {{name: Miner, zone: Hydro, class: bitcoin_mining, requested_mw: 60}}
protected_demand:
  - {{name: Hydro homes, zone: Hydro, demand_mw: 80}}
  - name: Wind homes
    zone: Wind
    demand_mw: {ser(wind_homes, 1)}
  - name: City homes
    zone: City
    demand_mw: {ser(city, 1)}
"""
Path(__file__).with_name("features.yaml").write_text(text)
