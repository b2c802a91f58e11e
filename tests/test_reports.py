"""The reports of ``planner solve`` and ``planner report``: the workbook and the CSV files hold the
result tables (values and units), hostile names stay inert text in every format, ``planner report``
reproduces the files from saved results, files are replaced atomically and only inside --out."""

from __future__ import annotations

import csv
import json
import shutil
import zipfile
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers import (
    FEATURES,
    HYPERLINK,
    REPORT_FILES,
    RESULT_FILES,
    SCRIPT,
    TINY,
    assert_no_traceback,
    read_workbook,
    run_cli,
    run_cli_many,
    write_hostile_instance,
)
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

import planner
from planner.report import excel
from planner.report.columns import header
from planner.report.tables import (
    FORMULA_STARTS,
    TABLES,
    _map_text,
    atomic_write,
    guard,
    read_saved,
    rounded,
    unguard,
    write_csv,
    write_text,
)

ROUNDING = 5e-5
"""Largest rounding error of a number in a CSV file (four decimals)."""


@pytest.fixture(scope="module")
def solved(tmp_path_factory):
    """The features instance solved twice by the real command; the second result folder is
    then re-rendered by ``planner report``."""
    tmp = tmp_path_factory.mktemp("reports")
    done = run_cli_many({k: ("solve", FEATURES, "--out", tmp / k, "--quiet") for k in ("a", "b")})
    for res in done.values():
        assert res.returncode == 0, res.stderr
    return tmp


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("hostile")
    res = run_cli("solve", write_hostile_instance(tmp), "--out", tmp / "out", "--quiet")
    assert res.returncode == 0, res.stderr
    return tmp / "out"


# --------------------------------------------------------------------------------------------
# what is written


def test_solve_writes_tables_and_reports(solved):
    assert sorted(p.name for p in (solved / "a").iterdir()) == sorted(RESULT_FILES + REPORT_FILES)


def test_csv_files_equal_the_result_tables(solved):
    """The CSV files, read back, are the in-process result tables: same columns, same text,
    numbers within the four-decimal rounding."""
    result = planner.solve(planner.load_instance(FEATURES))
    saved = read_saved(solved / "a")
    for name in TABLES:
        pd.testing.assert_frame_equal(saved.tables[name], result.tables()[name], check_dtype=False,
                                      atol=ROUNDING, rtol=0, obj=f"{name}.csv")


def test_curtailment_per_class_adds_up_to_the_allocation(solved):
    """curtailment.csv summed over the hours is allocation.csv's curtailed energy per class,
    also for the training campus (12-hour windows) and the pot line (ramp limit), whose load
    moves between hours."""
    saved = read_saved(solved / "a")
    by_class = saved.tables["allocation"].groupby("class")["curtailed_mwh"].sum()
    hourly = saved.tables["curtailment"]
    assert sorted(c.removeprefix("curtailed_").removesuffix("_mw") for c in hourly.columns[2:]) \
        == sorted(by_class.index)
    for cls, mwh in by_class.items():
        assert hourly[f"curtailed_{cls}_mw"].sum() == pytest.approx(mwh, abs=1e-2), cls


def test_workbook_sheets_equal_the_result_tables(solved):
    """Every result table is a sheet: headers are the columns with their units, values are the
    CSV values (the workbook keeps full precision, the CSV four decimals)."""
    saved = read_saved(solved / "a")
    sheets = read_workbook(solved / "a" / "report.xlsx")
    assert next(iter(sheets)) == "summary"
    assert set(TABLES) <= set(sheets)
    for name in TABLES:
        table, sheet = saved.tables[name], sheets[name]
        assert list(sheet.columns) == [header(name, c) for c in table.columns], name
        assert len(sheet) == len(table), name
        for col, title in zip(table.columns, sheet.columns, strict=True):
            expected, got = table[col], sheet[title]
            if pd.api.types.is_datetime64_any_dtype(expected):
                assert (pd.to_datetime(got) == expected).all(), (name, col)
            elif not pd.api.types.is_numeric_dtype(expected) or pd.api.types.is_bool_dtype(expected):
                assert got.tolist() == expected.tolist(), (name, col)
            else:
                np.testing.assert_allclose(got.astype(float), expected.astype(float),
                                           atol=ROUNDING, rtol=0, err_msg=f"{name}.{col}")


def test_workbook_headers_name_units_and_are_frozen(solved):
    sheets = read_workbook(solved / "a" / "report.xlsx")
    assert "granted (MW)" in sheets["allocation"].columns
    assert "value (NOK)" in sheets["allocation"].columns
    assert "zonal price (NOK/MWh)" in sheets["dispatch"].columns
    assert "storage (MWh)" in sheets["storage"].columns
    zones = planner.load_instance(FEATURES).zones
    assert [f"{z} (NOK/MWh)" for z in zones] == list(sheets["prices"].columns[2:])
    wb = load_workbook(solved / "a" / "report.xlsx")
    for ws in wb.worksheets:
        assert ws.freeze_panes == "B2", ws.title
    alloc = wb["allocation"]
    column = [c.value for c in alloc[1]].index("granted (MW)") + 1
    assert alloc.cell(row=2, column=column).number_format == "#,##0.0"
    assert alloc.column_dimensions["A"].width > 8


