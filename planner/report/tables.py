"""Result tables → CSV files and summary.json, written atomically inside the output folder."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

from planner.results import Result

FLOAT_FORMAT = "%.4f"
"""Every number in the CSV files: four decimals (MW, MWh, NOK/MWh), so runs compare exactly."""


def _atomic_write(path: Path, write) -> None:
    """Write through a temporary file in the same folder, then rename over the target."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_csv(df: pd.DataFrame, path: Path) -> None:
    _atomic_write(path, lambda p: df.to_csv(p, index=False, float_format=FLOAT_FORMAT,
                                            date_format="%Y-%m-%dT%H:%M"))


def write_json(data: dict, path: Path) -> None:
    _atomic_write(path, lambda p: p.write_text(json.dumps(data, indent=2, sort_keys=False,
                                                          default=str) + "\n"))


def write_csv_tables(result: Result, out: Path) -> list[Path]:
    """allocation.csv, dispatch.csv, flows.csv, prices.csv and storage.csv."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in result.tables().items():
        path = out / f"{name}.csv"
        write_csv(df, path)
        written.append(path)
    return written


def write_tables(result: Result, out: Path) -> list[Path]:
    """The CSV tables, then summary.json (written last, so it can hold the write time)."""
    written = write_csv_tables(result, out)
    write_json(result.summary, out / "summary.json")
    return [*written, out / "summary.json"]
