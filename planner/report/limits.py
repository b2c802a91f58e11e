"""A policy's limits as its run record holds them (summary.json ``policy.limits``, written by
planner/session.py ``Session._limit_record``), in the units the policy states them: shown after
a solve, in compare's table, terminal and report."""

from __future__ import annotations

from planner.errors import InputError, Problem
from planner.policies import HOURS_PER_YEAR
from planner.report.columns import short_figure
from planner.results import BINDING_DUAL

FIELDS = ("entity", "unit", "sense", "limit", "level", "dual_nok_per_unit_raised")
"""What the record holds of each limit."""


def policy_limits(summary: dict) -> list[dict]:
    """The limits a summary records (none for the instance as given or a policy without); an
    InputError if one lacks a field (summary.json edited, or written by another version)."""
    limits = (summary.get("policy") or {}).get("limits") or []
    for k, lim in enumerate(limits):
        if not isinstance(lim, dict) or not set(FIELDS) <= set(lim):
            raise InputError([Problem(
                "summary.json", None, None, f"policy.limits[{k}]",
                f"needs the fields {', '.join(FIELDS)} (written by another version of the "
                "planner, or edited?): solve again")])
    return limits


def shown_limit(summary: dict, lim: dict) -> tuple[float, float, str, str]:
    """(level, limit, unit shown, unit of the dual's denominator) of a limit: an energy limit
    in TWh per year, pro rata for shorter horizons, its dual per MWh over the horizon; a
    reserve margin in MW and per MW; level and limit to SIGNIFICANT digits (``shown``)."""
    scale, unit, dual_unit = (1e-6 * HOURS_PER_YEAR / summary["hours"], "TWh/yr", "MWh") \
        if lim["unit"] == "MWh" else (1.0, "MW", "MW")
    return shown(lim["level"], scale), shown(lim["limit"], scale), unit, dual_unit


def limit_kind(lim: dict) -> str:
    return "cap" if lim["sense"] == "upper" else "floor"


def binds(lim: dict) -> bool:
    """Does the limit bind: a dual beyond binding.csv's threshold (BINDING_DUAL)?"""
    return abs(lim["dual_nok_per_unit_raised"]) > BINDING_DUAL


SIGNIFICANT = 6
"""Significant digits of a level or limit shown: a level at its limit shows as the limit (a
level rounded to the tables' 10⁻⁴ MWh and scaled to TWh/yr may end in …99999 where the limit
ends in 0), and 6 digits tell any difference that matters."""


def shown(value: float, scale: float) -> float:
    """A recorded number in the unit shown, to SIGNIFICANT digits."""
    return float(f"{value * scale:.{SIGNIFICANT}g}")


def limit_note(summary: dict, lim: dict) -> str:
    """One line on a limit: its level against the limit, and its dual where it binds."""
    level, limit, unit, dual_unit = shown_limit(summary, lim)
    where = f"{lim['entity']} at {short_figure(level)} {unit} " \
            f"({limit_kind(lim)} {short_figure(limit)})"
    if not binds(lim):
        return f"{where}: not binding"
    over = " over the horizon" if dual_unit == "MWh" else ""
    return f"{where}: binds, {short_figure(abs(lim['dual_nok_per_unit_raised']))} NOK of " \
           f"objective per {dual_unit}{over} it is " \
           f"{'raised' if lim['sense'] == 'upper' else 'lowered'}"