def test_long_tables_continue_on_further_sheets(monkeypatch, tmp_path):
    """A table longer than a sheet holds goes on over several sheets, all rows kept in order."""
    monkeypatch.setattr(excel, "MAX_ROWS", 4)
    table = pd.DataFrame({"hour": range(10), "flow_mw": np.arange(10) * 1.5})
    excel.write_workbook([excel.Sheet("flows", table, "flows")], tmp_path / "r.xlsx")
    sheets = read_workbook(tmp_path / "r.xlsx")
    assert list(sheets) == ["flows", "flows (2)", "flows (3)"]
    together = pd.concat(sheets.values(), ignore_index=True)
    assert together["hour"].tolist() == list(range(10))
    assert together["flow (MW)"].tolist() == (np.arange(10) * 1.5).tolist()


def test_summary_and_reports_carry_the_run_record(solved):
    saved = read_saved(solved / "a")
    s = saved.summary
    assert s["instance_sha256"] and s["status"] == "optimal" and s["policy"] is None
    assert s["planner_version"] == planner.__version__
    assert s["solver"]["version"] and s["solver_options"]["solver"] == "simplex"
    assert s["date"]
    html = (solved / "a" / "report.html").read_text()
    md = (solved / "a" / "report.md").read_text()
    summary_sheet = read_workbook(solved / "a" / "report.xlsx")["summary"]
    for text in (html, md, " ".join(map(str, summary_sheet["value"]))):
        assert s["instance_sha256"] in text and s["date"] in text
        assert s["solver"]["version"] in text


def test_two_runs_give_the_same_tables_and_sheets(solved):
    """Only the run record's date and timings differ between two solves of the same input."""
    a, b = (read_workbook(solved / k / "report.xlsx") for k in ("a", "b"))
    for name in a:
        if name != "summary":
            pd.testing.assert_frame_equal(a[name], b[name], obj=name)
    md = [(solved / k / "report.md").read_text().splitlines() for k in ("a", "b")]
    differ = [(x, y) for x, y in zip(*md, strict=True) if x != y]
    assert all(x.startswith(("- date", "- timings")) for x, _ in differ), differ


def test_report_reproduces_the_files(solved, tmp_path):
    """``planner report`` on saved results: byte-identical tables, summary, HTML and Markdown;
    the same workbook values."""
    copy = tmp_path / "copy"
    shutil.copytree(solved / "a", copy)
    for name in REPORT_FILES:
        (copy / name).unlink()
    res = run_cli("report", copy)
    assert res.returncode == 0, res.stderr
    for name in [*RESULT_FILES, "report.html", "report.md"]:
        assert (copy / name).read_bytes() == (solved / "a" / name).read_bytes(), name
    again, first = read_workbook(copy / "report.xlsx"), read_workbook(solved / "a" / "report.xlsx")
    assert list(again) == list(first)
    for name in first:
        pd.testing.assert_frame_equal(again[name], first[name], obj=name)


def test_formats_pick_a_subset(tmp_path):
    out = tmp_path / "out"
    res = run_cli("solve", TINY, "--out", out, "--formats", "md,csv", "--quiet")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([*RESULT_FILES, "report.md"])
    res = run_cli("report", out, "--formats", "html")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([*RESULT_FILES, "report.md",
                                                            "report.html"])


def test_a_new_result_leaves_no_file_of_the_last_one(tmp_path):
    """A solve into a folder that holds another result (all formats, a failed check) leaves only
    its own files; so does a compare into it, in its root and in each policy's folder. Other
    files in the folder are kept."""
    out = tmp_path / "out"
    assert run_cli("solve", FEATURES, "--out", out, "--quiet").returncode == 0
    (out / "VERIFICATION_FAILED").write_text("from an earlier run\n")
    (out / "notes.txt").write_text("mine\n")
    res = run_cli("solve", TINY, "--out", out, "--formats", "csv", "--quiet")
    assert res.returncode == 0, res.stderr
    assert sorted(p.name for p in out.iterdir()) == sorted([*RESULT_FILES, "notes.txt"])
    assert json.loads((out / "summary.json").read_text())["instance"] == "tiny"
    policies = tmp_path / "p.yaml"
    policies.write_text("policies:\n  - name: cap\n    export_cap_twh: 0\n")
    shutil.copytree(out, out / "cap")
    res = run_cli("compare", TINY, "--policies", "cap", "--policy-file", policies,
                  "--baseline", "cap", "--out", out, "--formats", "md")
    assert res.returncode == 0, res.stderr
    assert "explain.csv" not in {p.name for p in (out / "cap").iterdir()}
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == sorted(
        ["comparison.csv", "comparison.json", "report.md", "notes.txt"])


