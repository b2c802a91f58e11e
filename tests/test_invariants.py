"""The independent checker (planner/verify.py) on every test instance (and the teaching
instances), and proof that each family catches a broken result file."""

from __future__ import annotations

import json
import shutil
import subprocess

import invariants as inv
import numpy as np
import pandas as pd
import pytest
from helpers import FEATURES, HAND, TEACHING, TINY, assert_no_traceback, run_cli

import planner
from planner.report.tables import write_csv
from planner.verify import FAILED_MARKER, FAMILIES, read_tables, verify_tables

INSTANCES = list(dict.fromkeys([HAND, TINY, FEATURES, *TEACHING]))  # hand.yaml is a teaching one


@pytest.fixture(scope="module", params=INSTANCES, ids=lambda p: p.stem)
def solved(request, tmp_path_factory):
    inst = planner.load_instance(request.param)
    result, tables = inv.solve_and_write(inst, tmp_path_factory.mktemp(request.param.stem))
    return inst, result, tables


def test_every_family_holds(solved):
    inst, _, tables = solved
    v = verify_tables(inst, tables)
    assert set(v.families) == set(FAMILIES)
    assert v.passed, v.line()
    for f in v.families.values():  # far below a MW or a NOK: the files hold the optimum
        assert f.largest_residual <= (1.0 if f.unit == "NOK" else 1e-2), f


# --------------------------------------------------------------------------------------------
# the features instance uses what it claims to


@pytest.fixture(scope="module")
def features(tmp_path_factory):
    folder = tmp_path_factory.mktemp("features")
    inst = planner.load_instance(FEATURES)
    result, tables = inv.solve_and_write(inst, folder)
    return inst, result, tables, folder


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


def test_every_family_is_exercised(features):
    """Each family checks at least one relation on the features instance, but policy_limits,
    which has none without a policy (test_a_policy_result_is_verified_against_the_policy)."""
    inst, _, tables, _ = features
    v = verify_tables(inst, tables)
    assert [f.family for f in v.families.values() if not f.checked] == ["policy_limits"]


def test_features_city_peak_is_short(features):
    """In hours 40-41 City homes (810 MW) exceed all that can reach the City (782 MW, see the
    instance's header), so demand is unserved; with lost load at 20 550 NOK/MWh the Inference
    DC's own plant (2 500 NOK/MWh) then runs at its 15 MW, freeing grid energy for the homes."""
    _, _, t, _ = features
    d = t.dispatch[t.dispatch["zone"] == "City"].set_index("hour")
    assert (d.loc[[40, 41], "unserved_mw"] >= 810 - 782 - inv.CSV_TOL).all()
    dc = t.applicants[t.applicants["applicant"] == "Inference DC"].set_index("hour")
    assert dc.loc[[40, 41], "own_supply_mw"].to_numpy() == pytest.approx([15, 15], abs=1e-4)
    assert (d.loc[[40, 41], "zonal_price_nok_per_mwh"] > 0).all()


# --------------------------------------------------------------------------------------------
# each family fails on a broken file


def _rows(df: pd.DataFrame, **where) -> np.ndarray:
    mask = np.ones(len(df), dtype=bool)
    for key, value in where.items():
        mask &= (df[key] == value).to_numpy()
    return df.index[mask]


def _add(column: str, delta: float, **where):
    def edit(df):
        df.loc[_rows(df, **where)[:1], column] += delta
    return edit


def _scale(column: str, factor: float, **where):
    def edit(df):
        rows = _rows(df, **{k: v for k, v in where.items() if k != "hours"})
        if "hours" in where:
            rows = [r for r in rows if df.at[r, "hour"] in where["hours"]]
        df.loc[rows, column] *= factor
    return edit


BREAKS = {
    "served column": ("dispatch", _add("served_households_mw", 1.0, zone="City", hour=5),
                      "balance"),
    "line flow": ("flows", _add("flow_mw", 1.0, link="Hydro-City", hour=3), "tables"),
    "flow above limit": ("flows", _add("flow_mw", 1000.0, kind="interconnector", hour=0),
                         "line_limits"),
    "storage level": ("storage", _add("storage_mwh", 1.0, hour=10), "reservoirs"),
    "grant below floor": ("allocation", _add("granted_mw", -1.0, applicant="Smelter"),
                          "bounds"),
    "generation above capacity": ("generation", _add("generation_mw", 500.0, supply="City gas",
                                                      hour=2), "bounds"),
    "own supply above served": ("applicants", _add("own_supply_mw", 1000.0,
                                                   applicant="Inference DC", hour=0), "bounds"),
    "firm share": ("applicants", _scale("served_mw", 0.0, applicant="Electrolyser", hour=5),
                   "firm_shares"),
    "ramp": ("applicants", _add("served_mw", 1.0, applicant="Pot line", hour=10), "ramps"),
    "window cap": ("applicants", _scale("served_mw", 1.2, applicant="Training campus",
                                        hours=range(12)), "energy_windows"),
    "curtailment": ("applicants", _scale("served_mw", 0.5, applicant="Electrolyser"),
                    "curtailment_limits"),
    "served total": ("allocation", _add("served_mwh", 1.0, applicant="Miner"), "tables"),
    "hour missing": ("storage", _add("hour", 10_000, hour=3), "tables"),
}


def _break(folder, tmp_path, table: str, edit):
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    df = pd.read_csv(broken / f"{table}.csv", keep_default_na=False, na_values=[""])
    edit(df)
    write_csv(df, broken / f"{table}.csv")
    return broken


