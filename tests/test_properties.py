"""Properties of the allocation LP on small random instances (1-2 zones, 2-6 hours), written as
YAML files and solved like any instance.

- raising an applicant's weight never lowers its served energy: if x is optimal for weights w
  and x' for w + δ·e_a (δ > 0), adding c·x ≥ c·x' and c'·x' ≥ c'·x gives δ (S_a(x') − S_a(x)) ≥ 0,
  for *any* optima, so degeneracy does not matter;
- scaling every value term (weights, values of lost load, costs, prices) by c > 0 scales the
  optimum by c (the feasible set does not change);
- more capacity of one plant never lowers the optimum (the feasible set grows), nor does
  loosening terms of an applicant, a line or an interconnector;
- every relation of the independent checker (planner/verify.py) holds on the written files.
"""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import invariants as inv
import pytest
from helpers import write_instance
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import planner

SETTINGS = settings(max_examples=25, deadline=None, derandomize=True, database=None,
                    suppress_health_check=[HealthCheck.too_slow])

CLASSES = ["industry", "bitcoin_mining", "hydrogen", "ai_training", "ai_inference", "exports"]


def series(draw, hours: int, lo: float, hi: float) -> float | list[float]:
    """A constant or an inline list, values rounded to 0.01."""
    values = st.floats(lo, hi, allow_nan=False).map(lambda x: round(x, 2))
    if draw(st.booleans()):
        return draw(values)
    return draw(st.lists(values, min_size=hours, max_size=hours))


@st.composite
def instances(draw) -> dict[str, Any]:
    """An instance with every value term given explicitly (no preset supplies one)."""
    H = draw(st.integers(2, 6))
    zones = ["A", "B"][: draw(st.integers(1, 2))]
    money = st.floats(0, 2000, allow_nan=False).map(lambda x: round(x, 1))
    mw = st.floats(0, 80, allow_nan=False).map(lambda x: round(x, 1))
    share = st.floats(0, 1, allow_nan=False).map(lambda x: round(x, 2))
    spec: dict[str, Any] = {"name": "random", "time": {"start": "2030-01-01T00:00", "hours": H},
                            "zones": [{"name": z} for z in zones], "supply": [],
                            "applicants": [], "protected_demand": []}
    if draw(st.booleans()):
        spec["markets"] = [{"name": "M", "price_nok_per_mwh": series(draw, H, 1, 1500)}]
        spec["interconnectors"] = [{"name": "link", "zone": draw(st.sampled_from(zones)),
                                    "market": "M", "export_mw": draw(mw),
                                    "import_mw": draw(mw)}]
    if len(zones) == 2:
        spec["lines"] = [{"name": "AB", "from": "A", "to": "B", "capacity_mw": draw(mw),
                          "reverse_capacity_mw": draw(mw),
                          "loss_factor": draw(st.sampled_from([0.0, 0.02, 0.1]))}]
    for k in range(draw(st.integers(1, 3))):
        kind = draw(st.sampled_from(["wind", "thermal", "hydro_reservoir"]))
        s: dict[str, Any] = {"name": f"s{k}", "zone": draw(st.sampled_from(zones)), "kind": kind,
                             "capacity_mw": draw(mw), "marginal_cost_nok_per_mwh": draw(money),
                             "availability": series(draw, H, 0, 1)}
        if kind == "hydro_reservoir":
            initial = draw(share)
            s.update(storage_mwh=draw(st.floats(0, 300).map(lambda x: round(x))),
                     inflow_mwh=series(draw, H, 0, 40), initial_storage_share=initial,
                     final_storage_share=round(initial * draw(share), 2))
        spec["supply"].append(s)
    for k in range(draw(st.integers(1, 3))):
        requested = draw(mw)
        a: dict[str, Any] = {
            "name": f"a{k}", "zone": draw(st.sampled_from(zones)),
            "class": draw(st.sampled_from(CLASSES)), "requested_mw": requested,
            "existing_mw": round(requested * draw(st.sampled_from([0, 0, 0.5, 1])), 2),
            "profile": series(draw, H, 0, 1), "weight_nok_per_mwh": draw(money),
            "firm_share": draw(st.sampled_from([0.0, 0.5, 1.0]) | share),
            "max_curtailment_share": draw(st.sampled_from([1.0, 0.3]) | share),
            "value_of_lost_load_nok_per_mwh": draw(st.floats(0, 5000).map(round)),
        }
        if draw(st.booleans()):
            a["ramp_mw_per_h"] = draw(st.floats(0, 20).map(lambda x: round(x, 1)))
        if draw(st.booleans()) or a["class"] == "ai_training":  # its preset window is 24 h
            a["window"] = {"hours": draw(st.integers(1, H)), "min_share": draw(share)}
        if draw(st.booleans()):
            a["own_supply"] = {"capacity_mw": draw(st.floats(0, 20).map(round)),
                               "cost_nok_per_mwh": draw(money),
                               "availability": series(draw, H, 0, 1)}
        spec["applicants"].append(a)
    for z in zones:
        if draw(st.booleans()):
            spec["protected_demand"].append({
                "name": f"homes {z}", "zone": z, "demand_mw": series(draw, H, 0, 40),
                "weight_nok_per_mwh": draw(st.sampled_from([0.0, 100.0])),
                "value_of_lost_load_nok_per_mwh": draw(st.floats(0, 20000).map(round))})
    return spec


