"""What every benchmark record carries about its run, and where the records go."""

from __future__ import annotations

import json
import os
import platform
from datetime import datetime, timezone
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def run_facts() -> dict:
    """When and on what the record was measured (the load average tells other work running)."""
    return {"date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "machine": platform.machine(), "cpus": os.cpu_count(),
            "load_average": os.getloadavg()[0]}


def append(name: str, record: dict) -> None:
    """Append the record as one JSON line to benchmarks/results/NAME.jsonl."""
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / f"{name}.jsonl").open("a", encoding="utf-8") as f:
        f.write(json.dumps(record) + "\n")