@pytest.mark.parametrize("args", [("report", "{out}", "--formats", "pdf"),
                                  ("report", "{out}/missing"),
                                  ("solve", str(TINY), "--out", "{out}", "--formats", ",")])
def test_bad_report_requests_exit_2(tmp_path, args):
    res = run_cli(*(a.format(out=tmp_path) for a in args))
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert_no_traceback(res.stderr)
    assert "format" in res.stderr or "no such folder" in res.stderr


def test_report_refuses_an_edited_folder(solved, tmp_path):
    """A table without a column the reports need, or a summary that is not of a proven
    optimum: exit code 2, each problem named with its file, and no report written."""
    copy = tmp_path / "copy"
    shutil.copytree(solved / "a", copy, ignore=shutil.ignore_patterns("report.*"))
    alloc = pd.read_csv(copy / "allocation.csv")
    alloc.drop(columns="granted_mw").to_csv(copy / "allocation.csv", index=False)
    summary = json.loads((copy / "summary.json").read_text())
    (copy / "summary.json").write_text(json.dumps(summary | {"status": "time_limit"}))
    res = run_cli("report", copy)
    assert res.returncode == 2, res.stderr
    assert f"{copy / 'allocation.csv'}:1: granted_mw: missing column" in res.stderr
    assert f"{copy / 'summary.json'}: status: 'time_limit' is not a proven optimum" in res.stderr
    assert_no_traceback(res.stderr)
    assert not list(copy.glob("report.*"))


def test_a_damaged_cell_is_located_by_report_verify_and_explain(solved, tmp_path):
    """A word where a number belongs (allocation.csv line 3, granted_mw) and an explain.csv
    without a column: exit code 2 naming file, line and column, no traceback."""
    copy = tmp_path / "copy"
    shutil.copytree(solved / "a", copy, ignore=shutil.ignore_patterns("report.*"))
    lines = (copy / "allocation.csv").read_text().splitlines()
    header = lines[0].split(",")
    cells = lines[2].split(",")
    cells[header.index("granted_mw")] = "abc"
    lines[2] = ",".join(cells)
    (copy / "allocation.csv").write_text("\n".join(lines) + "\n")
    for command in ("report", "verify"):
        res = run_cli(command, copy)
        assert res.returncode == 2, res.stderr
        assert f"{copy / 'allocation.csv'}:3: granted_mw: 'abc' is not a number" in res.stderr
        assert_no_traceback(res.stderr)
    cells = (solved / "a" / "allocation.csv").read_text().splitlines()[2].split(",")
    cells[header.index("queue_position")] = "1.5"
    lines[2] = ",".join(cells)
    (copy / "allocation.csv").write_text("\n".join(lines) + "\n")
    res = run_cli("report", copy)
    assert res.returncode == 2 and f"{copy / 'allocation.csv'}:3: queue_position: '1.5' is not a " \
        "whole number" in res.stderr, res.stderr
    explained = pd.read_csv(copy / "explain.csv")
    explained.drop(columns="detail").to_csv(copy / "explain.csv", index=False)
    res = run_cli("explain", copy)
    assert res.returncode == 2 and f"{copy / 'explain.csv'}:1: detail: missing column" in \
        res.stderr, res.stderr
    assert_no_traceback(res.stderr)


