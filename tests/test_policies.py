"""Policies: lexicographic tiers against a hand result, the first tier against its standalone
optimum, properties of re-solves over random instances, warm = cold, the shipped Norway
policies, and located errors for bad overrides."""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import HAND, REPO, TEACHING, assert_no_traceback, read_yaml, write_instance
from hypothesis import given
from hypothesis import strategies as st
from test_properties import SETTINGS, instances, scale_of, scaled

import planner
import planner.background
import planner.decompose
import planner.parallel
import planner.session
from planner.background import forks
from planner.cli import cli
from planner.compare import compare, run_policies, solve_order, split
from planner.instance.instance import Instance
from planner.parallel import SessionProcess, read_outcomes, write_outcomes
from planner.policies import PolicySpec, firm_supply_mw, load_policies
from planner.session import Session, coarse_reached
from planner.solve import SolverOptions, run_highs

NORWAY = REPO / "instances" / "norway-2030.yaml"
WEEK = next(p for p in TEACHING if p.name == "two-zones-week.yaml")
DAY = next(p for p in TEACHING if p.name == "three-zones-day.yaml")


def policy(**fields) -> PolicySpec:
    return PolicySpec.model_validate({"name": "p", **fields})


def test_hand_tiers_miner_first():
    """instances/teaching/hand.yaml with the miner as the only tier (tolerance 0).

    Stage 1 maximises the miner's value alone: 30 MW in both hours (wind 100 and 40 MW in the
    North), 550 × 60 = 33 000 NOK, which is then held. Final stage, hour 1: the North has
    40 − 30 = 10 MW left for the line; the South has that plus 20 MW of gas = 30 MW for the
    homes (30 MW) and the smelter's 10 MW existing connection. Shedding homes costs 20 550
    NOK/MWh, shedding the smelter 730 + 25 500 = 26 230, so 10 MWh of homes go unserved. Any
    larger grant (smelter above 10 MW, electrolyser's firm half) would need more shedding in
    hour 1 for at most 730 × 2 or 800 × 2 NOK/MW, so smelter 10 MW, electrolyser 0.
    Hour 0: 70 MW left in the North; 20 MW exported at 400, 40 MW to the South (homes 30 +
    smelter 10), 10 MW of wind curtailed.
    Objective: miner 33 000 + smelter 730 × 20 + exports 400 × 20 − gas 600 × 20 (hour 1)
    − lost load 20 550 × 10 = −161 900 NOK.
    Prices: hour 0, curtailed wind and an unfilled line: 0 in both zones; hour 1, the marginal
    MWh sheds homes and the line is inside its limit: 20 550 in both zones."""
    inst = planner.load_instance(HAND)
    run = Session(inst).solve(policy(tiers=[["miner"]], tier_tolerance=0.0))
    alloc = run.result.allocation.set_index("applicant")
    assert run.result.summary["objective_nok"] == pytest.approx(-161_900, abs=1e-4)
    assert run.stages[0].value_nok == pytest.approx(33_000)
    assert alloc.loc["miner", "served_mwh"] == pytest.approx(60)
    assert alloc.loc["homes", "unserved_mwh"] == pytest.approx(10)
    assert alloc.loc["smelter", "granted_mw"] == pytest.approx(10)
    assert alloc.loc["smelter", "served_mwh"] == pytest.approx(20)
    assert alloc.loc["electrolyser", "granted_mw"] == pytest.approx(0, abs=1e-9)
    prices = run.result.prices
    assert prices[["North", "South"]].to_numpy() == pytest.approx(np.array([[0, 0], [20_550] * 2]))
    # Priority cost: 1 MWh less for the miner (550 NOK of its value) lets 1 MWh more reach the
    # homes in hour 1 (+20 550 NOK): 20 000 / 550 = 36.36 NOK per NOK held.
    assert run.stages[0].priority_cost == pytest.approx(20_000 / 550)
    # without the tier the miner loses energy: the priority has a cost
    assert planner.solve(inst).summary["objective_nok"] > -161_900


@pytest.mark.parametrize("path,tier", [(DAY, "industry"), (WEEK, "ai_training"), (HAND, "miner")])
def test_first_tier_equals_its_standalone_optimum(path, tier):
    """Stage 1 of a tiered policy reaches the largest value the first tier can have at all,
    computed here by maximising only its columns' value in a separate HiGHS run."""
    inst = planner.load_instance(path)
    run = Session(inst).solve(policy(tiers=[[tier], ["*", "trade"]]))
    alone = Session(inst)
    cost = alone.costs(inst)
    members = [a.name for a in inst.applicants if tier in (a.name, a.load_class)]
    cols = np.concatenate([alone.applicant_columns(a) for a in members])
    mask = np.zeros(len(cost))
    mask[cols] = cost[cols]
    alone.highs.changeColsCost(len(cost), np.arange(len(cost), dtype=np.int32), mask)
    best = run_highs(alone.highs, alone.lp).objective - alone.lp.offset
    assert run.stages[0].value_nok == pytest.approx(best, rel=1e-9, abs=1e-6)
    # the final stage holds it within the relative tolerance
    served = run.result.allocation.set_index("applicant").loc[members]
    weights = np.array([a.weight_nok_per_mwh for a in inst.applicants if a.name in members])
    voll = np.array([a.value_of_lost_load_nok_per_mwh for a in inst.applicants if a.name in members])
    value = float(weights @ served["served_mwh"] - voll @ served["unserved_mwh"])
    assert value >= best - 1e-6 * max(1, abs(best)) - 1e-6


@SETTINGS
@given(spec=instances(), data=st.data())
def test_raising_a_weight_by_policy_never_serves_less(spec, data):
    """The exchange argument of tests/test_properties.py, through a warm re-solve of the
    session with the weight changed by a policy (a cost diff on the HiGHS instance)."""
    k = data.draw(st.integers(0, len(spec["applicants"]) - 1), label="applicant")
    delta = data.draw(st.floats(10, 1000).map(round), label="weight increase")
    with tempfile.TemporaryDirectory() as tmp:
        inst = planner.load_instance(write_instance(spec, Path(tmp) / "i.yaml"))
    session = Session(inst)
    base = session.solve(None).result
    name = inst.applicants[k].name
    raised = session.solve(policy(applicants={
        name: {"weight_nok_per_mwh": inst.applicants[k].weight_nok_per_mwh + delta}})).result
    tol = 1e-4 + 1e-7 * (scale_of(base) + scale_of(raised)) / delta
    assert raised.arrays.served_mw[k].sum() >= base.arrays.served_mw[k].sum() - tol


@SETTINGS
@given(spec=instances(), c=st.sampled_from([0.1, 3.0, 7.5]), data=st.data())
def test_scaling_values_scales_tiered_objective(spec, c, data):
    """Scaling every value term by c scales each tier's value and the final objective by c:
    the tier holds use a relative tolerance, so they scale too, down to their absolute floor
    (tolerance × 1 NOK), which does not: hence the absolute part of the comparison."""
    classes = sorted({a["class"] for a in spec["applicants"]})
    first = data.draw(st.sampled_from(classes), label="first tier")
    tiered = policy(tiers=[[first], ["*"]])
    with tempfile.TemporaryDirectory() as tmp:
        base = Session(planner.load_instance(write_instance(spec, Path(tmp) / "a.yaml")))
        big = Session(planner.load_instance(write_instance(scaled(spec, c), Path(tmp) / "b.yaml")))
    one, other = base.solve(tiered), big.solve(tiered)
    # each hold may give up tier_tolerance × 1 NOK (its absolute floor) in either solve
    tol = 1e-6 * (2 * len(one.stages) + c * scale_of(one.result))
    assert other.result.summary["objective_nok"] == pytest.approx(
        c * one.result.summary["objective_nok"], rel=1e-6, abs=tol)
    for a, b in zip(one.stages, other.stages, strict=True):
        assert b.value_nok == pytest.approx(c * a.value_nok, rel=1e-6, abs=tol)


TEACHING_POLICIES = [
    None,
    policy(name="weights", classes={"bitcoin_mining": {"weight_nok_per_mwh": 1200},
                                    "industry": {"weight_nok_per_mwh": 300}}),
    policy(name="cap", export_cap_twh=0.0),
    policy(name="floor", domestic_floor_twh=1.0),
    policy(name="tiers", tiers=[["households"], ["ai_training"], ["*", "trade"]]),
    policy(name="terms", classes={"bitcoin_mining": {"firm_share": 1.0}}),
    policy(name="reserve", reserve_margin={"margin": 0.1, "scope": "zone"}),
]
TEACHING_BY_NAME = {p.name: p for p in TEACHING_POLICIES if p}
"""The teaching policies by name (the base left out)."""


