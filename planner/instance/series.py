"""Turning a series field (constant, inline list or CSV column) into an hourly numpy array."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from planner.errors import Problem
from planner.instance.schema import Series, SeriesFile
from planner.instance.yamlsource import SourceTree, field_path


class SeriesReader:
    """Resolves series of one instance; reads each CSV file once; collects problems."""

    def __init__(self, tree: SourceTree, hours: int):
        self.tree = tree
        self.hours = hours
        self.folder = tree.path.parent.resolve()
        self.problems: list[Problem] = []
        self._tables: dict[Path, pd.DataFrame | None] = {}

    def read(
        self, value: Series, loc: Sequence[str | int], lo: float | None = None,
        hi: float | None = None,
    ) -> np.ndarray:
        """The series as float array of length ``hours``; problems are recorded, zeros returned."""
        if isinstance(value, (int, float)):
            arr = np.full(self.hours, float(value))
            return self._in_range(arr, loc, lo, hi, None)
        if isinstance(value, list):
            if len(value) != self.hours:
                self._fail(loc, f"has {len(value)} values; the horizon has {self.hours} hours")
                return np.zeros(self.hours)
            return self._in_range(np.asarray(value, dtype=float), loc, lo, hi, None)
        return self._read_file(value, loc, lo, hi)

    def _fail(self, loc: Sequence[str | int], message: str) -> None:
        self.problems.append(self.tree.problem(loc, message))

    def _read_file(
        self, ref: SeriesFile, loc: Sequence[str | int], lo: float | None, hi: float | None
    ) -> np.ndarray:
        zeros = np.zeros(self.hours)
        path = (self.folder / ref.file).resolve()
        if not path.is_relative_to(self.folder):
            self._fail([*loc, "file"], f"'{ref.file}' is outside the instance's folder "
                       f"{self.folder}; keep series files beside the instance")
            return zeros
        table = self._table(path, [*loc, "file"])
        if table is None:
            return zeros
        if ref.column not in table.columns:
            cols = ", ".join(map(str, table.columns[:12]))
            self._fail([*loc, "column"], f"no column '{ref.column}' in {ref.file} (has: {cols})")
            return zeros
        if len(table) != self.hours:
            self._fail([*loc, "file"], f"{ref.file} has {len(table)} data rows; "
                       f"the horizon has {self.hours} hours")
            return zeros
        raw = table[ref.column]
        values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            row = int(bad[0])
            self.problems.append(Problem(
                str(path), self._line_of(path, row), None, ref.column,
                f"'{raw.iloc[row]}' is not a finite number ({bad.size} such rows); "
                f"series '{ref.column}' used by {field_path(loc)}"))
            return zeros
        return self._in_range(values * ref.scale, loc, lo, hi, (path, ref.column))

    @staticmethod
    def _line_of(path: Path, row: int) -> int:
        """1-based line of data row ``row`` in a CSV file (pandas skips blank lines)."""
        with path.open(encoding="utf-8") as f:
            lines = [n for n, text in enumerate(f, start=1) if text.strip()]
        return lines[row + 1] if row + 1 < len(lines) else row + 2

    def _table(self, path: Path, loc: Sequence[str | int]) -> pd.DataFrame | None:
        if path not in self._tables:
            self._tables[path] = None
            try:
                if path.stat().st_size > 200_000_000:
                    self._fail(loc, f"{path.name} is larger than 200 MB")
                    return None
                self._tables[path] = pd.read_csv(path, dtype=str, encoding="utf-8",
                                                 keep_default_na=False)
            except FileNotFoundError:
                self._fail(loc, f"series file {path} not found")
            except UnicodeDecodeError:
                self._fail(loc, f"series file {path.name} is not UTF-8 text")
            except (pd.errors.ParserError, pd.errors.EmptyDataError, OSError) as exc:
                msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                self._fail(loc, f"cannot read series file {path.name}: {msg}")
        return self._tables[path]

    def _in_range(
        self, arr: np.ndarray, loc: Sequence[str | int], lo: float | None, hi: float | None,
        csv: tuple[Path, str] | None,
    ) -> np.ndarray:
        if not np.all(np.isfinite(arr)):
            self._fail(loc, "holds NaN or infinity")
            return np.zeros(self.hours)
        for bound, bad in ((lo, arr < lo if lo is not None else None),
                           (hi, arr > hi if hi is not None else None)):
            if bad is None or not bad.any():
                continue
            row = int(np.flatnonzero(bad)[0])
            side = "at least" if bound == lo else "at most"
            msg = (f"must be {side} {bound} (got {arr[row]:g} in hour {row}, "
                   f"{int(bad.sum())} hours out of range)")
            if csv:
                self.problems.append(Problem(str(csv[0]), self._line_of(csv[0], row), None, csv[1],
                                             f"{msg}; used by {field_path(loc)}"))
            else:
                self._fail(loc, msg)
            return np.zeros(self.hours)
        return arr

