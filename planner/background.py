"""The decomposition's first points (planner/api.py ``coarse_grants``) computed in a child
process while this one builds and solves the hourly LP: for ``planner.solve`` the instance's,
for a session the coarse optima of the policies it will solve, in that order.

Why a process and not a thread: the build is pure Python and holds the GIL. Beside it, a thread
computing the coarse optimum waits for the GIL each time one of its HiGHS runs returns; on the
Norway year (2 cores) the build then took 15.3 s instead of 9.6 s and the coarse optimum
26.0 s instead of 11.6 s, slower in all than one after the other. On Linux the child is a
forked copy of this process, which has the instance and the planner already; elsewhere a new
Python process that receives the instance, options and policies pickled in a temporary file.
It prints one JSON line per policy as soon as its grants are known (JSON floats read back
exactly). It builds each coarse model once for policies with the same connection terms
(planner/api.py ``CoarseModels``).
"""

from __future__ import annotations

import ctypes
import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import warnings
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import IO, TYPE_CHECKING, TextIO

import highspy

import planner
from planner.instance.aggregate import can_aggregate
from planner.instance.instance import Instance
from planner.policies import QUEUE, PolicySpec, apply_policy, tier_members
from planner.solve import SolverOptions, one_blas_thread

if TYPE_CHECKING:
    from planner.api import CoarseModels

BACKGROUND_MIN_HOURS = 2000
"""Instances of at least this many hours compute the coarse optima in a child process; below,
the hourly build takes less time than a started child needs to start (about 2 s to import
Pyomo and the planner), so each coarse optimum is computed in the process itself when it is
asked for. (Measured before the child was forked on Linux; not measured again for forks.)"""

Grants = dict[str, float] | None


def pays_off(inst: Instance) -> bool:
    """Is the instance large enough for the child process (BACKGROUND_MIN_HOURS)?"""
    return inst.hours >= BACKGROUND_MIN_HOURS


def needs_coarse(inst: Instance, options: SolverOptions) -> bool:
    """Is there a coarse optimum to compute (coarse periods that tile the instance)? Policies
    change neither the horizon nor the windows, so the base instance tells for all."""
    return bool(options.coarse_periods_h) and can_aggregate(inst, options.coarse_periods_h[0])


def first_stage_start(base: Instance, policy: PolicySpec | None, options: SolverOptions,
                      models: CoarseModels | None = None) -> tuple[Grants, float]:
    """The coarse optimum a policy's first stage starts from (planner/session.py) and the
    seconds it took: of its first tier's value where it has tiers other than the connection
    queue, else of its objective. ``models``: coarse models built for earlier policies of
    ``base`` (planner/api.py ``CoarseModels``)."""
    from planner.api import timed_coarse_grants  # planner.api uses this module

    inst = apply_policy(base, policy)
    # a queue policy solved first starts without its tiers (Session._untiered_start)
    tiers = tier_members(inst, policy) if policy is not None and policy.tiers != QUEUE else []
    first = next((t for t in tiers if t.applicants or t.trade or t.existing), None)
    return timed_coarse_grants(inst, options, first, models)


def forks() -> bool:
    """Can a child be a forked copy of this process (``Child.fork``)? On Linux, while this
    process runs no other Python thread (a Jupyter kernel's, a caller's): the copy has only
    the thread that forked, and a lock another thread held stays held in it. macOS's system
    libraries are not safe to use in a forked copy, and Windows has no fork."""
    return sys.platform.startswith("linux") and threading.active_count() == 1


