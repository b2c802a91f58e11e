"""The coarse optimum computed in a child process while the hourly LP is built
(planner/background.py): the same grants as in the process itself, no start (and a warning)
when the child fails, and the same optimum through ``planner.solve`` and a session."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from test_decompose import DIRECT, GRANTS, assert_same_optimum

import planner
import planner.api
import planner.background
import planner.session
from planner.api import CoarseModels, coarse_grants
from planner.background import Child, CoarseStarts, forks
from planner.policies import PolicySpec, apply_policy
from planner.session import Session

WEEK = "instances/teaching/two-zones-week.yaml"  # 168 h: 4-h and 24-h periods tile it
EXPORT_CAP = PolicySpec.model_validate({"name": "export_cap", "export_cap_twh": 0.01})
WEIGHTS = PolicySpec.model_validate(
    {"name": "weights", "classes": {"bitcoin_mining": {"weight_nok_per_mwh": 1200},
                                     "industry": {"weight_nok_per_mwh": 300}}})


def _stdout_of(code: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=check)


def test_a_childs_protocol_lines_are_all_its_parent_reads():
    """Whatever else the child prints to standard output, from Python or from C (HiGHS ≥ 1.16
    prints a banner), goes to its error output."""
    done = _stdout_of("import os, highspy\nfrom planner.background import protocol_output\n"
                      "out = protocol_output()\nprint('noise')\nos.write(1, b'more noise')\n"
                      "highspy.Highs().run()\nprint('{\"line\": 1}', file=out, flush=True)")
    assert done.stdout == '{"line": 1}\n'
    assert "noise" in done.stderr and "more noise" in done.stderr


def test_the_planners_highs_instances_print_nothing():
    """``new_highs`` keeps HiGHS's banner out of the planner's standard output."""
    done = _stdout_of("from planner.solve import new_highs\nh = new_highs()\n"
                      "h.addVar(0, 1)\nh.run()\nnew_highs().run()")
    assert done.stdout == ""


@pytest.fixture(params=["forked", "started"])
def kind(request, monkeypatch) -> str:
    """The kind of child CoarseStarts makes: a forked copy (Linux only) or a started Python."""
    if request.param == "forked" and not forks():
        pytest.skip("fork is used on Linux only")
    monkeypatch.setattr(planner.background, "forks", lambda: request.param == "forked")
    return request.param


def test_the_child_gives_the_grants_computed_in_process(kind):
    """Policy by policy, grant by grant, bit for bit (JSON prints floats so that they read
    back exactly), also when asked out of order."""
    inst = planner.load_instance(WEEK)
    policies = [None, EXPORT_CAP, WEIGHTS]
    with CoarseStarts(inst, GRANTS, policies, background=True) as coarse:
        assert coarse._child is not None  # the child runs while the caller goes on
        got = {k: coarse.result(k) for k in (2, 0, 1)}
    for k, policy in enumerate(policies):
        granted_mw, seconds = got[k]
        assert granted_mw is not None and seconds > 0
        assert granted_mw == coarse_grants(apply_policy(inst, policy), GRANTS)
        assert coarse.result(k) == got[k]  # asked again: the same, not recomputed
    assert got[0][0] != got[2][0]  # new weights, new grants


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="no CPU priorities (Windows)")
def test_children_run_at_the_lower_priority_asked_for(kind):
    """The coarse optima's child (the second session's runs ``niceness`` below this process,
    so that the first session, whose share is the longer, keeps a core) and a forked copy (the
    second session itself)."""
    own = os.getpriority(os.PRIO_PROCESS, 0)
    with CoarseStarts(planner.load_instance(WEEK), GRANTS, [None, EXPORT_CAP, WEIGHTS],
                      background=True, niceness=3) as coarse:
        pid, deadline = coarse._child.process.pid, time.monotonic() + 10
        while os.getpriority(os.PRIO_PROCESS, pid) != min(19, own + 3) and \
                time.monotonic() < deadline:  # a forked copy lowers its own as it starts
            time.sleep(0.01)
        assert os.getpriority(os.PRIO_PROCESS, pid) == min(19, own + 3)
    if kind == "forked":
        copy = Child.fork(lambda out: print(os.getpriority(os.PRIO_PROCESS, 0), file=out), 2)
        try:
            assert int(copy.process.stdout.readline()) == min(19, own + 2)
        finally:
            copy.close()
    assert os.getpriority(os.PRIO_PROCESS, 0) == own


def test_coarse_models_are_built_once_per_terms(monkeypatch):
    """Policies of one base that change only weights share the coarse models (one build per
    period length: 4 h and 24 h); new connection terms build their own. Each policy's grants
    are bit for bit those of its own build."""
    inst = planner.load_instance(WEEK)
    terms = PolicySpec.model_validate(
        {"name": "terms", "classes": {"bitcoin_mining": {"firm_share": 0.5}}})
    builds = []
    build = planner.api.build_model
    monkeypatch.setattr(planner.api, "build_model", lambda i: builds.append(i.hours) or build(i))
    models = CoarseModels()
    shared = [coarse_grants(apply_policy(inst, p), GRANTS, models=models)
              for p in (None, WEIGHTS, EXPORT_CAP, terms)]
    assert builds == [42, 7, 42, 7]  # 168 h over 4 h, then over 24 h; again for the new terms
    for policy, granted_mw in zip((None, WEIGHTS, EXPORT_CAP, terms), shared, strict=True):
        assert granted_mw == coarse_grants(apply_policy(inst, policy), GRANTS)
    assert shared[0] != shared[1]  # the weights reached the reused model


def test_a_failed_child_gives_no_start_and_says_so(monkeypatch, kind):
    """A child that exits with an error (a started one: no Python at all; a forked copy: its
    work raises) leaves the decomposition to start from the requests, with a warning that
    quotes the child's error output."""
    inst = planner.load_instance(WEEK)

    def broken(*_: object) -> None:
        raise RuntimeError("the coarse model broke")

    monkeypatch.setattr(sys, "executable", "false")
    monkeypatch.setattr(planner.background, "first_stage_start", broken)  # the copy has it too
    with CoarseStarts(inst, GRANTS, [None], background=True) as coarse, \
            pytest.warns(RuntimeWarning, match="coarse optimum's process failed") as said:
        granted_mw, _ = coarse.result(0)
    assert granted_mw is None
    assert ("the coarse model broke" in str(said[0].message)) is (kind == "forked")


