"""The tests' access to the independent checker (planner/verify.py): the one implementation of
every relation a solved instance must satisfy, recomputed from the written result files."""

from __future__ import annotations

from pathlib import Path

import planner
from planner.instance.instance import Instance
from planner.report.tables import ResultData, write_tables
from planner.results import Result
from planner.verify import Tables, Verification, read_tables, verify_tables

CSV_TOL = 2e-3
"""MW or MWh: the CSV files round to four decimals; a sum of a dozen rounded numbers stays below."""


def solve_and_write(inst: Instance, folder: Path) -> tuple[Result, Tables]:
    """Solve, write the tables with the planner's writer, read them back."""
    result = planner.solve(inst)
    write_tables(ResultData.of(result), folder)
    return result, read_tables(folder)


def verify(inst: Instance, tables: Tables) -> Verification:
    return verify_tables(inst, tables)


def check_all(inst: Instance, tables: Tables) -> None:
    """Every family of relations holds within the checker's tolerances."""
    v = verify(inst, tables)
    assert v.passed, "\n".join(f"{f.family}: {f.first_violation}" for f in v.failed())
