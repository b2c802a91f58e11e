"""The invariants of tests/invariants.py on every test instance (and the teaching instances, if
the repository has them), and proof that each check catches a broken table."""

from __future__ import annotations

import copy
import dataclasses

import invariants as inv
import numpy as np
import pytest
from helpers import FEATURES, HAND, TEACHING, TINY

import planner

INSTANCES = list(dict.fromkeys([HAND, TINY, FEATURES, *TEACHING]))  # hand.yaml is a teaching one

CHECKS = {
    "table_shapes": lambda i, r, t: inv.check_table_shapes(i, t),
    "tables_agree": inv.check_tables_agree,
    "zone_balance": lambda i, r, t: inv.check_zone_balance(i, t),
    "network_tables": lambda i, r, t: inv.check_network_tables(i, t),
    "bounds": inv.check_bounds,
    "firm_shares": lambda i, r, t: inv.check_firm_shares(i, r),
    "ramps": lambda i, r, t: inv.check_ramps(i, r),
    "energy_windows": lambda i, r, t: inv.check_energy_windows(i, r),
    "curtailment_limits": lambda i, r, t: inv.check_curtailment_limits(i, r),
    "reservoirs": lambda i, r, t: inv.check_reservoirs(i, t),
    "objective": inv.check_objective,
}


@pytest.fixture(scope="module", params=INSTANCES, ids=lambda p: p.stem)
def solved(request, tmp_path_factory):
    inst = planner.load_instance(request.param)
    result, tables = inv.solve_and_write(inst, tmp_path_factory.mktemp(request.param.stem))
    return inst, result, tables


@pytest.mark.parametrize("check", list(CHECKS))
def test_invariant(solved, check):
    CHECKS[check](*solved)


# --------------------------------------------------------------------------------------------
# the features instance uses what it claims to


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    inst = planner.load_instance(FEATURES)
    result, tables = inv.solve_and_write(inst, tmp_path_factory.mktemp("features"))
    return inst, result, tables


def test_features_instance_has_every_feature(features):
    inst = features[0]
    apps = inst.applicants
    assert inst.hours == 48 and len(inst.zones) == 3
    assert any(a.window_hours for a in apps)
    assert any(a.ramp_mw_per_h is not None for a in apps)
    assert any(a.own_capacity_mw > 0 for a in apps)
    assert any(a.max_curtailment_share < 1 and 0 < a.firm_share < 1 for a in apps)
    assert any(a.existing_mw > 0 and not a.protected for a in apps)
    assert any(a.protected for a in apps)
    assert any(line.loss_factor > 0 for line in inst.lines)
    assert {s.kind for s in inst.supply} >= {"hydro_reservoir", "thermal", "wind", "solar",
                                             "run_of_river"}
    assert len({ic.market for ic in inst.interconnectors}) >= 2


def test_features_city_peak_is_short(features):
    """In hours 40-41 City homes (810 MW) exceed all that can reach the City (782 MW, see the
    instance's header), so demand is unserved; with lost load at 20 550 NOK/MWh the Inference
    DC's own plant (2 500 NOK/MWh) then runs at its 15 MW, freeing grid energy for the homes."""
    inst, result, t = features
    d = t.dispatch[t.dispatch["zone"] == "City"].set_index("hour")
    assert (d.loc[[40, 41], "unserved_mw"] >= 810 - 782 - inv.CSV_TOL).all()
    dc = [a.name for a in inst.applicants].index("Inference DC")
    assert result.arrays.own_supply_mw[dc, [40, 41]] == pytest.approx([15, 15], abs=1e-6)
    assert (d.loc[[40, 41], "zonal_price_nok_per_mwh"] > 0).all()


# --------------------------------------------------------------------------------------------
# each check fails on a broken table


def _broken_tables(tables: inv.Tables, table: str, edit) -> inv.Tables:
    out = dataclasses.replace(tables, **{table: copy.deepcopy(getattr(tables, table))})
    edit(getattr(out, table))
    return out


def _broken_arrays(result, name: str, inst, applicant: str, edit):
    arrays = copy.deepcopy(result.arrays)
    k = [a.name for a in inst.applicants].index(applicant)
    edit(getattr(arrays, name)[k])
    return dataclasses.replace(result, arrays=arrays)


def _first(df, **where) -> int:
    mask = np.ones(len(df), dtype=bool)
    for key, value in where.items():
        mask &= (df[key] == value).to_numpy()
    return int(np.flatnonzero(mask)[0])


def _bump(column: str, delta: float, **where):
    def edit(df):
        df.loc[df.index[_first(df, **where)], column] += delta
    return edit


TABLE_BREAKS = {
    "served column": ("dispatch", _bump("served_households_mw", 1.0, zone="City", hour=5),
                      "zone_balance"),
    "line flow": ("flows", _bump("flow_mw", 1.0, link="Hydro-City", hour=3), "network_tables"),
    "flow above limit": ("flows", _bump("flow_mw", 1000.0, kind="interconnector", hour=0),
                         "bounds"),
    "storage level": ("storage", _bump("storage_mwh", 1.0, hour=10), "reservoirs"),
    "spill": ("storage", _bump("spill_mwh", 1.0, hour=20), "reservoirs"),
    "grant below floor": ("allocation", _bump("granted_mw", -1.0, applicant="Smelter"),
                          "bounds"),
    "served total": ("allocation", _bump("served_mwh", 1.0, applicant="Miner"), "tables_agree"),
    "objective": ("summary", lambda s: s.update(objective_nok=s["objective_nok"] + 50.0),
                  "objective"),
    "objective term": ("summary", lambda s: s["objective_terms_nok"].update(
        generation_cost_nok=s["objective_terms_nok"]["generation_cost_nok"] + 10.0),
        "objective"),
}


@pytest.mark.parametrize("name", list(TABLE_BREAKS))
def test_check_catches_broken_table(features, name):
    inst, result, tables = features
    table, edit, check = TABLE_BREAKS[name]
    CHECKS[check](inst, result, tables)  # intact: passes
    with pytest.raises(AssertionError):
        CHECKS[check](inst, result, _broken_tables(tables, table, edit))


def _scale_window(row):
    row[0:12] *= 1.2


ARRAY_BREAKS = {
    "firm share": ("served_mw", "Electrolyser", lambda row: row.__setitem__(5, 0.0),
                   "firm_shares"),
    "ramp": ("served_mw", "Pot line", lambda row: row.__setitem__(10, row[10] + 1.0), "ramps"),
    "window cap": ("served_mw", "Training campus", _scale_window, "energy_windows"),
    "curtailment": ("served_mw", "Electrolyser", lambda row: row.__imul__(0.5),
                    "curtailment_limits"),
    "own supply above served": ("own_supply_mw", "Inference DC",
                                lambda row: row.__setitem__(0, 1000.0), "bounds"),
}


@pytest.mark.parametrize("name", list(ARRAY_BREAKS))
def test_check_catches_broken_arrays(features, name):
    inst, result, tables = features
    array, applicant, edit, check = ARRAY_BREAKS[name]
    CHECKS[check](inst, result, tables)
    with pytest.raises(AssertionError):
        CHECKS[check](inst, _broken_arrays(result, array, inst, applicant, edit), tables)
