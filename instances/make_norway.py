"""Generate the realistic Norway 2030 instance: ``norway-2030.yaml`` and its CSV series.

Run from anywhere (numpy + pandas + stdlib only)::

    python3 instances/make_norway.py            # writes into instances/
    python3 instances/make_norway.py --out DIR  # writes into DIR/

Output: ``norway-2030.yaml``, ``series/norway-2030-{supply,demand,prices,profiles}.csv``,
``norway-2030-calibration.md`` (annual totals against their targets) and
``teaching/series/two-zones-week.csv`` (week 2 of these series, scaled, for the teaching instance
``teaching/two-zones-week.yaml``). The script is seeded (``numpy.random.default_rng`` with
``SEED``; each component draws from its own stream named by a CRC-32 of the component name), so
two runs give byte-identical files. ``calibration_table(instance_dir)`` recomputes the table from
the written CSV files.

Every figure comes from ``shared/reference/norway-facts.md``; "§" numbers below refer to it. Figures
marked ESTIMATE are not in the fact sheet (or are only bounded by it) and are chosen here; the
reason is given next to the constant.

Method
------
Horizon: 2030-01-01T00:00, 8760 hours (CET, no daylight-saving shift), zones NO1..NO5.

Hydro (§1a, §1b, §2, §7c, §7d).
  * Installed hydro per zone = ENTSO-E 2025 MW (§1b). 78 % of it is a ``hydro_reservoir`` turbine,
    22 % is ``run_of_river`` (the national 79/21 split of CEDREN 2011, §1b; no zonal split exists,
    §8 item 2).
  * Reservoir size = the "latest" NVE API capacity per zone (§1a), 87.44 TWh in total.
  * Annual inflow = NVE's normal inflow 136.7 TWh (§2), split between zones by their share of hydro
    MW (the same key the §1c production estimates use; sharing by reservoir size would give NO1 only
    6.9 % of inflow although it has 11.8 % of the turbines and much run-of-river along its rivers).
  * Monthly shape = the national monthly inflow shares of §7d (May-July = 48 %), made smooth within
    months (piecewise-linear through mid-month nodes, adjusted so that every month keeps its exact
    share) and multiplied by seeded day-to-day noise (log-normal AR(1), 12 %), renormalised so each
    zone's monthly totals stay exact. The same national shape is used in every zone (no zonal shape
    is sourced).
  * Run-of-river availability = min(1, CF x inflow shape), CF = zone inflow / (hydro MW x 8760 h),
    i.e. run-of-river gets its MW share of the zone's inflow and spills in the spring flood. The
    reservoir inflow series is the zone's inflow MINUS the run-of-river potential, so reservoir
    inflow + run-of-river potential = 136.7 TWh nationally (the hydro production potential; SSB
    2024 hydro output was 140.0 TWh and Sodir's average year 138 TWh, §1b/§2).
  * Reservoir availability (override of the 0.85 preset): §1b says 80-85 % of nameplate hydro is
    available in winter. With run-of-river near its winter low (~0.16 in Jan-Feb), the reservoir
    turbines must be fully available to reach 82.5 % of all hydro MW: the override, computed per
    zone and capped at 1, comes out at 1.0 everywhere (0.78 x 1 + 0.22 x 0.16 ≈ 0.82).
  * Initial and final storage share = the week-1 median filling of §7c per zone.

Wind (§1b, §7e). Capacity per zone = latest ENTSO-E onshore MW (§1b; NO5 reports 0). Hourly
availability = logistic transform of a seeded AR(1) (hourly persistence 0.97; 60 % of the variance
shared by all zones), with a monthly offset solved so each month hits a cosine seasonal target:
annual mean 0.324 (§7e, 2024 DERIVED), January/February about 0.39 (§7e: Feb 2024 0.43, Jan 2025
0.37, Feb 2025 0.36; summer NOT FOUND, ESTIMATE ~0.26 by symmetry).

Solar (§1b, §7f). NO1 16.7 MW (2025); clear-sky geometry at Oslo x seeded daily cloudiness, annual
mean 0.10 (the ESTIMATE of the ``solar`` preset). Negligible, kept so the kind appears.

Thermal (§1b, §7f). Gas: NO3 180 MW (2021), NO4 256.4 MW (2025, Melkøya), NO5 192.2 MW (2021), with
the ``thermal`` preset's availability and cost. Biomass and the small NO1/NO2 gas units are left out.

Network (§3a, §3b). Internal NTCs are the EM values of §3a (NO3->NO4 400, NO3<->NO5 800/500).
Interconnectors are the market NTCs of §3b (NordLink 1 400 MW, not EM's 1 444).

Markets (§4b). Hourly prices in NOK/MWh at 11.6 NOK/EUR (2024 mean 11.628, §4a). Annual means:
DE 78.51 EUR/MWh (SMARD 2024); SE3 45 (ESTIMATE inside §9's 40-50); SE1 30 and SE2 32 (ESTIMATE,
below Sweden's 2024 country mean of ~36, FfE); FI 45 (ESTIMATE: no figure in the sheet, coupled to
SE1/SE3, taken at the SE3 level); DK1 70, NL 77, GB 85 (ESTIMATE: NOT FOUND in the sheet, §4b/§8
item 4; set around the 2024 Europe mean of ~75 and DE 78.5: DK1 below it because it is coupled to
the Nordics, NL near DE, GB above as a gas-priced market). Shape = winter-high cosine season
(+-25 %, ESTIMATE) x daily shape from the §7b household profile x weekend factor 0.9 (ESTIMATE) x
AR(1) noise (ESTIMATE), then an additive shift so the annual mean is exact. DE also gets a midday
solar dip whose depth is solved so that DE has ~460 negative hours (§4b), and its daily-shape
amplitude is solved so peak/off-peak = 88.2/74.8 (FfE 2024, §4b); the dip is proportional to
the squared clear-sky-and-cloud shape and weighs weekdays at 0.15 (ESTIMATE: with a dip as deep
on weekdays, 460 negative hours would pull the weekday peak below the off-peak); negative values
are mapped softly onto (-0.5 x level, 0) so they stay shallow (ESTIMATE). Nordic markets use
half of the continental daily amplitude (ESTIMATE: hydro-dominated, flatter); NL, DK1 and GB use
the amplitude that gives DE's peak/off-peak ratio without the solar dip (ESTIMATE).

Protected demand (§1c, §1d, §2, §7a, §7b, §9). Zone consumption = NM load share (§1c) x Statnett's
2024 consumption 136.6 TWh (§2), i.e. exactly the §1c estimate. The applicants' existing load (at
their profile) is subtracted, so nothing is counted twice; the rest is one ``households`` protected
demand per zone. Hourly shape = smooth §7a monthly load factor x daily profile x cold spells:
  * daily profile = sector blend of the SSB Feb 2025 mix (§2): households 36.9 % (§7b household
    winter weekday/weekend profile), tertiary 20.3 % (mean of §7b office and retail weekday; on
    weekends 0.75 x retail, ESTIMATE), secondary + primary 42.8 % flat (continuous process, so the
    §7b "industri-3" weekend factor 0.41 is not applied, ESTIMATE);
  * cold spells = seeded daily AR(1) anomaly (80 % national, 20 % zonal), 7 % per standard
    deviation at full winter heating sensitivity (ESTIMATE, checked against the highest daily mean
    load 23 297 MW of §1d);
  * a zonal heating factor beta scales the seasonal swing and the cold spells; it is solved per zone
    so that the zone's peak (protected + existing applicants) equals the §9 winter peak
    (Feb 2021 hour).
Tolerance: national protected + existing applicant energy = 136.6 TWh +- 0.5 % (only CSV rounding
differs); zonal energies = §1c +- 0.5 %; zonal peaks = §9 +- 3 %; national peak = 25 230 MW
(§1d) +- 5 %.

Applicants (§5). 24 applicants: aluminium smelters sized as kt x 13.5 MWh/t (§5e ESTIMATE) at
profile 0.95; Hydro's Sunndal (largest in Europe, ESTIMATE 400 kt), Årdal (ESTIMATE 200 kt),
Høyanger (ESTIMATE 60 kt), Karmøy (ESTIMATE 200 kt), Husnes (195 kt, §5e), Alcoa Mosjøen
(200 kt -> 214 kt by end-2026, §5e): 1 255 kt ≈ 16.9 TWh ≈ 48 % of the 35.4 TWh power-intensive
total (§2); the rest of that total stays inside protected demand. Batteries: Morrow Arendal 320 MW
(§5e), Freyr Mo i Rana 1.25 TWh/yr (§5e) with 23 MW existing (Statkraft PPA baseload, §5e).
Herøya industrial park ~1 000 MW (§5e; existing 300 MW ESTIMATE) incl. a 24 MW Yara electrolyser
(unconfirmed, §8 item 8) entered as a separate hydrogen applicant; a generic 100 MW NO4 hydrogen
hub (ESTIMATE).
AI: Stargate Norway Kvandal 230 MW + 290 MW expansion as two applicants (§5b; first 20 MW
existing), Aker Nscale Korgen 250 MW (§5b) and further Aker Nscale NO4 sites up to the stated
12 TWh/yr (§5b: 750 MW more at profile 0.9), inference near Oslo and Stavanger (ESTIMATE sizes)
and an Østlandet data-centre queue = NO1's 26.1 % load share of the >7 000 MW DC queue (§5a)
minus the Oslo campus (diurnal profile series from the §7b household shape, half as deep, mean
0.7 = the class preset). Bitcoin: North
Norway miners 440 GWh/yr existing (§5c), Glomfjord 30 -> 60 MW, Kryptovault Dale up to 120 MW,
Terakraft Sauda 10 MW (§5c); Kryptovault's existing MW is the residual that makes the existing
mining fleet ≈ 120 MW (Arcane 2022, §5c). NO3: reserved 640 + 800 MW and a queue of 27 projects
/ 1 400 MW (§5f). New requests total ≈ 7.7 GW, close to Statnett's 7 600 MW reserved for new
customers (§5f), so requests exceed what NO1/NO3/NO4 can take in tight hours. Profiles and
all other behaviour come from the class presets unless stated. Queue positions: existing plants
first, then by the date of the source that reports the request (ESTIMATE order where undated).
"""

from __future__ import annotations

import argparse
import json
import re
import textwrap
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

# ---------------------------------------------------------------------------------------------
# Constants. "§" = section of shared/reference/norway-facts.md.
# ---------------------------------------------------------------------------------------------

SEED = 20300101  # fixed seed of the generator (arbitrary, fixed)
START = "2030-01-01T00:00"  # brief: horizon starts 1 Jan 2030 (CET, no DST)
HOURS = 8760  # 2030 is not a leap year
ZONES = ("NO1", "NO2", "NO3", "NO4", "NO5")
NAME = "norway-2030"
ZONE_DESCRIPTION = {"NO1": "Eastern Norway (Oslo): deficit zone", "NO2": "Southern and "
                    "south-western Norway: large reservoirs, the continental cables",
                    "NO3": "Central Norway (Trondheim)", "NO4": "Northern Norway: surplus zone",
                    "NO5": "Western Norway (Bergen)"}  # the bidding zones
NOK_PER_EUR = 11.6  # §4a: 2024 mean EUR/NOK 11.628 (Norges Bank daily rates in EF), rounded