def solve(spec: dict[str, Any]) -> planner.Result:
    with tempfile.TemporaryDirectory() as tmp:
        return planner.solve(planner.load_instance(write_instance(spec, Path(tmp) / "i.yaml")))


def objective(spec: dict[str, Any]) -> float:
    return solve(spec).summary["objective_nok"]


def scale_of(result: planner.Result) -> float:
    """Magnitude of the objective's terms (NOK), for tolerances."""
    return max(1.0, sum(abs(x) for x in result.summary["objective_terms_nok"].values()))


@SETTINGS
@given(spec=instances(), data=st.data())
def test_higher_weight_never_serves_less(spec, data):
    k = data.draw(st.integers(0, len(spec["applicants"]) - 1), label="applicant")
    delta = data.draw(st.floats(10, 1000).map(round), label="weight increase")
    base = solve(spec)
    raised = copy.deepcopy(spec)
    raised["applicants"][k]["weight_nok_per_mwh"] += delta
    after = solve(raised)
    served = base.arrays.served_mw[k].sum()
    served_after = after.arrays.served_mw[k].sum()
    # optimality tolerances of the two solves over delta bound any apparent decrease
    tol = 1e-4 + 1e-7 * (scale_of(base) + scale_of(after)) / delta
    assert served_after >= served - tol, (served, served_after)


def scaled(spec: dict[str, Any], c: float) -> dict[str, Any]:
    """Every value term × c: weights, values of lost load, own-supply and generation costs,
    market prices."""
    out = copy.deepcopy(spec)

    def times(x):
        return [v * c for v in x] if isinstance(x, list) else x * c

    for m in out.get("markets", []):
        m["price_nok_per_mwh"] = times(m["price_nok_per_mwh"])
    for s in out["supply"]:
        s["marginal_cost_nok_per_mwh"] *= c
    for a in out["applicants"] + out["protected_demand"]:
        a["weight_nok_per_mwh"] *= c
        a["value_of_lost_load_nok_per_mwh"] *= c
        if "own_supply" in a:
            a["own_supply"]["cost_nok_per_mwh"] *= c
    return out


@SETTINGS
@given(spec=instances(), c=st.sampled_from([0.1, 0.5, 3.0, 7.5]))
def test_scaling_values_scales_objective(spec, c):
    base = solve(spec)
    after = solve(scaled(spec, c))
    expected = c * base.summary["objective_nok"]
    assert after.summary["objective_nok"] == pytest.approx(
        expected, rel=1e-7, abs=1e-7 * c * scale_of(base))


@SETTINGS
@given(spec=instances(), data=st.data())
def test_more_capacity_never_lowers_objective(spec, data):
    k = data.draw(st.integers(0, len(spec["supply"]) - 1), label="supply")
    extra = data.draw(st.floats(1, 100).map(round), label="extra MW")
    base = solve(spec)
    bigger = copy.deepcopy(spec)
    bigger["supply"][k]["capacity_mw"] += extra
    after = solve(bigger)
    tol = 1e-7 * (scale_of(base) + scale_of(after))
    assert after.summary["objective_nok"] >= base.summary["objective_nok"] - tol


