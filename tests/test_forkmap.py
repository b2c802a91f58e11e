"""Work done at once in forked copies (planner/forkmap.py): the same results in the same order
as done here, errors raised here, and the CLI's parallel paths (compare's folders and their
check, solve's workbook beside its check) write what the sequential ones write."""

from __future__ import annotations

import os
import subprocess
import sys

import pandas as pd
import pytest
from click.testing import CliRunner
from helpers import HAND, TEACHING, assert_no_traceback

import planner.background
import planner.forkmap
import planner.verify
from planner.background import forks
from planner.cli import cli
from planner.errors import InputError, Problem
from planner.forkmap import map_forked
from planner.report.render import clear_outputs

COMPARE = sys.modules["planner.compare"]  # planner.compare is also the function

WEEK = next(p for p in TEACHING if p.name == "two-zones-week.yaml")

needs_fork = pytest.mark.skipif(not forks() or (os.cpu_count() or 1) < 2,
                                reason="forked copies on Linux with two cores or more only")


@needs_fork
def test_forked_work_returns_in_order_from_other_processes():
    parent = os.getpid()
    out = map_forked(lambda k: (k * k, os.getpid()), list(range(5)))
    assert [square for square, _ in out] == [0, 1, 4, 9, 16]
    assert parent not in {pid for _, pid in out}
    assert map_forked(lambda k: os.getpid(), [1, 2], parallel=False) == [parent, parent]


@needs_fork
def test_an_error_in_a_copy_is_raised_here_with_its_content():
    problem = Problem("f.yaml", 3, 1, "field", "what to do")

    def work(k: int) -> int:
        if k == 2:
            raise InputError([problem])
        return k

    with pytest.raises(InputError) as raised:
        map_forked(work, [1, 2, 3])
    assert raised.value.problems == [problem]


@needs_fork
def test_work_is_redone_here_when_a_copy_dies(tmp_path):
    """A copy killed mid-work (as by the out-of-memory killer) breaks the pool: every item is
    done again in this process, in order."""
    parent = os.getpid()

    def work(k: int) -> tuple[int, bool]:
        if os.getpid() != parent:
            (tmp_path / f"copy-{k}").touch()
            if k == 1:
                os._exit(9)
        return k, os.getpid() == parent

    assert map_forked(work, [0, 1, 2]) == [(0, True), (1, True), (2, True)]
    assert (tmp_path / "copy-1").exists()  # it did run in a copy first


@needs_fork
@pytest.mark.parametrize("refused", [1, 2])
def test_a_refused_fork_does_the_work_here_and_leaves_no_copy_behind(refused):
    """The system refuses the first or the second copy: the work is done here and the process
    ends (a copy made before the refusal would otherwise wait for work, and the process for it,
    at its exit)."""
    script = f"""
import os
from planner.forkmap import map_forked
from planner.report.render import clear_outputs
real, calls = os.fork, []
def fork():
    calls.append(1)
    if len(calls) == {refused}:
        raise OSError("refused")
    return real()
os.fork = fork
print(map_forked(lambda k: 2 * k, [1, 2, 3]))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[2, 4, 6]"


def test_clearing_a_folder_removes_what_a_killed_writer_left(tmp_path):
    """A copy killed while writing leaves its temporary file (``atomic_write``): the next
    write into the folder removes it, and nothing that is not the planner's."""
    (tmp_path / ".report.xlsx.abc123.tmp").write_text("half")
    (tmp_path / ".notes.txt.abc123.tmp").write_text("mine")
    clear_outputs(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == [".notes.txt.abc123.tmp"]


@needs_fork
def test_parallel_compare_and_solve_write_what_sequential_ones_write(tmp_path, monkeypatch):
    """The same folders and files, the same tables, each folder checked (one session solves in
    both, as pays_off also decides compare's sessions)."""
    policies = tmp_path / "policies.yaml"
    policies.write_text("policies:\n  - {name: capped, export_cap_twh: 0.5}\n"
                        "  - {name: heavy, classes: {industry: {weight_nok_per_mwh: 1700}}}\n",
                        encoding="utf-8")

    real = planner.forkmap.map_forked
    calls: list[tuple[int, bool]] = []

    def spy(work, items, parallel=True):
        calls.append((len(items), parallel))
        return real(work, items, parallel)

    monkeypatch.setattr(planner.forkmap, "map_forked", spy)
    monkeypatch.setattr(COMPARE, "map_forked", spy)

    def run(parallel: bool, name: str) -> list:
        for module in (planner.background, COMPARE):
            monkeypatch.setattr(module, "pays_off", lambda inst: parallel)
        out = tmp_path / name
        compared = CliRunner().invoke(cli, ["compare", str(WEEK), "--all", "--policy-file",
                                            str(policies), "--baseline", "base", "--jobs", "1",
                                            "--out", str(out / "compare")])
        solved = CliRunner().invoke(cli, ["solve", str(WEEK), "--out", str(out / "solve")])
        assert compared.exit_code == 0 and solved.exit_code == 0, compared.output + solved.output
        assert "verified: every family holds in each of the" in compared.output
        assert "verified: all" in solved.output
        files = sorted(p.relative_to(out) for p in out.rglob("*") if p.is_file())
        tables = [pd.read_csv(out / p) for p in files if p.suffix == ".csv"]
        return [files, tables]

    (files, tables) = run(True, "parallel")
    # compare: 3 folders written, then checked; solve: the workbook beside the check
    assert calls == [(3, True), (3, True), (2, True)]
    files_seq, tables_seq = run(False, "sequential")
    assert calls[3:] == [(3, False), (3, False), (2, False), (1, False)]  # the check, inside
    assert files == files_seq and any(p.name == "report.xlsx" for p in files)
    for got, want in zip(tables, tables_seq, strict=True):
        pd.testing.assert_frame_equal(got, want)


@needs_fork
def test_a_failed_check_beside_the_workbook_leaves_no_report(tmp_path, monkeypatch):
    """Exit code 7, the folder marked failed, and neither the workbook written beside the check
    nor the other reports."""
    real_map = planner.forkmap.map_forked
    forked: list[bool] = []
    monkeypatch.setattr(planner.forkmap, "map_forked",
                        lambda work, items, parallel=True: forked.append(parallel)
                        or real_map(work, items, parallel))
    monkeypatch.setattr(planner.background, "pays_off", lambda inst: True)
    strict = planner.verify.Tolerances(rounding=-1.0, relative=0.0, objective_relative=0.0)
    real = planner.verify.verify_folder
    monkeypatch.setattr(planner.verify, "verify_folder",
                        lambda folder, inst=None, tol=None: real(folder, inst, strict))
    out = tmp_path / "out"
    res = CliRunner().invoke(cli, ["solve", str(HAND), "--out", str(out)])
    assert res.exit_code == 7, res.output
    assert_no_traceback(res.output)
    assert (out / "VERIFICATION_FAILED").exists()
    assert not {"report.xlsx", "report.html", "report.md"} & {p.name for p in out.iterdir()}
    assert forked == [True]