# §1a: reservoir capacity, "latest" via the NVE magasinstatistikk API (EF parquet), TWh
RESERVOIR_TWH = {"NO1": 6.003, "NO2": 34.044, "NO3": 8.921, "NO4": 21.079, "NO5": 17.391}
# §1b: installed hydro (all types), ENTSO-E 2025 via EM zone configs, MW
HYDRO_MW_2025 = {"NO1": 4000.9, "NO2": 11386.5, "NO3": 4921.5, "NO4": 5636.5, "NO5": 7996.4}
# §1b: CEDREN/HydroPEAK 2011: 23 405 of 29 600 MW in reservoir stations (79 %); brief: 78 %
RESERVOIR_MW_SHARE = 0.78
# §1b: "use about 80-85 % of nameplate hydro as available winter capacity" (CEDREN, NTNU); midpoint
HYDRO_WINTER_AVAILABLE_SHARE = 0.825
# §1b: wind onshore, latest ENTSO-E value via EM, MW (NO1 2023, others 2025; NO5 reports 0)
WIND_MW = {"NO1": 405.7, "NO2": 1452.4, "NO3": 2120.4, "NO4": 1160.1, "NO5": 0.0}
# §1b: solar NO1 2025 (ENTSO-E via EM), MW
SOLAR_MW_2025 = {"NO1": 16.7}
# §1b/§7f: gas, MW: NO3 2021, NO4 2025 (Melkøya), NO5 2021 (ENTSO-E via EM)
GAS_MW = {"NO3": 180.0, "NO4": 256.4, "NO5": 192.2}

# §2: NVE's official normal inflow (raised 15 Dec 2021 from 133.4), TWh/yr
NORMAL_INFLOW_TWH = 136.7
# §2: Statnett 2024 consumption, sum of daily series (EF), TWh
CONSUMPTION_2024_TWH = 136.6
# §2: SSB 2024 hydro output (TWh) and wind share of 157.1 TWh generation (cross-checks)
HYDRO_OUTPUT_2024_TWH = 140.0
WIND_OUTPUT_2024_TWH = 0.093 * 157.1
# §2: power-intensive industry net consumption 2023 (SSB), TWh
POWER_INTENSIVE_TWH = 35.4
# §1c: consumption share per zone (NM load_shares.xlsx, ENTSO-E based)
LOAD_SHARE = {"NO1": 0.261, "NO2": 0.274, "NO3": 0.200, "NO4": 0.141, "NO5": 0.124}
# §1c: ESTIMATE annual production per zone (TWh), each +-25 %; NO4 given as 27-30
PRODUCTION_ESTIMATE_TWH = {"NO1": 17.7, "NO2": 51.0, "NO3": 26.0, "NO4": 28.5, "NO5": 33.0}
# §9 (from §1c, Feb 2021 near-peak hour): zone winter peak, MW
WINTER_PEAK_MW = {"NO1": 7900.0, "NO2": 6700.0, "NO3": 4800.0, "NO4": 2850.0, "NO5": 2950.0}
# §1d: national hourly record (Feb 2021, hour 09-10) and highest daily-mean load 2021-2025, MW
NATIONAL_PEAK_MW = 25230.0
NATIONAL_MAX_DAILY_MEAN_MW = 23297.0

# §7a: national monthly mean load Jan..Dec (Statnett daily data 2021-2025, DERIVED), MW
MONTHLY_LOAD_MW = (19671, 19285, 17535, 15629, 13514, 12475,
                   11877, 12289, 12880, 14822, 16943, 18978)
# §7b: standard hourly profiles (RelDist lastprofiler.csv, 0 °C profile), hours 1..24
HOUSEHOLD_WINTER_WEEKDAY = (0.87, 0.84, 0.83, 0.83, 0.85, 0.88, 0.98, 1.05, 1.03, 1.00, 0.99, 0.97,
                            0.93, 0.92, 0.92, 1.00, 1.10, 1.16, 1.20, 1.22, 1.19, 1.17, 1.10, 0.96)
HOUSEHOLD_WINTER_WEEKEND = (0.89, 0.83, 0.81, 0.81, 0.82, 0.83, 0.85, 0.88, 0.95, 1.04, 1.08, 1.07,
                            1.05, 1.04, 1.05, 1.09, 1.10, 1.13, 1.17, 1.19, 1.18, 1.12, 1.07, 0.95)
OFFICE_WINTER_WEEKDAY = (0.57, 0.54, 0.54, 0.57, 0.64, 0.63, 0.76, 1.07, 1.43, 1.53, 1.55, 1.55,
                         1.55, 1.54, 1.51, 1.44, 1.23, 1.06, 0.94, 0.80, 0.73, 0.66, 0.60, 0.58)
RETAIL_WINTER_WEEKDAY = (0.82, 0.83, 0.82, 0.82, 0.82, 0.84, 0.87, 0.95, 1.07, 1.22, 1.26, 1.24,
                         1.22, 1.22, 1.22, 1.20, 1.20, 1.13, 1.05, 0.90, 0.85, 0.82, 0.82, 0.81)
# §2: SSB monthly statistics, Feb 2025 net consumption by sector (shares)
SECTOR_SHARE = {"households": 0.369, "secondary": 0.408, "tertiary": 0.203, "primary": 0.020}
TERTIARY_WEEKEND_FACTOR = 0.75  # ESTIMATE: offices closed, shops open (no §7b weekend profile)
COLD_SPELL_SD = 0.07  # ESTIMATE: daily load anomaly per s.d. in deep winter; checked vs §1d
COLD_SPELL_AR1 = 0.8  # ESTIMATE: day-to-day persistence of temperature anomalies
COLD_SPELL_NATIONAL_SHARE = 0.8  # ESTIMATE: the Feb 2021 peak hit all zones at once (§1c)
HOURLY_LOAD_NOISE_SD = 0.01  # ESTIMATE

# §7c: median reservoir filling in week 1 (NVE 1995-2026 via EF), share
WEEK1_FILLING = {"NO1": 0.619, "NO2": 0.717, "NO3": 0.610, "NO4": 0.646, "NO5": 0.665}
# §7d: monthly share of annual inflow Jan..Dec, % (DERIVED, national; sums to 100.1)
INFLOW_MONTH_SHARE_PCT = (3.2, 2.6, 3.1, 3.6, 15.4, 20.2, 12.4, 9.0, 7.9, 11.5, 6.4, 4.8)
INFLOW_NOISE_SD = 0.12  # ESTIMATE: "small seeded noise" on daily inflow (log scale)
INFLOW_NOISE_AR1 = 0.7  # ESTIMATE: day-to-day persistence of inflow anomalies

# §7e: wind capacity factor 2024 (DERIVED from SSB) and winter months (Feb 2024, Jan/Feb 2025)
WIND_CF_ANNUAL = 0.324
WIND_CF_WINTER = (0.43, 0.37, 0.36)
WIND_PEAK_DAY = 25  # ESTIMATE: day of year of the seasonal wind maximum (late January)
WIND_AR1 = 0.97  # ESTIMATE: hourly persistence (~1.5-day weather systems)
WIND_NATIONAL_SHARE = 0.6  # ESTIMATE: share of variance common to all zones
WIND_LOGISTIC_SPREAD = 1.6  # ESTIMATE: spread of hourly output (many near-calm and near-full hours)
SOLAR_CF = 0.10  # models/supply_kinds.yaml solar preset (ESTIMATE; no yield in the fact sheet)
OSLO_LAT_LON = (59.9, 10.75)  # geography of NO1's solar
GERMANY_LAT_LON = (51.0, 10.0)  # geography of DE's midday solar dip

# §3a: internal NTCs, EM values (from, to, MW from->to, MW to->from)
LINES = (
    ("NO1", "NO2", 2200.0, 3500.0),
    ("NO1", "NO3", 500.0, 500.0),
    ("NO1", "NO5", 600.0, 3900.0),
    ("NO2", "NO5", 500.0, 600.0),
    ("NO3", "NO4", 400.0, 1200.0),
    ("NO3", "NO5", 800.0, 500.0),
)
# §3b: interconnectors (name, zone, market, export MW, import MW, source key, note)
INTERCONNECTORS = (
    ("Skagerrak 1-4", "NO2", "DK1", 1632.0, 1632.0, "statnett_nordpool_2013",
     "market NTC 1632 MW both ways (1700 nominal; EM and NM give 1632)"),
    ("NorNed", "NO2", "NL", 723.0, 723.0, "em", "max NTC 723 MW (700 nominal; EM and NM)"),
    ("NordLink", "NO2", "DE", 1400.0, 1400.0, "nordlink",
     "1400 MW (Tonstad-Wilster; EM config says 1444)"),
    ("North Sea Link", "NO2", "GB", 1400.0, 1400.0, "northsealink", "1400 MW (Kvilldal-Blyth)"),
    ("NO1-SE3", "NO1", "SE3", 2145.0, 2095.0, "em", "2145 / 2095 MW (EM, NM)"),
    ("NO3-SE2", "NO3", "SE2", 600.0, 1000.0, "em", "600 / 1000 MW (EM, NM)"),
    ("NO4-SE1", "NO4", "SE1", 700.0, 600.0, "em", "700 / 600 MW (EM, NM)"),
    ("NO4-SE2", "NO4", "SE2", 250.0, 300.0, "em", "250 / 300 MW (EM, NM)"),
    ("NO4-FI", "NO4", "FI", 120.0, 100.0, "em",
     "120 / 100 MW (EM); Statnett: about +-100 MW (Varangerbotn-Ivalo)"),
)

# §4b: annual mean day-ahead price by market, EUR/MWh, and why
MARKET_EUR_PER_MWH = {
    "SE1": (30.0, "ESTIMATE: below Sweden's 2024 country mean ~36 EUR/MWh (FfE, §4b)"),
    "SE2": (32.0, "ESTIMATE: below Sweden's 2024 country mean ~36 EUR/MWh (FfE, §4b)"),
    "SE3": (45.0, "ESTIMATE: middle of §9's 40-50 EUR/MWh (2023: 51.6 DERIVED, §4b)"),
    "FI": (45.0, "ESTIMATE: no FI figure in the fact sheet; coupled to SE1/SE3, set at SE3"),
    "DK1": (70.0, "ESTIMATE: NOT FOUND (§4b, §8 item 4); below the 2024 Europe mean ~75 (FfE) "
                  "because DK1 is coupled to NO2/SE3"),
    "NL": (77.0, "ESTIMATE: NOT FOUND (§4b, §8 item 4); between the 2024 Europe mean ~75 (FfE) "
                 "and DE 78.5 (SMARD)"),
    "DE": (78.51, "DE-LU 2024 mean 78.51 EUR/MWh (SMARD, §4b)"),
    "GB": (85.0, "ESTIMATE: NOT FOUND (§4b, §8 item 4); above the 2024 Europe mean ~75 (FfE) "
                 "as a gas-priced market"),
}
NORDIC_MARKETS = ("SE1", "SE2", "SE3", "FI")
DE_NEGATIVE_HOURS = 460  # §4b: about 460 negative hours in DE-LU in 2024 (SMARD/FfE)
DE_PEAK_EUR, DE_OFFPEAK_EUR = 88.2, 74.8  # §4b: FfE 2024 peak / off-peak
DE_DIP_SHARPNESS = 2.0  # ESTIMATE: exponent on the solar shape (dip concentrated at noon)
DE_DIP_WEEKDAY_WEIGHT = 0.15  # ESTIMATE: negative prices come mostly on sunny weekends
NEGATIVE_PRICE_FLOOR = 0.5  # ESTIMATE: negative prices approach -0.5 x level softly
PRICE_SEASON_AMPLITUDE = 0.25  # ESTIMATE: winter-high (DE Q4 2024 102.64 vs 78.51, §4b)
PRICE_WEEKEND_FACTOR = 0.9  # ESTIMATE
PRICE_NOISE_SD = 0.25  # ESTIMATE: relative hourly volatility
PRICE_NOISE_AR1 = 0.95  # ESTIMATE: hourly persistence
PRICE_GROUP_SHARE = 0.6  # ESTIMATE: variance shared within the Nordic / continental group
NORDIC_DAILY_AMPLITUDE = 0.5  # ESTIMATE: Nordic daily price shape is half as deep as DE's

# §5e: ESTIMATE energy intensity of aluminium, MWh/t (global mean 14.1, Karmøy pilot <12.3)
SMELTER_MWH_PER_T = 13.5
# models/load_classes.yaml: the preset constant profile of each class (checked if ruamel exists)
PRESET_PROFILE = {"ai_training": 0.9, "ai_inference": 0.7, "bitcoin_mining": 0.95,
                  "industry": 0.95, "hydrogen": 1.0}
