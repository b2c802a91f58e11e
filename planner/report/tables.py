"""Result tables ↔ CSV files and summary.json: written atomically inside the output folder, read
back for ``planner report``; text cells guarded against formula injection."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import InputError, Problem
from planner.results import Result

DECIMALS = 4
"""Every number in the CSV files is rounded to four decimals (MW, MWh, NOK/MWh) and printed in
its shortest form (1.5, not 1.5000), so runs compare exactly."""

TIME_FORMAT = "%Y-%m-%dT%H:%M"
"""Hours in the CSV files: ISO 8601 without seconds."""

TABLES = ("allocation", "dispatch", "flows", "prices", "storage", "curtailment")
"""The result tables the reports show, in their order; each is written as ``<name>.csv``. The
evidence tables for planner verify and explain (applicants, generation, binding) are written as
CSV too, but stay out of the reports."""

EXPLAIN = "explain"
"""explain.csv (planner/explain.py), shown in the reports when the folder has it."""
EXPLAIN_VIEW = ["applicant", "reason", "hours", "shadow_price_nok_per_unit", "detail"]

REQUIRED_COLUMNS = {
    "allocation": ("applicant", "zone", "class", "protected", "requested_mw", "granted_mw",
                   "granted_firm_mw", "granted_nonfirm_mw", "served_mwh", "curtailed_mwh",
                   "unserved_mwh", "value_nok"),
    "dispatch": ("zone", "hour", "timestamp", "own_supply_mw", "unserved_mw", "exports_mw",
                 "imports_mw", "line_inflow_mw", "line_outflow_mw"),
    "flows": ("link", "kind", "from", "to", "hour", "timestamp", "flow_mw", "limit_mw"),
    "prices": ("hour", "timestamp"),
    "storage": ("reservoir", "timestamp", "storage_mwh", "storage_limit_mwh"),
    "curtailment": ("hour", "timestamp"),
}
"""Columns the reports read from each saved table."""

SUMMARY_KEYS = ("instance", "hours", "status", "objective_nok", "objective_terms_nok", "kpis")
"""Keys the reports read from summary.json."""

TEXT_COLUMNS = ("applicant", "zone", "class", "link", "kind", "from", "to", "reservoir", "supply",
                "family", "entity", "bound")
"""Columns read back as text, so that a zone called 'NO' or '1' stays the string it was."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""A spreadsheet reads a cell that begins with one of these as a formula (OWASP, CSV injection)."""


def _needs_guard(text: str) -> bool:
    # A leading quote is guarded too when what follows needs it, so that unguard is exact.
    return text.startswith(FORMULA_STARTS) or (text.startswith("'") and _needs_guard(text[1:]))


def guard(text: str) -> str:
    """Text a spreadsheet shows as text: a leading ' before a formula start (=, +, -, @, tab, CR)."""
    return "'" + text if _needs_guard(text) else text


def unguard(text: str) -> str:
    """The inverse of ``guard``: the text as it was in the instance."""
    return text[1:] if text.startswith("'") and _needs_guard(text[1:]) else text


def _map_text(df: pd.DataFrame, fn: Callable[[str], str]) -> pd.DataFrame:
    """``fn`` applied to every string cell and column name; numbers (negative ones included)
    stay numbers."""
    out = df.rename(columns=lambda c: fn(c) if isinstance(c, str) else c)  # zone names head prices
    for c in out.columns:
        if pd.api.types.is_object_dtype(out[c]) or pd.api.types.is_string_dtype(out[c]):
            # once per distinct text: a column repeats a few names in every hour
            changed = {x: y for x in pd.unique(out[c]) if isinstance(x, str) and (y := fn(x)) != x}
            if changed:  # only the cells whose text changes, each from its own text
                cells = out[c].isin(list(changed))
                out.loc[cells, c] = out.loc[cells, c].map(changed)
    return out


_UMASK = os.umask(0o022)
os.umask(_UMASK)


def rounded(values: np.ndarray) -> np.ndarray:
    """Floats rounded to DECIMALS decimals, each exactly as printing it with that many decimals
    and parsing the text back gives (the double nearest the correctly rounded decimal), at
    array speed (0.1 s for the Norway year's tables, against 2.8 s through text): q / 10⁴
    with q the integer nearest 10⁴ × value, as an IEEE division of two exact integers (below
    2⁵³ for |value| < 1e11) is the double nearest q / 10⁴. That q is the correct rounding
    unless 10⁴ × value lies within its own rounding error of a tie: such cells, and those of
    |value| ≥ 1e11 or not finite, go through the text."""
    scale = 10.0**DECIMALS
    with np.errstate(over="ignore", invalid="ignore"):  # those cells go through the text
        scaled = values * scale
        out = np.rint(scaled) / scale
        off_tie = np.abs(np.abs(scaled - np.trunc(scaled)) - 0.5)
        unsure = ~(off_tie > 4 * np.spacing(np.abs(scaled))) | ~(np.abs(values) < 1e11)
    if unsure.any():
        out[unsure] = np.char.mod(f"%.{DECIMALS}f", values[unsure]).astype(float)
    return out


