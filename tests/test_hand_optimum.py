"""The optimum of instances/teaching/hand.yaml, worked out by hand.

Data (hours t = 0, 1; MW; NOK/MWh)::

    North  wind w_t ≤ 100, 40 (cost 0); miner m_t ≤ 30 (550, free: granted = requested);
           export x_t ≤ 20 to DE at 400 (no import)
    South  gas q_t ≤ 20 (cost 600); homes 30 (protected, value of lost load 20 550);
           smelter: firm, grant g ∈ [10, 40], profile 1, value 730, unserved u_t ≤ 10 at
           730 + 25 500 (its served energy is g − u_t);
           electrolyser: grant h ∈ [0, 20], served e_t with 0.5 h ≤ e_t ≤ h (firm share 0.5,
           profile 1), value 800
    line   f_t North→South ≤ 60, b_t South→North ≤ 60, lossless

    maximise 730 Σ(g − u_t) + 800 Σ e_t + 550 Σ m_t + 400 Σ x_t − 600 Σ q_t − lost-load terms

**Claim**: the zonal prices are p_N0 = 400, p_S0 = 600, p_N1 = p_S1 = 860.
Reduced profit of each variable at these prices (what it earns minus the price of the energy it
uses, or the price it gets minus its cost):

- w_0: +400, w_1: +860 → wind at its bound: 100 and 40 MW.
- q_0: 600 − 600 = 0 (free); q_1: 860 − 600 = +260 → q_1 = 20.
- x_0: 400 − 400 = 0 (free); x_1: 400 − 860 < 0 → x_1 = 0.
- m_0: 550 − 400 > 0 → m_0 = 30; m_1: 550 − 860 < 0 → m_1 = 0.
- f_0: p_S0 − p_N0 = +200 → f_0 = 60 (congested), b_0 = 0; f_1, b_1: 0 (free).
- u_t and the homes' unserved energy: save at most 860 but cost ≥ 20 550 → 0.
- g: earns 730 in each hour and uses 1 MW of South energy in each hour:
  (730 − 600) + (730 − 860) = 0 (free).
- e_0 earns 800 − 600 = +200 → e_0 = h (the cap row, dual 200);
  e_1 earns 800 − 860 = −60 → e_1 = 0.5 h (the firm-share row, dual 60);
  per MW of h: 200 − 0.5 × 60 = +170 > 0 → h = 20 (its request).

The balances fix the free variables: North 1: f_1 − b_1 = 40; South 1: 20 + 40 = 30 + g + e_1 =
30 + g + 10 → **g = 20**; South 0: q_0 + 60 = 30 + g + e_0 = 70 → q_0 = 10; North 0:
100 = 60 + 30 + x_0 → x_0 = 10. Each of g, q_0, x_0, f_1 lies strictly inside its bounds and
every other variable sits at the bound its reduced profit favours, so this primal solution and
these prices satisfy complementary slackness: both are optimal.

**Objective**: 730·20·2 + 800·(20 + 10) + 550·30 + 400·10 − 600·(10 + 20)
= 29 200 + 24 000 + 16 500 + 4 000 − 18 000 = **55 700 NOK**.

**Uniqueness**: complementary slackness holds between every optimal primal and every optimal
dual. (i) Against the prices above, every variable with a nonzero reduced profit (and every row
with a nonzero dual) is at its bound in *every* optimal primal; the balances then give the same
g, q_0, x_0, e_t and h. Unique: the objective; grants g = 20, h = 20, miner 30 (= request),
homes 30; served energy smelter 40 MWh, electrolyser 30 (20 + 10), miner 30 (30 + 0), homes 60;
gas 10 and 20 MW; exports 10 and 0 MW; net line flow North→South 60 and 40 MW (the two
directions of hour 1 separately are *not* unique: a lossless line can carry flow both ways).
(ii) Since g, q_0, x_0 and f_1 are strictly inside their bounds in one optimal primal, their
reduced profits are 0 in *every* optimal dual: p_N0 = 400 (x_0), p_S0 = 600 (q_0),
p_S0 + p_S1 = 2 × 730 (g) → p_S1 = 860, p_N1 = p_S1 (f_1). The prices are unique.

**Variant** (``existing_mw: 25``): try p = (400, 600, 1200, 1200). Then g earns
1460 − 600 − 1200 = −340 < 0, so g = 25 (the floor binds); e_0 = h (+200), e_1 = 0.5 h
(800 − 1200 < 0); per MW of h 200 − 0.5 × 400 = 0 (free). South 1: 60 = 30 + 25 + e_1 →
e_1 = 5, h = 10, e_0 = 10; South 0: q_0 = 30 + 25 + 10 − 60 = 5; x_0 = 10. Objective
730·25·2 + 800·15 + 550·30 + 400·10 − 600·25 = 36 500 + 12 000 + 16 500 + 4 000 − 15 000
= 54 000 NOK. Unique as above: g is pinned by its strictly negative reduced profit; h, q_0 and
x_0 are interior, so p_S0 = 600, p_N0 = 400 and 200 + 0.5 (800 − p_S1) = 0 → p_S1 = 1200.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import HAND, read_yaml, write_instance

import planner

EXACT = {"rel": 1e-9, "abs": 1e-6}


def approx(value):
    return pytest.approx(value, **EXACT)


@pytest.fixture(scope="module")
def result():
    return planner.solve(planner.load_instance(HAND))


def row(result, name: str):
    alloc = result.allocation.set_index("applicant")
    return alloc.loc[name]


def hourly(result, name: str) -> np.ndarray:
    k = [a.name for a in result.instance.applicants].index(name)
    return result.arrays.served_mw[k]


def zone_column(result, zone: str, column: str) -> np.ndarray:
    d = result.dispatch
    return d[d["zone"] == zone].sort_values("hour")[column].to_numpy()


def test_objective(result):
    assert result.summary["objective_nok"] == approx(55_700)


def test_grants(result):
    assert row(result, "smelter")["granted_mw"] == approx(20)
    assert row(result, "electrolyser")["granted_mw"] == approx(20)
    assert row(result, "miner")["granted_mw"] == approx(30)
    assert row(result, "homes")["granted_mw"] == approx(30)


def test_served_energy(result):
    assert row(result, "smelter")["served_mwh"] == approx(40)
    assert row(result, "electrolyser")["served_mwh"] == approx(30)
    assert row(result, "miner")["served_mwh"] == approx(30)
    assert row(result, "homes")["served_mwh"] == approx(60)
    assert result.allocation["unserved_mwh"].to_numpy() == approx(np.zeros(4))
    assert hourly(result, "electrolyser") == approx([20, 10])  # cap in hour 0, firm share in 1
    assert hourly(result, "miner") == approx([30, 0])


def test_dispatch(result):
    assert zone_column(result, "South", "thermal_mw") == approx([10, 20])
    assert zone_column(result, "North", "exports_mw") == approx([10, 0])
    assert zone_column(result, "North", "wind_mw") == approx([100, 40])
    net = zone_column(result, "North", "line_outflow_mw") - zone_column(result, "North",
                                                                       "line_inflow_mw")
    assert net == approx([60, 40])


def test_prices(result):
    prices = result.prices
    assert prices["North"].to_numpy() == approx([400, 860])
    assert prices["South"].to_numpy() == approx([600, 860])


@pytest.mark.parametrize(("zone", "hour"), [("North", 0), ("South", 0), ("North", 1),
                                            ("South", 1)])
def test_price_is_marginal_value_of_demand(result, tmp_path, zone, hour):
    """Price convention: the zonal price is what one more MWh of demand in that zone and hour
    costs the optimum (NOK/MWh), positive when supply is scarce. Adding ε MW of protected
    demand (weight 0) must lower the objective by price × ε; ε = 0.5 MW stays inside the range
    where the derivation above holds (gas, export and smelter grant stay interior)."""
    eps = 0.5
    spec = read_yaml(HAND)
    spec["protected_demand"].append({"name": "probe", "zone": zone,
                                     "demand_mw": [eps if t == hour else 0.0 for t in range(2)]})
    probed = planner.solve(planner.load_instance(write_instance(spec, tmp_path / "probe.yaml")))
    drop = result.summary["objective_nok"] - probed.summary["objective_nok"]
    price = float(result.prices.loc[result.prices["hour"] == hour, zone].iloc[0])
    assert price > 0
    assert drop == pytest.approx(price * eps, rel=1e-9, abs=1e-6)


def test_existing_floor_binds(tmp_path):
    spec = read_yaml(HAND)
    smelter = next(a for a in spec["applicants"] if a["name"] == "smelter")
    smelter["existing_mw"] = 25
    res = planner.solve(planner.load_instance(write_instance(spec, tmp_path / "floor.yaml")))
    assert res.summary["objective_nok"] == approx(54_000)
    assert row(res, "smelter")["granted_mw"] == approx(25)
    assert row(res, "electrolyser")["granted_mw"] == approx(10)
    assert row(res, "electrolyser")["served_mwh"] == approx(15)
    assert hourly(res, "electrolyser") == approx([10, 5])
    assert res.prices["North"].to_numpy() == approx([400, 1200])
    assert res.prices["South"].to_numpy() == approx([600, 1200])
