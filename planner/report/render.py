"""Every report format of a solve, written inside the output folder: the one place that knows
which files a result folder holds and in which formats.

``write_reports`` renders a solve's result (fresh, or read back by ``tables.read_saved``);
``render_comparison`` renders policies side by side (see ``comparison.Comparison``)."""

from __future__ import annotations

from pathlib import Path

from planner.report import comparison, excel, html, markdown
from planner.report import content as c
from planner.report.run_record import run_record
from planner.report.tables import (
    EXPLAIN,
    TABLES,
    ResultData,
    read_json_object,
    write_csv_tables,
    write_json,
    write_text,
)
from planner.verify import FAILED_MARKER
from planner.verify import TABLES as CHECKED

FORMATS = ("csv", "xlsx", "html", "md")
"""Formats ``--formats`` can pick: csv is the tables and summary.json, the rest one report each."""

REPORT_FILES = {"xlsx": "report.xlsx", "html": "report.html", "md": "report.md"}

COMPARISON_FILES = ("comparison.csv", "comparison.json", "comparison_kpis.csv",
                    "comparison_changes.csv")


def clear_outputs(out: Path) -> None:
    """Remove the files an earlier solve or compare wrote into ``out`` (and only those), before
    a new result is written there: a file the new one does not rewrite (another --formats, no
    explanation, a failed check) would otherwise sit beside it as if it belonged to it. Only a
    folder that holds a result (its summary.json or comparison.json) is cleared: a report.md of
    the user's own in another folder stays. Temporary files a killed writer left of these
    (``atomic_write``: ``.NAME.*.tmp``) go in any folder."""
    tables = {f"{name}.csv" for name in (*TABLES, *CHECKED, EXPLAIN)}
    names = (*tables, "summary.json", "verification.json", FAILED_MARKER,
             *REPORT_FILES.values(), *COMPARISON_FILES)
    for name in names:
        for left in out.glob(f".{name}.*.tmp"):
            left.unlink(missing_ok=True)
    if not any(_written_by_planner(out / name) for name in ("summary.json", "comparison.json")):
        return
    for name in names:
        (out / name).unlink(missing_ok=True)


def _written_by_planner(path: Path) -> bool:
    """summary.json of a result or comparison.json of a compare, by the keys they always hold."""
    keys = (read_json_object(path) or {}).keys()
    return {"instance_sha256", "status"} <= keys or {"baseline", "policies"} <= keys


def result_sheets(data: ResultData) -> list[excel.Sheet]:
    """The workbook of a solve: summary, classes, links, then every result table."""
    t, s = data.tables, data.summary
    return [excel.Sheet("summary", c.summary_table(run_record(s), s, t["allocation"])),
            excel.Sheet("classes", c.classes_table(t["allocation"]), "classes"),
            excel.Sheet("objective", c.objective_table(s), "objective"),
            excel.Sheet("links", c.links_table(t["flows"]), "links"),
            *(excel.Sheet(name, t[name], name) for name in (*TABLES, EXPLAIN) if name in t)]


def write_reports(data: ResultData, out: Path, formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """The chosen formats of one result, each file replaced atomically inside ``out``. The CSV
    tables come first and summary.json last, so a folder with a summary is complete."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    if "csv" in formats:
        written += write_csv_tables(data.tables, out)
    if "xlsx" in formats:
        excel.write_workbook(result_sheets(data), out / REPORT_FILES["xlsx"])
    if "html" in formats:
        write_text(html.result_html(data), out / REPORT_FILES["html"])
    if "md" in formats:
        write_text(markdown.result_markdown(data), out / REPORT_FILES["md"])
    written += [out / REPORT_FILES[f] for f in ("xlsx", "html", "md") if f in formats]
    if "csv" in formats:
        write_json(data.summary, out / "summary.json")
        written.append(out / "summary.json")
    return written


def render_comparison(comparison_tables: comparison.Comparison, out_dir: Path,
                      formats: tuple[str, ...] = FORMATS) -> list[Path]:
    """Policies side by side as report.xlsx, report.html and report.md (and, for csv, the
    comparison tables as comparison_kpis.csv and comparison_changes.csv) inside ``out_dir``."""
    comp = comparison_tables
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    if "csv" in formats:
        written += write_csv_tables({"comparison_kpis": comp.kpis,
                                     "comparison_changes": comp.changes}, out_dir)
    if "xlsx" in formats:
        excel.write_workbook(comparison.sheets(comp), out_dir / REPORT_FILES["xlsx"])
    if "html" in formats:
        write_text(comparison.page_html(comp), out_dir / REPORT_FILES["html"])
    if "md" in formats:
        write_text(comparison.page_markdown(comp), out_dir / REPORT_FILES["md"])
    return written + [out_dir / REPORT_FILES[f] for f in ("xlsx", "html", "md") if f in formats]