RELAXATIONS = ("firm_share", "max_curtailment_share", "window_min_share", "ramp",
               "requested_mw", "own_capacity", "line", "interconnector")


def relax(spec: dict[str, Any], draw) -> dict[str, Any]:
    """The instance with one to four terms loosened (every feasible point stays feasible).
    Shares often go all the way to 0 or 1, and several terms of one applicant move together:
    that is where an applicant changes class (firm, flexible, free) in planner/model/index.py."""
    out = copy.deepcopy(spec)
    kinds = draw(st.lists(st.sampled_from(RELAXATIONS), min_size=1, max_size=4, unique=True),
                 label="relaxations")
    a = out["applicants"][draw(st.integers(0, len(out["applicants"]) - 1), label="applicant")]
    for kind in kinds:
        to_edge = draw(st.booleans(), label="to the edge")
        u = draw(st.floats(0, 1), label="how far")
        if kind == "firm_share":
            a["firm_share"] = 0.0 if to_edge else round(a["firm_share"] * u, 3)
        elif kind == "max_curtailment_share":
            a["max_curtailment_share"] = 1.0 if to_edge else round(
                a["max_curtailment_share"] + (1 - a["max_curtailment_share"]) * u, 3)
        elif kind == "window_min_share" and "window" in a:
            a["window"]["min_share"] = 0.0 if to_edge else round(a["window"]["min_share"] * u, 3)
        elif kind == "ramp" and "ramp_mw_per_h" in a:
            if to_edge:
                del a["ramp_mw_per_h"]
            else:
                a["ramp_mw_per_h"] += round(10 * u, 1)
        elif kind == "requested_mw":
            a["requested_mw"] += round(20 * u, 1)
        elif kind == "own_capacity" and "own_supply" in a:
            a["own_supply"]["capacity_mw"] += round(10 * u, 1)
        elif kind == "line" and out.get("lines"):
            out["lines"][0]["capacity_mw"] += round(50 * u, 1)
        elif kind == "interconnector" and out.get("interconnectors"):
            out["interconnectors"][0]["import_mw"] += round(50 * u, 1)
            out["interconnectors"][0]["export_mw"] += round(50 * u, 1)
    return out


@SETTINGS
@given(spec=instances(), data=st.data())
def test_relaxing_a_term_never_lowers_objective(spec, data):
    """Lower firm shares and window minimums; larger curtailment budgets, ramps, requests, own
    plants, line and interconnector limits: the optimum cannot fall."""
    base = solve(spec)
    after = solve(relax(spec, data.draw))
    tol = 1e-7 * (scale_of(base) + scale_of(after))
    assert after.summary["objective_nok"] >= base.summary["objective_nok"] - tol


@SETTINGS
@given(spec=instances(), data=st.data())
def test_window_minimum_only_adds_a_requirement(spec, data):
    """An interruptible applicant (firm share 0, no curtailment cap) with an energy window:
    dropping the window's minimum share to 0 only removes rows, so the optimum cannot fall.
    At min_share 0 the applicant sits on the boundary of the 'free' class."""
    k = data.draw(st.integers(0, len(spec["applicants"]) - 1), label="applicant")
    H = spec["time"]["hours"]
    a = spec["applicants"][k]
    a.update(firm_share=0.0, max_curtailment_share=1.0,
             window={"hours": data.draw(st.integers(2, H), label="window hours"),
                     "min_share": data.draw(st.floats(0.01, 1).map(lambda x: round(x, 2)),
                                            label="min share")})
    a.pop("ramp_mw_per_h", None)
    base = solve(spec)
    loose = copy.deepcopy(spec)
    loose["applicants"][k]["window"]["min_share"] = 0.0
    after = solve(loose)
    tol = 1e-7 * (scale_of(base) + scale_of(after))
    assert after.summary["objective_nok"] >= base.summary["objective_nok"] - tol