@pytest.mark.parametrize("path", [WEEK, DAY])
def test_warm_resolve_equals_cold_solve(path):
    """Policy after policy in one session (cost diffs, added and relaxed rows, one rebuild)
    gives the objective of solving each policy in a fresh model from scratch; the base
    re-solved last equals planner.solve."""
    inst = planner.load_instance(path)
    warm = Session(inst)
    for p in [*TEACHING_POLICIES, None]:
        try:
            expected = Session(inst, warm=False).solve(p).result.summary["objective_nok"]
        except planner.InfeasibleError:
            with pytest.raises(planner.InfeasibleError):
                warm.solve(p)
            continue
        got = warm.solve(p).result
        assert got.summary["objective_nok"] == pytest.approx(expected, rel=1e-8, abs=1e-4)
        assert abs(got.summary["objective_residual_nok"]) <= 1e-6 * max(1, abs(expected))
    assert warm.builds == 3  # the base, the terms policy, the base again
    assert got.summary["objective_nok"] == pytest.approx(
        planner.solve(inst).summary["objective_nok"], rel=1e-9)



def test_compare_solves_the_policies_near_the_first_right_after_it():
    """The base first; then those with its weights and only subproblem rows (cap, floor); then
    the others as given (new weights, tiers, a reserve margin); the rebuilding one (new terms)
    last. The runs come back in the order given, each with its own policy's optimum."""
    inst = planner.load_instance(DAY)  # the week's reserve margin cannot hold
    names = [p.name if p else "base" for p in TEACHING_POLICIES]
    order = solve_order(inst, TEACHING_POLICIES)
    assert [names[k] for k in order] == ["base", "cap", "floor", "weights", "tiers", "reserve",
                                         "terms"]
    solved: list[str] = []
    runs = run_policies(inst, TEACHING_POLICIES, SolverOptions(),
                        progress=lambda name: solved.append(name))
    assert solved == [names[k] for k in order]
    assert [r.policy for r in runs] == names
    for policy, run in zip(TEACHING_POLICIES, runs, strict=True):
        expected = Session(inst, warm=False).solve(policy).result.summary["objective_nok"]
        assert run.result.summary["objective_nok"] == pytest.approx(expected, rel=1e-8, abs=1e-4)


def test_two_sessions_give_the_runs_of_one(monkeypatch):
    """With two jobs the first session keeps the base and the policies that need no coarse
    optimum after it (limits, a reserve margin); the others (new weights, tiers, and new
    connection terms, which rebuild the model) are dealt alternately, the second session (a
    child process) first: the runs come back in the order given, each
    with the optimum one session finds, and progress names every policy once. A second session
    that fails (a forked copy that raises; where there is no fork, no Python to run it) leaves
    its policies to the first, with a warning that says why."""
    inst = planner.load_instance(DAY)
    names = [p.name if p else "base" for p in TEACHING_POLICIES]
    first, second = split(inst, TEACHING_POLICIES, solve_order(inst, TEACHING_POLICIES))
    assert [names[k] for k in first] == ["base", "cap", "floor", "reserve", "tiers"]
    assert [names[k] for k in second] == ["weights", "terms"]
    one = run_policies(inst, TEACHING_POLICIES, SolverOptions(), jobs=1)
    solved: list[str] = []
    two = run_policies(inst, TEACHING_POLICIES, SolverOptions(), jobs=2, progress=solved.append)
    assert sorted(solved) == sorted(names)
    assert [r.policy for r in two] == names
    for a, b in zip(one, two, strict=True):
        assert b.result.summary["objective_nok"] == pytest.approx(
            a.result.summary["objective_nok"], rel=1e-8, abs=1e-4)

    def fails(*_: object) -> None:
        raise RuntimeError("the second session broke")

    # a forked copy that fails, and where there is no fork a process that cannot start
    monkeypatch.setattr(Session, "take_over", fails)
    for no_fork in (False, True):
        if no_fork:
            monkeypatch.setattr(sys.modules["planner.compare"], "forks", lambda: False)
            monkeypatch.setattr(sys, "executable", "false")
        with pytest.warns(RuntimeWarning, match="second session") as said:
            fallback = run_policies(inst, TEACHING_POLICIES, SolverOptions(), jobs=2)
        assert ("the second session broke" in str(said[0].message)) is not no_fork
        assert [r.result.summary["objective_nok"] for r in fallback] == pytest.approx(
            [r.result.summary["objective_nok"] for r in one], rel=1e-8, abs=1e-4)


def test_policies_that_warm_each_other_are_dealt_together():
    """The policies with their own coarse optimum are dealt alternately, the second session
    first, each with the policies right after it that start from its solution (its weights
    with an export cap) or share its new connection terms: apart, the one would start from
    its own coarse optimum, the other rebuild the model a second time."""
    inst = planner.load_instance(DAY)
    weights = {"industry": {"weight_nok_per_mwh": 300}}
    terms = {"bitcoin_mining": {"firm_share": 1.0}}
    policies = [None, policy(name="w", classes=weights),
                policy(name="w_cap", classes=weights, export_cap_twh=0.0),
                policy(name="w2", classes={"industry": {"weight_nok_per_mwh": 900}}),
                policy(name="t", classes=terms),
                policy(name="t_w", classes=terms | {"industry": {"weight_nok_per_mwh": 50}}),
                policy(name="cap", export_cap_twh=0.0)]
    names = [p.name if p else "base" for p in policies]
    first, second = split(inst, policies, solve_order(inst, policies))
    assert [names[k] for k in first] == ["base", "cap", "w2"]
    assert [names[k] for k in second] == ["w", "w_cap", "t", "t_w"]


def test_on_linux_the_second_session_is_a_forked_copy(monkeypatch):
    """The second session takes over the first's built LP: one build, no Python started."""
    if not forks():
        pytest.skip("fork is used on Linux only")
    made: list[Session] = []
    init = Session.__init__
    monkeypatch.setattr(Session, "__init__", lambda self, *a, **k: (made.append(self),
                                                                     init(self, *a, **k))[1])
    monkeypatch.setattr(planner.parallel.Child, "start", lambda *a: pytest.fail("a process started"))
    inst = planner.load_instance(DAY)
    runs = run_policies(inst, TEACHING_POLICIES, SolverOptions(), jobs=2)
    assert [r.policy for r in runs] == [p.name if p else "base" for p in TEACHING_POLICIES]
    assert len(made) == 1


def test_the_forked_copy_starts_from_the_coarse_optima_its_parent_computes(monkeypatch):
    """With the coarse optima computed by child processes on the week too (from 2 000 h
    otherwise), the forked second session reads those of its policies from the child the first
    session's process started, and reaches the optima one session finds."""
    if not forks():
        pytest.skip("fork is used on Linux only")
    monkeypatch.setattr(planner.session, "pays_off", lambda inst: True)
    inst = planner.load_instance(WEEK)
    policies = TEACHING_POLICIES[:2]  # the base and new weights, which start from their own
    assert split(inst, policies, solve_order(inst, policies)) == ([0], [1])
    options = SolverOptions(method="grants")
    one = run_policies(inst, policies, options, jobs=1)
    two = run_policies(inst, policies, options, jobs=2)
    assert two[1].result.summary["timings_s"]["coarse_s"] > 0
    assert two[1].result.summary["timings_s"]["build_s"] == 0  # built by the first session
    for a, b in zip(one, two, strict=True):
        assert b.result.summary["objective_nok"] == pytest.approx(
            a.result.summary["objective_nok"], rel=1e-8, abs=1e-4)


