"""Shortage diagnosis: the pre-solve check, the unserved summary, the IIS of an infeasible LP
(unserved energy disabled) and the model-size guard."""

from __future__ import annotations

import invariants as inv
import pytest
from helpers import (
    FEATURES,
    HAND,
    TEACHING,
    TINY,
    assert_no_traceback,
    one_reservoir,
    run_cli,
    write_instance,
)

import planner
from planner.diagnose import estimate_size, iis_members, precheck, unserved_summary
from planner.explain import explain_table
from planner.model import build_model
from planner.solve import compile_lp


def test_precheck_names_the_short_zone_and_hours():
    """features.yaml, City, hours 40-41: 810 MW of homes plus the firm parts of the Pot line,
    Inference DC and Training campus exceed the 782 MW that can reach the City."""
    inst = planner.load_instance(FEATURES)
    [problem] = precheck(inst)
    assert problem.field == "zones[2]" and problem.line == 27
    assert "in 2 h (hours 40, 41)" in problem.message
    assert "782.0 MW can reach the zone" in problem.message


@pytest.mark.parametrize("path", [HAND, TINY, *TEACHING], ids=lambda p: p.stem)
def test_precheck_is_quiet_where_supply_suffices(path):
    assert precheck(planner.load_instance(path)) == []


def test_unserved_summary_names_zone_hours_applicants(tmp_path):
    inst = planner.load_instance(FEATURES)
    _, t = inv.solve_and_write(inst, tmp_path)
    [line] = unserved_summary(inst, t.applicants, explain_table(inst, t))
    assert line.startswith("unserved in City: ")
    # hours 40 and 41 are short whatever the dispatch (the precheck above); which other hours
    # carry the rest of the unserved energy is not unique (reservoir water can move)
    assert "40, 41)" in line and "City homes" in line
    assert "transfer limit Hydro→City (300 MW) binding in 2 h" in line


def short_reservoir() -> dict:
    """One zone, a 100 MW hydro plant whose reservoir holds 100 MWh with no inflow, and 50 MW of
    homes for 4 hours: 200 MWh needed, 100 MWh there. Every hour passes the pre-check (50 MW ≤
    100 MW), yet without unserved energy the LP is infeasible."""
    return one_reservoir(hours=4, initial_share=1.0, final_share=0.0, demand_mw=50)


def test_iis_names_the_reservoir_and_the_forbidden_unserved(tmp_path):
    inst = planner.load_instance(write_instance(short_reservoir(), tmp_path / "i.yaml"))
    assert precheck(inst) == []
    assert planner.solve(inst).allocation["unserved_mwh"].iloc[0] == pytest.approx(100, abs=1e-6)
    with pytest.raises(planner.InfeasibleError) as err:
        planner.solve(inst, unserved=False)
    text = str(err.value)
    assert "irreducible infeasible set" in text
    assert "storage_balance[dam," in text and "supply 'dam'" in text
    assert "no unserved energy allowed (--no-unserved)" in text


def test_iis_members_are_an_infeasible_subsystem(tmp_path):
    """The IIS holds storage continuity of the dam and the homes' zero unserved bounds."""
    import highspy
    inst = planner.load_instance(write_instance(short_reservoir(), tmp_path / "i.yaml"))
    m, _ = build_model(inst)
    lp = compile_lp(m)
    lp.col_upper[lp.col_slices["unserved_mw"]] = 0.0
    from planner.solve import SolverOptions, to_highs
    h = to_highs(lp, SolverOptions())
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kInfeasible
    families = {x.family for x in iis_members(h, m, lp)}
    assert {"storage_balance", "unserved_mw"} <= families


def test_no_unserved_command(tmp_path):
    path = write_instance(short_reservoir(), tmp_path / "i.yaml")
    done = run_cli("solve", path, "--out", tmp_path / "out", "--no-unserved")
    assert done.returncode == 3, done.stderr
    assert "irreducible infeasible set" in done.stderr
    assert not (tmp_path / "out").exists()
    short = run_cli("solve", FEATURES, "--out", tmp_path / "f", "--no-unserved")
    assert short.returncode == 2 and "features.yaml:27:5: zones[2]: firm demand" in short.stderr
    for d in (done, short):
        assert_no_traceback(d.stderr)


@pytest.mark.parametrize("path", [HAND, TINY, FEATURES, *TEACHING], ids=lambda p: p.stem)
def test_size_estimate_is_the_built_size(path):
    inst = planner.load_instance(path)
    m, _ = build_model(inst)
    lp = compile_lp(m)
    assert estimate_size(inst) == (len(lp.row_lower), len(lp.cost))


def test_size_guard_refuses_before_building(tmp_path):
    rows, cols = estimate_size(planner.load_instance(FEATURES))
    done = run_cli("solve", FEATURES, "--out", tmp_path / "out", "--max-size", rows + cols - 1)
    assert done.returncode == 2, done.stderr
    assert f"about {rows:,} rows and {cols:,} columns" in done.stderr
    assert f"above the limit of {rows + cols - 1:,}" in done.stderr
    assert "features.yaml:" in done.stderr and "time.hours" in done.stderr
    ok = run_cli("solve", FEATURES, "--out", tmp_path / "ok", "--max-size", rows + cols,
                 "--quiet")
    assert ok.returncode == 0, ok.stderr
