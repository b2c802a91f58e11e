"""Every class of bad input gives exit code 2 and a located message (file:line:column where the
loader knows it, and the field path), never a Python traceback.

Each case runs through both commands, ``planner validate`` and ``planner solve``, in-process
through click's test runner (the same command functions and exit codes; ~0.05 s a run). Four
cases, one from each stage that is easy to get wrong (YAML syntax, a series file, the schema,
an alias bomb), also run as real ``planner`` subprocesses, which pay ~2.5 s of imports each.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner
from helpers import assert_no_traceback, run_cli, run_cli_many

import planner
from planner.cli import cli

BASE = """\
name: base
time:
  start: 2030-01-01T00:00
  hours: 3
zones:
  - name: NO
  - name: SE
markets:
  - name: DE
    price_nok_per_mwh: [100, 200, 300]
lines:
  - name: l1
    from: NO
    to: SE
    capacity_mw: 50
    reverse_capacity_mw: 40
interconnectors:
  - name: ic
    zone: SE
    market: DE
    export_mw: 30
    import_mw: 30
supply:
  - name: hydro
    zone: NO
    kind: hydro_reservoir
    capacity_mw: 100
    storage_mwh: 500
    inflow_mwh: 10
  - name: wind
    zone: SE
    kind: wind
    capacity_mw: 20
    availability:
      file: series.csv
      column: wind
applicants:
  - name: miner
    zone: NO
    class: bitcoin_mining
    requested_mw: 40
  - name: smelter
    zone: SE
    class: industry
    requested_mw: 60
    existing_mw: 20
    firm_share: 1.0
protected_demand:
  - name: homes
    zone: SE
    demand_mw: [10, 20, 30]