INFERENCE_DIURNAL_DEPTH = 0.5  # ESTIMATE: inference swings half as much as household load (§7b)
INFERENCE_NOISE_SD = 0.02  # ESTIMATE


def smelter_mw(kilotonnes: float) -> float:
    """Connection MW of a smelter: kt/yr x 13.5 MWh/t (§5e) spread over 8760 h at profile 0.95."""
    return round(kilotonnes * 1000 * SMELTER_MWH_PER_T / (HOURS * PRESET_PROFILE["industry"]))


def annual_mw(gwh: float, profile: float) -> float:
    """Connection MW that uses ``gwh`` per year at a constant ``profile``."""
    return round(gwh * 1000 / (HOURS * profile), 1)


@dataclass(frozen=True)
class ApplicantSpec:
    """One applicant of the instance (YAML keys in the comments)."""

    name: str
    zone: str
    load_class: str  # class
    requested_mw: float
    existing_mw: float
    source: str
    description: str = ""
    profile_column: str | None = None  # column of the profiles CSV, else the class preset
    overrides: dict[str, Any] = field(default_factory=dict)
    queue_position: int = 0  # set from the order of applicants()


NORTH_MINERS_GWH = 330 + 79 + 29 + 1.34  # §5c: Nordland Data, Hydrokraft, Stokmarknes, Bluebite
NATIONAL_MINING_MW_2022 = 120.0  # §5c: Arcane (Mellerud) mapped 120 MW of Norwegian mining
GLOMFJORD_MW = (30.0, 60.0)  # §5c: 30 MW today, wants 60 MW (Kulingen)
TERAKRAFT_MW = 10.0  # §5c: Terakraft, Sauda, up to 10 MW (Aftenbladet)
KRYPTOVAULT_MW = 120.0  # §5c: Kryptovault, Dale, up to 120 MW (BT 2018)
STARGATE_MW = (230.0, 290.0, 20.0)  # §5b: planned, expansion ambition, first phase
KORGEN_MW = 250.0  # §5b: Aker Nscale Korgen (b2bdaily, Digi)
MORROW_MW = 320.0  # §5e: Morrow Arendal at full production (tu.no 2022)
FREYR_GWH = 1250.0  # §5e: Freyr Mo i Rana 1.2-1.3 TWh/yr (NRK 2021), midpoint
FREYR_PPA_MW = 23.0  # §5e: Statkraft PPA up to 23 MW baseload 2024-31
HEROYA_PARK_MW = 1000.0  # §5e: Herøya industrial park needed ~1 000 MW (Energi og Klima 2021)
HEROYA_PARK_EXISTING_MW = 300.0  # ESTIMATE: the park's present load; not in the fact sheet
YARA_ELECTROLYSER_MW = 24.0  # §8 item 8: Yara 24 MW electrolyser figure, NOT confirmed
NO3_QUEUE_MW = 1400.0  # §5f: 27 projects / 1 400 MW still in the NO3 queue (Statnett 2023)
NO3_RESERVED_MW = 640.0 + 800.0  # §5f: NO3 +640 MW new reservation on top of >800 MW (2023)
AKER_NSCALE_TWH = 12.0  # §5b: Aker Nscale's sites could allow up to 12 TWh/yr (Digi, Dec 2025)
AKER_NSCALE_FURTHER_MW = round(AKER_NSCALE_TWH * 1e6 / (HOURS * PRESET_PROFILE["ai_training"])
                               - sum(STARGATE_MW[:2]) - KORGEN_MW, -1)
RESERVED_NEW_MW = 7600.0  # §5f: reserved by Statnett for new customers, national (2023)
DC_QUEUE_MW = 7000.0  # §5a: 96 DCs in the queue wanting >7 000 MW (Altinget)
OSLO_DC_MW = (300.0, 60.0)  # ESTIMATE: Oslo inference campus requested / existing
OSTLANDET_DC_MW = round(LOAD_SHARE["NO1"] * DC_QUEUE_MW - (OSLO_DC_MW[0] - OSLO_DC_MW[1]), -1)


def applicants() -> list[ApplicantSpec]:
    """The realistic connection queue in queue order (position 1 first): existing plants, then
    expansions and new requests by the date of the source reporting them (§5)."""
    miners_mw = annual_mw(NORTH_MINERS_GWH, PRESET_PROFILE["bitcoin_mining"])
    kryptovault_existing = NATIONAL_MINING_MW_2022 - miners_mw - GLOMFJORD_MW[0] - TERAKRAFT_MW
    smelter = "Aluminium smelter (Norsk Hydro)"
    t_est = "ESTIMATE: plant tonnage not in the fact sheet (§8 item 8)"
    specs = [
        ApplicantSpec("Hydro Sunndal", "NO3", "industry", smelter_mw(400), smelter_mw(400),
                      f"§5e [hydro]: largest smelter in Europe. {t_est}; 400 kt = 2 x the §5e "
                      "reference smelter, x 13.5 MWh/t (§5e ESTIMATE) at profile 0.95.",
                      smelter + "; existing, no expansion."),
        ApplicantSpec("Hydro Årdal", "NO5", "industry", smelter_mw(200), smelter_mw(200),
                      f"§5e [hydro]. {t_est}; 200 kt = the §5e reference smelter x 13.5 MWh/t.",
                      smelter + "; existing."),
        ApplicantSpec("Hydro Høyanger", "NO5", "industry", smelter_mw(60), smelter_mw(60),
                      f"§5e [hydro]. {t_est}; 60 kt (a small single-line plant) x 13.5 MWh/t.",
                      smelter + "; existing."),
        ApplicantSpec("Hydro Karmøy", "NO2", "industry", smelter_mw(200), smelter_mw(200),
                      f"§5e [hydro, eurometaux]. {t_est}; 200 kt x 13.5 MWh/t. The Karmøy pilot "
                      "line runs below 12.3 MWh/t; the plant average is taken at 13.5.",
                      smelter + "; existing."),
        ApplicantSpec("Hydro Husnes", "NO5", "industry", smelter_mw(195), smelter_mw(195),
                      "§5e [alu_web]: 195 kt/yr at full capacity (B-line restarted) x 13.5 MWh/t "
                      "(§5e ESTIMATE) at profile 0.95.",
                      smelter + "; existing at full capacity."),
        ApplicantSpec("North Norway crypto miners", "NO4", "bitcoin_mining", miners_mw, miners_mw,
                      "§5c [dagsavisen_2023]: ~440 GWh in 2022 (Nordland Data 330, Hydrokraft "
                      "79, Stokmarknes 29, Bluebite 1.34 GWh) at profile 0.95.",
                      "Aggregate of the existing North Norway mining sites; no expansion."),
        ApplicantSpec("Terakraft Sauda", "NO2", "bitcoin_mining", TERAKRAFT_MW, TERAKRAFT_MW,
                      "§5c [aftenbladet]: up to 10 MW; taken as existing.",
                      "Existing mining data centre."),
        ApplicantSpec("Kryptovault Dale", "NO5", "bitcoin_mining", KRYPTOVAULT_MW,
                      round(kryptovault_existing, 1),
                      "§5c [bt_2018]: up to 120 MW requested. Existing MW DERIVED as the residual "
                      "that makes the existing mining fleet ~120 MW (Arcane 2022, §5c [arcane]) "
                      "after North Norway (440 GWh), Glomfjord (30 MW) and Terakraft (10 MW).",
                      "Mining site asking to grow to 120 MW. New PoW mining faces the temporary "
                      "ban announced 20 Jun 2025 (§5c)."),
        ApplicantSpec("Herøya industrial park", "NO2", "industry",
                      HEROYA_PARK_MW - YARA_ELECTROLYSER_MW, HEROYA_PARK_EXISTING_MW,
                      "§5e [energi_og_klima]: ~1000 MW needed inside the park (2021), minus the "
                      "24 MW electrolyser entered separately. Existing 300 MW: ESTIMATE.",
                      "Industrial park (chemicals, batteries, hydrogen) asking for more power."),
        ApplicantSpec("Freyr Mo i Rana", "NO4", "industry",
                      annual_mw(FREYR_GWH, PRESET_PROFILE["industry"]), FREYR_PPA_MW,
                      "§5e [nrk_2021, statkraft_freyr]: 1.2-1.3 TWh/yr stated (1.25 at profile "
                      "0.95); existing = the Statkraft PPA's 23 MW baseload.",
                      "Battery-cell factory."),
        ApplicantSpec("Alcoa Mosjøen", "NO4", "industry", smelter_mw(214), smelter_mw(200),
                      "§5e [alcoa_steelmint]: 200 kt/yr nameplate -> 214 kt by end-2026, x 13.5 "
                      "MWh/t (§5e ESTIMATE) at profile 0.95.",
                      "Aluminium smelter (Alcoa); existing, asks for the 214 kt expansion."),
        ApplicantSpec("Morrow Arendal", "NO2", "industry", MORROW_MW, 0.0,
                      "§5e [tu_2022]: 320 MW at full production, just under 3 TWh/yr.",
                      "Battery-cell factory (new connection)."),
        ApplicantSpec("Glomfjord miner", "NO4", "bitcoin_mining", GLOMFJORD_MW[1],
                      GLOMFJORD_MW[0], "§5c [kulingen]: 30 MW today, wants 60 MW.",
                      "Mining data centre asking to double."),
        ApplicantSpec("Oslo inference campus", "NO1", "ai_inference", *OSLO_DC_MW,
                      "ESTIMATE size within the >7000 MW DC queue (§5a [altinget]); existing 60 "
                      "MW: ESTIMATE share of the 2.1 TWh DC use in 2024 (§5a). Diurnal profile "
                      "from the §7b household profile, mean 0.7 (class preset).",
                      "AI inference / cloud data centre near Oslo; Elvia's area has no capacity "
                      "for new consumption before 2030-35 (§5f).", "inference_oslo"),
        ApplicantSpec("Stavanger inference campus", "NO2", "ai_inference", 150.0, 40.0,
                      "ESTIMATE size within the >7000 MW DC queue (§5a [altinget]); existing 40 "
                      "MW: ESTIMATE. Diurnal profile as Oslo.",
                      "AI inference / cloud data centre near Stavanger.", "inference_stavanger"),
        ApplicantSpec("Midt-Norge reserved projects", "NO3", "industry", NO3_RESERVED_MW, 0.0,
                      "§5f [statnett_2023]: NO3 +640 MW new reservation on top of >800 MW "
                      "(2023); 1440 MW, none connected yet (ESTIMATE).",
                      "Aggregate of the projects Statnett has reserved capacity for in NO3."),
        ApplicantSpec("Midt-Norge connection queue", "NO3", "industry", NO3_QUEUE_MW, 0.0,
                      "§5f [statnett_2023]: 27 projects / 1400 MW still in the NO3 queue.",
                      "Aggregate of the queued NO3 projects, treated as industry."),
        ApplicantSpec("Yara Herøya electrolyser", "NO2", "hydrogen", YARA_ELECTROLYSER_MW, 0.0,
                      "§8 item 8: a Yara 24 MW electrolyser figure, NOT confirmed by any "
                      "source; used as an ESTIMATE.", "Green-ammonia electrolyser."),
        ApplicantSpec("Nordland hydrogen hub", "NO4", "hydrogen", 100.0, 0.0,
                      "ESTIMATE: generic electrolyser; no Norwegian size found (§8 item 8). Sited "
                      "in NO4 where prices are low (§4a).",
                      "Generic hydrogen project (hypothetical)."),
        ApplicantSpec("Stargate Norway (Kvandal, Narvik)", "NO4", "ai_training", STARGATE_MW[0],
                      STARGATE_MW[2],
                      "§5b [aker_nscale_2025]: 230 MW planned; first phase 20 MW by end-2026 "
                      "(taken as existing in 2030).",
                      "AI training campus (Aker, Nscale, OpenAI), phase 1."),
        ApplicantSpec("Aker Nscale Korgen", "NO4", "ai_training", KORGEN_MW, 0.0,
                      "§5b [b2bdaily, digi_2025]: 250 MW DC pending Statnett allocation.",
                      "AI data centre campus."),
        ApplicantSpec("Stargate Norway expansion", "NO4", "ai_training", STARGATE_MW[1], 0.0,
                      "§5b [aker_nscale_2025]: ambition +290 MW (to 520 MW in total).",
                      "Second phase of Stargate Norway, a separate request after phase 1."),
        ApplicantSpec("Aker Nscale further Nordland sites", "NO4", "ai_training",
                      AKER_NSCALE_FURTHER_MW, 0.0,
                      "§5b [digi_2025]: Aker Nscale's sites could allow up to 12 TWh/yr; at the "
                      "training profile 0.9 that is ~1520 MW, minus Stargate (520) and Korgen "
                      "(250).", "Further AI campuses in NO4 (sites not named)."),
        ApplicantSpec("Østlandet data-centre queue", "NO1", "ai_inference", OSTLANDET_DC_MW, 0.0,
                      "ESTIMATE: NO1's 26.1 % load share (§1c) of the >7000 MW / 96-DC national "
                      "queue (§5a [altinget]) = 1827 MW, minus the Oslo campus's 240 MW new. DCs "
                      "are >40 % of waiting projects (§5a [kma_2025]). Diurnal profile.",
                      "Aggregate of queued data centres around Oslo (hypothetical split).",
                      "inference_ostlandet"),
    ]
    return [replace(spec, queue_position=i + 1) for i, spec in enumerate(specs)]