def as_written(df: pd.DataFrame) -> pd.DataFrame:
    """The table as ``read_csv`` will read the CSV file of it back: every float ``rounded``,
    with a zero's sign dropped (−0.0 + 0.0 = 0.0: a rounded −0.00004 prints as 0.0, not −0.0)."""
    out = df.copy()
    for c in out.columns:
        if pd.api.types.is_float_dtype(out[c]):
            out[c] = rounded(out[c].to_numpy(dtype=float, na_value=np.nan)) + 0.0
    return out


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename over the target: a reader
    sees the old file or the new one, never half of one. A symbolic link at ``path`` is replaced,
    not followed, so nothing is written outside the folder."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private; results are to share
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class ResultData:
    """The result tables and summary of a solve: what every report is rendered from, whether
    straight after the solve or read back from a result folder."""

    tables: dict[str, pd.DataFrame]
    summary: dict

    @classmethod
    def of(cls, result: Result) -> ResultData:
        """A solve's tables at the precision of the CSV files, so that the reports rendered now
        and those ``planner report`` renders later from the files are the same."""
        return cls({name: as_written(df) for name, df in result.tables().items()}, result.summary)


def write_text(text: str, path: Path) -> None:
    atomic_write(path, lambda p: p.write_text(text, encoding="utf-8"))


def write_csv(df: pd.DataFrame, path: Path) -> None:
    """One table as CSV: numbers ``rounded`` to four decimals and printed in their shortest form
    (pandas prints a float without a format in C, a format string per cell in Python: 3.2
    against 6.0 s for the Norway year), ISO hours, text cells guarded against formulas."""
    safe = _map_text(as_written(df), guard)
    atomic_write(path, lambda p: safe.to_csv(p, index=False, date_format=TIME_FORMAT))


def read_json_object(path: Path) -> dict | None:
    """A JSON file holding an object, or None where it is missing, unreadable or not one."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_json(data: dict, path: Path) -> None:
    write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n", path)


def write_csv_tables(tables: dict[str, pd.DataFrame], out: Path) -> list[Path]:
    """``<name>.csv`` for each table given."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for name, df in tables.items():
        path = out / f"{name}.csv"
        write_csv(df, path)
        written.append(path)
    return written


def write_tables(data: ResultData, out: Path) -> list[Path]:
    """The CSV tables, then summary.json (written last, so it can hold the write time)."""
    written = write_csv_tables(data.tables, out)
    write_json(data.summary, out / "summary.json")
    return [*written, out / "summary.json"]


def read_csv(path: Path) -> pd.DataFrame:
    """One table as ``write_csv`` wrote it: text columns as text, unguarded; numbers as numbers.
    A cell that should hold a number and does not is an InputError naming its file, line and
    column (a result folder edited by hand, or damaged)."""
    header = pd.read_csv(path, nrows=0).columns
    text = {c: str for c in TEXT_COLUMNS if c in header}
    df = pd.read_csv(path, dtype=text, keep_default_na=False, na_values=[""])
    _check_numbers(df, path, set(text) | WORDS)
    if "queue_position" in df.columns:
        df["queue_position"] = df["queue_position"].astype("Int64")
    if "timestamp" in df.columns:
        df["timestamp"] = pd.to_datetime(df["timestamp"], format=TIME_FORMAT)
    return _map_text(df, unguard)


WORDS = {"timestamp", "protected", "reason", "constraint", "detail"}
"""Columns of the saved tables that hold words, dates or flags, besides TEXT_COLUMNS."""


def _check_numbers(df: pd.DataFrame, path: Path, words: set[str]) -> None:
    """Every column but ``words`` holds numbers (queue positions whole ones); else an
    InputError at the first bad cell of each column."""
    checks = []
    for column in df.columns:
        if column not in words and not pd.api.types.is_numeric_dtype(df[column]):
            value = pd.to_numeric(df[column], errors="coerce")
            checks.append((column, df[column].notna() & value.isna(), "a number"))
    if "queue_position" in df.columns:
        value = pd.to_numeric(df["queue_position"], errors="coerce")
        checks.append(("queue_position", value.notna() & (value % 1 != 0), "a whole number"))
    problems = [Problem(str(path), row + 2, None, str(column), f"'{df[column].iat[row]}' is not "
                        f"{what}; solve again to rewrite the file")
                for column, bad, what in checks if bad.any()
                for row in [int(np.flatnonzero(bad.to_numpy())[0])]]
    if problems:
        raise InputError(problems)


def read_saved(folder: Path) -> ResultData:
    """The tables and summary.json of a result folder; a missing or unreadable file is an
    InputError that names it."""
    if not folder.is_dir():
        raise InputError([Problem(str(folder), None, None, "", "no such folder; give the --out "
                                  "folder of 'planner solve'")])
    paths = [folder / f"{name}.csv" for name in TABLES] + [folder / "summary.json"]
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise InputError([Problem(str(p), None, None, "", "missing; is this the --out folder of "
                                  "'planner solve'? Solve again to write it") for p in missing])
    try:
        tables = {name: read_csv(folder / f"{name}.csv") for name in TABLES}
        if (folder / f"{EXPLAIN}.csv").is_file():
            tables[EXPLAIN] = read_csv(folder / f"{EXPLAIN}.csv")
        summary = json.loads((folder / "summary.json").read_text(encoding="utf-8"))
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(folder), None, None, "", f"cannot read the saved results: "
                                  f"{exc}; solve again to rewrite them")]) from exc
    problems = [Problem(str(folder / f"{name}.csv"), 1, None, column,
                        "missing column; solve again to rewrite the file")
                for name, columns in REQUIRED_COLUMNS.items() for column in columns
                if column not in tables[name].columns]
    problems += [Problem(str(folder / "summary.json"), None, None, key, "missing")
                 for key in SUMMARY_KEYS if key not in summary]
    if summary.get("status", "optimal") != "optimal":
        problems.append(Problem(str(folder / "summary.json"), None, None, "status",
                                f"'{summary['status']}' is not a proven optimum; no report is "
                                "made of it"))
    if problems:
        raise InputError(problems)
    return ResultData(tables, summary)