@SETTINGS
@given(spec=instances())
def test_invariants_hold(spec):
    with tempfile.TemporaryDirectory() as tmp:
        inst = planner.load_instance(write_instance(spec, Path(tmp) / "i.yaml"))
        _, tables = inv.solve_and_write(inst, Path(tmp) / "out")
        inv.check_all(inst, tables)


# --------------------------------------------------------------------------------------------
# regressions: cases the properties above once caught (fixed in 16c1474)


def window_spec(min_share: float) -> dict[str, Any]:
    """A miner whose demand falls in hour 0 (profile 1, 0) while the sun shines in hour 1 only;
    a 2-hour energy window lets the load move from hour 0 to hour 1."""
    return {
        "name": "window", "time": {"start": "2030-01-01T00:00", "hours": 2},
        "zones": [{"name": "A"}],
        "supply": [{"name": "pv", "zone": "A", "kind": "solar", "capacity_mw": 10,
                    "availability": [0.0, 1.0]}],
        "applicants": [{"name": "miner", "zone": "A", "class": "bitcoin_mining",
                        "requested_mw": 10, "profile": [1.0, 0.0],
                        "window": {"hours": 2, "min_share": min_share}}],
    }


@pytest.mark.parametrize("min_share", [0.0, 0.001, 0.5, 1.0])
def test_window_lets_load_move(min_share):
    """The 10 MWh of hour 0 move to the sunny hour 1 and earn 550 NOK/MWh, whatever the
    window's minimum share (a tighter minimum can never raise the optimum; with min_share 0
    the miner used to count as 'free' and lose its window, giving 0 NOK)."""
    assert objective(window_spec(min_share)) == pytest.approx(5500, rel=1e-9)


def own_supply_spec() -> dict[str, Any]:
    """A data centre (profile 0.5, asks 10 MW, weight 1 800) with a 20 MW backup plant at
    1 000 NOK/MWh, and more free wind than it can use."""
    return {
        "name": "own", "time": {"start": "2030-01-01T00:00", "hours": 2},
        "zones": [{"name": "A"}],
        "supply": [{"name": "wind", "zone": "A", "kind": "wind", "capacity_mw": 100,
                    "availability": 1.0}],
        "applicants": [{"name": "dc", "zone": "A", "class": "ai_inference",
                        "requested_mw": 10, "profile": 0.5,
                        "own_supply": {"capacity_mw": 20, "cost_nok_per_mwh": 1000}}],
    }


def test_own_supply_does_not_create_demand():
    """Own supply covers part of the site's load, it does not add load: the site draws at most
    profile × grant = 5 MW, and with free wind (zonal price 0) its plant at 1 000 NOK/MWh stays
    off. (It used to run at 20 MW and 'serve' 25 MW, served_share 5.)"""
    result = solve(own_supply_spec())
    assert result.arrays.served_mw[0] == pytest.approx([5, 5], abs=1e-6)
    assert result.arrays.own_supply_mw[0] == pytest.approx([0, 0], abs=1e-6)
    assert result.allocation["served_share"].iloc[0] == pytest.approx(1, rel=1e-9)
    assert result.summary["objective_nok"] == pytest.approx(1800 * 10, rel=1e-9)


def test_own_supply_replaces_grid_energy_when_cheaper(tmp_path):
    """Without grid supply the plant carries the site's whole load: 5 MW in each hour."""
    spec = own_supply_spec()
    spec["supply"][0]["availability"] = 0.0
    result = solve(spec)
    assert result.arrays.own_supply_mw[0] == pytest.approx([5, 5], abs=1e-6)
    assert result.summary["objective_nok"] == pytest.approx((1800 - 1000) * 10, rel=1e-9)


