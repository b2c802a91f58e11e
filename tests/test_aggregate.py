"""The time-aggregated instance (planner/instance/aggregate.py) and the decomposition's first
point from its optimum (``coarse_grants``): only a start, so the hourly optimum must not move."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from helpers import write_instance
from hypothesis import HealthCheck, assume, given, settings
from test_decompose import DIRECT, GRANTS, assert_same_optimum
from test_properties import SETTINGS, instances

import planner
import planner.session
from planner.api import coarse_grants, grant_columns, start_at
from planner.background import first_stage_start
from planner.decompose import GrantDecomposition
from planner.instance.aggregate import aggregate, can_aggregate
from planner.model import build_model
from planner.policies import PolicySpec, apply_policy
from planner.session import Session, cold_first_stage
from planner.solve import SolverOptions, compile_lp

FEATURES = "tests/instances/features.yaml"  # 48 h, 12-hour windows, ramps, storage, own supply


@pytest.mark.parametrize("period_h", [2, 4, 12])
def test_aggregate_keeps_every_energy_and_mean(period_h):
    """Each series' mean and, counted in periods of period_h hours, each energy over the
    horizon and each storage size are the hourly instance's; ramps and windows per period."""
    hourly = planner.load_instance(FEATURES)
    coarse = aggregate(hourly, period_h)
    assert coarse.hours * period_h == hourly.hours
    for h, c in zip(hourly.applicants, coarse.applicants, strict=True):
        assert c.profile.sum() * period_h == pytest.approx(h.profile.sum(), rel=1e-12)
        assert c.profile.max() <= h.profile.max() + 1e-12  # a mean never exceeds the peak
        if h.own_availability is not None:
            assert c.own_availability.mean() == pytest.approx(h.own_availability.mean())
        if h.ramp_mw_per_h is not None:
            assert c.ramp_mw_per_h == pytest.approx(h.ramp_mw_per_h * period_h)
        assert (c.window_hours or 0) * period_h == (h.window_hours or 0)
        assert (c.firm_share, c.max_curtailment_share, c.requested_mw, c.existing_mw) == \
            (h.firm_share, h.max_curtailment_share, h.requested_mw, h.existing_mw)
    for h, c in zip(hourly.supply, coarse.supply, strict=True):
        assert c.availability.mean() == pytest.approx(h.availability.mean(), rel=1e-12)
        assert c.capacity_mw == h.capacity_mw
        if h.reservoir:
            assert c.inflow_mwh.sum() * period_h == pytest.approx(h.inflow_mwh.sum(), rel=1e-12)
            assert (c.storage_mwh * period_h, c.initial_storage_mwh * period_h,
                    c.final_storage_mwh * period_h) == pytest.approx(
                (h.storage_mwh, h.initial_storage_mwh, h.final_storage_mwh), rel=1e-12)
    for h, c in zip(hourly.markets, coarse.markets, strict=True):
        assert np.repeat(c.price_nok_per_mwh, period_h).mean() == pytest.approx(
            h.price_nok_per_mwh.mean(), rel=1e-12)
    assert any(a.reservoir for a in hourly.supply) and any(a.window_hours for a in hourly.applicants)


@pytest.mark.parametrize("period_h", [5, 8, 48])
def test_periods_that_do_not_tile_are_refused(period_h):
    """5 h does not tile 48 h, 8 h not the 12-hour windows, 48 h leaves one period."""
    inst = planner.load_instance(FEATURES)
    assert not can_aggregate(inst, period_h)
    with pytest.raises(ValueError, match="do not tile"):
        aggregate(inst, period_h)


def in_grant_order(dec: GrantDecomposition, names: list[str], granted_mw: dict[str, float]
                   ) -> list[float]:
    """Grants by applicant (``names`` in model order) in the order of the decomposition's
    grant columns."""
    first = dec.lp.col_slices["granted_mw"].start
    return [granted_mw[names[c - first]] for c in dec.grants.tolist()]


def test_coarse_start_is_the_first_point_and_keeps_the_optimum():
    """The 2-h optimum (itself from the 4-h one) becomes the decomposition's first point, grant
    by grant, and the hourly optimum is the full LP's."""
    inst = planner.load_instance(FEATURES)
    options = replace(GRANTS, coarse_periods_h=(2, 4))
    granted_mw = coarse_grants(inst, options)
    assert granted_mw is not None and set(granted_mw) == {a.name for a in inst.applicants}
    m, ix = build_model(inst)
    lp = compile_lp(m)
    dec = GrantDecomposition(lp, grant_columns(m, lp), options)
    start_at(dec, ix, granted_mw)
    assert dec.start.tolist() == in_grant_order(dec, list(ix.applicants), granted_mw)
    result = planner.solve(inst, options)
    assert result.summary["timings_s"]["coarse_s"] > 0
    assert_same_optimum(planner.solve(inst, DIRECT), result)


# about two in three random instances have an odd horizon or window, which 2-h periods do
# not tile: filtered out, while the test still runs its 25 examples on the others
@settings(SETTINGS, suppress_health_check=[*SETTINGS.suppress_health_check,
                                           HealthCheck.filter_too_much])
@given(spec=instances())
def test_coarse_start_never_moves_the_optimum(spec):
    """On random instances whose horizon 2-h periods tile, the 2-h optimum exists and the
    decomposition from it proves the full LP's optimum."""
    options = SolverOptions(method="grants", coarse_periods_h=(2,))
    with tempfile.TemporaryDirectory() as tmp:
        inst = planner.load_instance(write_instance(spec, Path(tmp) / "i.yaml"))
        assume(can_aggregate(inst, 2))
        assert coarse_grants(inst, options) is not None
        assert_same_optimum(planner.solve(inst, DIRECT), planner.solve(inst, options))


