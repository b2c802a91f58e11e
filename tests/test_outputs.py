"""What ``planner solve`` writes: the six result files, byte-identical CSV files from run to run,
an MPS file that HiGHS solves to the same optimum, and nothing at all when the solve fails
(each failure with its own exit code)."""

from __future__ import annotations

import dataclasses
import json
import re

import highspy
import invariants as inv
import pytest
from click.testing import CliRunner
from helpers import (
    FEATURES,
    HAND,
    REPORT_FILES,
    RESULT_FILES,
    TEACHING,
    TINY,
    assert_no_traceback,
    run_cli_many,
)

import planner
import planner.instance.load
from planner.cli import cli
from planner.report.tables import ResultData, write_tables
from planner.solve import SolverOptions


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """The features instance solved twice by the real command (one run also writing the LP as
    MPS), and once with a time limit of 0 s; side by side."""
    tmp = tmp_path_factory.mktemp("runs")
    calls = {
        "first": ("solve", FEATURES, "--out", tmp / "first", "--write-mps", tmp / "lp.mps"),
        "second": ("solve", FEATURES, "--out", tmp / "second", "--quiet"),
        "time limit": ("solve", FEATURES, "--out", tmp / "limited", "--time-limit", "0"),
    }
    return tmp, run_cli_many(calls)


def test_solve_writes_the_result_files(runs):
    tmp, done = runs
    for key in ("first", "second"):
        assert done[key].returncode == 0, done[key].stderr
        assert_no_traceback(done[key].stderr)
        assert sorted(p.name for p in (tmp / key).iterdir()) == sorted(RESULT_FILES + REPORT_FILES)
    assert "results in" in done["first"].stdout
    assert done["second"].stdout == ""  # --quiet


def test_result_files_are_the_instance_solved(runs):
    """The written files hold this instance's optimum: invariants hold on them."""
    tmp, _ = runs
    inst = planner.load_instance(FEATURES)
    result = planner.solve(inst)
    tables = inv.read_tables(tmp / "first")
    inv.check_all(inst, tables)
    assert tables.summary["instance_file"] == str(FEATURES)
    assert tables.summary["objective_nok"] == pytest.approx(result.summary["objective_nok"],
                                                            rel=1e-9)


def test_two_runs_give_identical_csv_files(runs):
    tmp, _ = runs
    for name in RESULT_FILES:
        if name.endswith(".csv"):
            assert (tmp / "first" / name).read_bytes() == (tmp / "second" / name).read_bytes(), name
    first, second = (json.loads((tmp / k / "summary.json").read_text()) for k in ("first", "second"))
    for summary in (first, second):
        summary.pop("timings_s")
        summary.pop("date")
    assert first == second


def test_mps_file_solves_to_the_same_objective(runs):
    tmp, _ = runs
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    assert h.readModel(str(tmp / "lp.mps")) == highspy.HighsStatus.kOk
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal
    summary = json.loads((tmp / "first" / "summary.json").read_text())
    assert h.getInfo().objective_function_value == pytest.approx(summary["objective_nok"],
                                                                 rel=1e-9, abs=1e-6)
    lp = h.getLp()
    assert lp.sense_ == highspy.ObjSense.kMaximize
    names = [h.getColName(j)[1] for j in range(lp.num_col_)]
    assert any(n.startswith("granted_mw[") for n in names)  # the model's names, not x1, x2, ...


def test_time_limit_exits_5_and_writes_nothing(runs):
    tmp, done = runs
    res = done["time limit"]
    assert res.returncode == 5, (res.returncode, res.stderr)
    # features.yaml's City is short in hours 40-41: the pre-solve check warns first
    warning, error = res.stderr.splitlines()
    assert warning.startswith("warning: ") and "zones[2]: firm demand exceeds" in warning
    assert error.startswith("error: ") and "time limit" in error.lower()
    assert re.search(r"the whole solve took \d+\.\d s against the time limit of 0 s$", error)
    assert_no_traceback(res.stderr)
    assert not (tmp / "limited").exists()


# --------------------------------------------------------------------------------------------
# infeasible and unbounded LPs: validation keeps them out of instance files (models/formulation.md
# section 8), so the command is given a broken instance through its loader


def _cli_with_instance(monkeypatch, tmp_path, inst, *args):
    monkeypatch.setattr(planner.instance.load, "load_instance", lambda path: inst)
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["solve", str(TINY), "--out", str(out), *args])
    return res, out


def test_infeasible_exits_3_and_writes_nothing(monkeypatch, tmp_path):
    inst = planner.load_instance(TINY)
    hydro = next(s for s in inst.supply if s.reservoir)
    dry = dataclasses.replace(hydro, initial_storage_mwh=0.0, final_storage_mwh=hydro.storage_mwh)
    broken = dataclasses.replace(inst, supply=tuple(dry if s is hydro else s for s in inst.supply))
    with pytest.raises(planner.InfeasibleError):
        planner.solve(broken)
    res, out = _cli_with_instance(monkeypatch, tmp_path, broken)
    assert res.exit_code == 3, res.output
    assert "infeasible" in res.stderr.lower()
    assert_no_traceback(res.stderr)
    assert not out.exists()


def test_unbounded_exits_4_and_writes_nothing(monkeypatch, tmp_path):
    inst = planner.load_instance(TINY)
    link = dataclasses.replace(inst.interconnectors[0], export_mw=float("inf"))
    plants = tuple(dataclasses.replace(s, capacity_mw=float("inf")) if s.kind == "wind" else s
                   for s in inst.supply)
    broken = dataclasses.replace(inst, interconnectors=(link,), supply=plants)
    with pytest.raises(planner.UnboundedError):
        planner.solve(broken)
    res, out = _cli_with_instance(monkeypatch, tmp_path, broken)
    assert res.exit_code == 4, res.output
    assert_no_traceback(res.stderr)
    assert not out.exists()


# --------------------------------------------------------------------------------------------
# solver options change the path, not the answer


@pytest.mark.parametrize("options", [SolverOptions(staged=True), SolverOptions(solver="ipm"),
                                     SolverOptions(solver="choose")],
                         ids=["staged", "ipm", "choose"])
@pytest.mark.parametrize("path", list(dict.fromkeys([HAND, TINY, FEATURES, *TEACHING])),
                         ids=lambda p: p.stem)
def test_solver_options_reach_the_same_optimum(tmp_path, path, options):
    """Simplex (the default), interior point, HiGHS's choice and the staged solve find the same
    objective (relative 1e-6, the issue's cross-check) and files that pass the checker."""
    inst = planner.load_instance(path)
    default = planner.solve(inst)
    other = planner.solve(inst, options)
    scale = max(1.0, sum(abs(x) for x in default.summary["objective_terms_nok"].values()))
    assert other.summary["objective_nok"] == pytest.approx(default.summary["objective_nok"],
                                                           rel=1e-6, abs=1e-7 * scale)
    write_tables(ResultData.of(other), tmp_path)
    inv.check_all(inst, inv.read_tables(tmp_path))
