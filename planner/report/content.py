"""What the reports say, computed once from the result tables: the headline numbers, the class
and link summaries, the objective terms. Every format (xlsx, HTML, Markdown) shows these."""

from __future__ import annotations

import numpy as np
import pandas as pd

from planner.report.columns import format_value, header, split_unit
from planner.results import class_summary

AT_LIMIT = 1e-3
"""MW: a flow this close to its limit counts as an hour at the limit."""

ALLOCATION_VIEW = ["applicant", "zone", "class", "requested_mw", "granted_mw", "granted_firm_mw",
                   "granted_nonfirm_mw", "served_mwh", "served_share", "curtailed_mwh",
                   "curtailed_hours", "unserved_mwh", "value_nok"]
"""The allocation columns a reader of the HTML and Markdown reports needs; the workbook and
allocation.csv hold them all."""


def applicants(allocation: pd.DataFrame) -> pd.DataFrame:
    """The rows of applicants for capacity, without protected demand (households)."""
    return allocation[~allocation["protected"].astype(bool)]


def headline(summary: dict, allocation: pd.DataFrame) -> list[tuple[str, float, str]]:
    """(label, value, unit) of the answer in a few numbers: capacity and energy of the
    applicants; unserved energy, trade and the objective of the whole system."""
    k, a = summary["kpis"], applicants(allocation)
    return [
        ("requested", float(a["requested_mw"].sum()), "MW"),
        ("granted", float(a["granted_mw"].sum()), "MW"),
        ("granted firm", float(a["granted_firm_mw"].sum()), "MW"),
        ("granted non-firm", float(a["granted_nonfirm_mw"].sum()), "MW"),
        ("served to applicants", float(a["served_mwh"].sum()) / 1e6, "TWh"),
        ("curtailed", float(a["curtailed_mwh"].sum()) / 1e6, "TWh"),
        ("unserved, all loads", float(allocation["unserved_mwh"].sum()), "MWh"),
        ("exports", k["exports_twh"], "TWh"),
        ("imports", k["imports_twh"], "TWh"),
        ("objective", summary["objective_nok"] / 1e6, "MNOK"),
    ]


def headline_sentence(summary: dict, allocation: pd.DataFrame) -> str:
    """The answer in one sentence, for the top of the HTML and Markdown reports."""
    h = {label: value for label, value, _ in headline(summary, allocation)}
    a = applicants(allocation)
    full = int((a["granted_mw"] >= a["requested_mw"] - AT_LIMIT).sum())
    return (f"{len(a)} applicants asked for {h['requested']:,.0f} MW; {h['granted']:,.0f} MW "
            f"were granted ({h['granted firm']:,.0f} MW firm, {h['granted non-firm']:,.0f} MW "
            f"non-firm) and {full} of them got all they asked for. Over {summary['hours']:,} "
            f"hours the applicants were served {h['served to applicants']:,.3f} TWh and curtailed "
            f"{h['curtailed']:,.3f} TWh; {h['unserved, all loads']:,.0f} MWh of connected load "
            f"(protected demand included) went unserved.")


def classes_table(allocation: pd.DataFrame) -> pd.DataFrame:
    """One row per load class (see ``results.class_summary``)."""
    return class_summary(allocation).reset_index()


def links_table(flows: pd.DataFrame) -> pd.DataFrame:
    """One row per direction of every line and interconnector: limit, energy, mean flow and
    hours at the limit."""
    g = flows.groupby(["link", "kind", "from", "to"], sort=False)
    out = g.agg(limit_mw=("limit_mw", "first"), energy_twh=("flow_mw", "sum"),
                mean_flow_mw=("flow_mw", "mean"))
    out["energy_twh"] /= 1e6
    at_limit = (flows["flow_mw"] >= flows["limit_mw"] - AT_LIMIT) & (flows["limit_mw"] > 0)
    out["at_limit_hours"] = at_limit.groupby([flows[c] for c in ("link", "kind", "from", "to")],
                                             sort=False).sum()
    return out.reset_index()


def objective_table(summary: dict) -> pd.DataFrame:
    """The objective's terms with the sign they enter it (NOK)."""
    signs = {"value_served_nok": 1, "export_revenue_nok": 1}
    rows = [(name.removesuffix("_nok").replace("_", " "), signs.get(name, -1) * value + 0.0)
            for name, value in summary["objective_terms_nok"].items()]
    rows.append(("objective", summary["objective_nok"]))
    return pd.DataFrame(rows, columns=["term", "contribution_nok"])


def summary_table(record: list[tuple[str, str]], summary: dict,
                  allocation: pd.DataFrame) -> pd.DataFrame:
    """The workbook's first sheet: the run record, then the headline numbers with units."""
    rows = [(field, value, "") for field, value in record]
    rows += [(label, value, unit) for label, value, unit in headline(summary, allocation)]
    return pd.DataFrame(rows, columns=["item", "value", "unit"])


def display(df: pd.DataFrame, table: str, columns: list[str] | None = None) -> dict:
    """A table as text for HTML and Markdown: headers with units, cells formatted by unit,
    numeric cells flagged (right-aligned)."""
    columns = [c for c in (columns or list(df.columns)) if c in df.columns]
    units = [split_unit(table, c)[1] for c in columns]
    numeric = [pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])
               for c in columns]
    rows = [[(format_value(v, u), n) for v, u, n in zip(row, units, numeric, strict=True)]
            for row in df[columns].itertuples(index=False, name=None)]
    return {"headers": [header(table, c) for c in columns], "numeric": numeric, "rows": rows}


def price_series(prices: pd.DataFrame) -> dict[str, np.ndarray]:
    return {z: prices[z].to_numpy() for z in prices.columns if z not in ("hour", "timestamp")}


def curtailment_series(curtailment: pd.DataFrame) -> dict[str, np.ndarray]:
    return {c.removeprefix("curtailed_").removesuffix("_mw"): curtailment[c].to_numpy()
            for c in curtailment.columns if c.startswith("curtailed_")}