def test_trade_terms_follow_the_flow_direction(tmp_path):
    """An import at a negative price is an import (negative cost), not export revenue."""
    spec = {
        "name": "negative", "time": {"start": "2030-01-01T00:00", "hours": 2},
        "zones": [{"name": "A"}],
        "markets": [{"name": "DE", "price_nok_per_mwh": [-50, 100]}],
        "interconnectors": [{"name": "ic", "zone": "A", "market": "DE", "export_mw": 10,
                             "import_mw": 10}],
        "supply": [{"name": "w", "zone": "A", "kind": "wind", "capacity_mw": 10,
                    "availability": 1.0}],
        "applicants": [{"name": "miner", "zone": "A", "class": "bitcoin_mining",
                        "requested_mw": 10, "profile": 1.0}],
    }
    inst = planner.load_instance(write_instance(spec, tmp_path / "i.yaml"))
    result, tables = inv.solve_and_write(inst, tmp_path / "out")
    # hour 0: paid 50 NOK/MWh to import 10 MW (the wind is curtailed); no export at all
    assert tables.flows.loc[tables.flows["from"] == "A", "flow_mw"].sum() == 0
    assert result.summary["objective_nok"] == pytest.approx(550 * 20 + 50 * 10, rel=1e-9)
    terms = result.summary["objective_terms_nok"]
    assert terms["export_revenue_nok"] == pytest.approx(0, abs=1e-9)
    assert terms["import_cost_nok"] == pytest.approx(-500, rel=1e-9)
    inv.check_all(inst, tables)


@st.composite
def instances_with_small_reservoirs(draw) -> dict[str, Any]:
    """Random instances with a reservoir whose level must hit its bounds inside a day."""
    spec = draw(instances())
    H = spec["time"]["hours"]
    spec["supply"].append({
        "name": "pond", "zone": spec["zones"][0]["name"], "kind": "hydro_reservoir",
        "capacity_mw": draw(st.floats(20, 80).map(round)), "marginal_cost_nok_per_mwh": 0.0,
        "storage_mwh": draw(st.floats(5, 60).map(round)), "inflow_mwh": series(draw, H, 0, 60),
        "initial_storage_share": 0.5, "final_storage_share": draw(st.sampled_from([0.0, 0.5]))})
    return spec


def solve_hourly_chain(spec: dict[str, Any]) -> planner.Result:
    """Solved with a reservoir level variable in every hour (blocks of one hour)."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("planner.model.index.STORAGE_BLOCK_HOURS", 1)
        return solve(spec)


@SETTINGS
@given(spec=instances_with_small_reservoirs())
def test_daily_storage_blocks_with_row_generation_equal_hourly_chain(spec):
    """planner/model/lazy.py: reservoir levels per 24-h block, plus the hourly storage_level
    rows the solution violates, give the optimum of the model with a level in every hour, and
    levels within bounds in every hour."""
    with tempfile.TemporaryDirectory() as tmp:
        inst = planner.load_instance(write_instance(spec, Path(tmp) / "i.yaml"))
        blocks, tables = inv.solve_and_write(inst, Path(tmp) / "out")
        inv.check_all(inst, tables)
    hourly = solve_hourly_chain(spec)
    assert blocks.summary["objective_nok"] == pytest.approx(
        hourly.summary["objective_nok"], rel=1e-7, abs=1e-7 * scale_of(hourly))


def test_row_generation_adds_the_violated_levels():
    """A 10 MWh pond with 30 MWh/h inflow, a 5 MW turbine and nothing to serve: the daily block
    lets the level overflow before spilling at the end of the day; the storage_level rows force
    the spill into the hours where the pond is full."""
    spec = {"name": "pond", "time": {"start": "2030-01-01T00:00", "hours": 6},
            "zones": [{"name": "A"}],
            "supply": [{"name": "pond", "zone": "A", "kind": "hydro_reservoir", "capacity_mw": 5,
                        "storage_mwh": 10, "inflow_mwh": 30, "initial_storage_share": 0.5,
                        "final_storage_share": 0.5}],
            "applicants": [{"name": "mill", "zone": "A", "class": "industry", "requested_mw": 5,
                            "existing_mw": 5, "weight_nok_per_mwh": 100}]}
    result = solve(spec)
    assert result.summary["solver"]["iterations"]["storage_level_rounds"] >= 1
    level = result.storage["storage_mwh"].to_numpy()
    assert level.max() <= 10 + 1e-6 and level.min() >= -1e-6
    assert result.summary["objective_nok"] == pytest.approx(
        solve_hourly_chain(spec).summary["objective_nok"])
