"""explain.csv on instances small enough to explain by hand."""

from __future__ import annotations

import invariants as inv
import pytest
from helpers import assert_no_traceback, one_reservoir, run_cli, write_instance

import planner
from planner.explain import explain_table, write_explanations


def congested(inference_mw: float = 0.0) -> dict:
    """Zone A: 100 MW of free wind and no load; zone B: a miner (asks 50 MW, weight 550
    NOK/MWh, profile 1) fed over a 30 MW line A→B without losses; 2 hours. Optionally a firm
    inference campus in B (weight 1 800) that comes first."""
    spec = {
        "name": "congested", "time": {"start": "2030-01-01T00:00", "hours": 2},
        "zones": [{"name": "A"}, {"name": "B"}],
        "lines": [{"name": "AB", "from": "A", "to": "B", "capacity_mw": 30,
                   "reverse_capacity_mw": 30}],
        "supply": [{"name": "wind", "zone": "A", "kind": "wind", "capacity_mw": 100,
                    "availability": 1.0, "marginal_cost_nok_per_mwh": 0}],
        "applicants": [{"name": "miner", "zone": "B", "class": "bitcoin_mining",
                        "requested_mw": 50, "profile": 1.0, "weight_nok_per_mwh": 550}],
    }
    if inference_mw:
        spec["applicants"].append({"name": "campus", "zone": "B", "class": "ai_inference",
                                   "requested_mw": inference_mw, "profile": 1.0,
                                   "weight_nok_per_mwh": 1800})
    return spec


def explain(spec: dict, tmp_path):
    inst = planner.load_instance(write_instance(spec, tmp_path / "i.yaml"))
    _, tables = inv.solve_and_write(inst, tmp_path / "out")
    return explain_table(inst, tables).set_index("reason")


def test_transfer_limit_names_the_line_and_its_rent(tmp_path):
    """The miner gets the line's 30 MW of its 50 MW in both hours: 40 MWh curtailed. B's price
    is the miner's weight (550: one more MWh in B would go to the miner), A's is 0 (wind to
    spare), so the line's congestion rent, the reduced cost of its flow, is 550 − 0 = 550
    NOK/MWh in each of the 2 hours. Nobody else is in B."""
    e = explain(congested(), tmp_path)
    assert set(e["applicant"]) == {"miner"}
    assert e["curtailed_mwh"].iloc[0] == pytest.approx(40, abs=1e-3)
    line = e.loc["transfer limit A→B binding"]
    assert line["hours"] == 2 and line["constraint"] == "flow_mw[AB:A>B]"
    assert line["shadow_price_nok_per_unit"] == pytest.approx(550, rel=1e-6)
    price = e.loc["zone price at or above its weight"]
    assert price["hours"] == 2 and price["shadow_price_nok_per_unit"] == pytest.approx(550)
    assert "served instead in the same zone" not in e.index


def test_served_instead_lists_the_higher_weight(tmp_path):
    """With a 20 MW firm campus in B, the line's 30 MW go 20 to the campus and 10 to the miner:
    the campus (weight 1 800) is served instead, 20 MW × 2 h = 40 MWh."""
    e = explain(congested(inference_mw=20), tmp_path)
    assert set(e["applicant"]) == {"miner"}
    assert e["curtailed_mwh"].iloc[0] == pytest.approx(80, abs=1e-3)
    instead = e.loc["served instead in the same zone"]
    assert instead["detail"] == "campus (weight 1,800, 40 MWh)"


def test_unconstrained_applicant_is_not_explained(tmp_path):
    """With a 60 MW line the miner gets all it asks for: nothing to explain."""
    spec = congested()
    spec["lines"][0]["capacity_mw"] = 60
    assert explain(spec, tmp_path).empty


def test_explain_command(tmp_path):
    inst = planner.load_instance(write_instance(congested(), tmp_path / "i.yaml"))
    inv.solve_and_write(inst, tmp_path / "out")
    write_explanations(tmp_path / "out", inst)
    done = run_cli("explain", tmp_path / "out", "--applicant", "miner")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("miner (B, weight 550 NOK/MWh): granted 50.0 of 50.0 MW")
    assert "transfer limit A→B (30 MW) binding in 2 h  [shadow price 550.0" in done.stdout
    bad = run_cli("explain", tmp_path / "out", "--applicant", "nobody")
    assert bad.returncode == 2 and "unknown applicant 'nobody'" in bad.stderr
    assert_no_traceback(bad.stderr)


def test_reports_carry_the_explanation(tmp_path):
    """planner solve puts explain.csv's reasons into report.html and report.md (and the
    workbook), and planner report renders the same section from the saved folder."""
    path = write_instance(congested(), tmp_path / "i.yaml")
    done = run_cli("solve", path, "--out", tmp_path / "out", "--formats", "csv,html,md")
    assert done.returncode == 0, done.stderr
    html = (tmp_path / "out" / "report.html").read_text()
    md = (tmp_path / "out" / "report.md").read_text()
    for text in (html, md):
        assert "Why applicants got less" in text and "transfer limit A→B binding" in text
    again = run_cli("report", tmp_path / "out", "--formats", "html,md")
    assert again.returncode == 0, again.stderr
    assert (tmp_path / "out" / "report.html").read_text() == html


def test_a_binding_end_level_is_named_as_the_cause(tmp_path):
    """One zone, 3 h: a reservoir of 100 MWh, half full, without inflow, that must end half full
    holds back all its water, so the homes' 60 MW go unserved. The reservoir is neither empty
    nor full: the end level is the cause, its dual the value of lost load (20 550 NOK/MWh)."""
    spec = one_reservoir(hours=3, initial_share=0.5, final_share=0.5, demand_mw=60)
    table = explain(spec, tmp_path)
    row = table.loc["reservoir end level binding"]
    assert row["constraint"] == "storage_mwh[dam]" and row["hours"] == 3
    assert row["unserved_mwh"] == pytest.approx(180)
    assert row["shadow_price_nok_per_unit"] == pytest.approx(20_550)
    assert "must end at 50 MWh" in row["detail"]