@dataclass
class Child:
    """A child process: a forked copy of this one (``fork``) or a new Python (``start``,
    ``python -m MODULE INPUT``, where INPUT is a temporary file holding its pickled payload; it
    imports this very planner, also when it is not installed). Its standard output is a pipe
    and its error output a file, as a full pipe would block a child that writes much of it
    while this process waits for its next line."""

    process: subprocess.Popen | Forked
    input: Path | None
    """The payload's file (None: a forked copy, which needs none)."""
    errors: IO[str]

    @classmethod
    def start(cls, module: str, payload: object, niceness: int = 0) -> Child | None:
        """The running child, ``niceness`` below this process's CPU priority, or None where no
        Python can be started (an embedded interpreter): the caller then does the work in this
        process."""
        fd, name = tempfile.mkstemp(prefix="planner-", suffix=".pickle")
        with os.fdopen(fd, "wb") as f:
            pickle.dump(payload, f, protocol=pickle.HIGHEST_PROTOCOL)
        source = str(Path(planner.__file__).resolve().parents[1])
        env = os.environ | {PARENT_VARIABLE: str(os.getpid()), "PYTHONPATH": os.pathsep.join(
            p for p in (source, os.environ.get("PYTHONPATH")) if p)}
        errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by close)
        try:
            process = subprocess.Popen([sys.executable, "-m", module, name], env=env,
                                       stdout=subprocess.PIPE, stderr=errors, text=True)
        except OSError:
            errors.close()
            Path(name).unlink(missing_ok=True)
            return None
        lower_priority(process.pid, niceness)
        return cls(process, Path(name), errors)

    @classmethod
    def fork(cls, work: Callable[[TextIO], None], niceness: int = 0) -> Child | None:
        """A copy of this process (``os.fork``: only where ``forks``), ``niceness`` below its
        CPU priority, that runs ``work`` with the pipe its standard output is read from, then
        ends; None if the system refuses the fork. Its error output (a traceback if ``work``
        raises) goes to a file, as a started child's. HiGHS's worker threads, which a copy
        would lack, are stopped first; its next solve starts them again."""
        ready_to_fork()
        parent = os.getpid()
        read, write = os.pipe()
        errors = tempfile.TemporaryFile("w+")  # noqa: SIM115 (closed by close)
        try:
            with warnings.catch_warnings():  # Python ≥ 3.12 warns of any thread, also
                warnings.simplefilter("ignore", DeprecationWarning)  # idle native ones
                pid = os.fork()  # (OpenBLAS's); ``forks`` rules out other Python threads
        except OSError:
            for fd in (read, write):
                os.close(fd)
            errors.close()
            return None
        if pid == 0:  # the copy: never returns, and leaves this process's files and children
            code = 1
            try:
                if not end_with_parent(parent):
                    raise ChildProcessError("the parent process ended before its copy started")
                os.nice(niceness)
                os.close(read)
                os.dup2(errors.fileno(), 2)
                os.dup2(2, 1)
                out = os.fdopen(write, "w")
                work(out)
                out.flush()
                code = 0
            except BaseException:  # any: the parent reads it from the error file
                with suppress(BaseException):
                    traceback.print_exc(file=errors)  # not sys.stderr, which may be replaced
                    errors.flush()
            finally:
                os._exit(code)  # closes the pipe: a reader at its end finds any traceback
        os.close(write)
        return cls(Forked(pid, os.fdopen(read)), None, errors)

    def error_text(self) -> str:
        """The end of what the child wrote to its error output, once it has ended."""
        self.process.wait()
        self.errors.seek(0)
        return self.errors.read().strip()[-2000:]

    def kill(self) -> None:
        """Stop the child if it still runs."""
        if self.process.poll() is None:
            self.process.kill()

    def close(self) -> None:
        """Stop the child if it still runs and remove its files."""
        self.kill()
        self.process.communicate()
        self.errors.close()
        if self.input is not None:
            self.input.unlink(missing_ok=True)


def ready_to_fork() -> None:
    """Before a fork: stop HiGHS's worker threads, which a copy would lack (its next solve
    starts them again), and flush standard output and error, or each copy writes what is
    buffered again."""
    highspy.Highs.resetGlobalScheduler(True)
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            stream.flush()


def lower_priority(pid: int, niceness: int) -> None:
    """Set a just started child's CPU priority ``niceness`` below this process's, where the
    system has priorities (not on Windows); a child that has already ended is left as it
    was. Just started: Linux sets the priority of the child's main thread, and the threads it
    starts later (HiGHS's) take it from there."""
    if niceness and hasattr(os, "setpriority"):
        with suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, os.getpriority(os.PRIO_PROCESS, 0) + niceness)


@dataclass
class Forked:
    """A forked copy of this process as much of ``subprocess.Popen`` as ``Child`` uses."""

    pid: int
    stdout: TextIO
    returncode: int | None = None

    def poll(self) -> int | None:
        return self._waited(os.WNOHANG)

    def wait(self) -> int:
        return self._waited(0)

    def _waited(self, flags: int) -> int | None:
        """The exit code (None if still running, with WNOHANG). A process that is not this
        one's to wait for (a copy's sibling, or SIGCHLD ignored) counts as ended with 0, as
        ``subprocess.Popen`` counts it: its pipe's end and error file tell the rest."""
        if self.returncode is None:
            try:
                pid, status = os.waitpid(self.pid, flags)
            except ChildProcessError:
                self.returncode = 0
            else:
                if pid:
                    self.returncode = os.waitstatus_to_exitcode(status)
        return self.returncode

    def kill(self) -> None:
        if self.poll() is None:
            os.kill(self.pid, signal.SIGKILL)

    def communicate(self) -> None:
        self.wait()
        self.stdout.close()


PR_SET_PDEATHSIG = 1
"""Linux's prctl option: the signal a process gets when the thread that made it ends."""

PARENT_VARIABLE = "PLANNER_PARENT_PID"
"""Environment variable that tells a started child the process it works for."""


