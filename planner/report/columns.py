"""Column names → labels, units and number formats, shared by every report format.

The tables name their unit in a suffix (``granted_mw``, ``value_nok``, ``served_share``); the
zone columns of prices.csv are prices (NOK/MWh) by the table's definition."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

UNIT_SUFFIXES = (
    ("_nok_per_mwh", "NOK/MWh"), ("_mnok", "MNOK"), ("_nok", "NOK"), ("_twh", "TWh"),
    ("_mwh", "MWh"), ("_mw", "MW"), ("_share", "0–1"), ("_hours", "h"), ("_s", "s"),
)
"""Suffix → unit, longest match first (``_nok_per_mwh`` before ``_mwh``)."""

INDEX_COLUMNS = frozenset({"applicant", "zone", "class", "queue_position", "protected", "hour",
                           "timestamp", "link", "kind", "from", "to", "reservoir", "policy"})
"""Columns that name a row rather than measure it: no unit."""

TABLE_UNITS = {"prices": "NOK/MWh"}
"""Unit of every non-index column of tables whose columns are named by zone."""

EXCEL_FORMATS = {"MW": "#,##0.0", "MWh": "#,##0", "TWh": "#,##0.000", "NOK": "#,##0",
                 "MNOK": "#,##0.0", "NOK/MWh": "#,##0.00", "0–1": "0.000", "h": "#,##0",
                 "s": "0.0"}
"""Excel number format per unit: the precision a reader needs, thousands separated."""

TEXT_FORMATS = {"MW": "{:,.1f}", "MWh": "{:,.0f}", "TWh": "{:,.3f}", "NOK": "{:,.0f}",
                "MNOK": "{:,.1f}", "NOK/MWh": "{:,.2f}", "0–1": "{:.3f}", "h": "{:,.0f}",
                "s": "{:.1f}"}
"""The same precision for HTML and Markdown."""


def split_unit(table: str, column: str) -> tuple[str, str | None]:
    """(label, unit) of a column: ``granted_mw`` → ("granted", "MW")."""
    if column in INDEX_COLUMNS:
        return column.replace("_", " "), None
    for suffix, unit in UNIT_SUFFIXES:
        if column.endswith(suffix):
            return column.removesuffix(suffix).replace("_", " "), unit
    return column.replace("_", " "), TABLE_UNITS.get(table)


def header(table: str, column: str) -> str:
    """What a reader sees above a column: ``granted (MW)``."""
    label, unit = split_unit(table, column)
    return f"{label} ({unit})" if unit else label


def format_value(value: object, unit: str | None) -> str:
    """A cell as text with the unit's precision; text, missing values and integers as they are."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if unit in TEXT_FORMATS:
        return TEXT_FORMATS[unit].format(value)
    return f"{value:,}" if isinstance(value, int) else f"{value:,.4g}"


def short_figure(x: float) -> str:
    """Two decimals, or three significant digits below 1 so small figures stay visible (0.0271
    TWh, not 0.03); below the tables' four decimals (solver noise) and signed zeros: 0.00."""
    if 5e-5 <= abs(x) < 1:
        return f"{x:.{2 - int(np.floor(np.log10(abs(x))))}f}"
    return f"{(x if abs(x) >= 5e-5 else 0.0) + 0.0:,.2f}"