def test_a_failed_coarse_child_leaves_the_forked_copy_solving(monkeypatch):
    """The forked second session reads its coarse optima from a child its parent forked: a
    sibling, which it cannot wait for. When that child fails, the copy warns and solves from
    the requests, as a session whose own child failed does, instead of failing itself."""
    if not forks():
        pytest.skip("fork is used on Linux only")
    monkeypatch.setattr(planner.session, "pays_off", lambda inst: True)
    inst = planner.load_instance(WEEK)
    policies, options = TEACHING_POLICIES[:2], SolverOptions(method="grants")
    one = run_policies(inst, policies, options, jobs=1)

    def broken(*_: object) -> None:
        raise RuntimeError("the coarse model broke")

    monkeypatch.setattr(planner.background, "first_stage_start", broken)
    with warnings.catch_warnings(record=True) as said:
        warnings.simplefilter("always")
        two = run_policies(inst, policies, options, jobs=2)
    texts = [str(w.message) for w in said]
    assert any("coarse optimum's process failed" in t and "the coarse model broke" in t
               for t in texts), texts
    assert not any("second session" in t for t in texts), texts
    for a, b in zip(one, two, strict=True):
        assert b.result.summary["objective_nok"] == pytest.approx(
            a.result.summary["objective_nok"], rel=1e-8, abs=1e-4)


def test_the_second_sessions_progress_is_shown_while_the_first_works(monkeypatch):
    """Each of the second session's policies is shown as the child finishes it, not when this
    process's session next finishes one: here this process holds its last policy back until
    it has seen all of them (they never come before the change that shows them at once)."""
    inst = planner.load_instance(DAY)
    first, second = split(inst, TEACHING_POLICIES, solve_order(inst, TEACHING_POLICIES))
    second = {TEACHING_POLICIES[k].name for k in second}
    parent, solved, solve = os.getpid(), [], Session.solve

    def held_back(self, policy=None):
        if os.getpid() == parent and policy is TEACHING_POLICIES[first[-1]]:
            deadline = time.monotonic() + 120
            while not second <= set(solved) and time.monotonic() < deadline:
                time.sleep(0.05)
            assert second <= set(solved), f"only {solved} shown"
        return solve(self, policy)

    monkeypatch.setattr(Session, "solve", held_back)
    run_policies(inst, TEACHING_POLICIES, SolverOptions(), jobs=2, progress=solved.append)
    assert sorted(solved) == sorted(p.name if p else "base" for p in TEACHING_POLICIES)


def test_the_second_sessions_warnings_reach_this_process(tmp_path):
    """Warnings recorded in the child travel with the next outcome and are issued here when
    it is read, once each; one of a category defined in the child (which could not be
    unpickled here) comes as a RuntimeWarning that names it."""
    class LocalWarning(UserWarning):
        pass

    def outcomes():
        warnings.warn("the coarse optimum's process failed", RuntimeWarning, stacklevel=1)
        yield "weights"
        warnings.warn("from a library", LocalWarning, stacklevel=1)
        yield "tiers"

    runs = tmp_path / "runs.pickle"
    with runs.open("wb") as f, warnings.catch_warnings(record=True) as caught:
        assert list(write_outcomes(f, outcomes(), caught)) == ["weights", "tiers"]
    with runs.open("rb") as f:
        read = read_outcomes(f, 3)
        with pytest.warns(RuntimeWarning, match="coarse optimum") as first:
            assert next(read) == "weights"
        with pytest.warns(RuntimeWarning, match="LocalWarning: from a library") as second:
            assert list(read) == ["tiers"]
    assert (len(first), len(second)) == (1, 1)


def test_the_second_sessions_infeasible_policy_and_errors_come_back(monkeypatch):
    """The week's reserve margin cannot hold: solved in the second session (with new weights,
    so it needs a coarse optimum of its own), its located infeasibility is that policy's
    outcome, as in one session, and the other policy is solved. Any other error of the second
    session (here a time limit) is raised."""
    inst = planner.load_instance(WEEK)
    policies = [None, policy(name="reserve", reserve_margin={"margin": 0.5, "scope": "zone"},
                             classes={"industry": {"weight_nok_per_mwh": 300}})]
    assert split(inst, policies, [0, 1]) == ([0], [1])  # reserve goes to the second session
    for jobs in (1, 2):
        base, reserve = run_policies(inst, policies, SolverOptions(), jobs=jobs)
        assert base.policy == "base"
        assert isinstance(reserve, planner.InfeasibleError) and "policy 'reserve'" in str(reserve)
    # any other error of the second session is raised here
    monkeypatch.setattr(SessionProcess, "outcomes",
                        lambda self: [planner.SolverLimitError("time limit in the child")])
    with pytest.raises(planner.SolverLimitError, match="time limit in the child"):
        run_policies(inst, policies, SolverOptions(), jobs=2)


def test_limits_hold_in_the_result_tables():
    """Export cap, domestic floor and reserve margin, recomputed from the written tables."""
    inst = planner.load_instance(WEEK)
    session = Session(inst)
    free = session.solve(None).result
    cap = 0.5 * free.dispatch["exports_mw"].sum() / 1e6 * 8760 / inst.hours
    capped = session.solve(policy(export_cap_twh=cap)).result
    net = (capped.dispatch["exports_mw"] - capped.dispatch["imports_mw"]).sum()
    assert net <= cap * 1e6 * inst.hours / 8760 + 1e-6
    alloc = session.solve(policy(reserve_margin={"margin": 0.1})).result.allocation
    firm = alloc["granted_firm_mw"].sum()
    assert 1.1 * firm <= firm_supply_mw(inst, None) + 1e-6


