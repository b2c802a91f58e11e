"""The grant decomposition (planner/decompose.py) answers the same LP as HiGHS on the full LP.

Every check is an LP certificate, not a comparison of two runs alone: the reported duals prove a
bound on the optimum (``dual_bound``: for any feasible x, c·x ≤ the bound), and that bound must
meet the reported objective; the written tables pass the independent checker.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import replace
from pathlib import Path

import highspy
import invariants as inv
import numpy as np
import pytest
from helpers import run_cli, write_instance
from hypothesis import example, given
from scipy import sparse
from test_properties import SETTINGS, instances, instances_with_small_reservoirs, scale_of

import planner
import planner.decompose
from planner.api import DECOMPOSE_MIN_HOURS, grant_columns
from planner.decompose import DecompositionFailed, GrantDecomposition, dual_bound
from planner.model import build_model
from planner.model.index import ModelIndex
from planner.policies import PolicySpec, firm_supply_mw, load_policies
from planner.report.tables import ResultData, write_tables
from planner.session import Session
from planner.solve import (
    INF,
    CompiledLP,
    SolverOptions,
    compile_lp,
    run_highs,
    set_pricing,
    to_highs,
)
from planner.verify import read_tables

GRANTS = SolverOptions(method="grants")
DIRECT = SolverOptions(method="direct")


def solve_both(spec: dict, folder: Path) -> tuple[planner.Result, planner.Result]:
    """(direct, decomposed) results; the decomposed tables written and checked."""
    inst = planner.load_instance(write_instance(spec, folder / "i.yaml"))
    direct = planner.solve(inst, DIRECT)
    grants = planner.solve(inst, GRANTS)
    write_tables(ResultData.of(grants), folder / "out")
    inv.check_all(inst, read_tables(folder / "out"))
    return direct, grants


def assert_same_optimum(direct: planner.Result, grants: planner.Result, rel: float = 1e-9) -> None:
    """Same objective (to ``rel``: tiers hold values to the solver's tolerance, so the final
    stage may differ by that much), and, if decomposed, duals that prove it."""
    scale = scale_of(direct)
    assert grants.summary["objective_nok"] == pytest.approx(
        direct.summary["objective_nok"], rel=rel, abs=rel * scale)
    solver = grants.summary["solver"]
    if "grant decomposition" in solver["name"]:  # else no free grant, or the full LP's fallback
        quality, objective = solver["quality"], max(1.0, abs(grants.summary["objective_nok"]))
        # the combined duals prove the objective optimal (up to the solver's tolerances)
        assert quality["duality_gap"] * objective <= 1e-8 * scale
        assert quality["grant_dual_residual"] * objective <= 1e-8 * scale


@SETTINGS
@given(spec=instances())
def test_decomposition_equals_full_lp(spec):
    with tempfile.TemporaryDirectory() as tmp:
        assert_same_optimum(*solve_both(spec, Path(tmp)))


@SETTINGS
@given(spec=instances_with_small_reservoirs())
def test_decomposition_with_row_generation_equals_full_lp(spec):
    """Reservoir rows generated after the decomposition converged keep the cuts valid."""
    with tempfile.TemporaryDirectory() as tmp:
        assert_same_optimum(*solve_both(spec, Path(tmp)))


@pytest.mark.parametrize("name", ["two-zones-week", "three-zones-day"])
def test_teaching_instances_and_their_prices(name):
    """On the teaching instances the zonal prices from the combined duals are those HiGHS
    reports for the full LP (both optimal; these duals are unique up to 1e-6 NOK/MWh)."""
    inst = planner.load_instance(f"instances/teaching/{name}.yaml")
    direct, grants = planner.solve(inst, DIRECT), planner.solve(inst, GRANTS)
    assert grants.summary["solver"]["iterations"]["grant_points"] >= 2
    assert_same_optimum(direct, grants)
    zones = list(inst.zones)
    assert grants.prices[zones].to_numpy() == pytest.approx(direct.prices[zones].to_numpy(),
                                                             abs=1e-6)


def test_dual_bound_of_highs_optimum_is_the_objective():
    """``dual_bound`` follows HiGHS's sign convention: HiGHS's own optimal duals of the full
    LP prove exactly its objective."""
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    lp = compile_lp(build_model(inst)[0])
    sol = run_highs(to_highs(lp, DIRECT), lp)
    assert dual_bound(lp, sol.row_dual, sol.col_dual) == pytest.approx(sol.objective, rel=1e-12)


def test_pinned_column_duals_go_to_the_rows_that_pin_it():
    """max −0.01 g + x − w with x − 0.31 g ≥ 0, 3x − 0.93 g ≤ 0 (so x = 0.31 g, from two rows
    whose bounds cross by rounding), w − g ≥ −5, g ∈ [0, 10], x, w ≥ 0: the value is 0.3 g up
    to g = 5 and falls after, so the optimum is 1.5 at g = 5. The cut must carry the duals of
    the pinning rows even where HiGHS sees the column fixed."""
    lp = CompiledLP(
        cost=np.array([-0.01, 1.0, -1.0]), col_lower=np.zeros(3),
        col_upper=np.array([10.0, np.inf, np.inf]),
        row_lower=np.array([0.0, -np.inf, -5.0]), row_upper=np.array([np.inf, 0.0, np.inf]),
        matrix=sparse.csc_array(np.array([[-0.31, 1, 0], [-0.93, 3, 0], [-1, 0, 1.0]])),
        offset=0.0, col_slices={}, row_slices={})
    sol = GrantDecomposition(lp, np.array([0]), GRANTS).solve()
    assert sol.objective == pytest.approx(1.5, rel=1e-9)
    assert sol.x[0] == pytest.approx(5.0, rel=1e-9)
    assert dual_bound(lp, sol.row_dual, sol.col_dual) == pytest.approx(1.5, rel=1e-9)


def firm_load_without_energy() -> dict:
    """50 MW of homes and a 40 MW firm smelter (none connected yet) in one zone with a 60 MW
    plant at 100 NOK/MWh: without unserved energy the smelter can have at most 10 MW, so the LP
    with every grant at its request (the decomposition's first point) is infeasible while the
    full LP is not. Optimum: granted 10 MW (worth 500 > 100 NOK/MWh), objective
    10 MW × 4 h × 500 − 60 MW × 4 h × 100 = 20 000 − 24 000 = −4 000 NOK."""
    return {
        "name": "tight", "time": {"start": "2030-01-01T00:00", "hours": 4},
        "zones": [{"name": "A"}],
        "supply": [{"name": "plant", "zone": "A", "kind": "thermal", "capacity_mw": 60, "availability": 1.0,
                    "marginal_cost_nok_per_mwh": 100}],
        "applicants": [{"name": "smelter", "zone": "A", "class": "industry",
                        "requested_mw": 40, "existing_mw": 0, "profile": 1.0,
                        "weight_nok_per_mwh": 500}],
        "protected_demand": [{"name": "homes", "zone": "A", "demand_mw": 50}],
    }


def test_infeasible_points_give_feasibility_cuts(tmp_path):
    """The requests leave no solution: the decomposition starts at the existing MW, and the
    feasibility cut from the infeasible point keeps the master at grants ≤ 10 MW."""
    inst = planner.load_instance(write_instance(firm_load_without_energy(), tmp_path / "i.yaml"))
    result = planner.solve(inst, GRANTS, unserved=False)
    assert "decomposition" in result.summary["solver"]["name"]
    assert result.allocation.set_index("applicant").loc["smelter", "granted_mw"] == \
        pytest.approx(10)
    assert result.summary["objective_nok"] == pytest.approx(-4_000)


@pytest.mark.parametrize("hours", [DECOMPOSE_MIN_HOURS - 1, DECOMPOSE_MIN_HOURS])
def test_auto_decomposes_from_its_threshold_with_the_full_lps_optimum(hours, tmp_path):
    """``method="auto"`` solves the full LP below DECOMPOSE_MIN_HOURS and decomposes from it,
    with the same optimum: the smelter (500 NOK/MWh) gets its whole request from a 100 NOK/MWh
    plant with room for it, 40 MW × h × (500 − 100) − 50 MW × h × 100 NOK."""
    spec = firm_load_without_energy() | {"time": {"start": "2030-01-01T00:00", "hours": hours}}
    spec["supply"][0]["capacity_mw"] = 100
    inst = planner.load_instance(write_instance(spec, tmp_path / "i.yaml"))
    auto = planner.solve(inst)
    assert ("decomposition" in auto.summary["solver"]["name"]) == (hours >= DECOMPOSE_MIN_HOURS)
    assert auto.summary["objective_nok"] == pytest.approx(hours * (40 * 400 - 50 * 100), rel=1e-9)
    assert auto.summary["objective_nok"] == pytest.approx(
        planner.solve(inst, DIRECT).summary["objective_nok"], rel=1e-9)


def week_decomposition() -> tuple[ModelIndex, CompiledLP, GrantDecomposition]:
    """The two-zone week's model index, LP and grant decomposition (no point solved yet)."""
    m, ix = build_model(planner.load_instance("instances/teaching/two-zones-week.yaml"))
    lp = compile_lp(m)
    return ix, lp, GrantDecomposition(lp, grant_columns(m, lp), GRANTS)


def test_a_failed_probe_leaves_the_basis_it_started_from(monkeypatch):
    """With a hold on the served energy the requests reach, the existing MW leave no solution:
    a probe there (proved infeasible after some simplex iterations) and one stopped at the
    iteration limit, each of which moved the basis, put HiGHS back at the requests' optimal
    basis, so solving the requests again takes no simplex iteration."""
    moved = []  # whether each HiGHS run left the basis it started from
    run = planner.decompose.run_highs

    def spy(h: highspy.Highs, lp):
        before = h.getBasis()
        try:
            return run(h, lp)
        finally:
            moved.append(h.getBasis().col_status != before.col_status)

    monkeypatch.setattr(planner.decompose, "run_highs", spy)
    _, lp, dec = week_decomposition()
    requests = lp.col_upper[dec.grants]
    served = np.arange(lp.col_slices["served_mw"].start, lp.col_slices["served_mw"].stop)
    at_requests = dec.evaluate(requests).x[served].sum()
    dec.add_row(at_requests - 1.0, INF, served.astype(np.int32), np.ones(len(served)))
    dec.evaluate(requests)
    optimal = dec.highs.getBasis()

    def at_optimal() -> bool:
        back = dec.highs.getBasis()
        return (back.col_status, back.row_status) == (optimal.col_status, optimal.row_status)

    dec.start = lp.col_lower[dec.grants]  # the probe's grants
    before = dec.iterations
    moved.clear()
    with pytest.raises(DecompositionFailed):
        dec.probe()
    assert dec.iterations > before  # the proof moved the basis
    assert at_optimal()
    dec.highs.setOptionValue("simplex_iteration_limit", 1)
    with pytest.raises(planner.SolverLimitError):
        dec.probe()
    dec.highs.setOptionValue("simplex_iteration_limit", 1_000_000)
    assert at_optimal()
    assert moved == [True, True]
    before = dec.iterations
    dec.evaluate(requests)
    assert dec.iterations == before


def test_a_probe_whose_bounds_cross_leaves_highs_alone(monkeypatch):
    """The training campus's served MW fixed at 90 MW in its first hour (as a tier held at its
    largest value fixes columns) while the probe's grants, the existing 0 MW, cap it at 0 MW: the
    bounds cross before HiGHS runs, so the probe fails without a HiGHS run and does not set
    HiGHS's basis back (a new factorisation for nothing); the requests' optimum is still
    HiGHS's basis."""
    set_bases = []
    set_basis = highspy.Highs.setBasis

    def spy(h: highspy.Highs, *args):
        set_bases.append(args)
        return set_basis(h, *args)

    monkeypatch.setattr(highspy.Highs, "setBasis", spy)
    ix, lp, dec = week_decomposition()
    requests = lp.col_upper[dec.grants]
    dec.evaluate(requests)
    optimal = dec.highs.getBasis()
    first_hour = ix.applicant_columns(lp.col_slices)["Training campus"]["served_mw"][0]
    lp.col_lower[first_hour] = lp.col_upper[first_hour] = 90.0
    dec.start = lp.col_lower[dec.grants]
    runs, iterations = dec.runs, dec.iterations
    with pytest.raises(DecompositionFailed):
        dec.probe()
    assert (dec.runs, dec.iterations, set_bases) == (runs, iterations, [])
    back = dec.highs.getBasis()
    assert (back.col_status, back.row_status) == (optimal.col_status, optimal.row_status)


def test_a_point_on_the_edge_without_a_solution_is_tried_just_inside(monkeypatch):
    """A point the master proposes that has no solution and that no cut separates (rounding at
    the edge of the cuts, as at a tier's largest feasible grant; simulated here for the first
    proposal) is tried again EDGE_PULL of the way back to the best point, not given up for a
    halved trust region; the solve still reaches the full LP's optimum."""
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    m, _ = build_model(inst)
    lp = compile_lp(m)
    dec = GrantDecomposition(lp, grant_columns(m, lp), GRANTS)
    tried: list[np.ndarray] = []
    evaluate = GrantDecomposition.evaluate

    def rounding_at_the_first_proposal(self: GrantDecomposition, grants: np.ndarray):
        tried.append(grants.copy())
        if len(tried) == 2:
            raise DecompositionFailed
        return evaluate(self, grants)

    monkeypatch.setattr(GrantDecomposition, "evaluate", rounding_at_the_first_proposal)
    sol = dec.solve()
    first, proposed, retried = tried[:3]
    assert np.abs(proposed - first).max() > 1.0  # the proposal moved the grants (MW)
    np.testing.assert_allclose(
        retried, first + (1 - planner.decompose.EDGE_PULL) * (proposed - first), rtol=1e-12)
    assert sol.objective == pytest.approx(
        planner.solve(inst, DIRECT).summary["objective_nok"], rel=1e-9)


def test_points_after_the_first_are_warm():
    """The subproblem is one persistent HiGHS instance: the second point starts from the first
    point's basis, so it takes fewer simplex iterations than a cold solve at the same grants."""
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    m, _ = build_model(inst)
    lp = compile_lp(m)
    dec = GrantDecomposition(lp, grant_columns(m, lp), GRANTS)
    first = dec.evaluate(lp.col_upper[dec.grants])
    warm_before = dec.iterations
    second = dec.evaluate(0.9 * first.grants + 0.1 * lp.col_lower[dec.grants])
    warm = dec.iterations - warm_before
    cold = GrantDecomposition(lp, grant_columns(m, lp), GRANTS)
    cold.evaluate(second.grants)
    assert cold.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
    assert warm < cold.iterations



@pytest.mark.parametrize("solve", [lambda inst, o: planner.solve(inst, o),
                                   lambda inst, o: Session(inst, o).solve()],
                         ids=["solve", "session"])
def test_time_limit_names_the_whole_solve(solve):
    """The decomposition runs HiGHS many times; at the time limit the error gives the seconds
    of the whole solve, not only of the last HiGHS run, and nothing is returned."""
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    with pytest.raises(planner.SolverLimitError,
                       match=r"the whole solve took \d+\.\d s against the time limit of 0 s$"):
        solve(inst, replace(GRANTS, time_limit_s=0.0))

def test_cli_method_grants(tmp_path):
    path = "instances/teaching/two-zones-week.yaml"
    runs = {m: run_cli("solve", path, "--out", tmp_path / m, "--method", m, "--formats", "csv",
                       "--quiet") for m in ("direct", "grants")}
    assert all(r.returncode == 0 for r in runs.values()), [r.stderr for r in runs.values()]
    summaries = {m: json.loads((tmp_path / m / "summary.json").read_text())
                 for m in runs}
    assert "grant decomposition" in summaries["grants"]["solver"]["name"]
    assert summaries["grants"]["objective_nok"] == pytest.approx(
        summaries["direct"]["objective_nok"], rel=1e-9)


def session_policies() -> list[PolicySpec | None]:
    """Every kind of edit a session makes: the teaching policies of test_policies (weights,
    export cap, domestic floor, tiers, terms, reserve margin) and the Norway regimes."""
    from test_policies import NORWAY, TEACHING_POLICIES
    return [*TEACHING_POLICIES, *load_policies(planner.load_instance(NORWAY)).values(), None]


@pytest.mark.parametrize("name", ["two-zones-week", "three-zones-day"])
def test_session_on_the_decomposition_equals_the_full_lp(name, tmp_path):
    """Policy after policy in one session on the grant decomposition (costs, bounds, limit
    and hold rows edited in it, rows on grants alone in the master, infeasible points cut off
    by feasibility cuts): each policy's objective is the full-LP session's, its duals prove it,
    the tables pass the independent checker, and no policy needs the full-LP fallback."""
    inst = planner.load_instance(f"instances/teaching/{name}.yaml")
    decomposed, full = Session(inst, GRANTS), Session(inst, DIRECT)
    for k, p in enumerate(session_policies()):
        try:
            expected = full.solve(p).result
        except planner.InfeasibleError:
            with pytest.raises(planner.InfeasibleError):
                decomposed.solve(p)
            continue
        got = decomposed.solve(p).result
        assert "grant decomposition" in got.summary["solver"]["name"], p
        assert_same_optimum(expected, got)
        write_tables(ResultData.of(got), tmp_path / str(k))
        inv.check_all(inst, read_tables(tmp_path / str(k)))  # the checker applies p itself


def test_a_hold_on_the_objective_turns_the_points_into_valid_cuts():
    """After a solve, a row c·x ≥ L on the objective itself (a tier's hold, here 1 % below the
    optimum): each point k's cut V ≤ V_k + d_k·(g − g_k) becomes the feasibility cut
    −d_k·g ≤ V_k − offset − d_k·g_k − L (its limit is exactly that, computed from the
    multipliers y_k − e_hold), and every grant point whose subproblem still has a solution
    meets every such cut, while the point the master is then sent to has one."""
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    m, _ = build_model(inst)
    lp = compile_lp(m)
    dec = GrantDecomposition(lp, grant_columns(m, lp), GRANTS)
    best = dec.solve()
    points = list(dec.points)
    cols = np.flatnonzero(lp.cost)
    least = best.objective - lp.offset - 0.01 * abs(best.objective)
    row = dec.add_row(least, np.inf, cols, lp.cost[cols])
    dec.hold_objective(np.array([row]))
    cuts = dec.feasibility
    assert len(cuts) == len(points) > 1
    for p, cut in zip(points, cuts, strict=True):
        np.testing.assert_allclose(cut.slope, -p.slope)
        expected = p.value - lp.offset - p.slope @ p.grants - least
        assert cut.limit == pytest.approx(max(expected, cut.slope @ dec.best.grants),
                                          rel=1e-7, abs=1e-6 * abs(least))
    low, up = lp.col_lower[dec.grants], lp.col_upper[dec.grants]
    rng = np.random.default_rng(7)
    solved = 0
    for _ in range(40):
        grants = np.clip(dec.best.grants + 0.05 * rng.standard_normal(low.size) * (up - low),
                         low, up)
        try:
            dec.evaluate(grants)
        except DecompositionFailed:
            continue
        solved += 1
        for cut in cuts:
            assert cut.slope @ grants <= cut.limit + 1e-7 * (1 + abs(cut.limit))
    assert 0 < solved < 40
    assert dec.solve().objective == pytest.approx(best.objective, rel=1e-9)


NO_SUPPLY_WHEN_NEEDED = {
    "name": "random", "time": {"start": "2030-01-01T00:00", "hours": 5}, "zones": [{"name": "A"}],
    "supply": [{"name": "s0", "zone": "A", "kind": "wind", "capacity_mw": 1.0,
                "marginal_cost_nok_per_mwh": 21.0, "availability": [0.0, 0.0, 0.0, 0.0, 1.0]}],
    "applicants": [{"name": "a0", "zone": "A", "class": "industry", "requested_mw": 1.0,
                    "existing_mw": 0.0, "profile": [0.0, 0.0, 0.0, 1.0, 0.0],
                    "weight_nok_per_mwh": 10.0, "firm_share": 0.0, "max_curtailment_share": 1.0,
                    "value_of_lost_load_nok_per_mwh": 0,
                    "window": {"hours": 1, "min_share": 0.0}}],
    "protected_demand": []}
"""Found by Hypothesis: the full LP ends at a final objective of 1.1e-6 NOK (served −1e-7 MWh
and generation −1e-7 MWh, within HiGHS's primal feasibility tolerance), the decomposition at 0."""


@SETTINGS
@given(spec=instances())
@example(spec=NO_SUPPLY_WHEN_NEEDED)
def test_tiers_on_the_decomposition_equal_the_full_lp(spec):
    """Random instances, whose requests often leave no solution without unserved energy, under
    lexicographic tiers (each hold a row on served energy and grants): the decomposed session
    reaches the full LP's final objective, to one tier tolerance per hold (each may give up
    that much of its tier's value), which also covers the full LP's solution sitting at
    HiGHS's primal feasibility tolerance outside a bound (``NO_SUPPLY_WHEN_NEEDED``)."""
    tiers = PolicySpec.model_validate({"name": "t", "tiers": [["industry", "households"],
                                                              ["*", "trade"]]})
    with tempfile.TemporaryDirectory() as tmp:
        inst = planner.load_instance(write_instance(spec, Path(tmp) / "i.yaml"))
        expected = Session(inst, DIRECT).solve(tiers).result
        assert_same_optimum(expected, Session(inst, GRANTS).solve(tiers).result,
                            rel=len(tiers.tiers) * tiers.tier_tolerance)


def test_a_rebuilt_model_starts_from_the_last_grants():
    """A policy that changes connection terms rebuilds the model; its decomposition's first
    point, and its first probe, are at the previous optimum's grants (by applicant), and it
    still reaches the full LP's optimum (without coarse starts, which come first:
    tests/test_aggregate.py)."""
    from test_policies import TEACHING_BY_NAME
    terms = TEACHING_BY_NAME["terms"]
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    session = Session(inst, replace(GRANTS, coarse_periods_h=()))
    granted = session.solve().result.allocation.set_index("applicant")["granted_mw"]
    run = session.solve(terms)
    assert run.rebuilt
    names = list(session.index.applicants)
    first = session.lp.col_slices["granted_mw"].start
    expected = [granted[names[c - first]] for c in session.dec.grants.tolist()]
    np.testing.assert_allclose(session.dec.start, expected)
    assert_same_optimum(Session(inst, DIRECT).solve(terms).result, run.result)
    # probes of the rebuilt model use those grants too: households get their whole demand there
    tiered = PolicySpec.model_validate({"name": "t", "tiers": [["households"], ["*", "trade"]],
                                        "classes": {"bitcoin_mining": {"firm_share": 0.5}}})
    first = session.solve(tiered).stages[0]
    assert session.builds == 3 and first.skipped and first.probed


def test_a_failed_stage_retries_without_cuts_before_the_full_lp(monkeypatch):
    """A decomposition that cannot prove a stage is tried once more without its cuts (which
    rounding may have made wrong) before the session moves to the full LP: one failure leaves
    the policy on the decomposition, with the full LP's optimum; two move it to the full LP."""
    from test_policies import NORWAY
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    market = load_policies(planner.load_instance(NORWAY))["market"]
    expected = Session(inst, DIRECT).solve(market).result
    solve = GrantDecomposition.solve
    for failures in (1, 2):
        calls = []

        def failing(dec, keep=True, calls=calls, failures=failures):
            calls.append(len(dec.feasibility))
            if len(calls) <= failures:
                dec.feasibility.append(None)  # a cut the retry must not see
                raise DecompositionFailed
            return solve(dec, keep)

        session = Session(inst, replace(GRANTS, coarse_periods_h=()))  # failures here only
        session.solve()
        monkeypatch.setattr(GrantDecomposition, "solve", failing)
        got = session.solve(market).result
        monkeypatch.setattr(GrantDecomposition, "solve", solve)
        assert ("grant decomposition" in got.summary["solver"]["name"]) == (failures == 1)
        assert calls[1] == 0  # the retry starts without cuts
        assert_same_optimum(expected, got)


def test_cold_tiered_policy_finds_its_first_point_from_feasibility_cuts():
    """A cold session (no earlier grants) under first come, first served: neither the requests
    nor the existing MW meet the holds of the later tiers, so the first point of those stages
    comes from the feasibility cuts; the answer is the full LP's, still decomposed."""
    from test_policies import NORWAY
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    queue = load_policies(planner.load_instance(NORWAY))["first_come_first_served"]
    got = Session(inst, GRANTS, warm=False).solve(queue).result
    assert "grant decomposition" in got.summary["solver"]["name"]
    assert_same_optimum(Session(inst, DIRECT, warm=False).solve(queue).result, got)


def test_cuts_come_back_for_a_later_solve_with_the_same_costs(monkeypatch):
    """The cuts of a solve are kept under its costs: a later policy with the same costs on a
    tighter LP takes them back, after one with other weights. An export cap that does not
    bind is then proved at its first point; a reserve margin that binds (a master row the
    last optimum misses) starts where the kept cuts put the optimum, solved from scratch
    there (HiGHS's basis is at the grants the margin cuts off), and still gets the full LP's
    optimum, proved by the duals."""
    far: list[bool] = []
    cut_optimum = GrantDecomposition._cut_optimum

    def recording(self, cold):
        far.append(cold)
        return cut_optimum(self, cold)

    monkeypatch.setattr(GrantDecomposition, "_cut_optimum", recording)
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    session = Session(inst, GRANTS)
    base = session.solve().result
    assert base.summary["solver"]["iterations"]["grant_points"] > 1
    from test_policies import TEACHING_BY_NAME
    session.solve(TEACHING_BY_NAME["weights"])
    loose = PolicySpec.model_validate({"name": "loose", "export_cap_twh": 1e3})
    got = session.solve(loose).result
    assert got.summary["solver"]["iterations"]["grant_points"] == 1
    assert_same_optimum(base, got)
    capacity = firm_supply_mw(inst, None)
    granted = base.allocation["granted_firm_mw"].sum()
    existing = sum(a.existing_mw * a.firm_share for a in inst.applicants)
    assert existing < granted
    tight = PolicySpec.model_validate({"name": "tight", "reserve_margin": {
        "margin": 0.5 * (capacity / granted + capacity / existing) - 1}})
    far.clear()
    got = session.solve(tight).result
    assert far[0]
    assert got.allocation["granted_firm_mw"].sum() < granted
    assert_same_optimum(Session(inst, DIRECT).solve(tight).result, got)


def test_kept_cuts_fit_only_a_tighter_lp():
    """Pool.fits: kept cuts bound V of an LP whose bounds are all within those they were made
    with (rows added since count as tighter), never of one with a wider bound."""
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    m, _ = build_model(inst)
    lp = compile_lp(m)
    dec = GrantDecomposition(lp.copy(), grant_columns(m, lp), GRANTS)
    dec.solve()
    pool = dec.pools[dec._cost_key()]
    assert pool.fits(dec.lp) and any(p is dec.best for p in pool.points)
    col = int(np.flatnonzero(np.isfinite(dec.lp.col_upper))[0])
    for wider, fits in ((1.0, False), (-1e-9, True)):
        edited = dec.lp.copy()
        edited.col_upper[col] += wider * max(1.0, abs(edited.col_upper[col]))
        assert pool.fits(edited) is fits
    dec.add_row(-np.inf, 1e12, dec.others[:1], np.ones(1))  # a row that cuts nothing
    assert pool.fits(dec.lp)
    dec.set_row_bounds(np.array([0]), np.array([-np.inf]), np.array([np.inf]))
    assert not pool.fits(dec.lp)


@pytest.mark.parametrize("pricing", ["choose", "steepest_edge", "dantzig"])
def test_dual_pricing_changes_the_path_not_the_optimum(pricing):
    """Devex (the default) and HiGHS's other dual pricings reach the same optimum, through the
    decomposition and on the full LP; an unknown pricing is refused before anything is built."""
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    other = replace(GRANTS, dual_edge_weights=pricing)
    assert other.highs_options()["simplex_dual_edge_weight_strategy"] == \
        {"choose": -1, "steepest_edge": 2, "dantzig": 0}[pricing]
    assert GRANTS.highs_options()["simplex_dual_edge_weight_strategy"] == 1  # auto: devex first
    assert_same_optimum(planner.solve(inst, DIRECT), planner.solve(inst, other))
    assert_same_optimum(planner.solve(inst, replace(DIRECT, dual_edge_weights=pricing)),
                        planner.solve(inst, GRANTS))
    with pytest.raises(ValueError, match="dual_edge_weights must be one of"):
        SolverOptions(dual_edge_weights="fastest")


@pytest.mark.parametrize("options", [GRANTS, DIRECT])
def test_a_session_prices_by_devex_while_it_keeps_its_own_costs(options):
    """``auto`` pricing: devex while the policies solved on a session's LP keep the instance's
    own costs (its weights, no tiers: the base, then an export cap), HiGHS's choice from the
    first with new weights or tiers on, for good in a warm session, for that policy alone in
    a cold one; the policies' optima are the same either way."""
    from test_policies import TEACHING_BY_NAME as named
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")

    def pricing(session: Session) -> int:
        h = session.dec.highs if session.dec is not None else session.highs
        return h.getOptionValue("simplex_dual_edge_weight_strategy")[1]

    warm, cold = Session(inst, options), Session(inst, options, warm=False)
    for policy, expected in [(None, (1, 1)), (named["cap"], (1, 1)),
                             (named["weights"], (-1, -1)), (named["cap"], (-1, 1)),
                             (named["tiers"], (-1, -1))]:
        assert_same_optimum(cold.solve(policy).result, warm.solve(policy).result)
        assert (pricing(warm), pricing(cold)) == expected, policy
    with Session(inst, options) as tiered_first:
        tiered_first.solve(named["tiers"])
        assert pricing(tiered_first) == -1


def test_a_new_pricing_takes_effect_after_a_solve():
    """HiGHS copies its pricing option only when it sets its simplex up, so ``set_pricing``
    sets it up again from its basis: after a solve priced by devex, a re-solve under a new
    bound priced by steepest edge takes the iterations of a fresh instance given the same
    basis and that pricing, and the same optimum."""
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    m, _ = build_model(inst)
    lp = compile_lp(m)
    devex = replace(DIRECT, dual_edge_weights="devex")
    h = to_highs(lp, devex)
    run_highs(h, lp)
    basis = h.getBasis()
    cols = np.flatnonzero((lp.col_upper < INF) & (lp.col_upper > lp.col_lower))
    low, up = lp.col_lower[cols], lp.col_upper[cols]

    def resolve(highs: highspy.Highs) -> tuple[int, float]:
        """Every finite range cut to 60 %: a few hundred dual simplex iterations."""
        highs.changeColsBounds(len(cols), cols.astype(np.int32), low, low + 0.6 * (up - low))
        sol = run_highs(highs, lp)
        return sol.iterations["simplex"], sol.objective

    set_pricing(h, 2)
    fresh = to_highs(lp, replace(DIRECT, dual_edge_weights="steepest_edge"))
    fresh.setBasis(basis)
    assert resolve(h) == resolve(fresh)


