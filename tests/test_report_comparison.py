"""The comparison renderer (``planner.report.render.render_comparison``) on a small hand-made
comparison: the sheets hold the tables with units, winners and losers are the hand-picked ones,
policy names stay text."""

from __future__ import annotations

from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from helpers import HYPERLINK, SCRIPT, read_workbook

from planner.report.columns import header
from planner.report.comparison import Comparison, winners_losers
from planner.report.render import render_comparison

POLICIES = ["status_quo", "value_creation", SCRIPT]


def comparison() -> Comparison:
    """Three applicants; value changes (NOK) against status_quo:

        applicant        value_creation   <script> policy
        Smelter                +5.0e6          −1.0e6
        Miner                  −3.0e6          +2.0e6
        =HYPERLINK(..)           0             +4.0e6

    so value_creation's winner is Smelter and its loser Miner (the unchanged applicant is
    neither); the third policy's winners are =HYPERLINK then Miner, its loser Smelter."""
    kpis = pd.DataFrame({
        "policy": POLICIES,
        "served_industry_twh": [10.0, 11.5, 9.0],
        "served_bitcoin_mining_twh": [2.0, 0.5, 3.0],
        "exports_twh": [15.0, 14.0, 16.5],
        "value_mnok": [9000.0, 9500.0, 9100.0],
        "mean_price_NO1_nok_per_mwh": [410.0, 455.5, 398.25],
    })
    apps = ["Smelter", "Miner", HYPERLINK]
    value = {"status_quo": [0, 0, 0], "value_creation": [5e6, -3e6, 0], SCRIPT: [-1e6, 2e6, 4e6]}
    changes = pd.DataFrame([
        {"policy": p, "applicant": a, "granted_change_mw": v / 1e5, "value_change_nok": v}
        for p in POLICIES for a, v in zip(apps, value[p], strict=True)])
    return Comparison(kpis, changes, baseline="status_quo", title="Hand-made comparison")


def test_winners_and_losers_are_the_hand_picked_ones():
    got = {p: d["applicant"].tolist() for p, d in winners_losers(comparison()).items()}
    assert got == {"value_creation": ["Smelter", "Miner"], SCRIPT: [HYPERLINK, "Miner", "Smelter"]}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    out = tmp_path_factory.mktemp("comparison")
    written = render_comparison(comparison(), out)
    return out, written


def test_every_format_is_written(rendered):
    out, written = rendered
    names = {"comparison_kpis.csv", "comparison_changes.csv", "report.xlsx", "report.html",
             "report.md"}
    assert {p.name for p in written} == names == {p.name for p in out.iterdir()}


def test_sheets_hold_the_comparison_tables_with_units(rendered):
    out, _ = rendered
    comp = comparison()
    sheets = read_workbook(out / "report.xlsx")
    assert list(sheets) == ["summary", "policies", "changes"]
    for name, table, units in (("policies", comp.kpis, "kpis"), ("changes", comp.changes, "changes")):
        sheet = sheets[name]
        assert list(sheet.columns) == [header(units, c) for c in table.columns]
        for col, title in zip(table.columns, sheet.columns, strict=True):
            if pd.api.types.is_numeric_dtype(table[col]):
                np.testing.assert_allclose(sheet[title].astype(float), table[col], rtol=0, atol=0)
            else:
                assert sheet[title].tolist() == table[col].tolist()
    assert "mean price NO1 (NOK/MWh)" in sheets["policies"].columns
    assert "value change (NOK)" in sheets["changes"].columns


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)


def test_page_shows_policies_side_by_side_and_stays_inert(rendered):
    out, _ = rendered
    page = (out / "report.html").read_text()
    tags = _Tags()
    tags.feed(page)
    assert "script" not in tags.tags
    # one chart per unit of the KPIs (TWh, MNOK, NOK/MWh) and one of the changes
    assert tags.tags.count("figure") == 4
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Winners and losers against status_quo" in page
    for text in ("served industry (TWh)", "455.50", "9,500.0"):
        assert text in page, text
    md = (out / "report.md").read_text()
    assert "<script" not in md
    assert "| measure | status_quo | value_creation | &lt;script&gt;alert(1)&lt;/script&gt; |" in md


def test_bad_comparison_tables_are_refused():
    comp = comparison()
    with pytest.raises(ValueError, match="baseline"):
        Comparison(comp.kpis, comp.changes, baseline="nonexistent")
    with pytest.raises(ValueError, match="value_change_nok"):
        Comparison(comp.kpis, comp.changes.drop(columns="value_change_nok"), baseline="status_quo")
