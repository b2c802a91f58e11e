"""Policies side by side: the comparison's pages and sheets, built from two plain tables so that
``planner compare`` plugs in by filling a ``Comparison`` and calling
``planner.report.render.render_comparison(comparison, out_dir)``."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from planner.report import charts, excel, html, markdown
from planner.report.columns import format_value, header, split_unit

TOP = 5
"""Winners and losers listed per policy."""


@dataclass
class Comparison:
    """What a comparison report shows.

    ``kpis``: one row per policy; a ``policy`` column, then numeric columns whose names end in
    their unit (``served_ai_training_twh``, ``exports_twh``, ``value_mnok``,
    ``mean_price_NO1_nok_per_mwh``). Columns sharing a unit are charted together.

    ``changes``: one row per policy and applicant against the baseline; ``policy`` and
    ``applicant`` columns (``zone`` and ``class`` if known), then numeric change columns named
    with their unit (``granted_change_mw``, ``served_change_mwh``, ``value_change_nok``).

    ``baseline``: the policy the changes are measured against (a row of ``kpis``).
    ``rank_by``: the ``changes`` column that orders winners and losers.
    ``record``: (field, value) rows of the comparison's run record.

    ``limits``: one row per policy limit (``policy``, ``limit``, ``kind`` cap or floor,
    ``level``, ``bound``, their ``unit``, ``dual_per_unit_nok`` and the unit it is ``per``,
    ``binds``); None or empty: no policy has limits."""

    kpis: pd.DataFrame
    changes: pd.DataFrame
    baseline: str
    rank_by: str = "value_change_nok"
    title: str = "Policy comparison"
    record: list[tuple[str, str]] = field(default_factory=list)
    limits: pd.DataFrame | None = None

    def __post_init__(self) -> None:
        if "policy" not in self.kpis.columns or self.baseline not in set(self.kpis["policy"]):
            raise ValueError(f"kpis needs a 'policy' column with the baseline '{self.baseline}'")
        missing = {"policy", "applicant", self.rank_by} - set(self.changes.columns)
        if missing:
            raise ValueError(f"changes lacks the columns {sorted(missing)}")


def _units(comp: Comparison) -> dict[str, list[str]]:
    """KPI columns grouped by unit, in column order."""
    groups: dict[str, list[str]] = {}
    for col in comp.kpis.columns:
        unit = split_unit("kpis", col)[1]
        if col != "policy" and unit and pd.api.types.is_numeric_dtype(comp.kpis[col]):
            groups.setdefault(unit, []).append(col)
    return groups


def kpi_display(comp: Comparison) -> dict:
    """The KPI table turned: one row per measure (with its unit), one column per policy."""
    policies = [str(p) for p in comp.kpis["policy"]]
    rows = []
    for col in comp.kpis.columns.drop("policy"):
        unit = split_unit("kpis", col)[1]
        rows.append([(header("kpis", col), False),
                     *((format_value(v, unit), True) for v in comp.kpis[col])])
    return {"headers": ["measure", *policies], "numeric": [False] + [True] * len(policies),
            "rows": rows, "caption": f"Baseline: {comp.baseline}"}


def winners_losers(comp: Comparison) -> dict[str, pd.DataFrame]:
    """Per policy other than the baseline: the ``TOP`` largest gains and losses by ``rank_by``
    (changes of zero left out), gains first."""
    out = {}
    for policy, d in comp.changes.groupby("policy", sort=False):
        if policy == comp.baseline:
            continue
        ordered = d.sort_values([comp.rank_by, "applicant"], ascending=[False, True])
        gains = ordered[ordered[comp.rank_by] > 0].head(TOP)
        losses = ordered[ordered[comp.rank_by] < 0].tail(TOP)
        out[str(policy)] = pd.concat([gains, losses]).drop(columns="policy")
    return out


def sections(comp: Comparison) -> list[html.Section]:
    kpis = comp.kpis.set_index("policy")
    side = html.Section(
        "policies", "Policies side by side", "One chart per unit; one group of bars per policy.",
        [html.svg(charts.grouped_bars(kpis[cols].rename(columns=lambda c: split_unit("kpis", c)[0]),
                                      f"Per policy ({unit})", unit))
         for unit, cols in _units(comp).items()],
        [kpi_display(comp)])
    change = comp.changes.pivot_table(index="applicant", columns="policy", values=comp.rank_by,
                                      sort=False)
    change = change.drop(columns=[comp.baseline], errors="ignore")
    label = header("changes", comp.rank_by)
    moved = html.Section(
        "winners-losers", f"Winners and losers against {comp.baseline}",
        f"Ranked by {label}; the {TOP} largest gains and losses of each policy.",
        [html.svg(charts.grouped_bars(change, f"{label} per applicant",
                                      split_unit("changes", comp.rank_by)[1] or ""))]
        if len(change.columns) else [],
        [html.table(d, "changes", caption=policy) for policy, d in winners_losers(comp).items()])
    if not _has_limits(comp):
        return [side, moved]
    return [side, moved, html.Section("limits", "Policy limits", LIMITS_NOTE, [],
                                      [html.table(comp.limits, "limits")])]


LIMITS_NOTE = ("Each policy's export cap, domestic floor or reserve margin, binding or not: its "
               "level, the limit, and its dual, the objective gained per unit the limit is "
               "raised (NOK per MWh over the horizon, or per MW of firm supply capacity; "
               "negative for a floor, 0 where the limit has slack).")


def _has_limits(comp: Comparison) -> bool:
    return comp.limits is not None and not comp.limits.empty


def page_html(comp: Comparison) -> str:
    n = len(comp.kpis)
    return html.render_page(comp.title, f"{n} policies · baseline: {comp.baseline}",
                            f"{n} policies compared; changes are measured against {comp.baseline}.",
                            [], sections(comp), comp.record)


def page_markdown(comp: Comparison) -> str:
    blocks = [("Policies side by side", markdown.md_table(kpi_display(comp)))]
    for policy, d in winners_losers(comp).items():
        blocks.append((f"Winners and losers: {markdown.md_text(policy)} against "
                       f"{markdown.md_text(comp.baseline)}",
                       markdown.md_table(html.table(d, "changes"))))
    if _has_limits(comp):
        blocks.append(("Policy limits", [markdown.md_text(LIMITS_NOTE), "",
                                         *markdown.md_table(html.table(comp.limits, "limits"))]))
    return markdown.md_page(comp.title, f"{len(comp.kpis)} policies, baseline {comp.baseline}",
                            f"Changes are measured against {comp.baseline}.", blocks, comp.record)


def sheets(comp: Comparison) -> list[excel.Sheet]:
    policies = ", ".join(map(str, comp.kpis["policy"]))
    summary = pd.DataFrame([("baseline", comp.baseline), ("policies", policies), *comp.record],
                           columns=["item", "value"])
    return [excel.Sheet("summary", summary), excel.Sheet("policies", comp.kpis, "kpis"),
            excel.Sheet("changes", comp.changes, "changes"),
            *([excel.Sheet("limits", comp.limits, "limits")] if _has_limits(comp) else [])]