SOURCES = {
    "facts": "shared/reference/norway-facts.md (compiled fact sheet; § numbers refer to it).",
    "nve_magasin": "NVE magasinstatistikk API, capacity_twh per zone, data to week 7 of 2026, "
                   "via the EF repository (Aleksandersenmartin/electricity_forecast). §1a, §7c.",
    "entsoe_em": "ENTSO-E installed capacity per production type, as copied into the "
                 "electricitymaps-contrib zone configs (EM). §1b.",
    "cedren_2011": "CEDREN/HydroPEAK 2011: 23405 of 29600 MW hydro in reservoir stations; "
                   "~25000 MW available in winter. §1b.",
    "nm_load_shares": "KTH nordic_model (ElisNycander/nordic_model) load_shares.xlsx, ENTSO-E "
                      "based zone consumption shares. §1c.",
    "statnett_daily": "Statnett daily consumption/production series 2020-2025, via the EF "
                      "repository; 2024 consumption 136.6 TWh (DERIVED). §2, §7a.",
    "ssb_2024": "SSB, 'Rekordhøy strømproduksjon i 2024' (2025): 157.1 TWh, hydro 140.0 TWh, "
                "wind 9.3 %. §2.",
    "ssb_sector": "SSB, 'Markant nedgang i strømforbruket for kraftintensiv industri' (2024): "
                  "power-intensive industry 35.4 TWh in 2023; SSB monthly statistics Feb 2025 "
                  "sector mix. §2.",
    "nve_inflow": "NVE normal inflow 136.7 TWh (from 15 Dec 2021), via Europower 2022. §2.",
    "europower_2021": "Europower, Feb 2021 (Nord Pool data): zone loads at the national "
                      "near-peak hour. §1c, §9.",
    "statnett_record": "Statnett/NRK/E24: hourly consumption record 25230 MWh/h, Feb 2021. §1d.",
    "reldist": "SINTEF RelDist.jl lastprofiler.csv (NVE/SINTEF KILE standard load profiles). §7b.",
    "ef_inflow": "Inflow seasonality DERIVED from NVE weekly storage + 0.90 x Statnett production "
                 "2021-2025 (EF data). §7d.",
    "nve_wind": "NVE wind statistics (capacity factors) and SSB monthly output. §7e.",
    "em": "electricitymaps-contrib exchange configs (capacities tagged source: entsoe.eu); the "
          "KTH nordic_model nordpool_capacities table (NM) agrees unless noted. §3a, §3b.",
    "statnett_nordpool_2013": "Statnett UMM via Nord Pool 2013 (Skagerrak, NorNed). §3b.",
    "nordlink": "windpowermonthly, NS Energy: NordLink Tonstad-Wilster 1400 MW. §3b.",
    "northsealink": "northsealink.com: North Sea Link Kvilldal-Blyth 1400 MW. §3b.",
    "smard": "SMARD/BNetzA 'Evaluation of last year' (2 Jan 2025): DE-LU 2024 mean 78.51 "
             "EUR/MWh. §4b.",
    "ffe": "FfE 2024 market review: Europe 25-country mean ~75 EUR/MWh, Sweden ~36, DE peak 88.2 "
           "/ off-peak 74.8, ~460 negative hours. §4b.",
    "elpriser24": "elpriser24.se (Nord Pool data): SE3 2023 0.592 SEK/kWh. §4b.",
    "norges_bank": "Norges Bank daily EUR/NOK via the EF repository: 2024 mean 11.628. §4a.",
    "hydro": "norskhydro.com: smelters Sunndal (largest in Europe), Karmøy, Årdal, Høyanger, "
             "Husnes. §5e.",
    "alu_web": "alu-web.de: Hydro Husnes 195 kt/yr at full capacity. §5e.",
    "alcoa_steelmint": "Alcoa via SteelMint 2022: Mosjøen 200 kt/yr -> 214 kt by end-2026. §5e.",
    "eurometaux": "Eurometaux: aluminium 14.1 MWh/t global mean; Karmøy pilot <12.3 MWh/t. §5e.",
    "tu_2022": "tu.no 2022: Morrow Arendal 320 MW at full production. §5e.",
    "nrk_2021": "NRK 2021: Freyr Mo i Rana 1.2-1.3 TWh/yr. §5e.",
    "statkraft_freyr": "Statkraft/Freyr 2022: PPA up to 23 MW baseload, 1.4 TWh 2024-31. §5e.",
    "energi_og_klima": "Energi og Klima 2021: Herøya industrial park needs ~1000 MW. §5e.",
    "aker_nscale_2025": "Aker/Nscale/OpenAI press release 31 Jul 2025: Stargate Norway, Kvandal "
                        "(Narvik), 230 MW + 290 MW; first phase 20 MW. §5b.",
    "b2bdaily": "b2bdaily: Aker Nscale 250 MW DC in Korgen pending Statnett allocation. §5b.",
    "digi_2025": "Digi, Dec 2025: Aker Nscale sites could allow up to 12 TWh/yr. §5b.",
    "dagsavisen_2023": "Dagsavisen, May 2023: North Norway crypto plants ~440 GWh in 2022. §5c.",
    "arcane": "Arcane Research 2022: ~120 MW of Norwegian bitcoin mining. §5c.",
    "bt_2018": "BT 2018: Kryptovault, Dale, up to 120 MW. §5c.",
    "kulingen": "Kulingen: Glomfjord mining 30 MW today, wants 60 MW. §5c.",
    "aftenbladet": "Aftenbladet: Terakraft, Sauda, up to 10 MW. §5c.",
    "altinget": "Altinget: 96 DCs in the queue wanting >7000 MW. §5a.",
    "kma_2025": "Statnett KMA 2025-2030 via dagnytt.no: DC applications 6700 MW, >40 % of "
                "waiting projects. §5a.",
    "statnett_2023": "Statnett press release 2023: 7600 MW reserved; NO3: 27 projects / "
                     "1400 MW still in queue. §5f.",
}


# ---------------------------------------------------------------------------------------------
# Policies: the regimes of the debate, each an override of the base (docs/policies.md)
# ---------------------------------------------------------------------------------------------

EUR_NOK = 11.6  # §4a, Norges Bank 2024 mean
FIRM_SUPPLY_MW = 36353.3  # reservoir hydro + gas + interconnector import (planner.session)
FIRM_DEMAND_EXISTING_MW = 25229.9  # protected peaks + firm share of existing connections
MAX_RESERVE_MARGIN = FIRM_SUPPLY_MW / FIRM_DEMAND_EXISTING_MW - 1  # 0.44



def class_weights(**weights: float) -> dict[str, dict[str, float]]:
    """A policy's ``classes`` section that sets only weights (NOK/MWh)."""
    return {cls: {"weight_nok_per_mwh": w} for cls, w in weights.items()}


POLICIES: list[dict[str, Any]] = [
    {"name": "status_quo",
     "description": "The base instance unchanged: every applicant's weight is its class preset "
                    "(willingness to pay or direct value added per MWh, models/load_classes.yaml) "
                    "and its own connection terms; miners on the preset interruptible terms. The "
                    "baseline of every comparison.",
     "source": "models/load_classes.yaml; §5, §6."},
    {"name": "first_come_first_served",
     "description": "Connection in order of request (\"først til mølla\"): protected demand "
                    "first, then the obligations of connections that already exist, then each "
                    "applicant's new capacity in queue order, each its own priority tier, solved "
                    "lexicographically; exports and trade only after the whole queue.",
     "source": "Statnett's queue practice with the maturity regime from 1 Jan 2025 (NEM §§ 3-4, "
               "3-5), §5f [statnett_2023].",
     "tiers": "queue"},
    {"name": "value_creation",
     "description": "Weights from value added per MWh and jobs: industry at value added including "
                    "ripple effects; inference (public digital services, health) above training; "
                    "mining at about its local value added (hosting fees), far below the rest.",
     "source": "Industry 1 700 NOK/MWh incl. ripple effects (THEMA, §6b). Inference 1 500 and "
               "training 900 NOK/MWh: ESTIMATE from 4-5 jobs per MW (§6b, disputed). Hydrogen "
               "700: ESTIMATE (decarbonises fertiliser and industry). Mining 100: ESTIMATE (few "
               "local jobs; the government moved to stop new PoW data centres in 2025, §5c).",
     "classes": class_weights(industry=1700.0, ai_inference=1500.0, ai_training=900.0,
                              hydrogen=700.0, bitcoin_mining=100.0)},
    {"name": "market",
     "description": "Weights = willingness to pay: each MWh goes to whoever would pay most for "
                    "it, as in a market with no priority rules. Industry's willingness to pay is "
                    "its long-term contract level, far below AI's.",
     "source": "AI training 1 500 and inference 1 800 NOK/MWh (presets, §4b, §5a); mining "
               "550 (§5c break-even net of costs); industry 45 EUR/MWh x 11.6 = 522 NOK/MWh "
               "(ESTIMATE: long-term contract level of the smelters); hydrogen 40 EUR/MWh "
               "(§8 item 8).",
     "classes": class_weights(ai_training=1500.0, ai_inference=1800.0, bitcoin_mining=550.0,
                              industry=round(45 * EUR_NOK, 1), hydrogen=round(40 * EUR_NOK, 1))},
    {"name": "flexible_mining",
     "description": "Miners only on interruptible terms (firm share 0, any curtailment) and used "
                    "to balance the system: they come last, after every other load and after "
                    "trade, so they take only energy that would otherwise be spilled or curtailed.",
     "source": "Connection with curtailment terms, NEM § 3-2(3) (§5f); miners switch off in "
               "expensive hours (NRK 2022, §5c).",
     "classes": {"bitcoin_mining": {"firm_share": 0.0, "max_curtailment_share": 1.0}},
     "tiers": [["*", "trade"], ["bitcoin_mining"]]},
    {"name": "domestic_first",
     "description": "Exports capped: net exports over the interconnectors at most 5 TWh a year, "
                    "about a quarter of 2024's 18.4 TWh, so the energy stays for domestic use.",
     "source": "Net export 2024 18.4 TWh, 12-22 TWh in 2020-2025 (§2); cap: ESTIMATE of the "
               "proposals to limit exports.",
     "export_cap_twh": 5.0},
    {"name": "reserve_margin",
     "description": "A high reserve margin: (1 + 0.4) x firm demand granted may not exceed the "
                    "firm supply capacity (reservoir turbines, gas, interconnector import). "
                    "Systems holding 80-100 % reserves are the model, but in this instance even "
                    "the load already connected allows at most "
                    f"{MAX_RESERVE_MARGIN:.0%}, so 40 % is the highest round margin that holds.",
     "source": "Capacities §1b, §3b; firm demand = protected peaks + firm share of existing "
               "connections (this instance).",
     "reserve_margin": {"margin": 0.4, "scope": "system"}},
]


