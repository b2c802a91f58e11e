"""Benchmark: the full LP against the grant decomposition on an instance's first hours.

    python benchmarks/method_threshold.py INSTANCE HOURS [HOURS ...] [--compare]

For each horizon, the instance is cut to its first HOURS hours (the YAML's horizon and every
CSV series under the instance's folder, in a scratch folder) and solved by `planner.solve` with
``method="direct"`` and ``method="grants"`` (and, with --compare, all its policies compared
with each). Sets ``DECOMPOSE_MIN_HOURS`` (planner/api.py), where ``method="auto"`` switches.
A cut of the Norway year is for timing only: its reservoirs keep the year's end-level rule.
Results are printed and appended to benchmarks/results/method_threshold.jsonl; the objectives
of the two methods, solved and compared, must agree.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from itertools import islice
from pathlib import Path

from compare_policies import timed
from results_file import append, run_facts
from ruamel.yaml import YAML

import planner
from planner.compare import compare
from planner.policies import load_policies
from planner.solve import SolverOptions

METHODS = ("direct", "grants")


def cut(instance: Path, hours: int, folder: Path) -> Path:
    """The instance's first ``hours`` hours, written into ``folder`` (series copied cut)."""
    spec = YAML(typ="safe").load(instance.read_text(encoding="utf-8"))  # YAML 1.2: NO stays a zone
    spec["time"]["hours"] = hours
    for csv in instance.parent.rglob("*.csv"):
        target = folder / csv.relative_to(instance.parent)
        target.parent.mkdir(parents=True, exist_ok=True)
        with csv.open(encoding="utf-8") as f:
            target.write_text("".join(islice(f, hours + 1)), encoding="utf-8")
    path = folder / "cut.json"
    path.write_text(json.dumps(spec, default=str), encoding="utf-8")
    return path


def measure(inst, with_compare: bool) -> dict:
    """Seconds and objectives of each method (solve, and compare of every policy)."""
    record: dict = {}
    policies = list(load_policies(inst, None).values()) if with_compare else []
    for method in METHODS:
        options = SolverOptions(method=method)
        result, seconds, *_ = timed(lambda: planner.solve(inst, options))  # noqa: B023
        record[method] = {"solve_s": round(seconds, 3),
                          "objective_nok": result.summary["objective_nok"]}
        if policies:
            comp, seconds, *_ = timed(lambda: compare(inst, policies, policies[0].name, options))  # noqa: B023
            record[method] |= {"compare_s": round(seconds, 3), "policy_objectives_nok": {
                r.policy: r.result.summary["objective_nok"] for r in comp.runs}}
    return record


def largest_gap(direct: dict, grants: dict) -> float:
    """The largest relative gap between the two methods' objectives (the solve's and each
    compared policy's)."""
    pairs = [(direct["objective_nok"], grants["objective_nok"])] + [
        (value, grants["policy_objectives_nok"][name])
        for name, value in direct.get("policy_objectives_nok", {}).items()]
    return max(abs(a - b) / max(1.0, abs(a)) for a, b in pairs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("instance", type=Path)
    parser.add_argument("hours", type=int, nargs="+")
    parser.add_argument("--compare", action="store_true", help="Also compare every policy.")
    args = parser.parse_args()
    for hours in args.hours:
        folder = Path(tempfile.mkdtemp(prefix="planner-cut-"))
        try:
            inst = planner.load_instance(cut(args.instance, hours, folder))
            record = {"instance": str(args.instance), "hours": hours,
                      **measure(inst, args.compare)}
        finally:
            shutil.rmtree(folder)
        record |= {"relative_objective_gap": largest_gap(*(record[m] for m in METHODS)),
                   **run_facts()}
        print(json.dumps(record), flush=True)
        append("method_threshold", record)


if __name__ == "__main__":
    main()