"""
CSV = "wind,price\n0.1,1\n0.5,2\n0.9,3\n"


def edit(old: str, new: str, text: str = BASE) -> str:
    assert text.count(old) >= 1, old
    return text.replace(old, new, 1)


def position(text: str, needle: str) -> tuple[int, int]:
    """1-based line and column of the first character of ``needle`` in ``text``."""
    i = text.index(needle)
    return text.count("\n", 0, i) + 1, i - (text.rfind("\n", 0, i) + 1) + 1


@dataclass
class Case:
    yaml: str | bytes
    field: str = ""
    at: str | None = None
    """Text whose first character the problem must point at (line:column)."""
    says: tuple[str, ...] = ()
    """Fragments the message must contain (case-insensitive)."""
    csv: str | bytes = CSV
    csv_line: int | None = None
    """For problems inside series.csv: the line the message must name."""


CASES: dict[str, Case] = {
    "unknown key": Case(edit("    requested_mw: 40\n", "    requested_mw: 40\n    colour: red\n"),
                        "applicants[0].colour", "colour: red", ("unknown key",)),
    "wrong type (word for number)": Case(edit("requested_mw: 40", "requested_mw: forty"),
                                         "applicants[0].requested_mw", "requested_mw: forty",
                                         ("number", "forty")),
    "wrong type (quoted number)": Case(edit("capacity_mw: 50", 'capacity_mw: "50"'),
                                       "lines[0].capacity_mw", 'capacity_mw: "50"', ("number",)),
    "wrong type (float hours)": Case(edit("hours: 3", "hours: 3.0"), "time.hours", "hours: 3.0",
                                     ("integer",)),
    "NaN": Case(edit("capacity_mw: 100", "capacity_mw: .nan"), "supply[0].capacity_mw",
                "capacity_mw: .nan", ("finite",)),
    "infinity": Case(edit("reverse_capacity_mw: 40", "reverse_capacity_mw: .inf"),
                     "lines[0].reverse_capacity_mw", "reverse_capacity_mw: .inf", ("finite",)),
    "NaN in an inline series": Case(edit("[100, 200, 300]", "[100, .nan, 300]"),
                                    "markets[0].price_nok_per_mwh[1]", ".nan, 300",
                                    ("not a number",)),
    "negative capacity": Case(edit("capacity_mw: 50", "capacity_mw: -50"),
                              "lines[0].capacity_mw", "capacity_mw: -50", ("-50",)),
    "share above 1": Case(edit("firm_share: 1.0", "firm_share: 1.5"), "applicants[1].firm_share",
                          "firm_share: 1.5", ("1.5",)),
    "share below 0": Case(edit("    inflow_mwh: 10\n",
                               "    inflow_mwh: 10\n    initial_storage_share: -0.1\n"),
                          "supply[0].initial_storage_share", "initial_storage_share: -0.1",
                          ("-0.1",)),
    "loss factor of 1": Case(edit("    reverse_capacity_mw: 40\n",
                                  "    reverse_capacity_mw: 40\n    loss_factor: 1.0\n"),
                             "lines[0].loss_factor", "loss_factor: 1.0", ("less than 1",)),
    "unknown zone": Case(edit("    zone: SE\n    class: industry", "    zone: NO9\n    class: industry"),
                         "applicants[1].zone", "zone: NO9", ("unknown zone", "NO9")),
    "unknown market": Case(edit("market: DE", "market: FR"), "interconnectors[0].market",
                           "market: FR", ("unknown market", "FR")),
    "unknown class": Case(edit("class: industry", "class: industri"), "applicants[1].class",
                          "class: industri", ("unknown load class", "industri")),
    "unknown supply kind": Case(edit("kind: wind", "kind: windy"), "supply[1].kind",
                                "kind: windy", ("unknown supply kind", "windy")),
    "line to itself": Case(edit("    to: SE\n", "    to: NO\n"), "lines[0].to", "to: NO",
                           ("different zones",)),
    "inline series too short": Case(edit("[10, 20, 30]", "[10, 20]"),
                                    "protected_demand[0].demand_mw", "demand_mw: [10, 20]",
                                    ("2 values", "3 hours")),
    "series of words": Case(edit("[10, 20, 30]", "lots"), "protected_demand[0].demand_mw",
                            "demand_mw: lots", ("lots",)),
    "CSV series too short": Case(BASE, "supply[1].availability.file", "file: series.csv",
                                 ("2 data rows", "3 hours"), csv="wind\n0.1\n0.5\n"),
    "CSV cell not a number": Case(BASE, "supply[1].availability", None, ("0.5x",),
                                  csv="wind,price\n0.1,1\n0.5x,2\n0.9,3\n", csv_line=3),
    "CSV cell empty": Case(BASE, "supply[1].availability", None, ("not a finite number",),
                           csv="wind,price\n0.1,1\n0.5,2\n,3\n", csv_line=4),
    "CSV share above 1": Case(BASE, "supply[1].availability", None, ("1.5",),
                              csv="wind,price\n0.1,1\n1.5,2\n0.9,3\n", csv_line=3),
    "CSV not UTF-8": Case(BASE, "supply[1].availability.file", "file: series.csv", ("UTF-8",),
                          csv="wind,price\n0.1,1\n0.5,2\n0.9,\xe9\n".encode("latin-1")),
    "CSV path leaves the folder": Case(edit("file: series.csv", "file: ../series.csv"),
                                       "supply[1].availability.file", "file: ../series.csv",
                                       ("outside",)),
    "CSV file missing": Case(edit("file: series.csv", "file: nothere.csv"),
                             "supply[1].availability.file", "file: nothere.csv",
                             ("not found", "nothere.csv")),
    "CSV column missing": Case(edit("column: wind", "column: wnd"),
                               "supply[1].availability.column", "column: wnd", ("wnd",)),
    "duplicate applicant": Case(edit("  - name: smelter\n", "  - name: miner\n"),
                                "applicants[1].name", "name: miner\n    zone: SE",
                                ("duplicate", "miner")),
    "applicant and protected demand share a name": Case(
        edit("  - name: homes\n", "  - name: smelter\n"), "protected_demand[0].name",
        "name: smelter\n    zone: SE\n    demand_mw", ("duplicate", "smelter")),
    "duplicate zone": Case(edit("  - name: SE\n", "  - name: SE\n  - name: SE\n"),
                           "zones[2].name", "name: SE\nmarkets", ("duplicate", "SE")),
    "duplicate YAML key": Case(edit("  hours: 3\n", "  hours: 3\n  hours: 4\n"), "",
                               "hours: 4", ("duplicate key",)),
    "missing field": Case(edit("  hours: 3\n", ""), "time.hours", "time:", ("missing",)),
    "existing above requested": Case(edit("existing_mw: 20", "existing_mw: 70"),
                                     "applicants[1].existing_mw", "existing_mw: 70",
                                     ("70", "60")),
    "reservoir end level unreachable": Case(
        edit("    inflow_mwh: 10\n", "    inflow_mwh: 10\n    initial_storage_share: 0.1\n"
             "    final_storage_share: 0.9\n"),
        "supply[0].final_storage_share", "final_storage_share: 0.9", ("450", "80")),
    "reservoir without storage": Case(edit("    storage_mwh: 500\n", ""), "supply[0].storage_mwh",
                                      "name: hydro", ("storage_mwh",)),
    "storage on a wind farm": Case(edit("    capacity_mw: 20\n",
                                        "    capacity_mw: 20\n    storage_mwh: 5\n"),
                                   "supply[1].storage_mwh", "storage_mwh: 5\n", ("reservoir",)),
    "window longer than the horizon": Case(
        edit("    requested_mw: 40\n", "    requested_mw: 40\n    window: {hours: 5, min_share: 0.5}\n"),
        "applicants[0].window.hours", "hours: 5", ("5 h", "3 h")),
    "not a mapping": Case("- name: a\n- name: b\n", "", "- name: a", ("mapping",)),
    "empty file": Case("", "", "", ("mapping",)),
    "not UTF-8": Case(BASE.encode().replace(b"name: base", b"name: b\xe5se"), "", None,
                      ("UTF-8",)),
}

# YAML syntax errors: the parser reports where it noticed the problem.
CASES["tab"] = Case(edit("    capacity_mw: 50\n", "\tcapacity_mw: 50\n"), "", "\tcapacity_mw",
                    ("not valid YAML",))


def billion_laughs() -> str:
    """Nine levels of ten aliases each: 10⁹ values once expanded, 1 kB on disk."""
    lines = ["l0: &l0 [ha, ha, ha, ha, ha, ha, ha, ha, ha, ha]"]
    for k in range(1, 9):
        lines.append(f"l{k}: &l{k} [" + ", ".join([f"*l{k - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n"


def write_case(case: Case, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "instance.yaml"
    data = case.yaml if isinstance(case.yaml, bytes) else case.yaml.encode("utf-8")
    path.write_bytes(data)
    csv = case.csv if isinstance(case.csv, bytes) else case.csv.encode("utf-8")
    (folder / "series.csv").write_bytes(csv)
    return path


def expected_location(case: Case, path: Path) -> str:
    """The prefix the message must carry: file:line:column: field: (or the CSV file's line)."""
    if case.csv_line is not None:
        return f"{(path.parent / 'series.csv').resolve()}:{case.csv_line}: "
    if case.at is None:
        return f"{path}"
    text = case.yaml if isinstance(case.yaml, str) else case.yaml.decode("utf-8", "replace")
    line, col = position(text, case.at)
    return f"{path}:{line}:{col}: " + (f"{case.field}: " if case.field else "")


def check_message(case: Case, path: Path, stderr: str) -> None:
    assert_no_traceback(stderr)
    assert stderr.startswith("error: "), stderr
    assert expected_location(case, path) in stderr, stderr
    if case.field:
        assert case.field in stderr
    for fragment in case.says:
        assert fragment.lower() in stderr.lower(), (fragment, stderr)


def invoke(args: list[str]):
    return CliRunner().invoke(cli, args)


@pytest.mark.parametrize("name", list(CASES))
def test_validate_reports_located_problem(tmp_path, name):
    case = CASES[name]
    path = write_case(case, tmp_path / "case")
    res = invoke(["validate", str(path)])
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    assert isinstance(res.exception, SystemExit)
    check_message(case, path, res.stderr)
    assert res.stdout == ""


@pytest.mark.parametrize("name", list(CASES))
def test_solve_reports_located_problem_and_writes_nothing(tmp_path, name):
    case = CASES[name]
    path = write_case(case, tmp_path / "case")
    out = tmp_path / "out"
    res = invoke(["solve", str(path), "--out", str(out), "--write-mps", str(out / "lp.mps")])
    assert res.exit_code == 2, (res.exit_code, res.output, res.exception)
    check_message(case, path, res.stderr)
    assert not out.exists()


def test_base_case_is_valid(tmp_path):
    """The cases above break a valid instance one thing at a time."""
    path = write_case(Case(BASE), tmp_path / "case")
    res = invoke(["validate", str(path)])
    assert res.exit_code == 0, res.stderr
    assert planner.load_instance(path).zones == ("NO", "SE")


def test_all_problems_of_a_stage_are_listed(tmp_path):
    text = edit("requested_mw: 40", "requested_mw: -4", edit("firm_share: 1.0", "firm_share: 7"))
    path = write_case(Case(text), tmp_path / "case")
    res = invoke(["validate", str(path)])
    assert res.exit_code == 2
    assert "2 problems" in res.stderr
    assert "applicants[0].requested_mw" in res.stderr and "applicants[1].firm_share" in res.stderr


def test_unclosed_bracket_is_located_at_or_after_it(tmp_path):
    text = edit("  - name: SE\n", "  - name: [SE\n")
    path = write_case(Case(text), tmp_path / "case")
    res = invoke(["validate", str(path)])
    assert res.exit_code == 2
    assert_no_traceback(res.stderr)
    found = re.search(re.escape(str(path)) + r":(\d+):(\d+): not valid YAML", res.stderr)
    assert found, res.stderr
    assert int(found.group(1)) >= position(text, "[SE")[0]


def test_missing_instance_file(tmp_path):
    res = invoke(["validate", str(tmp_path / "nothere.yaml")])
    assert res.exit_code == 2
    assert "not found" in res.stderr and "nothere.yaml" in res.stderr
    assert_no_traceback(res.stderr)


def test_alias_bomb_is_refused(tmp_path):
    """Refused by the alias guard (planner/instance/yamlsource.py) before it is expanded."""
    path = write_case(Case(billion_laughs()), tmp_path / "case")
    res = invoke(["validate", str(path)])
    assert res.exit_code == 2
    assert str(path) in res.stderr and "alias" in res.stderr.lower()
    assert_no_traceback(res.stderr)


@pytest.mark.parametrize("word", ["NO", "yes", "off", "on", "y", "n"])
def test_yaml_1_1_booleans_stay_zone_names(tmp_path, word):
    """YAML 1.1 reads a bare NO (Norway's code) as false; the planner reads YAML 1.2."""
    text = BASE.replace(" NO\n", f" {word}\n")
    path = write_case(Case(text), tmp_path / "case")
    res = invoke(["validate", str(path)])
    assert res.exit_code == 0, res.stderr
    assert planner.load_instance(path).zones == (word, "SE")


def test_unknown_class_message_lists_the_classes(tmp_path):
    """The message names the known classes (it used to read 'load classs: ...')."""
    path = write_case(CASES["unknown class"], tmp_path / "case")
    res = invoke(["validate", str(path)])
    assert "classs" not in res.stderr
    for cls in ("industry", "bitcoin_mining", "households"):
        assert cls in res.stderr


def test_csv_line_number_counts_blank_lines(tmp_path):
    csv = "wind,price\n0.1,1\n\n0.5,2\nx,3\n"  # 'x' is on line 5
    path = write_case(Case(BASE, csv=csv), tmp_path / "case")
    res = invoke(["validate", str(path)])
    assert res.exit_code == 2
    assert f"{(path.parent / 'series.csv').resolve()}:5: " in res.stderr, res.stderr


# --------------------------------------------------------------------------------------------
# the real command


SUBPROCESS_CASES = {
    "validate-yaml-syntax": ("validate", "tab"),
    "validate-series-csv": ("validate", "CSV cell not a number"),
    "solve-schema": ("solve", "unknown key"),
    "solve-alias-bomb": ("solve", "alias bomb"),
}


@pytest.fixture(scope="module")
def subprocess_runs(tmp_path_factory):
    calls, paths = {}, {}
    for key, (command, name) in SUBPROCESS_CASES.items():
        case = Case(billion_laughs()) if name == "alias bomb" else CASES[name]
        path = write_case(case, tmp_path_factory.mktemp(key.replace(" ", "_")))
        paths[key] = path
        args = [command, path]
        if command == "solve":
            args += ["--out", path.parent / "out"]
        calls[key] = tuple(args)
    return run_cli_many(calls), paths


@pytest.mark.parametrize("key", list(SUBPROCESS_CASES))
def test_planner_command_exit_code_and_message(subprocess_runs, key):
    runs, paths = subprocess_runs
    command, name = SUBPROCESS_CASES[key]
    res, path = runs[key], paths[key]
    assert res.returncode == 2, (res.returncode, res.stderr)
    assert res.stdout == ""
    if name == "alias bomb":
        assert_no_traceback(res.stderr)
        assert str(path) in res.stderr and "alias" in res.stderr.lower()
    else:
        check_message(CASES[name], path, res.stderr)
    if command == "solve":
        assert not (path.parent / "out").exists()


def test_schema_prints_json_with_units():
    res = run_cli("schema")
    assert res.returncode == 0, res.stderr
    schema = json.loads(res.stdout)
    props = {name: d.get("properties", {}) for name, d in schema["$defs"].items()}
    props["InstanceFile"] = schema["properties"]
    assert "MW" in props["Applicant"]["requested_mw"]["description"]
    assert "MW" in props["Line"]["capacity_mw"]["description"]
    assert "MWh" in props["Supply"]["storage_mwh"]["description"]
    assert "NOK/MWh" in props["Market"]["price_nok_per_mwh"]["description"]
    assert "NOK/MWh" in props["Supply"]["marginal_cost_nok_per_mwh"]["description"]
    # the YAML spelling of aliased keys
    assert {"from", "to"} <= set(props["Line"]) and "class" in props["Applicant"]


UNITS = (("_nok_per_mwh", "NOK/MWh"), ("_mw_per_h", "MW"), ("_mwh", "MWh"), ("_mw", "MW"))


def test_every_unit_field_names_its_unit():
    from planner.instance.schema import InstanceFile

    schema = InstanceFile.model_json_schema(by_alias=True)
    missing = []
    for model, d in {**schema["$defs"], "InstanceFile": schema}.items():
        for name, p in d.get("properties", {}).items():
            unit = next((u for suffix, u in UNITS if name.endswith(suffix)), None)
            if unit and unit not in p.get("description", ""):
                missing.append(f"{model}.{name}")
    assert not missing, missing