# ---------------------------------------------------------------------------------------------
# Random streams and generic series helpers
# ---------------------------------------------------------------------------------------------


def rng_for(component: str) -> np.random.Generator:
    """An independent, reproducible random stream for one named component."""
    return np.random.default_rng([SEED, zlib.crc32(component.encode())])


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """Stationary AR(1) series with unit variance and lag-1 correlation ``phi``."""
    eps = rng.standard_normal(n)
    out = np.empty(n)
    out[0] = eps[0]
    scale = np.sqrt(1.0 - phi * phi)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + scale * eps[t]
    return out


def hourly_index() -> pd.DatetimeIndex:
    """The 8760 hourly timestamps of the horizon."""
    return pd.date_range(START, periods=HOURS, freq="h")


def month_of(idx: pd.DatetimeIndex) -> np.ndarray:
    """Month number 0..11 of every hour."""
    return idx.month.to_numpy() - 1


def monthly_mean(values: np.ndarray, idx: pd.DatetimeIndex) -> np.ndarray:
    """Mean of an hourly series in each calendar month (12 values)."""
    month = month_of(idx)
    return np.bincount(month, weights=values, minlength=12) / np.bincount(month, minlength=12)


def smooth_monthly(targets: Sequence[float], idx: pd.DatetimeIndex) -> np.ndarray:
    """Smooth hourly series whose monthly means equal ``targets`` exactly.

    Piecewise-linear through mid-month nodes (periodic over the year); the nodes are adjusted
    until every month's mean matches, then a last per-month factor removes the residual.
    """
    month = month_of(idx)
    counts = np.bincount(month, minlength=12)
    centres = np.cumsum(counts) - counts / 2.0
    n = len(idx)
    xs = np.concatenate([[centres[-1] - n], centres, [centres[0] + n]])
    t = np.arange(n) + 0.5
    target = np.asarray(targets, dtype=float)
    nodes = target.copy()
    for _ in range(200):
        series = np.interp(t, xs, np.concatenate([[nodes[-1]], nodes, [nodes[0]]]))
        nodes = nodes * target / monthly_mean(series, idx)
    series = np.interp(t, xs, np.concatenate([[nodes[-1]], nodes, [nodes[0]]]))
    return series * (target / monthly_mean(series, idx))[month]


def daily_to_hourly(daily: np.ndarray, idx: pd.DatetimeIndex) -> np.ndarray:
    """Linear interpolation of one value per day (at noon) to every hour."""
    t = np.arange(len(idx)) + 0.5
    return np.interp(t, np.arange(len(daily)) * 24 + 12.0, daily)


def clear_sky(idx: pd.DatetimeIndex, lat_deg: float, lon_deg: float) -> np.ndarray:
    """Sine of the sun's elevation (clipped at 0) at the middle of each CET hour."""
    doy = idx.day_of_year.to_numpy()
    solar_time = idx.hour.to_numpy() + 0.5 + (lon_deg - 15.0) / 15.0
    decl = np.radians(23.44) * np.sin(2 * np.pi * (284 + doy) / 365.0)
    lat = np.radians(lat_deg)
    hour_angle = np.radians(15.0 * (solar_time - 12.0))
    sin_elev = np.sin(lat) * np.sin(decl) + np.cos(lat) * np.cos(decl) * np.cos(hour_angle)
    return np.clip(sin_elev, 0.0, None)


def cloudy_sun(idx: pd.DatetimeIndex, lat_lon: tuple[float, float], component: str) -> np.ndarray:
    """Clear-sky shape times a seeded daily cloudiness factor in [0.25, 1] (ESTIMATE)."""
    days = HOURS // 24
    cloud = 0.25 + 0.75 * rng_for(component).beta(2.0, 1.5, days)
    return clear_sky(idx, *lat_lon) * np.repeat(cloud, 24)


def scale_to_mean(shape: np.ndarray, mean: float, cap: float = 1.0) -> np.ndarray:
    """Scale a non-negative shape so that min(cap, k x shape) has the given mean (bisection)."""
    lo, hi = 0.0, 1.0
    while np.minimum(cap, hi * shape).mean() < mean:
        hi *= 2.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if np.minimum(cap, mid * shape).mean() < mean else (lo, mid)
    return np.minimum(cap, hi * shape)


def solve_increasing(f: Any, target: float, lo: float, hi: float, iters: int = 60) -> float:
    """Bisection for x in [lo, hi] with f(x) = target, f increasing."""
    for _ in range(iters):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return (lo + hi) / 2


def sigmoid(x: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-x))


# ---------------------------------------------------------------------------------------------
# Supply
# ---------------------------------------------------------------------------------------------


def zone_inflow_twh() -> dict[str, float]:
    """NVE normal inflow 136.7 TWh (§2) split by the zones' share of hydro MW (§1b)."""
    total_mw = sum(HYDRO_MW_2025.values())
    return {z: NORMAL_INFLOW_TWH * HYDRO_MW_2025[z] / total_mw for z in ZONES}


def inflow_month_relative(idx: pd.DatetimeIndex) -> np.ndarray:
    """Monthly mean of the hourly inflow relative to the annual mean (§7d shares, normalised)."""
    shares = np.asarray(INFLOW_MONTH_SHARE_PCT) / sum(INFLOW_MONTH_SHARE_PCT)
    counts = np.bincount(month_of(idx), minlength=12)
    return shares * len(idx) / counts