@pytest.mark.parametrize("name", list(BREAKS))
def test_family_catches_broken_file(features, tmp_path, name):
    inst, _, tables, folder = features
    table, edit, family = BREAKS[name]
    assert verify_tables(inst, tables).passed  # intact: passes
    v = verify_tables(inst, read_tables(_break(folder, tmp_path, table, edit)))
    assert family in {f.family for f in v.failed()}, v.line()
    assert v.families[family].largest_residual > 0


@pytest.mark.parametrize("term", ["objective_nok", "generation_cost_nok"])
def test_objective_catches_broken_summary(features, tmp_path, term):
    inst, _, _, folder = features
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    s = json.loads((broken / "summary.json").read_text())
    if term == "objective_nok":
        s["objective_nok"] += 50.0
    else:
        s["objective_terms_nok"][term] += 10.0
    (broken / "summary.json").write_text(json.dumps(s))
    v = verify_tables(inst, read_tables(broken))
    assert [f.family for f in v.failed()] == ["objective"]
    assert v.families["objective"].largest_residual == pytest.approx(
        50.0 if term == "objective_nok" else 10.0, abs=1.0)


def test_verify_command(features, tmp_path):
    """`planner verify` exits 0 on the written folder, 7 on a tampered copy, which it marks."""
    _, _, _, folder = features
    good = run_cli("verify", folder)
    assert good.returncode == 0, good.stderr
    assert good.stdout.startswith("verified: all 11 families hold")
    table, edit, _ = BREAKS["ramp"]
    broken = _break(folder, tmp_path, table, edit)
    bad = run_cli("verify", broken)
    assert bad.returncode == 7, bad.stderr
    assert_no_traceback(bad.stderr)
    assert "ramps" in bad.stderr and "Pot line, hour 10" in bad.stderr
    assert (broken / FAILED_MARKER).is_file()
    assert json.loads((broken / "summary.json").read_text())["verification"] == "failed"
    report = json.loads((broken / "verification.json").read_text())
    assert report["passed"] is False and report["families"]["ramps"]["violations"] >= 1


def test_verify_refuses_a_changed_instance(features, tmp_path):
    _, _, _, folder = features
    copy = tmp_path / "features.yaml"
    copy.write_text(FEATURES.read_text() + "\n# edited\n")
    done = run_cli("verify", folder, "--instance", copy)
    assert done.returncode == 2 and "SHA-256 differs" in done.stderr


WEEK = next(p for p in TEACHING if p.name == "two-zones-week.yaml")


def test_a_policy_result_is_verified_against_the_policy(tmp_path):
    """A policy's folder is checked against the instance as the policy changes it (weights,
    terms) and against its limit rows, from the overrides summary.json records: the written
    folder passes; a recorded domestic floor above the energy served, or a recorded weight
    other than the one solved, fails; a record without its overrides is an input error."""
    policies = tmp_path / "policies.yaml"
    policies.write_text("policies:\n  - name: p\n    classes:\n"
                        "      industry: {weight_nok_per_mwh: 1700}\n"
                        "      bitcoin_mining: {firm_share: 0, max_curtailment_share: 1}\n"
                        "    export_cap_twh: 0.5\n    domestic_floor_twh: 1\n"
                        "    reserve_margin: {margin: 0.05, scope: zone}\n")
    out = tmp_path / "out"
    done = run_cli("solve", WEEK, "--policy-file", policies, "--policy", "p", "--out", out,
                   "--formats", "csv")
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "verification.json").read_text())
    assert report["passed"] and report["families"]["policy_limits"]["checked"] == 4  # 2 zones
    served_mwh = pd.read_csv(out / "allocation.csv")["served_mwh"].sum()  # no exports class
    # explain.csv gives the weights solved with: the policy's for industry
    explained = pd.read_csv(out / "explain.csv")
    assert set(explained.loc[explained["applicant"] == "Smelter", "weight_nok_per_mwh"]) == {1700}

    def tampered(name: str, edit) -> subprocess.CompletedProcess:
        folder = tmp_path / name
        shutil.copytree(out, folder)
        s = json.loads((folder / "summary.json").read_text())
        edit(s["policy"])
        (folder / "summary.json").write_text(json.dumps(s))
        return run_cli("verify", folder)

    # a floor as recorded (TWh/yr, scaled to the 168 h) 10 MWh above the energy served
    floor = (served_mwh + 10.0) / 1e6 * 8760 / 168
    bad = tampered("floor", lambda p: p["overrides"].update(domestic_floor_twh=floor))
    assert bad.returncode == 7 and "policy_limits" in bad.stderr, bad.stderr
    failed = json.loads((tmp_path / "floor" / "verification.json").read_text())["families"]
    assert [f for f, r in failed.items() if not r["passed"]] == ["policy_limits"]
    assert failed["policy_limits"]["largest_residual"] == pytest.approx(10.0, abs=0.01)
    bad = tampered("weight", lambda p: p["overrides"]["classes"]["industry"].update(
        weight_nok_per_mwh=730))
    assert bad.returncode == 7 and "objective" in bad.stderr, bad.stderr
    bad = tampered("old", lambda p: p.pop("overrides"))
    assert bad.returncode == 2 and "policy.overrides" in bad.stderr, bad.stderr
    assert_no_traceback(bad.stderr)
