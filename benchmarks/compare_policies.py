"""Benchmark: `planner compare` of every policy against as many cold solves, and against one solve.

    python benchmarks/compare_policies.py INSTANCE [--policy-file FILE] [--jobs N] [--no-cold]

Times (wall and CPU, child processes counted apart), after loading the instance:

1. one solve: `planner.solve` of the base instance (build, compile, solve, results);
2. compare: every policy as `planner compare` solves them (`planner.compare.compare`, warm
   re-solves; on 2 cores in two sessions, the second in a child process);
3. cold: every policy in a fresh session solved from scratch (build, compile, solve, results).

Target (issue 3): compare of the 7 Norway policies ≤ 2.5 × one solve. Results are printed and
appended to benchmarks/results/compare_policies.jsonl; the objectives of 2 and 3 must agree.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from results_file import append  # noqa: E402

import planner  # noqa: E402
from planner.compare import compare, sessions  # noqa: E402
from planner.policies import load_policies  # noqa: E402
from planner.session import Session  # noqa: E402


def children_cpu_s() -> float:
    """CPU seconds of the child processes waited for so far (the coarse optima's child)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(action):
    """(result, wall s, CPU s of every thread of this process, CPU s of its child processes)."""
    start, cpu, children = time.perf_counter(), time.process_time(), children_cpu_s()
    out = action()
    return (out, time.perf_counter() - start, time.process_time() - cpu,
            children_cpu_s() - children)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("--policy-file", type=Path)
    parser.add_argument("--jobs", type=int, help="Sessions solving policies at once (default: "
                        "as `planner compare` chooses).")
    parser.add_argument("--no-cold", action="store_true",
                        help="Skip the cold solves (for the full-year instance, where each takes "
                             "minutes).")
    args = parser.parse_args()
    inst = planner.load_instance(args.instance)
    policies = list(load_policies(inst, args.policy_file).values())
    if not policies:
        sys.exit(f"{args.instance} has no policies to compare: give --policy-file")
    start = time.perf_counter()
    one, one_s, one_cpu_s, one_child_cpu_s = timed(lambda: planner.solve(inst))
    print(f"one solve: {one_s:.1f} s", file=sys.stderr, flush=True)
    comp, compare_s, compare_cpu_s, compare_child_cpu_s = timed(lambda: compare(
        inst, policies, policies[0].name, jobs=args.jobs,
        progress=lambda name: print(f"{time.perf_counter() - start:8.1f} s  {name}",
                                    file=sys.stderr, flush=True)))
    if comp.infeasible:  # a comparison without them is not the benchmark's
        sys.exit(f"infeasible policies, nothing recorded: {comp.infeasible}")
    cold, cold_s, *_ = timed(lambda: [] if args.no_cold else
                            [Session(inst, warm=False).solve(p) for p in policies])
    warm_obj = {r.policy: r.result.summary["objective_nok"] for r in comp.runs}
    cold_obj = {r.policy: r.result.summary["objective_nok"] for r in cold}
    worst = max((abs(warm_obj[k] - cold_obj[k]) / max(1.0, abs(cold_obj[k])) for k in cold_obj),
                default=None)
    record = {
        "when": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "instance": str(args.instance), "hours": inst.hours, "policies": len(policies),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "highs": one.summary["solver"]["name"]},
        "one_solve_s": round(one_s, 3),
        "compare_s": round(compare_s, 3),
        "compare_sessions": sessions(inst, args.jobs),
        "cold_solves_s": None if args.no_cold else round(cold_s, 3),
        "compare_over_one_solve": round(compare_s / one_s, 2),
        "one_solve_cpu_s": round(one_cpu_s, 1), "compare_cpu_s": round(compare_cpu_s, 1),
        "compare_over_one_solve_cpu": round(compare_cpu_s / one_cpu_s, 2),
        "one_solve_child_cpu_s": round(one_child_cpu_s, 1),
        "compare_child_cpu_s": round(compare_child_cpu_s, 1),
        "cold_over_compare": None if args.no_cold else round(cold_s / compare_s, 2),
        "seconds_by_policy": {r.policy: round(r.result.summary["timings_s"]["total_s"], 2)
                              for r in comp.runs},
        "solver_by_policy": {r.policy: r.result.summary["solver"]["name"] for r in comp.runs},
        "rebuilds": sum(r.rebuilt for r in comp.runs),
        "stages": {r.policy: len(r.stages) for r in comp.runs},
        "stage_seconds": {r.policy: [[s.name[:40], round(s.seconds, 2), s.skipped]
                                     for s in r.stages] for r in comp.runs},
        "largest_relative_objective_gap_warm_vs_cold": worst,
    }
    print(json.dumps(record, indent=2))
    append("compare_policies", record)
    if worst is not None and worst > 1e-6:
        sys.exit("warm and cold objectives differ")


if __name__ == "__main__":
    main()
