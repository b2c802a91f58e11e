"""The run record: what was solved, how and when, in summary.json and at the top of every report.

Everything but the date and the timings is a function of the input, so two runs of the same
instance differ only there."""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime, timezone

from planner.report.limits import limit_note, policy_limits
from planner.solve import SolverOptions, new_highs


def record_run(summary: dict, options: SolverOptions, policy: dict | None = None) -> None:
    """Add to a solve's summary what the record needs beyond the solve itself: the policy (None:
    the instance as given; else its name, overrides and stages, planner/session.py), planner
    and solver versions, solver options and the date (UTC)."""
    from planner import __version__

    summary["policy"] = policy
    summary["planner_version"] = __version__
    summary["solver"]["version"] = new_highs().version()
    # as summary.json holds them (tuples as lists): a report from the saved folder reads the same
    summary["solver_options"] = json.loads(json.dumps(dataclasses.asdict(options)))
    summary["date"] = datetime.now(timezone.utc).isoformat(timespec="seconds")


def run_record(summary: dict) -> list[tuple[str, str]]:
    """(field, value) rows of the record, in reading order, as text."""
    solver = summary.get("solver", {})
    options = summary.get("solver_options") or {}
    terms = summary.get("objective_terms_nok", {})
    timings = summary.get("timings_s", {})
    iterations = solver.get("iterations") or {}
    if isinstance(iterations, dict):
        iterations = ", ".join(f"{v} {k}" for k, v in iterations.items() if v)
    return [
        ("instance", str(summary.get("instance", ""))),
        ("instance file", str(summary.get("instance_file") or "(not from a file)")),
        ("instance SHA-256", str(summary.get("instance_sha256", ""))),
        ("policy", policy_name(summary) or "(none: the instance as given)"),
        *(("  policy limit", limit_note(summary, lim)) for lim in policy_limits(summary)),
        ("planner version", str(summary.get("planner_version", ""))),
        ("solver", f"HiGHS {solver.get('version', '')} ({iterations} iterations)"),
        ("solver options", ", ".join(f"{k}={v}" for k, v in options.items()
                                     if v not in (None, {}, False)) or "defaults"),
        ("termination status", str(summary.get("status", ""))),
        ("hours", f"{summary.get('hours', '')}"),
        ("objective (NOK)", f"{summary.get('objective_nok', float('nan')):,.0f}"),
        *((f"  {name.removesuffix('_nok').replace('_', ' ')} (NOK)", f"{value:,.0f}")
          for name, value in terms.items()),
        ("timings (s)", ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in timings.items())),
        ("date (UTC)", str(summary.get("date", ""))),
    ]


def policy_name(summary: dict) -> str | None:
    """The name of the policy a summary records (None: the instance as given)."""
    policy = summary.get("policy")
    return policy.get("name") if isinstance(policy, dict) else policy