def test_new_weights_restart_from_their_coarse_optimum():
    """After the base, a policy with new weights (costs that no kept cuts fit) starts its final
    stage from its own coarse optimum, not from the base's grants, and still ends at the full
    LP's optimum; a policy with the base's weights then takes back the base's kept cuts and
    starts from the best grants so far, with no coarse solve."""
    from test_policies import TEACHING_BY_NAME
    weights = TEACHING_BY_NAME["weights"]
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    session = Session(inst, GRANTS)
    session.solve()
    got = session.solve(weights).result
    granted_mw = coarse_grants(apply_policy(inst, weights), GRANTS)
    assert session.dec.start.tolist() == in_grant_order(session.dec,
                                                        list(session.index.applicants), granted_mw)
    assert_same_optimum(Session(inst, DIRECT).solve(weights).result, got)
    start = session.dec.start
    loose = PolicySpec.model_validate({"name": "loose", "export_cap_twh": 1e3})
    assert session.solve(loose).result.summary["timings_s"]["coarse_s"] == 0
    assert session.dec.start is start  # no restart


def test_the_coarse_optima_computed_are_those_the_policies_start_from(monkeypatch):
    """``cold_first_stage`` tells, for each policy of a session in order, whether its first
    stage starts from its coarse optimum, so the coarse child computes none that goes unused
    (the Norway `reserve_margin` after `flexible_mining` did: 4.8 s of CPU beside the second
    session) and none is left to compute in the session's process. Here: new weights and a
    first tier without a largest value (no probe can skip it) start from theirs; a reserve
    margin after the tiered policy with its weights starts from the best grants (that policy
    kept cuts under its costs), as does an export cap; a rebuilt model (new connection
    terms, then the base's again) starts from its own."""
    from test_policies import TEACHING_BY_NAME as named
    mining_last = PolicySpec.model_validate(  # as the Norway `flexible_mining`'s tiers
        {"name": "mining_last", "tiers": [["*", "trade"], ["bitcoin_mining"]]})
    reserve = PolicySpec.model_validate({"name": "reserve", "reserve_margin": {"margin": 0.1}})
    order = [named["weights"], mining_last, reserve, named["cap"], named["terms"], None, reserve]
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    specs = [apply_policy(inst, p) for p in order]
    predicted = [cold_first_stage(specs[k], p, specs[:k]) for k, p in enumerate(order)]
    assert predicted == [True, True, False, False, True, True, False]
    started: list[bool] = []
    start_from_coarse = planner.session.start_from_coarse

    def spy(*args, **kwargs):
        started[-1] = True
        return start_from_coarse(*args, **kwargs)

    monkeypatch.setattr(planner.session, "start_from_coarse", spy)
    session = Session(inst, GRANTS, upcoming=order)
    assert session._upcoming.policies == [p for p, cold in zip(order, predicted, strict=True) if cold]
    for p in order:
        started.append(False)
        session.solve(p)
    assert started == predicted
    cold = Session(inst, GRANTS, warm=False, upcoming=order)  # each solve from scratch
    assert cold._upcoming.policies == order


def test_only_a_policys_first_stage_restarts_from_its_coarse_optimum(monkeypatch):
    """After the base, a policy with the miners last (as the Norway `flexible_mining`): its
    first stage, tier 1 (everything else and trade), has costs no kept cuts fit and starts
    from the policy's coarse optimum, not from the base's grants. The stages after it keep the
    last stage's grants: tier 1 is held by a row, which the coarse optimum ignores. The result
    is the full LP's."""
    mining_last = PolicySpec.model_validate(
        {"name": "mining_last", "tiers": [["*", "trade"], ["bitcoin_mining"]]})
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    session = Session(inst, GRANTS)
    session.solve()
    restarts: list[tuple[int, bool]] = []  # (policy rows then, best grants then)
    restart = GrantDecomposition.restart

    def spy(dec: GrantDecomposition, grants: np.ndarray) -> None:
        restarts.append((len(session.policy_rows), dec.best is not None))
        restart(dec, grants)

    monkeypatch.setattr(GrantDecomposition, "restart", spy)
    run = session.solve(mining_last)
    assert [(s.skipped, s.hold_row is not None) for s in run.stages[:1]] == [(False, True)]
    assert restarts == [(0, True)]
    assert session.dec.start.tolist() == in_grant_order(
        session.dec, list(session.index.applicants),
        first_stage_start(inst, mining_last, GRANTS)[0])
    assert_same_optimum(Session(inst, DIRECT).solve(mining_last).result, run.result)


def test_a_first_tier_starts_from_the_coarse_optimum_of_its_own_value():
    """Training and trade first: tier 1 values the training campus and trade alone (trade's
    value has no known largest value, so the tier is optimised, not probed), so its coarse
    optimum grants the campus all it requested (200 MW), where the coarse optimum of the whole
    objective gives it 28 MW (the smelter's value comes first there). Tier 1 starts from the
    former, and the lexicographic result is the full LP's."""
    training_first = PolicySpec.model_validate(
        {"name": "training_first", "tiers": [["ai_training", "trade"], ["*"]]})
    inst = planner.load_instance("instances/teaching/two-zones-week.yaml")
    tier_start = first_stage_start(inst, training_first, GRANTS)[0]
    assert tier_start["Training campus"] == pytest.approx(200.0)
    assert coarse_grants(apply_policy(inst, training_first), GRANTS)["Training campus"] < 30
    session = Session(inst, GRANTS)
    session.solve()
    run = session.solve(training_first)
    assert not run.stages[0].skipped
    assert session.dec.start.tolist() == in_grant_order(session.dec, list(session.index.applicants),
                                                        tier_start)
    assert_same_optimum(Session(inst, DIRECT).solve(training_first).result, run.result)
