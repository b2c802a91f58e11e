"""Benchmark: `planner solve` end to end against HiGHS alone on the same LP.

    python benchmarks/solve_vs_highs.py [INSTANCE] [--repeat N]

1. `planner solve INSTANCE --write-mps` once, to get the exact LP handed to HiGHS;
2. `planner solve INSTANCE --out ...` (no MPS), timed end to end as a subprocess, with its
   own timings (load, build, compile, solve, results, write) from summary.json and the peak
   resident memory of the process;
3. HiGHS alone: the MPS read by highspy and solved in a fresh process, once with HiGHS's
   defaults and once with the planner's solver options; reading the file is not counted.

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


def run(cmd: list[str]) -> tuple[float, int, str]:
    """Wall time (s), peak RSS of the child (MiB) and stdout of a subprocess."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) // 1024, proc.stdout


def highs_alone(mps: Path, options: dict) -> dict:
    _, peak, out = run([sys.executable, "-c", HIGHS_ALONE, str(mps), json.dumps(options)])
    return json.loads(out) | {"peak_mib": peak}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("instance", nargs="?", default=str(ROOT / "instances" / "norway-2030.yaml"))
    ap.add_argument("--repeat", type=int, default=1)
    args = ap.parse_args()
    from planner.solve import SolverOptions

    planner_options = SolverOptions().highs_options()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        mps = work / "lp.mps"
        run(["planner", "solve", args.instance, "--out", str(work / "mps"),
             "--write-mps", str(mps), "--quiet"])
        rows = []
        for _ in range(args.repeat):
            wall, peak, _ = run(["planner", "solve", args.instance, "--out", str(work / "out"),
                                 "--quiet"])
            summary = json.loads((work / "out" / "summary.json").read_text())
            default = highs_alone(mps, {})
            tuned = highs_alone(mps, planner_options)
            rows.append({
                "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "instance": args.instance, "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "planner_wall_s": wall, "planner_peak_mib": peak,
                "planner_timings_s": summary["timings_s"], "planner_objective": summary["objective_nok"],
                "highs_default": default, "highs_planner_options": tuned,
                "ratio_vs_highs_default": wall / default["solve_s"],
                "ratio_vs_highs_same_options": wall / tuned["solve_s"],
            })
            r = rows[-1]
            t = r["planner_timings_s"]
            print(f"planner end to end {wall:6.1f} s (peak {peak} MiB): "
                  + ", ".join(f"{k.removesuffix('_s')} {v:.1f}" for k, v in t.items()))
            print(f"HiGHS alone, defaults      {default['solve_s']:6.1f} s  {default['status']}, "
                  f"objective {default['objective']:.6e}")
            print(f"HiGHS alone, planner opts  {tuned['solve_s']:6.1f} s  {tuned['status']}, "
                  f"objective {tuned['objective']:.6e}")
            print(f"ratio end-to-end / HiGHS alone: {r['ratio_vs_highs_default']:.2f} (defaults), "
                  f"{r['ratio_vs_highs_same_options']:.2f} (same options); targets ≤ 1.5 and < 60 s")
    out = HERE / "results" / "solve_vs_highs.jsonl"
    out.parent.mkdir(exist_ok=True)
    with out.open("a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