def end_with_parent(parent: int) -> bool:
    """In a child, on Linux: be killed when ``parent``, the process that made this one, ends;
    False if it already has (the caller then ends). A parent killed without cleaning up
    (``kill -9``, the out-of-memory killer) otherwise leaves its children solving on, unseen,
    for as long as their work takes. Linux signals the end of the thread that made the child,
    so a child made by a thread that ends first ends with it and counts as failed (a second
    session's policies are then solved in the parent, a coarse optimum goes unused).
    Elsewhere (True) a no-op: a parent's ``close`` stops its children."""
    if not sys.platform.startswith("linux"):
        return True
    with suppress(OSError, AttributeError):  # no C library to ask: as elsewhere
        ctypes.CDLL(None, use_errno=True).prctl(ctypes.c_int(PR_SET_PDEATHSIG),
                                                ctypes.c_ulong(signal.SIGKILL))
    return os.getppid() == parent  # else it ended before the request took effect


def protocol_output() -> TextIO:
    """In a child: its standard output, kept for the lines the parent reads, while file
    descriptor 1 is pointed at the error output, so that whatever else the child's libraries
    print (HiGHS prints a banner) goes there instead of between those lines."""
    sys.stdout.flush()
    protocol = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    return protocol


def read_payload(input_path: str) -> object:
    """A started child's payload (``Child.start``), its file removed; the child ends with the
    process that started it (``end_with_parent``)."""
    if (parent := os.environ.get(PARENT_VARIABLE)) and not end_with_parent(int(parent)):
        Path(input_path).unlink(missing_ok=True)
        os._exit(1)
    with open(input_path, "rb") as f:
        payload = pickle.load(f)
    os.unlink(input_path)
    return payload


class CoarseStarts:
    """The coarse optimum of each policy's first stage (``first_stage_start``; None: the base
    instance) in a list: with ``background``, all computed in order by one child process begun
    at once, ``niceness`` below this process's CPU priority; else each in this process when
    first asked for. As a context manager it stops a child still running."""

    def __init__(self, base: Instance, options: SolverOptions,
                 policies: list[PolicySpec | None], background: bool, niceness: int = 0):
        self.base, self.options, self.policies = base, options, policies
        self.niceness = niceness
        self._known: dict[int, tuple[Grants, float]] = {}
        """Results by position: read from the child (in order) or computed here."""
        self._read = 0
        """Lines read from the child so far."""
        self._child: Child | None = None
        if background and policies and needs_coarse(base, options):
            self._start()

    def _start(self) -> None:
        """A forked copy where there is fork (no Python to start, nothing to import or
        unpickle), else a new Python process."""
        self.started = time.perf_counter()
        payload = (self.base, self.options, self.policies)
        self._child = Child.fork(partial(write_grants, *payload), self.niceness) \
            if forks() else None
        if self._child is None:
            self._child = Child.start("planner.background", payload, self.niceness)

    def result(self, k: int) -> tuple[Grants, float]:
        """The k-th policy's coarse grants (MW by applicant; None: no coarse optimum) and the
        seconds they took, computed once. A child that fails gives None with a warning: the
        hourly LP is then solved from the requests, slower but to the same optimum."""
        while k not in self._known and self._child is not None and self._read <= k:
            line = self._child.process.stdout.readline()
            if not line:
                self._known[k] = self._failed()
                break
            answer = json.loads(line)
            self._known[self._read] = (answer["granted_mw"], answer["seconds"])
            self._read += 1
        if k not in self._known:
            self._known[k] = first_stage_start(self.base, self.policies[k], self.options)
        return self._known[k]

    def _failed(self) -> tuple[Grants, float]:
        warnings.warn("the coarse optimum's process failed, so the decomposition starts from "
                      f"the requests: {self._child.error_text()}", RuntimeWarning, stacklevel=3)
        return None, time.perf_counter() - self.started

    def close(self) -> None:
        """Stop the child if it still runs and remove its files; results not read by then are
        computed in this process if asked for."""
        if self._child is not None:
            self._child.close()
            self._child = None

    def __enter__(self) -> CoarseStarts:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@one_blas_thread
def write_grants(base: Instance, options: SolverOptions, policies: list[PolicySpec | None],
                 out: TextIO) -> None:
    """The child's work: each policy's coarse grants as one JSON line on ``out``."""
    from planner.api import CoarseModels  # planner.api uses this module

    models = CoarseModels()
    for policy in policies:
        granted_mw, seconds = first_stage_start(base, policy, options, models)
        print(json.dumps({"granted_mw": granted_mw, "seconds": seconds}), file=out, flush=True)


def main(input_path: str) -> None:
    """The started child: read the pickled instance, options and policies and write their
    coarse grants (``write_grants``)."""
    write_grants(*read_payload(input_path), protocol_output())


if __name__ == "__main__":
    main(sys.argv[1])