def test_report_names_a_missing_table(solved, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(solved / "a", copy)
    (copy / "flows.csv").unlink()
    res = run_cli("report", copy)
    assert res.returncode == 2
    assert f"{copy / 'flows.csv'}: missing" in res.stderr
    assert_no_traceback(res.stderr)


# --------------------------------------------------------------------------------------------
# safe to open


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attrs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs += [name for name, _ in attrs]


def test_hostile_names_are_inert_in_html_and_markdown(hostile):
    page = (hostile / "report.html").read_text()
    parsed = _Tags()
    parsed.feed(page)
    assert "script" not in parsed.tags
    assert not [a for a in parsed.attrs if a.startswith("on")]  # no event handlers either
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "=HYPERLINK(&#34;http://x&#34;,&#34;y&#34;)" in page  # shown, quotes escaped
    md = (hostile / "report.md").read_text()
    assert "<script" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md


def _formula_like(cell: str) -> bool:
    """A CSV cell a spreadsheet would evaluate: begins with a formula character and is not a
    number (negative numbers are numbers)."""
    if not cell.startswith(FORMULA_STARTS):
        return False
    try:
        float(cell)
    except ValueError:
        return True
    return False


def test_hostile_names_are_inert_in_csv(hostile):
    for path in hostile.glob("*.csv"):
        with path.open(newline="") as f:
            cells = [cell for row in csv.reader(f) for cell in row]
        assert not [c for c in cells if _formula_like(c)], path.name
    alloc = (hostile / "allocation.csv").read_text()
    assert "'=HYPERLINK(" in alloc and "'-NO1" in alloc
    assert "'-NO1" in (hostile / "prices.csv").read_text().splitlines()[0]  # a header cell
    saved = read_saved(hostile)  # and read back, the names are the instance's names
    assert list(saved.tables["allocation"]["applicant"][:2]) == [SCRIPT, HYPERLINK]
    assert "-NO1" in saved.tables["prices"].columns


def test_hostile_names_are_inert_in_the_workbook(hostile):
    """No formula anywhere in the workbook's XML; the names are text cells with Excel's quote
    prefix, holding exactly the instance's names."""
    with zipfile.ZipFile(hostile / "report.xlsx") as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sheets
        for name in sheets:
            assert b"<f>" not in z.read(name) and b"<f " not in z.read(name), name
    wb = load_workbook(hostile / "report.xlsx")
    cells = {c.value: c for row in wb["allocation"].iter_rows() for c in row}
    for name in (SCRIPT, HYPERLINK):
        assert cells[name].data_type == "s" and cells[name].quotePrefix
    assert "-NO1 (NOK/MWh)" in [c.value for c in wb["prices"][1]]


@given(st.text(max_size=12))
def test_guard_is_inert_and_exact(text):
    guarded = guard(text)
    assert not guarded.startswith(FORMULA_STARTS)
    assert unguard(guarded) == text


@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e9, max_value=1e9),
                min_size=1, max_size=5))
def test_numbers_are_not_guarded(values):
    df = pd.DataFrame({"name": ["-x"] * len(values), "value_mw": values})
    out = _map_text(df, guard)
    assert out["value_mw"].tolist() == values
    assert out["name"].tolist() == ["'-x"] * len(values)


NEAR_TIES = st.builds(lambda k, e, s: s * (k + 0.5 + e) / 1e4, st.integers(0, 10**15),
                      st.sampled_from([0.0, 1e-12, -1e-12, 1e-9, -1e-9]), st.sampled_from([1, -1]))
"""Values at or next to a tie of the fourth decimal (x.xxxx5), where rounding is delicate."""


@given(st.lists(st.floats() | NEAR_TIES, min_size=1, max_size=50))
def test_rounded_is_printing_and_parsing_back(values):
    """``rounded`` gives, bit for bit (the sign of zero too), what printing with four decimals
    and parsing back gives, for any float: ties and near ties, huge values, NaN, infinities."""
    x = np.array(values, dtype=float)
    expected = np.array([float(f"{v:.4f}") for v in values])
    got = rounded(x)
    assert np.array_equal(np.isnan(got), np.isnan(expected))
    finite = ~np.isnan(expected)
    assert got[finite].tobytes() == expected[finite].tobytes()


def test_csv_prints_each_number_rounded_in_its_shortest_form(tmp_path):
    path = tmp_path / "t.csv"
    write_csv(pd.DataFrame({"x_mw": [0.1 + 0.2, 1.0, -0.00004, 2.00005, 1 / 3]}), path)
    assert path.read_text().split() == ["x_mw", "0.3", "1.0", "0.0", "2.0", "0.3333"]


@given(st.lists(st.sampled_from(["=x", "'=x", "''=x", "x", "'x", "-1", ""]), min_size=1,
                max_size=8))
def test_text_columns_round_trip_cell_by_cell(texts):
    """_map_text maps each cell once (a guarded "=x" is "'=x", which is not guarded again even
    where "'=x" is also in the column), and unguard gives every cell back."""
    df = pd.DataFrame({"applicant": texts})
    guarded = _map_text(df, guard)
    assert guarded["applicant"].tolist() == [guard(t) for t in texts]
    assert _map_text(guarded, unguard)["applicant"].tolist() == texts


def test_replacement_is_atomic(tmp_path):
    """A write that fails leaves the old file whole and no temporary file behind."""
    target = tmp_path / "report.html"
    write_text("old report", target)

    def fail(path: Path) -> None:
        path.write_text("half a rep")
        raise OSError("disk full")

    with pytest.raises(OSError):
        atomic_write(target, fail)
    assert target.read_text() == "old report"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_writes_stay_inside_out(tmp_path):
    """A report name that is a symbolic link to a file elsewhere is replaced, not followed."""
    outside = tmp_path / "elsewhere.html"
    outside.write_text("not yours")
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.html").symlink_to(outside)
    res = run_cli("solve", TINY, "--out", out, "--quiet")
    assert res.returncode == 0, res.stderr
    assert outside.read_text() == "not yours"
    assert not (out / "report.html").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.html", "out"]
