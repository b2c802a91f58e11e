"""Benchmark: `planner solve` end to end against HiGHS alone on the same LP.

    python benchmarks/solve_vs_highs.py [INSTANCE] [--repeat N]

1. `planner solve INSTANCE --write-mps` once, to get the exact LP handed to HiGHS (the LP of
   the last round of row generation, models/formulation.md section 5.2);
2. `planner solve INSTANCE --out ... --formats csv` (no MPS, the result tables without the
   reports, whose cost benchmarks/report_timing.py measures), timed end to end as a
   subprocess: wall and CPU time, its own timings (load, build, compile, solve, results) from
   summary.json and the peak resident memory of the process;
3. HiGHS alone: the MPS read by highspy and solved in a fresh process, once with the
   planner's solver options and once with HiGHS's own dual pricing (the planner uses devex);
   reading the file is not counted, and the ratio is taken against the faster of the two.

CPU time is recorded beside wall time: on a shared machine it is the fairer comparison.

Targets (issue 2): end to end ≤ 1.5 × HiGHS alone, and < 60 s on a 2-core machine.
Results are printed and appended to benchmarks/results/solve_vs_highs.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from results_file import append

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

HIGHS_ALONE = """
import json, sys, time, highspy
h = highspy.Highs()
h.setOptionValue("output_flag", False)
h.readModel(sys.argv[1])
for key, value in json.loads(sys.argv[2]).items():
    h.setOptionValue(key, value)
t = time.perf_counter()
h.run()
elapsed = time.perf_counter() - t
info = h.getInfo()
print(json.dumps({"status": h.modelStatusToString(h.getModelStatus()), "solve_s": elapsed,
                  "objective": info.objective_function_value}))
"""


def run(cmd: list[str]) -> tuple[float, float, int, str]:
    """Wall time (s), CPU time (s, user + system), peak RSS of the child (MiB) and stdout of
    a subprocess. CPU time is the fairer figure when other work shares the cores."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return wall, cpu, max(after.ru_maxrss, before.ru_maxrss) // 1024, proc.stdout


def highs_alone(mps: Path, options: dict) -> dict:
    wall, cpu, peak, out = run([sys.executable, "-c", HIGHS_ALONE, str(mps), json.dumps(options)])
    # the last line: HiGHS ≥ 1.16 prints its banner first
    return json.loads(out.splitlines()[-1]) | {"process_wall_s": wall, "cpu_s": cpu, "peak_mib": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance", nargs="?", default=str(ROOT / "instances" / "norway-2030.yaml"))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    from planner.solve import SolverOptions

    planner_options = SolverOptions().highs_options()
    # the planner's pricing (devex) is not HiGHS's default: HiGHS alone runs with both, and
    # the ratio is taken against the faster
    highs_default = SolverOptions(dual_edge_weights="choose").highs_options()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mps = work / "lp.mps"
        run(["planner", "solve", args.instance, "--out", str(work / "mps"), "--formats", "csv",
             "--write-mps", str(mps), "--quiet"])
        rows = []
        for _ in range(args.repeat):
            wall, cpu, peak, _ = run(["planner", "solve", args.instance, "--out", str(work / "out"),
                                      "--formats", "csv", "--quiet"])
            summary = json.loads((work / "out" / "summary.json").read_text())
            tuned = highs_alone(mps, planner_options)
            default = highs_alone(mps, highs_default)
            best = min(tuned, default, key=lambda h: h["solve_s"])
            rows.append({
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "instance": args.instance, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "load_average_1min": os.getloadavg()[0],
                "planner_wall_s": wall, "planner_cpu_s": cpu, "planner_peak_mib": peak,
                "planner_timings_s": summary["timings_s"], "planner_objective": summary["objective_nok"],
                "planner_iterations": summary["solver"]["iterations"],
                "highs_planner_options": tuned, "highs_default_pricing": default,
                "ratio_wall": wall / best["solve_s"], "ratio_cpu": cpu / best["cpu_s"],
            })
            r = rows[-1]
            t = r["planner_timings_s"]
            print(f"planner end to end {wall:6.1f} s wall, {cpu:6.1f} s CPU (peak {peak} MiB): "
                  + ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in t.items()))
            for label, h in (("same options", tuned), ("HiGHS's pricing", default)):
                print(f"HiGHS alone (same LP, {label}) {h['solve_s']:6.1f} s wall, "
                      f"{h['cpu_s']:6.1f} s CPU, {h['status']}, objective {h['objective']:.6e}")
            print(f"ratio end-to-end / the faster HiGHS alone: {r['ratio_wall']:.2f} wall, "
                  f"{r['ratio_cpu']:.2f} CPU"
                  f" (load average {r['load_average_1min']:.1f}); targets ≤ 1.5 and < 60 s")
    for r in rows:
        append("solve_vs_highs", r)


if __name__ == "__main__":
    main()