def test_norway_policies_validate_and_are_documented():
    inst = planner.load_instance(NORWAY)
    policies = load_policies(inst)
    assert list(policies) == ["status_quo", "first_come_first_served", "value_creation", "market",
                              "flexible_mining", "domestic_first", "reserve_margin"]
    for p in policies.values():
        assert len(p.description) > 80 and p.source, p.name
    doc = (REPO / "docs" / "policies.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in doc for name in policies)


def test_norway_policies_solve_on_a_teaching_week(tmp_path):
    """Every shipped Norway policy (written to a policy file) solves on the two-zone teaching
    week, in two sessions as on the Norway year: each is optimal or, for the reserve margin, a
    located infeasibility; the comparison has every policy and per-applicant changes against
    the baseline."""
    section = {"policies": read_yaml(NORWAY)["policies"]}
    inst = planner.load_instance(WEEK)
    firm = sum(a.existing_mw * a.firm_share for a in inst.applicants)
    feasible = firm_supply_mw(inst, None) >= 1.4 * firm
    if not feasible:
        section["policies"][-1]["reserve_margin"]["margin"] = firm_supply_mw(inst, None) / firm - 1.01
    policy_file = write_instance(section, tmp_path / "norway-policies.yaml")
    out = tmp_path / "cmp"
    res = CliRunner().invoke(cli, ["compare", str(WEEK), "--all", "--policy-file", str(policy_file),
                                   "--out", str(out), "--jobs", "2"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "comparison.csv")
    assert sorted(table["policy"].unique()) == sorted(p["name"] for p in section["policies"])
    base = table[table["policy"] == "status_quo"]
    assert (base["change"].abs() < 1e-9).all()
    ranks = table[(table["section"] == "applicant") & (table["metric"] == "rank")]
    assert len(ranks) == len(section["policies"]) * len(inst.applicants)
    # the comparison report: every policy side by side, changes per applicant and policy
    html = (out / "report.html").read_text()
    assert all(p["name"] in html for p in section["policies"])
    changes = pd.read_csv(out / "comparison_changes.csv")
    assert len(changes) == len(section["policies"]) * len(inst.applicants)
    value = table[(table["section"] == "applicant")
                  & (table["metric"] == "value_at_baseline_weights_nok")]
    assert changes["value_change_nok"].sum() == pytest.approx(value["change"].sum(), abs=1.0)
    data = json.loads((out / "comparison.json").read_text())
    assert data["baseline"] == "status_quo"
    for name in data["policies"]:
        assert (out / name / "allocation.csv").is_file()
        assert data["policies"][name]["summary"]["policy"]["name"] == name
        # each policy's folder checked against the policy's weights, terms and limits
        check = json.loads((out / name / "verification.json").read_text())
        assert check["passed"], (name, check)
    limits = json.loads((out / "domestic_first" / "verification.json").read_text())
    assert limits["families"]["policy_limits"]["checked"] == 1  # the export cap
    # the tiered regimes report their stages; the last is the final full objective
    stages = data["policies"]["first_come_first_served"]["summary"]["policy"]["stages"]
    assert stages[-1]["name"] == "final" and len(stages) > 2
    # the miner's tier, held by a row, costs most: its load is marginal in every zone and hour,
    # so the final stage's prices are its weight × (1 + that priority cost), as the footnote says
    cost = max(s["priority_cost"] for s in stages if s["held_by"] == "row")
    system = data["policies"]["first_come_first_served"]["metrics"]["system"]["all"]
    assert system["priority_cost_in_prices"]["value"] == pytest.approx(cost) and cost > 0
    prices = pd.read_csv(out / "first_come_first_served" / "prices.csv")[list(inst.zones)]
    miner = next(a for a in inst.applicants if a.load_class == "bitcoin_mining")
    assert prices.to_numpy() == pytest.approx(miner.weight_nok_per_mwh * (1 + cost), rel=1e-6)
    assert f"first_come_first_served: its prices carry the cost of tier holds, up to " \
           f"{cost:,.2f} NOK per NOK held" in res.output
    assert "status_quo: its prices" not in res.output


def test_sweep_finds_the_export_cap_breakpoint(tmp_path):
    """hand.yaml exports 10 MWh over its 2 h (20 MW in hour 0; hour 1 has no surplus), i.e.
    10 / 2 × 8760 / 1e6 = 0.0438 TWh/yr: below that cap the allocation moves with the cap,
    above it nothing binds. HiGHS's bound ranging gives the breakpoint exactly."""
    res = CliRunner().invoke(cli, ["sweep", str(HAND), "--vary", "export_cap_twh", "--from", "0",
                                   "--to", "0.1", "--steps", "3", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    breaks = pd.read_csv(tmp_path / "breakpoints.csv")
    assert len(breaks) == 1
    assert breaks.loc[0, "method"] == "exact"
    assert breaks.loc[0, "breakpoint"] == pytest.approx(10 / 2 * 8760 / 1e6, abs=1e-4)
    sweep = pd.read_csv(tmp_path / "sweep.csv")
    assert len(sweep) == 3 * 4


def test_a_sweep_by_grant_decomposition_has_grid_breakpoints_only(tmp_path):
    """The same export-cap sweep by grant decomposition (the default from 336 hours) gives the
    same allocation at every value, and the same breakpoint between 0 and 0.05 TWh/yr, but
    between grid values, where the cap's dual changes: the decomposition has no ranging of the
    full LP, and says so. The dual is the export price, 400 NOK/MWh, while the cap binds (below
    0.0438 TWh/yr), then 0, by either method."""
    runs = {method: CliRunner().invoke(cli, [
        "sweep", str(HAND), "--vary", "export_cap_twh", "--from", "0", "--to", "0.1", "--steps",
        "3", "--method", method, "--out", str(tmp_path / method)]) for method in ("direct", "grants")}
    assert all(res.exit_code == 0 for res in runs.values()), runs
    direct, grants = (pd.read_csv(tmp_path / m / "sweep.csv") for m in ("direct", "grants"))
    assert grants[["granted_mw", "served_mwh"]].to_numpy() == pytest.approx(
        direct[["granted_mw", "served_mwh"]].to_numpy(), abs=1e-6)
    breaks = pd.read_csv(tmp_path / "grants" / "breakpoints.csv")
    assert breaks[["from_value", "to_value", "method"]].values.tolist() == [[0.0, 0.05, "grid"]]
    assert "solved by grant decomposition, which has no ranging" in runs["grants"].output
    assert "solved by grant decomposition" not in runs["direct"].output
    for method in runs:
        steps = pd.read_csv(tmp_path / method / "sweep_steps.csv")
        assert steps["limit_dual_nok_per_mwh"].tolist() == pytest.approx([400, 0, 0], abs=1e-6)


def test_a_decomposed_floor_sweep_within_one_basis_has_no_breakpoint(tmp_path):
    """With every load but the homes worth 10 NOK/MWh on hand.yaml, a domestic floor of 0.49 to
    0.53 TWh/yr binds within one basis (HiGHS's range: 0.4818–0.5475): the allocation moves with
    the floor, its dual stays −190 NOK/MWh (a floor raised costs), and neither method reports
    a breakpoint."""
    (tmp_path / "low.yaml").write_text(
        "policies:\n  - name: low\n    classes:\n"
        + "".join(f"      {c}: {{weight_nok_per_mwh: 10}}\n"
                  for c in ("industry", "bitcoin_mining", "hydrogen")), encoding="utf-8")
    for method in ("direct", "grants"):
        out = tmp_path / method
        res = CliRunner().invoke(cli, [
            "sweep", str(HAND), "--policy", "low", "--policy-file", str(tmp_path / "low.yaml"),
            "--vary", "domestic_floor_twh", "--from", "0.49", "--to", "0.53", "--steps", "3",
            "--method", method, "--out", str(out)])
        assert res.exit_code == 0, res.output
        steps = pd.read_csv(out / "sweep_steps.csv")
        assert steps["limit_dual_nok_per_mwh"].tolist() == pytest.approx([-190] * 3, abs=1e-6)
        assert len(set(steps["objective_nok"].round(3))) == 3  # the floor binds at each
        assert pd.read_csv(out / "breakpoints.csv").empty


def test_an_infeasible_step_keeps_a_decomposed_sweep_decomposed():
    """A floor no allocation meets, between two that hold: the step after it is still solved by
    the decomposition (which proved the infeasibility on the full LP), not by the full LP."""
    from planner.sweep import sweep

    result = sweep(planner.load_instance(WEEK), None, "domestic_floor_twh",
                   np.array([4.0, 12.0, 6.0]), SolverOptions(method="grants"))
    assert result.steps["status"].tolist() == ["optimal", "infeasible", "optimal"]
    assert result.steps["exact_low"].isna().all() and not result.exact_ranging


def test_a_reserve_margin_sweep_has_no_limit_dual():
    """A reserve margin is swept in its row's coefficients, not its bound: its dual moves within
    one basis, so the sweep reports none and finds breakpoints from the allocation."""
    from planner.sweep import sweep

    result = sweep(planner.load_instance(WEEK), None, "reserve_margin", np.array([0.0, 0.05]))
    assert result.steps["status"].tolist() == ["optimal", "optimal"]
    assert result.steps["limit_dual_nok_per_mwh"].isna().all()


def test_binding_lists_the_policys_limits_that_bind():
    """hand.yaml exports 0.0438 TWh/yr at most: a cap of 0.02 binds, at the export price (each
    MWh more exported earns 400 NOK), and is listed in binding.csv's rows; a cap of 1 does not."""
    session = Session(planner.load_instance(HAND))
    binding = [session.solve(PolicySpec.model_validate({"name": f"cap {cap}", "export_cap_twh": cap}))
               .result.binding.query("family == 'policy_limit'") for cap in (0.02, 1.0)]
    assert binding[0][["entity", "bound"]].values.tolist() == [["export_cap_twh", "upper"]]
    assert binding[0]["dual_nok_per_unit"].tolist() == pytest.approx([400.0], rel=1e-9)
    assert binding[1].empty


def test_compare_lists_every_limit_with_its_level_and_dual(tmp_path):
    """comparison.csv's limit rows, binding or not, in the policy's own units: hand.yaml exports
    0.0438 TWh/yr net at most (10 MWh in its 2 hours) and serves 0.7008 TWh/yr of domestic load
    (307 MWh). A cap of 0.02 binds at the export price, 400 NOK/MWh; a cap of 1 and a floor of
    0.1 have slack, dual 0; with every load but the homes worth 10 NOK/MWh a floor of 0.5 binds
    at −190 NOK/MWh (as the sweep test below), which binding.csv gives as +190 per MWh the floor
    is relaxed. The terminal says which bind; comparison.json is strict JSON (the baseline has
    no limits: its values are null, not NaN)."""
    path = tmp_path / "limits.yaml"
    path.write_text("policies:\n  - {name: tight, export_cap_twh: 0.02}\n"
                    "  - {name: loose, export_cap_twh: 1}\n"
                    "  - {name: floor, domestic_floor_twh: 0.1}\n"
                    "  - {name: low, domestic_floor_twh: 0.5, classes: {industry: "
                    "{weight_nok_per_mwh: 10}, bitcoin_mining: {weight_nok_per_mwh: 10}, "
                    "hydrogen: {weight_nok_per_mwh: 10}}}\n", encoding="utf-8")
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["compare", str(HAND), "--all", "--policy-file", str(path),
                                   "--baseline", "base", "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "comparison.csv").query("section == 'limit'")
    got = {(r.policy, r.item, r.metric): r.value for r in table.itertuples()}
    assert got == pytest.approx({
        ("tight", "export_cap_twh", "level_twh_per_yr"): 0.02,
        ("tight", "export_cap_twh", "limit_twh_per_yr"): 0.02,
        ("tight", "export_cap_twh", "dual_nok_per_mwh"): 400.0,
        ("loose", "export_cap_twh", "level_twh_per_yr"): 10 * 8760 / 2 / 1e6,
        ("loose", "export_cap_twh", "limit_twh_per_yr"): 1.0,
        ("loose", "export_cap_twh", "dual_nok_per_mwh"): 0.0,
        ("floor", "domestic_floor_twh", "level_twh_per_yr"): 0.7008,
        ("floor", "domestic_floor_twh", "limit_twh_per_yr"): 0.1,
        ("floor", "domestic_floor_twh", "dual_nok_per_mwh"): 0.0,
        ("low", "domestic_floor_twh", "level_twh_per_yr"): 0.5,
        ("low", "domestic_floor_twh", "limit_twh_per_yr"): 0.5,
        ("low", "domestic_floor_twh", "dual_nok_per_mwh"): -190.0}, rel=1e-9, abs=1e-6)
    assert set(table["unit"]) == {"TWh/yr", "NOK/MWh"}
    assert table["baseline"].isna().all()
    assert "tight: export_cap_twh at 0.0200 TWh/yr (cap 0.0200): binds, 400.00 NOK" in res.output
    assert "loose: export_cap_twh at 0.0438 TWh/yr (cap 1.00): not binding" in res.output
    assert "floor: domestic_floor_twh at 0.701 TWh/yr (floor 0.100): not binding" in res.output
    assert "low: domestic_floor_twh at 0.500 TWh/yr (floor 0.500): binds, 190.00 NOK of " \
           "objective per MWh over the horizon it is lowered" in res.output
    relaxed = pd.read_csv(out / "low" / "binding.csv").query("family == 'policy_limit'")
    assert relaxed["dual_nok_per_unit"].tolist() == pytest.approx([190.0], abs=1e-6)

    def no_nan(constant: str) -> None:
        raise AssertionError(f"{constant} in comparison.json")

    nested = json.loads((out / "comparison.json").read_text(), parse_constant=no_nan)
    cap = nested["policies"]["tight"]["metrics"]["limit"]["export_cap_twh"]["dual_nok_per_mwh"]
    assert cap == pytest.approx({"value": 400.0, "baseline": None, "change": None,
                                 "unit": "NOK/MWh"})
    page = (out / "report.md").read_text(encoding="utf-8")
    assert "| tight | export_cap_twh | cap | 0.02 | 0.02 | TWh/yr | 400 | MWh | True |" in page
    assert "| loose | export_cap_twh | cap | 0.0438 | 1 | TWh/yr | 0 | MWh | False |" in page
    assert 'id="limits"' in (out / "report.html").read_text(encoding="utf-8")
    summary = json.loads((out / "tight" / "summary.json").read_text())
    assert summary["policy"]["limits"] == [pytest.approx({
        "entity": "export_cap_twh", "unit": "MWh", "sense": "upper", "limit": 0.02e6 * 2 / 8760,
        "level": round(0.02e6 * 2 / 8760, 4), "dual_nok_per_unit_raised": 400.0})]  # as tables


def test_solve_says_whether_its_policy_limits_bind(tmp_path):
    """planner solve --policy prints each limit of the policy with its level and, where it
    binds, its dual (hand.yaml's 0.02 TWh/yr export cap at the export price), and the reports'
    run record lists them; a record whose limit lacks a field is a located input error."""
    path = tmp_path / "p.yaml"
    path.write_text("policies:\n  - {name: tight, export_cap_twh: 0.02, domestic_floor_twh: 0.1}\n",
                    encoding="utf-8")
    res = CliRunner().invoke(cli, ["solve", str(HAND), "--policy-file", str(path), "--policy",
                                   "tight", "--out", str(tmp_path / "out"), "--formats",
                                   "csv,md"])
    assert res.exit_code == 0, res.output
    note = "export_cap_twh at 0.0200 TWh/yr (cap 0.0200): binds, 400.00 NOK of objective per " \
           "MWh over the horizon it is raised"
    assert f"policy limit {note}" in res.output
    assert f"- policy limit: {note}" in (tmp_path / "out" / "report.md").read_text("utf-8")
    assert "policy limit domestic_floor_twh at 0.701 TWh/yr (floor 0.100): not binding" \
        in res.output
    summary_path = tmp_path / "out" / "summary.json"
    summary = json.loads(summary_path.read_text())
    del summary["policy"]["limits"][0]["dual_nok_per_unit_raised"]  # an older record
    summary_path.write_text(json.dumps(summary))
    res = CliRunner().invoke(cli, ["report", str(tmp_path / "out")])
    assert res.exit_code == 2 and "summary.json: policy.limits[0]: needs the fields" in res.output
    assert_no_traceback(res.output)


def test_compare_lists_a_reserve_margin_in_mw():
    """A reserve margin's row in comparison.csv: (1 + margin) × firm demand granted, recomputed
    from the allocation, against the firm supply capacity, in MW, its dual in NOK/MW."""
    inst = planner.load_instance(WEEK)
    comparison = compare(inst, [None, policy(reserve_margin={"margin": 0.05})], "base")
    rows = comparison.table.query("section == 'limit'").set_index("metric")
    alloc = comparison.runs[1].result.allocation.set_index("applicant")
    firm = sum(a.firm_share * alloc.loc[a.name, "granted_mw"] for a in inst.applicants)
    assert rows.loc["level_mw", "value"] == pytest.approx(1.05 * firm, rel=1e-9)
    assert rows.loc["limit_mw", "value"] == pytest.approx(firm_supply_mw(inst, None), rel=1e-12)
    assert rows["unit"].tolist() == ["MW", "MW", "NOK/MW"]
    assert rows["item"].unique().tolist() == ["reserve_margin"]


def test_sweep_records_the_values_where_no_allocation_exists(tmp_path):
    """The two-zone week serves 8.24 TWh/yr of domestic load at most (158 000 MWh over 168 h):
    floors of 12 TWh/yr and more are infeasible. They are recorded (status, reason) and the
    change is a breakpoint between 8 and 12; the sweep still succeeds. A sweep infeasible at
    every value is an infeasibility (exit code 3) that writes nothing."""
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["sweep", str(WEEK), "--vary", "domestic_floor_twh", "--from",
                                   "0", "--to", "20", "--steps", "6", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "infeasible at 3 of 6 values" in res.output
    steps = pd.read_csv(out / "sweep_steps.csv")
    assert list(steps["status"]) == ["optimal"] * 3 + ["infeasible"] * 3
    assert steps["note"].fillna("").str.contains("domestic floor").tolist() == [False] * 3 + [True] * 3
    assert sorted(pd.read_csv(out / "sweep.csv")["value"].unique()) == [0.0, 4.0, 8.0]
    breaks = pd.read_csv(out / "breakpoints.csv")
    assert breaks[["from_value", "to_value", "change"]].values.tolist() == [[8.0, 12.0,
                                                                             "infeasible"]]
    res = CliRunner().invoke(cli, ["sweep", str(WEEK), "--vary", "domestic_floor_twh", "--from",
                                   "12", "--to", "20", "--steps", "2", "--out", str(tmp_path / "x")])
    assert res.exit_code == 3 and "infeasible at every value" in res.output, res.output
    assert not (tmp_path / "x").exists()


def test_sweep_weight_grid_breakpoints(tmp_path):
    """Raising the miner's weight on hand.yaml past the export price (400) and the gas cost
    (600) changes its served energy; the miner never serves less as its weight rises."""
    res = CliRunner().invoke(cli, ["sweep", str(HAND), "--vary", "weight:miner", "--from", "0",
                                   "--to", "1000", "--steps", "6", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    sweep = pd.read_csv(tmp_path / "sweep.csv")
    miner = sweep[sweep["applicant"] == "miner"]["served_mwh"].to_numpy()
    assert (np.diff(miner) >= -1e-6).all() and miner[-1] > miner[0]
    assert len(pd.read_csv(tmp_path / "breakpoints.csv")) >= 1


BAD = [
    ({"name": "x", "classes": {"minerz": {"weight_nok_per_mwh": 1}}},
     r"policies\.yaml:3:\d+: policies\[0\]\.classes\.minerz: unknown load class 'minerz'"),
    ({"name": "x", "classes": {"industry": {"firm_share": 1.4}}},
     r"policies\[0\]\.classes\.industry\.firm_share: must be less than or equal to 1"),
    ({"name": "x", "export_cap": 3},
     r"policies\[0\]\.export_cap: unknown key"),
    ({"name": "x", "tiers": [["homes"], ["nobody"]]},
     r"policies\[0\]\.tiers\[1\]\[0\]: unknown tier member"),
    ({"name": "x", "applicants": {"homes": {"firm_share": 0.5}}},
     r"policies\[0\]\.applicants\.homes: protected demand is always firm"),
    ({"name": "x", "reserve_margin": {"margin": -1}},
     r"policies\[0\]\.reserve_margin\.margin: must be greater than or equal to 0"),
    ({"name": "x", "tiers": "quue"},
     r"policies\[0\]\.tiers: must be 'queue' or a list of tiers"),
    ({"name": "x", "tiers": [["miner"], []]},
     r"policies\[0\]\.tiers\[1\]: list should have at least 1 item"),
    ({"name": "x", "queue_order": ["miner", "homes"]},
     r"policies\[0\]\.queue_order\[1\]: unknown queued applicant 'homes'"),
    ({"name": "x", "queue_order": ["miner", "smelter", "miner"]},
     r"policies\[0\]\.queue_order\[2\]: 'miner' is listed twice"),
    ({"name": "x", "tiers": [["miner"], ["miner"]]},
     r"policies\[0\]\.tiers\[0\]\[0\]: 'miner' is in more than one tier"),
    ({"name": "base", "export_cap_twh": 1},
     r"policies\[0\]\.name: 'base' names the instance without overrides"),
    ({"name": "..", "export_cap_twh": 1},
     r"policies\[0\]\.name: compare writes each policy into a folder of its name"),
    ({"name": "a/b", "export_cap_twh": 1},
     r"policies\[0\]\.name: compare writes each policy into a folder of its name"),
]


@pytest.mark.parametrize("entry,pattern", BAD, ids=[str(i) for i in range(len(BAD))])
def test_bad_override_is_located_with_exit_code_2(tmp_path, entry, pattern):
    path = tmp_path / "policies.yaml"
    lines = ["policies:", f"  - name: {entry['name']}"]
    lines += [f"    {k}: {json.dumps(v)}" for k, v in entry.items() if k != "name"]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    for args in (["validate", str(HAND), "--policy-file", str(path)],
                 ["compare", str(HAND), "--all", "--policy-file", str(path), "--out",
                  str(tmp_path / "o")]):
        res = CliRunner().invoke(cli, args)
        assert res.exit_code == 2, res.output
        assert_no_traceback(res.output)
        assert re.search(pattern, res.output), res.output
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("policies,message", [
    ([{"name": "a", "classes": {"industry": {"weight": 3}}}],
     "policies[0].classes.industry.weight: unknown key"),
    ([{"name": "a"}, {"name": "a", "tiers": "queue"}], "policies[1].name: duplicate policy name 'a'"),
])
def test_bad_policy_in_the_instance_file_is_located(tmp_path, policies, message):
    """Schema problems first, then names (as for the instance itself)."""
    spec = read_yaml(HAND) | {"policies": policies}
    res = CliRunner().invoke(cli, ["validate", str(write_instance(spec, tmp_path / "hand.yaml"))])
    assert res.exit_code == 2
    assert re.search(r"hand\.yaml:\d+:\d+: " + re.escape(message), res.output), res.output


def test_unknown_policy_and_bad_vary_are_input_errors(tmp_path):
    res = CliRunner().invoke(cli, ["compare", str(HAND), "--policies", "nope", "--out",
                                   str(tmp_path)])
    assert res.exit_code == 2 and "unknown policy 'nope'" in res.output
    res = CliRunner().invoke(cli, ["sweep", str(HAND), "--vary", "weight:nobody", "--from", "0",
                                   "--to", "1", "--out", str(tmp_path)])
    assert res.exit_code == 2 and "cannot sweep 'weight:nobody'" in res.output


@pytest.mark.parametrize("vary,start,stop,message", [
    ("weight:miner", "1", "1", "the values repeat"),
    ("reserve_margin", "-1", "1", "reserve_margin cannot be negative"),
    ("export_cap_twh", "nan", "1", "every value must be a finite number"),
    ("export_cap_twh", "0", "inf", "every value must be a finite number"),
])
def test_bad_sweep_values_are_input_errors_and_write_nothing(tmp_path, vary, start, stop,
                                                             message):
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["sweep", str(HAND), "--vary", vary, "--from", start, "--to",
                                   stop, "--out", str(out)])
    assert res.exit_code == 2 and f"--from/--to: values: {message}" in res.output, res.output
    assert_no_traceback(res.output)
    assert not out.exists()


@pytest.mark.parametrize("args,message", [
    (["compare", str(HAND), "--policies", "base,base"], "--policies names base more than once"),
    (["compare", str(REPO / "tests" / "instances" / "tiny.yaml"), "--all"], "has no policies"),
    (["solve", str(HAND), "--policy-file", str(HAND)], "--policy-file needs --policy NAME"),
    (["solve", str(HAND), "--policy-file", "{policies}", "--policy", "cap", "--max-size", "10"],
     "--max-size apply to the base instance"),
])
def test_option_combinations_that_would_be_ignored_are_usage_errors(tmp_path, args, message):
    out = tmp_path / "out"
    policies = tmp_path / "p.yaml"
    policies.write_text("policies:\n  - name: cap\n    export_cap_twh: 0\n")
    res = CliRunner().invoke(cli, [*(a.format(policies=policies) for a in args), "--out", str(out)])
    assert res.exit_code == 2 and message in res.output, res.output
    assert not out.exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_an_infeasible_policy_is_reported_and_the_rest_compared(tmp_path, jobs):
    """The two-zone week serves at most 8.24 TWh/yr of domestic load: a 20 TWh/yr floor has no
    allocation. Compare still solves, writes and checks the other policies (the floor in the
    second session, with new weights, or in the only one),
    names the infeasible one with its reason in the terminal, comparison.json and the report's
    record, and exits with 3. An infeasible baseline leaves nothing to compare: exit 3, nothing
    written."""
    def policies(floor_twh: float) -> Path:
        path = tmp_path / f"p{floor_twh:g}.yaml"
        path.write_text("policies:\n  - name: status_quo\n  - name: floor\n"
                        f"    domestic_floor_twh: {floor_twh}\n    classes:\n"
                        "      industry: {weight_nok_per_mwh: 1000}\n  - name: market\n"
                        "    classes:\n      industry: {weight_nok_per_mwh: 522}\n")
        return path

    path = policies(20)
    loaded = list(load_policies(planner.load_instance(WEEK), path).values())
    # new weights: with two jobs, floor goes to the second session (market to the first)
    assert split(planner.load_instance(WEEK), loaded, [0, 1, 2]) == ([0, 2], [1])
    out = tmp_path / "out"
    # a feasible floor first, and a solve of the user's beside the policies' folders
    res = CliRunner().invoke(cli, ["compare", str(WEEK), "--all", "--policy-file",
                                   str(policies(1)), "--out", str(out), "--formats", "csv"])
    assert res.exit_code == 0 and (out / "floor" / "summary.json").is_file(), res.output
    assert CliRunner().invoke(cli, ["solve", str(WEEK), "--out", str(out / "mine"), "--formats",
                                    "csv", "--no-verify"]).exit_code == 0
    res = CliRunner().invoke(cli, ["compare", str(WEEK), "--all", "--policy-file", str(path),
                                   "--jobs", jobs, "--out", str(out), "--formats", "csv,md"])
    assert res.exit_code == 3, res.output
    assert "floor: infeasible, not compared: policy 'floor'" in res.output
    assert_no_traceback(res.output)
    table = pd.read_csv(out / "comparison.csv")
    assert sorted(table["policy"].unique()) == ["market", "status_quo"]
    data = json.loads((out / "comparison.json").read_text())
    assert list(data["infeasible"]) == ["floor"] and "domestic floor" in data["infeasible"]["floor"]
    assert "- infeasible: floor: policy 'floor'" in (out / "report.md").read_text()
    assert not (out / "floor").exists()  # the earlier compare's folder went with it
    assert (out / "mine" / "summary.json").is_file()
    for name in ("market", "status_quo"):
        assert json.loads((out / name / "verification.json").read_text())["passed"]
    res = CliRunner().invoke(cli, ["compare", str(WEEK), "--all", "--policy-file", str(path),
                                   "--baseline", "floor", "--jobs", jobs, "--out",
                                   str(tmp_path / "none")])
    assert res.exit_code == 3 and "the baseline has no solution" in res.output, res.output
    assert not (tmp_path / "none").exists()


def test_policy_base_is_the_instance_as_given(tmp_path):
    """--policy base solves the base instance, with the options that apply to it."""
    res = CliRunner().invoke(cli, ["solve", str(HAND), "--policy", "base", "--max-size", "10",
                                   "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "above the limit of 10" in res.output, res.output


def test_impossible_reserve_margin_is_infeasible_with_exit_code_3(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("policies:\n  - name: strict\n    reserve_margin: {margin: 0.5}\n")
    res = CliRunner().invoke(cli, ["solve", str(HAND), "--policy", "strict", "--policy-file",
                                   str(path), "--out", str(tmp_path / "o")])
    assert res.exit_code == 3
    assert "reserve margin 50% cannot hold" in res.output
    assert not (tmp_path / "o").exists()


def test_exact_weight_breakpoint_from_cost_ranging(tmp_path):
    """A firm applicant without existing capacity has one column (its grant), so HiGHS's cost
    ranging gives the exact weight where its allocation changes: just below the reported
    breakpoint the allocation is that of the lower grid value, just above it that of the
    upper one."""
    spec = read_yaml(HAND)
    spec["applicants"].append({"name": "plant", "zone": "South", "class": "industry",
                               "requested_mw": 10, "profile": 1.0})
    path = write_instance(spec, tmp_path / "hand-plant.yaml")
    inst = planner.load_instance(path)
    from planner.sweep import sweep, with_value
    result = sweep(inst, None, "weight:plant", np.linspace(0, 3000, 4))
    exact = result.breakpoints[result.breakpoints["method"] == "exact"]
    assert len(exact) >= 1
    session = Session(inst)

    def granted(weight: float) -> np.ndarray:
        run = session.solve(with_value(None, "weight:plant", weight, inst))
        return run.result.allocation["granted_mw"].to_numpy()

    grid = {v: g["granted_mw"].to_numpy() for v, g in result.allocation.groupby("value")}
    for row in exact.itertuples():
        assert row.from_value < row.breakpoint <= row.to_value
        assert granted(row.breakpoint - 1e-3) == pytest.approx(grid[row.from_value], abs=1e-6)
        assert granted(row.breakpoint + 1e-3) == pytest.approx(grid[row.to_value], abs=1e-6)


def test_queue_order_decides_first_come_first_served():
    """hand.yaml with `tiers: queue`: homes, then existing connections (the smelter's 10 MW),
    then the queue. Hour 1 is the tight one: the North has 40 MW of wind, the South 20 MW of gas
    and the homes (30 MW) plus the smelter's existing 10 MW come first, so 20 MW must cross the
    line and at most 20 MW are left for the miner in hour 1.

    Miner first: miner 30 + 20 = 50 MWh; then the smelter's grant can only be what hour 1
    leaves in the South: 20 + 20 − 30 = 10 MW, 20 MWh.
    Smelter first: its grant g is served in both hours (served = g − unserved, and existing
    connections keep unserved at 0), hour 1 allows 40 + 20 − 30 = 30 MW: g = 30, 60 MWh; the
    line is full with the South's share in hour 1, so the miner gets only hour 0's 30 MWh."""
    inst = planner.load_instance(HAND)
    session = Session(inst)

    def served(order: list[str]) -> dict[str, float]:
        run = session.solve(policy(tiers="queue", queue_order=order, tier_tolerance=0.0))
        alloc = run.result.allocation.set_index("applicant")
        assert alloc.loc[order[0], "queue_position"] == 1
        assert alloc["unserved_mwh"].sum() == pytest.approx(0, abs=1e-6)
        return alloc["served_mwh"].to_dict()

    miner_first = served(["miner", "smelter", "electrolyser"])
    smelter_first = served(["smelter", "miner", "electrolyser"])
    assert (miner_first["miner"], miner_first["smelter"]) == pytest.approx((50, 20), abs=1e-6)
    assert (smelter_first["miner"], smelter_first["smelter"]) == pytest.approx((30, 60), abs=1e-6)


def test_values_are_measured_at_the_baseline_policy_weights():
    """With a reweighting policy as the baseline, every policy's loads are valued at its
    weights: for the baseline itself that is its own value column; for the base, the miner's
    served energy is valued at 900 instead of 550 NOK/MWh."""
    inst = planner.load_instance(HAND)
    dear = policy(name="dear_mining", classes={"bitcoin_mining": {"weight_nok_per_mwh": 900}})
    comp = planner.compare(inst, [None, dear], baseline="dear_mining")
    t = comp.table.set_index(["policy", "section", "item", "metric"])["value"]
    own = {r.policy: r.result.allocation for r in comp.runs}
    key = ("system", "all", "loads_value_at_baseline_weights_nok")
    assert t[("dear_mining", *key)] == pytest.approx(own["dear_mining"]["value_nok"].sum())
    base = own["base"].set_index("applicant")
    expected = base["value_nok"].sum() + (900 - 550) * base.loc["miner", "served_mwh"]
    assert t[("base", *key)] == pytest.approx(expected)


def test_queue_tiers_served_in_full_by_the_previous_optimum_are_skipped():
    """After the base optimum, the queue's leading tiers that it already serves in full are
    skipped with no LP at all; a fresh session finds them by a probe. Either way the result
    equals a fresh session's, stage by stage, and tiers at their largest value are held by
    fixed columns."""
    inst = planner.load_instance(WEEK)
    session = Session(inst)
    base = session.solve(None).result.summary["objective_nok"]
    queue = policy(tiers="queue")
    warm = session.solve(queue)
    cold = Session(inst, warm=False).solve(queue)
    assert warm.stages[0].skipped and not warm.stages[0].probed
    assert cold.stages[0].skipped and cold.stages[0].probed
    held = warm.result.summary["policy"]["stages"]
    assert [s["held_by"] for s in held[:2]] == ["fixed columns"] * 2 and held[-1]["held_by"] is None
    # the next policy starts from the instance's own bounds again
    again = session.solve(None).result.summary["objective_nok"]
    assert again == pytest.approx(base, rel=1e-9)
    assert [s.value_nok for s in warm.stages] == pytest.approx(
        [s.value_nok for s in cold.stages], rel=1e-5, abs=1e-3)
    assert warm.result.summary["objective_nok"] == pytest.approx(
        cold.result.summary["objective_nok"], rel=1e-6)


def test_a_queue_policy_solved_first_starts_from_its_objective_without_tiers():
    """In the decomposition, a queue policy solved first begins with the optimum of its
    objective without tiers, as if an earlier policy had been solved: the leading tiers that
    optimum serves in full are skipped with no probe, and every tier's value and the final
    objective equal those solved after the base's optimum."""
    inst = planner.load_instance(WEEK)
    queue = policy(tiers="queue")
    grants = SolverOptions(method="grants")
    first = Session(inst, grants).solve(queue)
    session = Session(inst, grants)
    session.solve(None)
    after = session.solve(queue)
    start, *tiers = first.stages
    assert start.name == "start: objective without tiers" and not start.skipped
    assert tiers[0].skipped and not tiers[0].probed
    assert first.result.summary["policy"]["stages"][0]["held_by"] is None
    assert [s.value_nok for s in tiers] == pytest.approx(
        [s.value_nok for s in after.stages], rel=1e-5, abs=1e-3)
    assert first.result.summary["objective_nok"] == pytest.approx(
        after.result.summary["objective_nok"], rel=1e-6)


@pytest.mark.parametrize(("tiers", "probed", "new_costs"), [
    # the optimum without tiers serves tiers 1–2 (no probe); tiers 3–5 pass their probes, tier
    # 6 fails its probe and is optimised
    ("queue", [False, False, True, True, True, False], [True, False, False, False]),
    # tier 1 fails its probe and is optimised, tier 2 (trade: no largest value) is optimised
    # with no probe; the probes of tiers 3–4 keep tier 2's costs
    ([["Smelter"], ["trade"], ["Miner"], ["Training campus"]], [False, False, True, True],
     [True, False, False]),
])
def test_a_probe_keeps_the_costs_of_the_last_solve(monkeypatch, tiers, probed, new_costs):
    """In the decomposition only a policy's first probe gives HiGHS new costs: every later probe
    keeps those of the last probe or tier stage, so after a probe it only adds bounds to an
    optimal basis. The two-zone week with the new loads at a fifth of their request and a
    weight of 1 NOK/MWh (the optimum without tiers exports instead of serving them, and they
    fit in full), each tier probed alone (no coarse forecast). The stages' values and the
    objective equal the full LP's."""
    inst = light_week()
    ranked = policy(tiers=tiers)
    changed: list[bool] = []
    probe = Session._probe

    def recording(self, tier, kept_cost):
        assert self.dec is not None
        changed.append(not np.array_equal(kept_cost, self.dec.lp.cost))
        return probe(self, tier, kept_cost)

    monkeypatch.setattr(Session, "_probe", recording)
    monkeypatch.setattr(planner.session, "coarse_reached", lambda *_: {})
    run = Session(inst, SolverOptions(method="grants"), warm=False).solve(ranked)
    monkeypatch.undo()
    full = Session(inst, SolverOptions(method="direct"), warm=False).solve(ranked)
    stages = [s for s in run.stages if s.name.startswith("tier")]
    assert [s.probed for s in stages] == probed
    assert changed == new_costs
    assert [s.value_nok for s in stages] == pytest.approx(
        [s.value_nok for s in full.stages[:-1]], rel=1e-5, abs=1e-3)
    assert run.result.summary["objective_nok"] == pytest.approx(
        full.result.summary["objective_nok"], rel=1e-6)


def light_week() -> Instance:
    """The two-zone week with its new loads at a fifth of their request and a weight of
    1 NOK/MWh: the optimum without tiers exports instead of serving them, and under the queue
    tiers 3–5 fit in full (a probe skips them) while tier 6 does not."""
    base = planner.load_instance(WEEK)
    return dataclasses.replace(base, applicants=tuple(
        dataclasses.replace(a, requested_mw=a.requested_mw / 5, weight_nok_per_mwh=1.0)
        if a.existing_mw == 0 else a for a in base.applicants))


@pytest.mark.parametrize(("forecast", "probes"), [
    # right: tiers 3–5 in one probe, tier 6 optimised with no probe
    ([True] * 5 + [False], [3]),
    # the 24-h model's: the Miner fits in the daily means, not hour by hour, so 3–6 together
    # fails and they are probed one by one, as with no forecast
    (None, [4, 1, 1, 1, 1]),
    ([False] * 6, []),  # every tier optimised
])
def test_probes_go_together_where_the_coarse_model_forecasts_them(monkeypatch, forecast, probes):
    """In the decomposition a probe also takes the tiers after it that the coarse model
    (``coarse_reached``: the instance averaged over 24-h periods) expects a probe to skip: one
    solution that reaches them all answers each one's probe. A tier it expects to fall short is
    optimised with no probe. A forecast that misses, or expects nothing, changes the path, not
    the stages' values nor the objective, which equal those of single probes (no forecast)."""
    inst, queue = light_week(), policy(tiers="queue")
    grants = SolverOptions(method="grants")
    monkeypatch.setattr(planner.session, "coarse_reached", lambda *_: {})
    alone = Session(inst, grants, warm=False).solve(queue)
    monkeypatch.undo()
    tiers = [s.name for s in alone.stages if s.name.startswith("tier")]
    if forecast is not None:
        monkeypatch.setattr(planner.session, "coarse_reached",
                            lambda *_: dict(zip(tiers, forecast, strict=True)))
    sizes: list[int] = []
    probe = Session._probe

    def recording(self, tier, kept_cost):
        if self.base is inst:  # not the coarse model's own probes
            sizes.append(tier.label.count(" + ") + 1)
        return probe(self, tier, kept_cost)

    monkeypatch.setattr(Session, "_probe", recording)
    run = Session(inst, grants, warm=False).solve(queue)
    assert sizes == probes
    assert [s.probed for s in run.stages if s.name in tiers] == \
        [False, False, *[bool(probes)] * 3, False]
    assert [s.value_nok for s in run.stages] == pytest.approx(
        [s.value_nok for s in alone.stages], rel=1e-5, abs=1e-3)
    assert run.result.summary["objective_nok"] == pytest.approx(
        alone.result.summary["objective_nok"], rel=1e-6)


def test_the_forecast_needs_whole_days_and_an_optimum():
    """No forecast where 24-h periods do not tile the horizon (a day) or where the coarse
    model has no optimum (a domestic floor the week cannot serve): the probes then go one by
    one."""
    queue = policy(tiers="queue")
    assert coarse_reached(planner.load_instance(DAY), queue, SolverOptions()) == {}
    floor = policy(tiers="queue", domestic_floor_twh=20.0)
    assert coarse_reached(light_week(), floor, SolverOptions()) == {}
    assert set(coarse_reached(light_week(), queue, SolverOptions()).values()) == {True, False}


def test_a_small_first_box_follows_a_hold_and_not_the_next_policy(monkeypatch):
    """After a tier held by a row (the queue's Miner, short of its request) the next stage
    starts the decomposition's box at HELD_RADIUS; the next policy, whose rows that hold goes
    with, does not, even where a policy stopped between a hold and its next stage."""
    held: list[bool] = []
    solve = planner.decompose.GrantDecomposition.solve

    def recording(self, keep=True):
        held.append(self.held)
        return solve(self, keep)

    monkeypatch.setattr(planner.decompose.GrantDecomposition, "solve", recording)
    session = Session(light_week(), SolverOptions(method="grants"))
    run = session.solve(policy(tiers="queue"))
    assert run.stages[-2].hold_row is not None and held[-1]  # the final stage, after it
    session.dec.held = True  # as a policy that stopped after a hold leaves it
    session.solve(None)
    assert not held[-1]


def test_probe_as_first_solve_keeps_its_fixes_with_a_staged_solve():
    """A probe that is a session's first solve must not go through the staged solve, which
    frees every grant afterwards: with and without --staged the tiered policy has the same
    optimum."""
    inst = planner.load_instance(WEEK)
    tiered = policy(tiers=[["Smelter"]], reserve_margin={"margin": 0.15})
    plain = Session(inst).solve(tiered).result.summary["objective_nok"]
    staged = Session(inst, SolverOptions(staged=True)).solve(tiered).result.summary["objective_nok"]
    assert staged == pytest.approx(plain, rel=1e-9)


def test_windowed_tier_at_its_largest_value_equals_serving_it_in_full():
    """The two-zone week with a 40 MW training campus (energy windows) as the first tier: it can
    be served in full, so the tier is held by fixed columns and full windows, not by a row.
    The final objective must equal an LP built here by hand on the same model: grant fixed at
    40 MW and one extra row Σ_t served ≥ 40 × Σ_t profile, maximising the full objective."""
    base = planner.load_instance(WEEK)
    inst = dataclasses.replace(base, applicants=tuple(
        dataclasses.replace(a, requested_mw=40.0) if a.name == "Training campus" else a
        for a in base.applicants))
    run = Session(inst).solve(policy(tiers=[["Training campus"]]))
    assert run.stages[0].skipped and run.stages[0].hold_row is None
    campus = next(a for a in inst.applicants if a.name == "Training campus")
    alloc = run.result.allocation.set_index("applicant")
    assert alloc.loc["Training campus", "served_mwh"] == pytest.approx(
        40.0 * campus.profile.sum(), rel=1e-9)

    by_hand = Session(inst)
    served = by_hand._cols["Training campus"]["served_mw"]
    grant = by_hand._cols["Training campus"]["granted_mw"].astype(np.int32)
    by_hand.highs.changeColsBounds(1, grant, np.array([40.0]), np.array([40.0]))
    by_hand.highs.addRow(40.0 * campus.profile.sum(), np.inf, len(served),
                         served.astype(np.int32), np.ones(len(served)))
    expected = by_hand._run().objective - by_hand.lp.offset
    got = run.result.summary["objective_nok"] - by_hand.lp.offset
    assert got == pytest.approx(expected, rel=1e-9, abs=1e-6)


def test_the_terminal_table_keeps_small_figures_visible():
    """Three significant digits below 1 (a teaching week's TWh), two decimals above, no sign
    on zero."""
    from planner.report.columns import short_figure

    assert [short_figure(x) for x in (9.63e-5, 0.0271, 0.126, -0.5, 0.0, -0.0, 1.0, 22_756.9)] == [
        "0.0000963", "0.0271", "0.126", "-0.500", "0.00", "0.00", "1.00", "22,756.90"]
