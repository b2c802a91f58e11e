"""The instance averaged over periods of several hours: a smaller LP whose optimal grants are the
first point of the hourly LP's decomposition (planner/api.py ``coarse_grants``). Only a start:
the hourly LP is still solved and proved on its own (models/formulation.md §12)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from planner.instance.instance import Instance


def can_aggregate(inst: Instance, period_h: int) -> bool:
    """Do periods of ``period_h`` hours tile the horizon and every energy window?"""
    lengths = [a.window_hours for a in inst.applicants if a.window_hours]
    return (period_h > 1 and inst.hours % period_h == 0 and inst.hours > period_h
            and all(n % period_h == 0 for n in lengths))


def _mean(series: np.ndarray | None, period_h: int) -> np.ndarray | None:
    return None if series is None else series.reshape(-1, period_h).mean(axis=1)


def aggregate(inst: Instance, period_h: int) -> Instance:
    """Each period of ``period_h`` hours becomes one hour of the result.

    Hourly series (prices, availabilities, profiles, inflows in MWh/h) are averaged over the
    period, so every energy over the horizon is 1/period_h of the hourly instance's; storage
    sizes and initial and final storage (MWh) are divided by period_h to match. Ramp limits
    (MW/h) are multiplied by it: the means of two adjacent periods may differ by up to
    period_h hours of ramping. Energy windows count periods (window_hours / period_h). Shares
    (firm, curtailment, window minimum) and MW capacities are unchanged. Requires
    ``can_aggregate``."""
    if not can_aggregate(inst, period_h):
        raise ValueError(f"{period_h}-hour periods do not tile {inst.name}'s horizon and windows")
    applicants = tuple(
        replace(a, profile=_mean(a.profile, period_h),
                own_availability=_mean(a.own_availability, period_h),
                ramp_mw_per_h=None if a.ramp_mw_per_h is None else a.ramp_mw_per_h * period_h,
                window_hours=a.window_hours and a.window_hours // period_h)
        for a in inst.applicants)
    supply = tuple(
        replace(s, availability=_mean(s.availability, period_h),
                inflow_mwh=_mean(s.inflow_mwh, period_h), storage_mwh=s.storage_mwh / period_h,
                initial_storage_mwh=s.initial_storage_mwh / period_h,
                final_storage_mwh=s.final_storage_mwh / period_h)
        for s in inst.supply)
    markets = tuple(replace(m, price_nok_per_mwh=_mean(m.price_nok_per_mwh, period_h))
                    for m in inst.markets)
    return replace(inst, name=f"{inst.name} ({period_h}-h periods)",
                   hours=inst.hours // period_h, applicants=applicants, supply=supply,
                   markets=markets, path=None, sha256="")