def total_inflow(idx: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Hourly total hydro inflow per zone (MWh/h): smooth §7d shape x seeded daily noise."""
    rel = inflow_month_relative(idx)
    base = smooth_monthly(rel, idx)
    month = month_of(idx)
    out = {}
    for zone, twh in zone_inflow_twh().items():
        daily = ar1(rng_for(f"inflow:{zone}"), HOURS // 24, INFLOW_NOISE_AR1)
        noisy = base * np.exp(INFLOW_NOISE_SD * daily_to_hourly(daily, idx))
        noisy *= (rel / monthly_mean(noisy, idx))[month]
        out[zone] = noisy * twh * 1e6 / len(idx)
    return out


def hydro_series(idx: pd.DatetimeIndex) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(run-of-river availability, reservoir inflow MWh/h) per zone, rounded as written.

    Run-of-river gets its MW share of the zone's inflow, shaped like the inflow and capped at 1;
    the reservoir receives the rest, so the two add up to the zone's total inflow.
    """
    ror_avail, res_inflow = {}, {}
    for zone, inflow in total_inflow(idx).items():
        cf = inflow.mean() / HYDRO_MW_2025[zone]
        avail = np.round(np.minimum(1.0, cf * inflow / inflow.mean()), 3) + 0.0
        ror_mw = HYDRO_MW_2025[zone] * (1 - RESERVOIR_MW_SHARE)
        ror_avail[zone] = avail
        res_inflow[zone] = np.round(np.clip(inflow - ror_mw * avail, 0.0, None), 1) + 0.0
    return ror_avail, res_inflow


def reservoir_availability(ror_avail: dict[str, np.ndarray], idx: pd.DatetimeIndex
                           ) -> dict[str, float]:
    """Reservoir-turbine availability so all hydro reaches 82.5 % of nameplate in Jan-Feb (§1b)."""
    winter = month_of(idx) < 2
    out = {}
    for zone in ZONES:
        hydro = HYDRO_MW_2025[zone]
        ror_winter = (1 - RESERVOIR_MW_SHARE) * hydro * ror_avail[zone][winter].mean()
        need = (HYDRO_WINTER_AVAILABLE_SHARE * hydro - ror_winter) / (RESERVOIR_MW_SHARE * hydro)
        out[zone] = round(min(1.0, need), 2)
    return out


def wind_seasonal_target(idx: pd.DatetimeIndex) -> np.ndarray:
    """Monthly wind capacity-factor targets: cosine, annual mean 0.324, Jan/Feb ≈ 0.39 (§7e)."""
    doy = idx.day_of_year.to_numpy() - 1 + idx.hour.to_numpy() / 24
    winter = float(np.mean(WIND_CF_WINTER))
    amplitude = (winter - WIND_CF_ANNUAL) / np.cos(2 * np.pi * (45 - WIND_PEAK_DAY) / 365)
    curve = WIND_CF_ANNUAL + amplitude * np.cos(2 * np.pi * (doy - WIND_PEAK_DAY) / 365)
    curve += WIND_CF_ANNUAL - curve.mean()
    return monthly_mean(curve, idx)


def wind_availability(idx: pd.DatetimeIndex) -> dict[str, np.ndarray]:
    """Hourly wind availability per zone with wind capacity: logistic of a correlated AR(1)."""
    targets = wind_seasonal_target(idx)
    month = month_of(idx)
    common = ar1(rng_for("wind:national"), HOURS, WIND_AR1)
    out = {}
    for zone in ZONES:
        if WIND_MW[zone] <= 0:
            continue
        own = ar1(rng_for(f"wind:{zone}"), HOURS, WIND_AR1)
        x = WIND_LOGISTIC_SPREAD * (np.sqrt(WIND_NATIONAL_SHARE) * common
                                    + np.sqrt(1 - WIND_NATIONAL_SHARE) * own)
        avail = np.empty(HOURS)
        for m in range(12):
            xm = x[month == m]
            b = solve_increasing(lambda b, xm=xm: sigmoid(b + xm).mean(), targets[m], -10, 10)
            avail[month == m] = sigmoid(b + xm)
        out[zone] = np.round(avail, 3) + 0.0
    return out


def solar_availability(idx: pd.DatetimeIndex) -> np.ndarray:
    """NO1 solar availability: Oslo clear sky x daily cloudiness, annual mean 0.10 (preset)."""
    shape = cloudy_sun(idx, OSLO_LAT_LON, "solar:NO1")
    return np.round(scale_to_mean(shape, SOLAR_CF), 3) + 0.0


# ---------------------------------------------------------------------------------------------
# Prices
# ---------------------------------------------------------------------------------------------


def price_daily_shape(idx: pd.DatetimeIndex) -> np.ndarray:
    """Household winter profile (§7b) by hour, weekday or weekend, minus 1 (mean about 0)."""
    hour = idx.hour.to_numpy()
    weekend = idx.day_of_week.to_numpy() >= 5
    wd = np.asarray(HOUSEHOLD_WINTER_WEEKDAY)[hour]
    we = np.asarray(HOUSEHOLD_WINTER_WEEKEND)[hour]
    return np.where(weekend, we, wd) - 1.0


def is_peak_hour(idx: pd.DatetimeIndex) -> np.ndarray:
    """Continental 'peak' product hours: weekdays 08:00-20:00."""
    hour = idx.hour.to_numpy()
    return (idx.day_of_week.to_numpy() < 5) & (hour >= 8) & (hour < 20)


@dataclass(frozen=True)
class PriceParts:
    """The ingredients of one market's price series (EUR/MWh before the mean shift)."""

    level: float
    season: np.ndarray
    daily: np.ndarray
    weekend: np.ndarray
    noise: np.ndarray
    solar: np.ndarray

    def build(self, amplitude: float, dip: float) -> np.ndarray:
        """Prices with daily-shape ``amplitude`` and solar dip ``dip`` (x level), exact mean."""
        raw = (self.level * self.season * (1 + amplitude * self.daily) * self.weekend
               * (1 + PRICE_NOISE_SD * self.noise) - dip * self.level * self.solar)
        floor = NEGATIVE_PRICE_FLOOR * self.level
        raw = np.where(raw < 0, -floor * (1 - np.exp(raw / floor)), raw)
        return raw + (self.level - raw.mean())


def price_parts(idx: pd.DatetimeIndex) -> dict[str, PriceParts]:
    """Seasonal, daily, weekend, noise and solar components of every market."""
    doy = idx.day_of_year.to_numpy() - 1 + idx.hour.to_numpy() / 24
    season = 1 + PRICE_SEASON_AMPLITUDE * np.cos(2 * np.pi * (doy - 15) / 365)
    weekend = np.where(idx.day_of_week.to_numpy() >= 5, PRICE_WEEKEND_FACTOR, 1.0)
    daily = price_daily_shape(idx)
    groups = {"nordic": ar1(rng_for("price:nordic"), HOURS, PRICE_NOISE_AR1),
              "continent": ar1(rng_for("price:continent"), HOURS, PRICE_NOISE_AR1)}
    solar = (cloudy_sun(idx, GERMANY_LAT_LON, "price:solar") / clear_sky(idx, *GERMANY_LAT_LON)
             .max()) ** DE_DIP_SHARPNESS
    solar *= np.where(idx.day_of_week.to_numpy() >= 5, 1.0, DE_DIP_WEEKDAY_WEIGHT)
    parts = {}
    for market, (level, _) in MARKET_EUR_PER_MWH.items():
        group = groups["nordic" if market in NORDIC_MARKETS else "continent"]
        own = ar1(rng_for(f"price:{market}"), HOURS, PRICE_NOISE_AR1)
        noise = np.sqrt(PRICE_GROUP_SHARE) * group + np.sqrt(1 - PRICE_GROUP_SHARE) * own
        parts[market] = PriceParts(level, season, daily, weekend, noise,
                                   solar if market == "DE" else np.zeros(HOURS))
    return parts


def peak_ratio(prices: np.ndarray, peak: np.ndarray) -> float:
    """Mean price in peak hours over mean price in off-peak hours."""
    return float(prices[peak].mean() / prices[~peak].mean())


def calibrate_germany(parts: PriceParts, idx: pd.DatetimeIndex) -> tuple[float, float]:
    """(daily amplitude, solar dip) giving DE ~460 negative hours and peak/off-peak 88.2/74.8."""
    peak = is_peak_hour(idx)

    def dip_for(amplitude: float) -> float:
        return solve_increasing(lambda d: (parts.build(amplitude, d) < 0).sum(),
                                DE_NEGATIVE_HOURS - 0.5, 0.0, 20.0)

    amplitude = solve_increasing(lambda a: peak_ratio(parts.build(a, dip_for(a)), peak),
                                 DE_PEAK_EUR / DE_OFFPEAK_EUR, 0.0, 5.0, iters=40)
    return amplitude, dip_for(amplitude)


def continental_amplitude(parts: PriceParts, idx: pd.DatetimeIndex) -> float:
    """Daily amplitude giving DE's peak/off-peak ratio without a solar dip (NL, DK1, GB)."""
    peak = is_peak_hour(idx)
    return solve_increasing(lambda a: peak_ratio(parts.build(a, 0.0), peak),
                            DE_PEAK_EUR / DE_OFFPEAK_EUR, 0.0, 5.0, iters=40)


def market_prices(idx: pd.DatetimeIndex) -> pd.DataFrame:
    """Hourly prices of all markets in NOK/MWh (1 decimal), annual means exact before rounding."""
    parts = price_parts(idx)
    de_amplitude, dip = calibrate_germany(parts["DE"], idx)
    amplitude = continental_amplitude(parts["DE"], idx)
    out = {}
    for market, part in parts.items():
        if market == "DE":
            amp = de_amplitude
        elif market in NORDIC_MARKETS:
            amp = NORDIC_DAILY_AMPLITUDE * amplitude
        else:
            amp = amplitude
        out[market] = np.round(part.build(amp, dip) * NOK_PER_EUR, 1) + 0.0
    return pd.DataFrame(out)


# ---------------------------------------------------------------------------------------------
# Demand
# ---------------------------------------------------------------------------------------------


def inference_profiles(idx: pd.DatetimeIndex) -> pd.DataFrame:
    """Diurnal inference profiles (share of connection), mean 0.7 = the ai_inference preset."""
    diurnal = 1 + INFERENCE_DIURNAL_DEPTH * price_daily_shape(idx)
    mean = PRESET_PROFILE["ai_inference"]
    out = {}
    for spec in applicants():
        col = spec.profile_column
        if col is None:
            continue
        noise = INFERENCE_NOISE_SD * ar1(rng_for(f"profile:{col}"), HOURS, 0.9)
        raw = diurnal * (1 + noise)
        out[col] = np.round(np.clip(raw * mean / raw.mean(), 0, 1), 3) + 0.0
    return pd.DataFrame(out)


def existing_load(idx: pd.DatetimeIndex, profiles: pd.DataFrame) -> dict[str, np.ndarray]:
    """Hourly load of the applicants' existing connections per zone (MW), at their profile."""
    out = {z: np.zeros(HOURS) for z in ZONES}
    for spec in applicants():
        if spec.profile_column:
            profile = profiles[spec.profile_column].to_numpy()
        else:
            profile = np.full(HOURS, PRESET_PROFILE[spec.load_class])
        out[spec.zone] += spec.existing_mw * profile
    return out


def demand_daily_profile(idx: pd.DatetimeIndex) -> np.ndarray:
    """Sector blend (§2 SSB Feb 2025) of the §7b profiles: households, tertiary, flat rest."""
    hour = idx.hour.to_numpy()
    weekend = idx.day_of_week.to_numpy() >= 5
    household = np.where(weekend, np.asarray(HOUSEHOLD_WINTER_WEEKEND)[hour],
                         np.asarray(HOUSEHOLD_WINTER_WEEKDAY)[hour])
    tertiary_wd = (np.asarray(OFFICE_WINTER_WEEKDAY) + np.asarray(RETAIL_WINTER_WEEKDAY)) / 2
    tertiary = np.where(weekend, TERTIARY_WEEKEND_FACTOR * np.asarray(RETAIL_WINTER_WEEKDAY)[hour],
                        tertiary_wd[hour])
    flat = SECTOR_SHARE["secondary"] + SECTOR_SHARE["primary"]
    return SECTOR_SHARE["households"] * household + SECTOR_SHARE["tertiary"] * tertiary + flat


@dataclass(frozen=True)
class DemandParts:
    """Zone-independent and zonal ingredients of the protected-demand shape."""

    season: np.ndarray  # §7a monthly factor, smooth, mean 1
    heating: np.ndarray  # 0 in the mildest month .. 1 in the coldest
    daily: np.ndarray  # §7b sector blend
    cold: dict[str, np.ndarray]  # hourly cold-spell anomaly per zone (unit s.d.)
    hourly_noise: dict[str, np.ndarray]

    def shape(self, zone: str, beta: float) -> np.ndarray:
        """Demand shape of a zone with heating factor ``beta``, normalised to mean 1."""
        s = ((1 + beta * (self.season - 1)) * (1 + beta * COLD_SPELL_SD * self.heating
                                                * self.cold[zone])
             * self.daily * (1 + HOURLY_LOAD_NOISE_SD * self.hourly_noise[zone]))
        return s / s.mean()


def demand_parts(idx: pd.DatetimeIndex) -> DemandParts:
    """Build the seasonal, daily and seeded cold-spell components."""
    monthly = np.asarray(MONTHLY_LOAD_MW, dtype=float)
    counts = np.bincount(month_of(idx), minlength=12)
    monthly /= (monthly * counts).sum() / counts.sum()
    season = smooth_monthly(monthly, idx)
    heating = (season - season.min()) / (season.max() - season.min())
    days = HOURS // 24
    national = ar1(rng_for("cold:national"), days, COLD_SPELL_AR1)
    cold, noise = {}, {}
    for zone in ZONES:
        own = ar1(rng_for(f"cold:{zone}"), days, COLD_SPELL_AR1)
        daily = (np.sqrt(COLD_SPELL_NATIONAL_SHARE) * national
                 + np.sqrt(1 - COLD_SPELL_NATIONAL_SHARE) * own)
        cold[zone] = daily_to_hourly(daily, idx)
        noise[zone] = rng_for(f"load-noise:{zone}").standard_normal(HOURS)
    return DemandParts(season, heating, demand_daily_profile(idx), cold, noise)


def zone_consumption_twh() -> dict[str, float]:
    """§1c: NM load share x Statnett 2024 consumption 136.6 TWh."""
    return {z: LOAD_SHARE[z] * CONSUMPTION_2024_TWH for z in ZONES}


def protected_demand(idx: pd.DatetimeIndex, existing: dict[str, np.ndarray]
                     ) -> tuple[pd.DataFrame, dict[str, float]]:
    """Protected demand per zone (MW, 1 decimal) and the solved heating factor beta per zone."""
    parts = demand_parts(idx)
    out, betas = {}, {}
    for zone, twh in zone_consumption_twh().items():
        mean_mw = twh * 1e6 / HOURS - existing[zone].mean()

        def peak(beta: float, zone: str = zone, mean_mw: float = mean_mw) -> float:
            return float((mean_mw * parts.shape(zone, beta) + existing[zone]).max())

        beta = solve_increasing(peak, WINTER_PEAK_MW[zone], 0.0, 4.0)
        betas[zone] = beta
        out[zone] = np.round(mean_mw * parts.shape(zone, beta), 1) + 0.0
    return pd.DataFrame(out), betas


# ---------------------------------------------------------------------------------------------
# Writing: CSV, YAML
# ---------------------------------------------------------------------------------------------


def write_csv(path: Path, table: pd.DataFrame, decimals: dict[str, int],
              idx: pd.DatetimeIndex) -> None:
    """Write a CSV with a leading ``time`` column and fixed decimals per column (by prefix)."""
    cols = list(table.columns)
    lines = ["time," + ",".join(cols)]
    stamps = idx.strftime("%Y-%m-%dT%H:%M")
    digits = [next(d for prefix, d in decimals.items() if c.startswith(prefix)) for c in cols]
    text = [[f"{v:.{d}f}" for v in table[c].to_numpy()] for c, d in zip(cols, digits, strict=True)]
    for i, stamp in enumerate(stamps):
        lines.append(stamp + "," + ",".join(col[i] for col in text))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


_PLAIN = re.compile(r"[^\W\d_][\w .()/\-]*")
_YAML_WORDS = {"yes", "no", "true", "false", "on", "off", "null", "y", "n"}
WRAP = 98


def yaml_scalar(value: Any) -> str:
    """A scalar in YAML 1.2 flow form (strings quoted unless unambiguously plain)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(round(value, 6))
    text = str(value)
    if _PLAIN.fullmatch(text) and text.lower() not in _YAML_WORDS and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)


def yaml_flow(value: dict[str, Any]) -> str:
    """A small mapping in flow style, e.g. a series reference."""
    return "{" + ", ".join(f"{k}: {yaml_scalar(v)}" for k, v in value.items()) + "}"


def yaml_entry(key: str, value: Any, indent: int) -> list[str]:
    """Lines of ``key: value`` at ``indent``; long text becomes a folded block scalar."""
    pad = " " * indent
    if isinstance(value, dict) and all(not isinstance(v, (dict, list)) for v in value.values()) \
            and len(yaml_flow(value)) + indent + len(key) < WRAP:
        return [f"{pad}{key}: {yaml_flow(value)}"]
    if isinstance(value, dict):
        lines = [f"{pad}{key}:"]
        for k, v in value.items():
            lines += yaml_entry(k, v, indent + 2)
        return lines
    if isinstance(value, list):
        lines = [f"{pad}{key}:"]
        for item in value:
            lines += yaml_item(item, indent + 2)
        return lines
    scalar = yaml_scalar(value)
    if isinstance(value, str) and len(scalar) + indent + len(key) + 2 > WRAP:
        assert "  " not in value and "\n" not in value and value == value.strip()
        body = textwrap.wrap(value, WRAP - indent - 2, break_long_words=False,
                             break_on_hyphens=False)
        return [f"{pad}{key}: >-"] + [f"{pad}  {line}" for line in body]
    return [f"{pad}{key}: {scalar}"]


def yaml_item(item: Any, indent: int) -> list[str]:
    """Lines of one list item (``- ...``) at ``indent``."""
    pad = " " * indent
    if isinstance(item, list):
        return [f"{pad}- [" + ", ".join(yaml_scalar(v) for v in item) + "]"]
    if not isinstance(item, dict):
        return [f"{pad}- {yaml_scalar(item)}"]
    lines: list[str] = []
    for k, v in item.items():
        entry = yaml_entry(k, v, indent + 2)
        lines += entry
    lines[0] = pad + "- " + lines[0][indent + 2:]
    return lines


def to_yaml(data: dict[str, Any], comments: dict[str, str]) -> str:
    """The whole document; ``comments`` puts a comment line above chosen top-level keys."""
    lines: list[str] = []
    for key, value in data.items():
        if key in comments:
            lines += ["", f"# {comments[key]}"]
        lines += yaml_entry(key, value, 0)
    return "\n".join(lines) + "\n"


def check_yaml_roundtrip(text: str, data: dict[str, Any]) -> None:
    """If ruamel.yaml is installed, parse the text back and compare with ``data``."""
    try:
        from ruamel.yaml import YAML
    except ImportError:
        return
    parsed = json.loads(json.dumps(YAML(typ="safe", pure=True).load(text)))
    if parsed != json.loads(json.dumps(data)):
        raise RuntimeError("YAML emitter round trip failed")


def check_presets(models_dir: Path) -> None:
    """If ruamel.yaml is installed, check PRESET_PROFILE against models/load_classes.yaml."""
    path = models_dir / "load_classes.yaml"
    try:
        from ruamel.yaml import YAML
    except ImportError:
        return
    if not path.exists():
        return
    classes = YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))
    for name, profile in PRESET_PROFILE.items():
        if float(classes[name].get("profile", 1.0)) != profile:
            raise RuntimeError(f"PRESET_PROFILE[{name!r}] differs from {path}")


# ---------------------------------------------------------------------------------------------
# The instance document
# ---------------------------------------------------------------------------------------------


def series_ref(kind: str, column: str) -> dict[str, str]:
    """A ``{file, column}`` reference to a column of one of the instance's CSV files."""
    return {"file": f"series/{NAME}-{kind}.csv", "column": column}


def supply_entries(res_avail: dict[str, float]) -> list[dict[str, Any]]:
    """Supply section: reservoir hydro, run-of-river, wind, solar and gas per zone."""
    inflow = zone_inflow_twh()
    share = 100 * RESERVOIR_MW_SHARE
    out: list[dict[str, Any]] = []
    for z in ZONES:
        hydro = HYDRO_MW_2025[z]
        out.append({
            "name": f"{z} hydro reservoir", "zone": z, "kind": "hydro_reservoir",
            "capacity_mw": round(RESERVOIR_MW_SHARE * hydro, 1),
            "availability": res_avail[z],
            "storage_mwh": round(RESERVOIR_TWH[z] * 1e6),
            "inflow_mwh": series_ref("supply", f"inflow_{z}"),
            "initial_storage_share": WEEK1_FILLING[z], "final_storage_share": WEEK1_FILLING[z],
            "source": (f"Turbines {share:.0f} % of ENTSO-E 2025 hydro {hydro} MW (§1b [entsoe_em, "
                       f"cedren_2011]). Storage {RESERVOIR_TWH[z]} TWh (§1a [nve_magasin]). Inflow "
                       f"{inflow[z]:.2f} TWh/yr = hydro-MW share of 136.7 TWh (§2 [nve_inflow]) "
                       "minus the run-of-river part, §7d monthly shape [ef_inflow]. Storage share "
                       "at start and end = week-1 median (§7c). Availability "
                       f"{res_avail[z]:g} (override of the preset 0.85): with run-of-river at its "
                       "Jan-Feb level, all hydro is then ~82 % available in winter, inside §1b's "
                       "80-85 %."),
        })
        out.append({
            "name": f"{z} run-of-river", "zone": z, "kind": "run_of_river",
            "capacity_mw": round((1 - RESERVOIR_MW_SHARE) * hydro, 1),
            "availability": series_ref("supply", f"ror_{z}"),
            "source": (f"{100 - share:.0f} % of ENTSO-E 2025 hydro MW (§1b [entsoe_em, "
                       "cedren_2011]); availability follows the zone's inflow (§7d), capped at 1."),
        })
    for z in ZONES:
        if WIND_MW[z] > 0:
            out.append({
                "name": f"{z} wind", "zone": z, "kind": "wind", "capacity_mw": WIND_MW[z],
                "availability": series_ref("supply", f"wind_{z}"),
                "source": ("ENTSO-E onshore wind MW (§1b [entsoe_em]); availability mean 0.324 "
                           "(§7e [nve_wind]), winter ≈ 0.39 (§7e), seeded AR(1)."),
            })
    for z, mw in SOLAR_MW_2025.items():
        out.append({
            "name": f"{z} solar", "zone": z, "kind": "solar", "capacity_mw": mw,
            "availability": series_ref("supply", f"solar_{z}"),
            "source": ("ENTSO-E 2025 solar MW (§1b [entsoe_em]); clear-sky shape, mean 0.10 "
                       "(preset ESTIMATE); negligible (§7f)."),
        })
    for z, mw in GAS_MW.items():
        out.append({
            "name": f"{z} gas", "zone": z, "kind": "thermal", "capacity_mw": mw,
            "source": "ENTSO-E gas MW (§1b [entsoe_em], §7f); cost and availability: preset.",
        })
    return out


def network_entries() -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Lines (§3a, EM values) and interconnectors (§3b)."""
    lines = [{"name": f"{a}-{b}", "from": a, "to": b, "capacity_mw": ab,
              "reverse_capacity_mw": ba,
              "source": f"§3a [em]: {a}->{b} {ab:g} MW, {b}->{a} {ba:g} MW (EM values)."}
             for a, b, ab, ba in LINES]
    ics = [{"name": name, "zone": zone, "market": market, "export_mw": exp, "import_mw": imp,
            "source": f"§3b [{key}]: {note}."}
           for name, zone, market, exp, imp, key, note in INTERCONNECTORS]
    return lines, ics


def applicant_entries() -> list[dict[str, Any]]:
    """Applicants section, in queue order."""
    out = []
    for spec in sorted(applicants(), key=lambda s: s.queue_position):
        entry: dict[str, Any] = {"name": spec.name, "zone": spec.zone, "class": spec.load_class,
                                 "requested_mw": spec.requested_mw}
        if spec.existing_mw > 0:
            entry["existing_mw"] = spec.existing_mw
        entry["queue_position"] = spec.queue_position
        if spec.profile_column:
            entry["profile"] = series_ref("profiles", spec.profile_column)
        entry.update(spec.overrides)
        if spec.description:
            entry["description"] = spec.description
        entry["source"] = spec.source
        out.append(entry)
    return out


def protected_entries(existing: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    """One protected ``households`` demand per zone (general consumption minus existing loads)."""
    consumption = zone_consumption_twh()
    out = []
    for z in ZONES:
        ex_twh = existing[z].sum() / 1e6
        out.append({
            "name": f"{z} general consumption", "zone": z, "class": "households",
            "demand_mw": series_ref("demand", z),
            "source": (f"{consumption[z]:.2f} TWh = NM share {LOAD_SHARE[z]:.1%} x 136.6 TWh "
                       f"(§1c [nm_load_shares], §2 [statnett_daily]) minus {ex_twh:.2f} TWh of "
                       "applicants' existing load in the zone. Shape: §7a months, §7b profiles "
                       f"blended by the §2 sector mix; peak solved to §9's {WINTER_PEAK_MW[z]:g} "
                       "MW [europower_2021]."),
        })
    return out


def market_entries() -> list[dict[str, Any]]:
    """Markets with price series in NOK/MWh."""
    return [{"name": m, "price_nok_per_mwh": series_ref("prices", m),
             "source": (f"Annual mean {eur:g} EUR/MWh x 11.6 NOK/EUR (§4a [norges_bank]); {why}. "
                        "Shape: winter-high season, §7b daily shape, seeded AR(1).")}
            for m, (eur, why) in MARKET_EUR_PER_MWH.items()]


DESCRIPTION = (
    "Realistic Norway instance for 2030: five bidding zones NO1-NO5 with hydro reservoirs, "
    "run-of-river, wind, solar and gas; internal NTCs and interconnectors to eight foreign markets "
    "with hourly prices; general consumption as protected demand; and a connection queue of 24 "
    "applicants (aluminium, batteries, hydrogen, AI training and inference, bitcoin mining). "
    "Requests far exceed the spare energy: NO1 is in deficit, NO4 has surplus behind weak export "
    "lines. Generated by instances/make_norway.py (seeded); every figure cites a section of "
    "shared/reference/norway-facts.md; see instances/norway-2030-calibration.md. Hours are CET "
    "without daylight-saving shift."
)


def build_document(res_avail: dict[str, float], existing: dict[str, np.ndarray]
                   ) -> dict[str, Any]:
    """The instance as a plain dict in output order."""
    lines, ics = network_entries()
    return {
        "name": NAME,
        "description": DESCRIPTION,
        "currency": "NOK",
        "time": {"start": START, "hours": HOURS},
        "zones": [{"name": z, "description": ZONE_DESCRIPTION[z]} for z in ZONES],
        "markets": market_entries(),
        "lines": lines,
        "interconnectors": ics,
        "supply": supply_entries(res_avail),
        "applicants": applicant_entries(),
        "protected_demand": protected_entries(existing),
        "policies": POLICIES,
        "sources": SOURCES,
    }


SECTION_COMMENTS = {
    "markets": "Foreign markets: hourly prices in NOK/MWh (§4b, 11.6 NOK/EUR).",
    "lines": "Internal NTCs (§3a, EM values).",
    "interconnectors": "Interconnectors abroad (§3b).",
    "supply": "Supply per zone (§1a, §1b, §2, §7c-§7f).",
    "applicants": "The connection queue (§5); queue_position 1 = earliest request.",
    "protected_demand": "General consumption per zone minus the existing applicants (§1c, §7a, "
                        "§7b, §9).",
    "policies": "The regimes of the debate (docs/policies.md); `planner compare ... --all`.",
    "sources": "Citations referred to by the `source` fields ([key]).",
}


# ---------------------------------------------------------------------------------------------
# Calibration
# ---------------------------------------------------------------------------------------------


def _read(instance_dir: Path, kind: str) -> pd.DataFrame:
    """One of the instance's CSV files."""
    return pd.read_csv(instance_dir / "series" / f"{NAME}-{kind}.csv")


def _row(quantity: str, scope: str, value: float, target: float | None, tol: str,
         basis: str) -> dict[str, Any]:
    """One calibration-table row."""
    return {"quantity": quantity, "scope": scope, "value": round(float(value), 3),
            "target": target, "tolerance": tol, "basis": basis}


def calibration_table(instance_dir: str | Path) -> list[dict[str, Any]]:
    """Annual totals computed from the written CSV files against the fact-sheet targets."""
    d = Path(instance_dir)
    supply, demand = _read(d, "supply"), _read(d, "demand")
    prices, profiles = _read(d, "prices"), _read(d, "profiles")
    idx = hourly_index()
    existing = existing_load(idx, profiles)
    inflow_target = zone_inflow_twh()
    rows = []
    total_mw = {z: demand[z].to_numpy() + existing[z] for z in ZONES}
    consumption = zone_consumption_twh()
    for z in ZONES:
        ror = supply[f"ror_{z}"].sum() * HYDRO_MW_2025[z] * (1 - RESERVOIR_MW_SHARE) / 1e6
        res = supply[f"inflow_{z}"].sum() / 1e6
        wind = supply[f"wind_{z}"].sum() * WIND_MW[z] / 1e6 if WIND_MW[z] > 0 else 0.0
        rows += [
            _row("protected demand TWh", z, demand[z].sum() / 1e6, None, "-",
                 "§1c minus existing applicants"),
            _row("existing applicants TWh (at profile)", z, existing[z].sum() / 1e6, None, "-",
                 "§5"),
            _row("consumption TWh (protected + existing)", z, total_mw[z].sum() / 1e6,
                 round(consumption[z], 3), "±0.5 %", "§1c: NM share x 136.6"),
            _row("peak MW (protected + existing)", z, total_mw[z].max(), WINTER_PEAK_MW[z],
                 "±3 %", "§9"),
            _row("reservoir inflow TWh", z, res, None, "-", "inflow minus run-of-river"),
            _row("run-of-river potential TWh", z, ror, None, "-", "§1b 22 % of MW"),
            _row("hydro inflow TWh (reservoir + run-of-river)", z, res + ror,
                 round(inflow_target[z], 3), "±0.5 %", "§2 136.7 TWh x hydro-MW share"),
            _row("wind potential TWh", z, wind, round(WIND_MW[z] * WIND_CF_ANNUAL * HOURS / 1e6,
                                                      3), "±2 %", "§1b MW x 0.324 (§7e)"),
            _row("hydro + wind potential TWh", z, res + ror + wind,
                 PRODUCTION_ESTIMATE_TWH[z], "±25 %", "§1c production ESTIMATE"),
            _row("storage TWh", z, RESERVOIR_TWH[z], RESERVOIR_TWH[z], "exact", "§1a latest"),
        ]
    national = sum(total_mw.values())
    res = sum(supply[f"inflow_{z}"].sum() for z in ZONES) / 1e6
    ror = sum(supply[f"ror_{z}"].sum() * HYDRO_MW_2025[z] * (1 - RESERVOIR_MW_SHARE)
              for z in ZONES) / 1e6
    wind = sum(supply[f"wind_{z}"].sum() * WIND_MW[z] for z in ZONES if WIND_MW[z] > 0) / 1e6
    winter = month_of(idx) < 2
    wind_mw = sum(WIND_MW.values())
    wind_winter = sum(supply[f"wind_{z}"].to_numpy()[winter].mean() * WIND_MW[z]
                      for z in ZONES if WIND_MW[z] > 0) / wind_mw
    daily_max = national.reshape(-1, 24).mean(axis=1).max()
    rows += [
        _row("protected demand TWh", "Norway", sum(demand[z].sum() for z in ZONES) / 1e6,
             None, "-", "§1c minus existing"),
        _row("existing applicants TWh (at profile)", "Norway",
             sum(e.sum() for e in existing.values()) / 1e6, None, "-", "§5"),
        _row("consumption TWh (protected + existing)", "Norway", national.sum() / 1e6,
             CONSUMPTION_2024_TWH, "±0.5 %", "§2 Statnett 2024"),
        _row("peak MW (protected + existing)", "Norway", national.max(), NATIONAL_PEAK_MW,
             "±5 %", "§1d record Feb 2021"),
        _row("highest daily-mean load MW", "Norway", daily_max, NATIONAL_MAX_DAILY_MEAN_MW,
             "±7 %", "§1d 2021-2025"),
        _row("Jan/Jul mean-load ratio", "Norway",
             monthly_mean(national, idx)[0] / monthly_mean(national, idx)[6],
             round(MONTHLY_LOAD_MW[0] / MONTHLY_LOAD_MW[6], 3), "±10 %", "§7a"),
        _row("hydro inflow TWh (reservoir + run-of-river)", "Norway", res + ror,
             NORMAL_INFLOW_TWH, "±0.5 %", "§2 NVE normal"),
        _row("hydro potential TWh vs 2024 output", "Norway", res + ror, HYDRO_OUTPUT_2024_TWH,
             "±3 %", "§2 SSB 2024"),
        _row("run-of-river potential TWh", "Norway", ror, None, "-", "§1b 22 % of MW"),
        _row("wind potential TWh", "Norway", wind, round(WIND_OUTPUT_2024_TWH, 2), "±3 %",
             "§2 SSB: 9.3 % of 157.1 TWh"),
        _row("wind mean availability Jan-Feb", "Norway", wind_winter,
             round(float(np.mean(WIND_CF_WINTER)), 3), "±0.03", "§7e"),
        _row("storage TWh", "Norway", sum(RESERVOIR_TWH.values()), 87.44, "±0.1 %", "§1a"),
        _row("applicants", "Norway", len(applicants()), None, "-", "brief: 20-30"),
        _row("new requested MW (requested - existing)", "Norway",
             sum(a.requested_mw - a.existing_mw for a in applicants()), RESERVED_NEW_MW, "-",
             "§5f: 7600 MW reserved for new customers (2023)"),
    ]
    inflow_total = sum(supply[f"inflow_{z}"].to_numpy() + supply[f"ror_{z}"].to_numpy()
                       * HYDRO_MW_2025[z] * (1 - RESERVOIR_MW_SHARE) for z in ZONES)
    monthly = np.bincount(month_of(idx), weights=inflow_total, minlength=12)
    for m, pct in enumerate(INFLOW_MONTH_SHARE_PCT):
        rows.append(_row("inflow share of year %", pd.Timestamp(2030, m + 1, 1).strftime("%b"),
                         100 * monthly[m] / monthly.sum(), pct, "±0.3 pp", "§7d"))
    for m, (eur, _) in MARKET_EUR_PER_MWH.items():
        rows.append(_row("mean price EUR/MWh", m, prices[m].mean() / NOK_PER_EUR, eur, "±0.5 %",
                         "§4b"))
    de = prices["DE"].to_numpy()
    peak = is_peak_hour(idx)
    rows += [
        _row("DE negative-price hours", "DE", (de < 0).sum(), DE_NEGATIVE_HOURS, "±10 %", "§4b"),
        _row("DE peak / off-peak ratio", "DE", de[peak].mean() / de[~peak].mean(),
             round(DE_PEAK_EUR / DE_OFFPEAK_EUR, 3), "±2 %", "§4b FfE"),
    ]
    return rows


def write_calibration(path: Path, rows: list[dict[str, Any]], betas: dict[str, float]) -> None:
    """The calibration table as Markdown."""
    out = [
        "# norway-2030: calibration against the fact sheet",
        "",
        "Generated by `instances/make_norway.py` from the written CSV files (values after "
        "rounding).",
        "\"§\" = section of `shared/reference/norway-facts.md`. \"Existing applicants\" is each",
        "applicant's `existing_mw` x its profile (class preset or profile series). A tolerance of",
        "\"-\" means the row is reported, not asserted.",
        "",
        "| Quantity | Scope | Value | Target | Tolerance | Basis |",
        "|---|---|---:|---:|---|---|",
    ]
    for r in rows:
        target = "-" if r["target"] is None else f"{r['target']:g}"
        out.append(f"| {r['quantity']} | {r['scope']} | {r['value']:g} | {target} | "
                   f"{r['tolerance']} | {r['basis']} |")
    out += ["", "Solved heating factor beta per zone (scales the §7a seasonal swing and the cold "
            "spells so the zone peak matches §9): "
            + ", ".join(f"{z} {b:.3f}" for z, b in betas.items()) + ".", ""]
    path.write_text("\n".join(out), encoding="utf-8")


# ---------------------------------------------------------------------------------------------
# Teaching week
# ---------------------------------------------------------------------------------------------

TEACHING_WEEK = slice(144, 312)  # 7-13 Jan 2030, Monday 00:00 to Sunday 23:00
TEACHING_MEAN = {"inflow_North": 150.0, "demand_North": 250.0, "demand_South": 500.0}  # MW


def write_teaching_week(out_dir: Path, idx: pd.DatetimeIndex, tables: dict[str, pd.DataFrame]
                        ) -> None:
    """Series of teaching/two-zones-week.yaml: week 2 of this instance, scaled to small zones.

    North takes NO4's inflow and demand shape, South NO1's demand shape and NO2's wind; prices
    are DE's and the inference profile is Oslo's, all unchanged. Means are set by TEACHING_MEAN.
    """
    w = TEACHING_WEEK
    supply, demand = tables["supply"], tables["demand"]

    def scaled(values: pd.Series, key: str) -> np.ndarray:
        week = values.to_numpy()[w]
        return np.round(week * TEACHING_MEAN[key] / week.mean(), 1) + 0.0

    table = pd.DataFrame({
        "price_DE": tables["prices"]["DE"].to_numpy()[w],
        "wind_South": supply["wind_NO2"].to_numpy()[w],
        "inflow_North": scaled(supply["inflow_NO4"], "inflow_North"),
        "demand_North": scaled(demand["NO4"], "demand_North"),
        "demand_South": scaled(demand["NO1"], "demand_South"),
        "profile_inference": tables["profiles"]["inference_oslo"].to_numpy()[w],
    })
    folder = out_dir / "teaching" / "series"
    folder.mkdir(parents=True, exist_ok=True)
    write_csv(folder / "two-zones-week.csv", table,
              {"price": 1, "wind": 3, "inflow": 1, "demand": 1, "profile": 3}, idx[w])


# ---------------------------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------------------------


def generate(out_dir: Path) -> None:
    """Write the instance, its CSV series and the calibration table into ``out_dir``."""
    check_presets(Path(__file__).resolve().parent.parent / "models")
    idx = hourly_index()
    series_dir = out_dir / "series"
    series_dir.mkdir(parents=True, exist_ok=True)

    ror_avail, res_inflow = hydro_series(idx)
    wind = wind_availability(idx)
    supply = pd.DataFrame({**{f"inflow_{z}": res_inflow[z] for z in ZONES},
                           **{f"ror_{z}": ror_avail[z] for z in ZONES},
                           **{f"wind_{z}": wind[z] for z in wind},
                           **{f"solar_{z}": solar_availability(idx) for z in SOLAR_MW_2025}})
    profiles = inference_profiles(idx)
    existing = existing_load(idx, profiles)
    demand, betas = protected_demand(idx, existing)
    prices = market_prices(idx)

    # Inflow (MWh/h), demand (MW) and prices (NOK/MWh): 1 decimal; shares of capacity: 3.
    write_csv(series_dir / f"{NAME}-supply.csv", supply, {"inflow": 1, "": 3}, idx)
    write_csv(series_dir / f"{NAME}-demand.csv", demand, {"": 1}, idx)
    write_csv(series_dir / f"{NAME}-prices.csv", prices, {"": 1}, idx)
    write_csv(series_dir / f"{NAME}-profiles.csv", profiles, {"": 3}, idx)

    doc = build_document(reservoir_availability(ror_avail, idx), existing)
    header = ("# Generated by instances/make_norway.py; do not edit by hand (edit the script and "
              "re-run).\n# § numbers refer to shared/reference/norway-facts.md.\n")
    text = header + to_yaml(doc, SECTION_COMMENTS)
    check_yaml_roundtrip(text, doc)
    (out_dir / f"{NAME}.yaml").write_text(text, encoding="utf-8")
    write_calibration(out_dir / f"{NAME}-calibration.md", calibration_table(out_dir), betas)
    write_teaching_week(out_dir, idx, {"supply": supply, "demand": demand, "prices": prices,
                                       "profiles": profiles})


def main() -> None:
    """Command line: ``--out`` chooses the folder (default: this script's folder)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parent,
                        help="output folder (default: instances/)")
    generate(parser.parse_args().out)


if __name__ == "__main__":
    main()