def test_no_fork_while_another_thread_runs():
    """A forked copy would have only the thread that forked (and any lock another held stays
    held), so a process with another thread (a Jupyter kernel's) starts a new Python."""
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        with CoarseStarts(planner.load_instance(WEEK), GRANTS, [None], background=True) as coarse:
            assert isinstance(coarse._child.process, subprocess.Popen)
            assert coarse.result(0)[0] is not None
    finally:
        release.set()
        other.join()
    assert forks() is sys.platform.startswith("linux")


def test_no_python_to_start_means_working_in_this_process(monkeypatch):
    """Where there is no fork and no Python can be started (an embedded interpreter), the
    grants are computed in this process, the same as without a child."""
    inst = planner.load_instance(WEEK)
    monkeypatch.setattr(planner.background, "forks", lambda: False)
    monkeypatch.setattr(sys, "executable", "/nonexistent/python")
    with CoarseStarts(inst, GRANTS, [None], background=True) as coarse:
        assert coarse._child is None
        assert coarse.result(0)[0] == coarse_grants(inst, GRANTS)


def test_no_child_without_coarse_periods_that_tile():
    inst = planner.load_instance(WEEK)
    options = planner.SolverOptions(method="grants", coarse_periods_h=(5,))  # 5 h: 168 h no
    with CoarseStarts(inst, options, [None], background=True) as coarse:
        assert coarse._child is None and coarse.result(0)[0] is None


def test_solve_and_session_from_the_child_keep_the_optimum(monkeypatch):
    """With the child used for the week too (it pays off only from 2 000 h), ``planner.solve``
    and a session's first policy start from its grants and end at the full LP's optimum; the
    summary tells how long the coarse optimum took and how long the solve waited for it."""
    monkeypatch.setattr(planner.api, "pays_off", lambda inst: True)
    monkeypatch.setattr(planner.session, "pays_off", lambda inst: True)
    inst = planner.load_instance(WEEK)
    result = planner.solve(inst, GRANTS)
    timings = result.summary["timings_s"]
    assert timings["coarse_s"] > 0 and 0 <= timings["coarse_wait_s"] <= timings["solve_s"]
    assert_same_optimum(planner.solve(inst, DIRECT), result)

    with Session(inst, GRANTS, upcoming=[EXPORT_CAP, WEIGHTS]) as session:
        assert session._upcoming._child is not None
        for policy in (EXPORT_CAP, WEIGHTS):
            run = session.solve(policy)
            assert session._coarse[0] is session._upcoming
            assert run.result.summary["timings_s"]["coarse_s"] > 0
            assert_same_optimum(Session(inst, DIRECT).solve(policy).result, run.result)


def _running(pid: int) -> bool:
    """Is the process there and not a zombie (ended, not yet waited for)?"""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.skipif(not forks(), reason="fork and prctl are used on Linux only")
def test_a_forked_child_ends_with_a_parent_killed_without_cleaning_up():
    """A parent killed by SIGKILL (the out-of-memory killer, kill -9) closes no child: the
    forked copy, which would sleep a minute, ends with it instead of solving on unseen."""
    done = _stdout_of("import os, signal, time\nfrom planner.background import Child\n"
                      "child = Child.fork(lambda out: time.sleep(60))\n"
                      "print(child.process.pid, flush=True)\n"
                      "os.kill(os.getpid(), signal.SIGKILL)", check=False)
    assert done.returncode == -9
    pid, deadline = int(done.stdout), time.monotonic() + 10
    while _running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(pid)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is used on Linux only")
def test_a_started_child_whose_parent_has_ended_stops_at_once(tmp_path):
    """A started child whose parent ended before the child asked to end with it (here: told
    another process is its parent) ends with exit code 1, its payload unread and removed."""
    payload = tmp_path / "payload.pickle"
    payload.write_bytes(b"not read")
    done = subprocess.run(
        [sys.executable, "-c", f"from planner.background import read_payload\n"
                               f"read_payload({str(payload)!r})"],
        capture_output=True, text=True,
        env=os.environ | {planner.background.PARENT_VARIABLE: str(os.getppid())})  # not its parent
    assert (done.returncode, done.stderr) == (1, "")
    assert not payload.exists()
