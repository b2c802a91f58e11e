"""Shared helpers of the test suite: paths, running the ``planner`` command, writing instances."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd
from ruamel.yaml import YAML

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
INSTANCES = TESTS / "instances"
HAND = REPO / "instances" / "teaching" / "hand.yaml"
TINY = INSTANCES / "tiny.yaml"
FEATURES = INSTANCES / "features.yaml"
TEACHING = sorted((REPO / "instances" / "teaching").glob("*.yaml"))
"""Teaching instances, if the repository has them when the suite runs."""

SCRIPT = "<script>alert(1)</script>"
HYPERLINK = '=HYPERLINK("http://x","y")'

RESULT_FILES = ("allocation.csv", "dispatch.csv", "flows.csv", "prices.csv", "storage.csv",
                "curtailment.csv", "applicants.csv", "generation.csv", "binding.csv", "explain.csv",
                "summary.json", "verification.json")
REPORT_FILES = ("report.xlsx", "report.html", "report.md")


def planner_command() -> list[str]:
    """The installed ``planner`` console script of this interpreter (no pyenv shim), or
    ``python -m planner`` where it is missing."""
    script = Path(sys.executable).with_name("planner")
    if script.is_file():
        return [str(script)]
    found = shutil.which("planner")
    return [found] if found else [sys.executable, "-m", "planner"]


def run_cli(*args: str | Path, cwd: Path | None = None,
            timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``planner ARGS`` as a user would, capturing stdout and stderr as text. The package is
    imported from this repository (PYTHONPATH), whichever checkout the script was installed from."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(REPO), *filter(None, [os.environ.get("PYTHONPATH")])])}
    return subprocess.run([*planner_command(), *map(str, args)], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd, check=False, env=env)


def run_cli_many(calls: dict[str, tuple], workers: int = 2) -> dict[str, subprocess.CompletedProcess]:
    """Several ``planner`` runs side by side (each pays ~2 s of imports); results by key."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {key: pool.submit(run_cli, *args) for key, args in calls.items()}
        return {key: f.result() for key, f in futures.items()}


def read_yaml(path: Path) -> dict[str, Any]:
    """An instance file as plain data (YAML 1.2, like the planner: 'NO' stays a string)."""
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def write_instance(spec: dict[str, Any], path: Path) -> Path:
    """Write an instance as JSON (which is YAML) and return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(spec, indent=1, default=str), encoding="utf-8")
    return path


def assert_no_traceback(text: str) -> None:
    assert "Traceback" not in text, f"a Python traceback reached the user:\n{text}"


def read_workbook(path: Path) -> dict[str, pd.DataFrame]:
    """Every sheet of a workbook as a table under its header row, read with openpyxl (a reader
    independent of the planner's writer)."""
    from openpyxl import load_workbook

    wb = load_workbook(path, read_only=True)
    out = {}
    for ws in wb.worksheets:
        rows = list(ws.values)
        out[ws.title] = pd.DataFrame(rows[1:], columns=rows[0]) if rows else pd.DataFrame()
    wb.close()
    return out


def write_hostile_instance(folder: Path) -> Path:
    """tiny.yaml with names a spreadsheet or a browser would run: a script tag, a formula, and
    a zone and a line whose names begin with '-' and '@'."""
    spec = read_yaml(TINY)
    spec["name"] = SCRIPT
    spec["applicants"][0]["name"] = SCRIPT
    spec["applicants"][1]["name"] = HYPERLINK
    spec["lines"][0]["name"] = "@SUM(A1)"
    rename = {"NO1": "-NO1"}
    spec["zones"] = [{**z, "name": rename.get(z["name"], z["name"])} for z in spec["zones"]]
    for group, keys in (("lines", ("from", "to")), ("interconnectors", ("zone",)),
                        ("supply", ("zone",)), ("applicants", ("zone",)),
                        ("protected_demand", ("zone",))):
        for entry in spec[group]:
            for key in keys:
                entry[key] = rename.get(entry[key], entry[key])
    shutil.copy(INSTANCES / "tiny-series.csv", folder / "tiny-series.csv")
    return write_instance(spec, folder / "hostile.json")


def one_reservoir(hours: int, initial_share: float, final_share: float, demand_mw: float) -> dict:
    """One zone A: a 100 MW hydro plant on a 100 MWh reservoir without inflow, from
    ``initial_share`` to at least ``final_share`` full, and homes of ``demand_mw``."""
    return {
        "name": "reservoir", "time": {"start": "2030-01-01T00:00", "hours": hours},
        "zones": [{"name": "A"}],
        "supply": [{"name": "dam", "zone": "A", "kind": "hydro_reservoir", "capacity_mw": 100,
                    "storage_mwh": 100, "inflow_mwh": 0, "initial_storage_share": initial_share,
                    "final_storage_share": final_share}],
        "protected_demand": [{"name": "homes", "zone": "A", "demand_mw": demand_mw}],
    }
