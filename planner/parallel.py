"""Policies solved in a second session, in a child process, beside this process's session.

Why: each policy's solve is one HiGHS run after another, on one core; a machine with two has a
second idle. On Linux the child is a copy of this process forked once its session is built and
before it solves anything (HiGHS's worker threads stopped first), so the LP is built once; elsewhere
it is a new Python process (``python -m planner.parallel``) that builds the LP itself while this
process builds its own. It solves its share of the policies in its session, warm from policy to
policy as any session; this process solves the rest. Each session builds once, so no
policy rebuilds the model that would not in a single session. The child writes each
policy's run (or the planner error that stopped it) pickled to a file, with the warnings
issued meanwhile (this process issues them again as it reads the runs), and its name on
standard output as it finishes, so progress is shown while this process works on. Which
policies go where: planner/compare.py, ``split``.
"""

from __future__ import annotations

import os
import pickle
import sys
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import BinaryIO, TextIO

from planner.background import Child, CoarseStarts, protocol_output, read_payload
from planner.errors import InfeasibleError, PlannerError
from planner.instance.instance import Instance
from planner.policies import PolicySpec, name_of
from planner.session import PolicyRun, Session
from planner.solve import SolverOptions

Outcome = PolicyRun | PlannerError
"""A policy's run, or the planner error that stopped it: an InfeasibleError stops that policy
only, any other its session."""


READER_WAIT_S = 10.0
"""Seconds ``SessionProcess.close`` waits for the thread that reads the finished policies'
names once the child has ended."""


class SessionProcess:
    """A second session in a child process that solves ``policies`` in order: with ``session``
    (this process's, built, no policy solved yet) and ``coarse`` (``coarse_starts`` of
    ``policies``), a forked copy of this process that takes it over, so the LP is built once;
    else, or where there is no fork, a new Python process that builds its own. ``outcomes``
    waits for them; a child that cannot start or fails leaves its policies to the caller.
    ``progress`` is called with each policy's name as the child finishes it, from a thread."""

    def __init__(self, inst: Instance, options: SolverOptions, policies: list[PolicySpec | None],
                 warm: bool, session: Session | None = None, coarse: CoarseStarts | None = None,
                 progress: Callable[[str], None] | None = None):
        fd, name = tempfile.mkstemp(prefix="planner-runs-", suffix=".pickle")
        os.close(fd)  # the child writes it, this process reads it once the child has ended
        self._runs = Path(name)
        self.policies = policies
        self._child = Child.fork(partial(_take_over, session, policies, coarse, name),
                                 NICENESS) if session is not None and coarse is not None else None
        if self._child is None:
            if coarse is not None:  # no fork: the started process computes its own
                coarse.close()
            self._child = Child.start("planner.parallel", (inst, options, policies, warm, name),
                                      NICENESS)
        self._reader: threading.Thread | None = None
        if self._child is not None:  # always read: a pipe no one reads would block the child
            self._reader = threading.Thread(target=self._read_names,
                                            args=(progress or (lambda name: None),), daemon=True)
            self._reader.start()

    def _read_names(self, progress: Callable[[str], None]) -> None:
        """Call ``progress`` with each policy's name as the child finishes it (in a thread of
        its own: HiGHS lets it run while this process solves)."""
        for line in self._child.process.stdout:
            progress(line.rstrip("\n"))

    def outcomes(self) -> list[Outcome | None]:
        """Each policy's outcome, in order, once the child has ended; None for a policy it did
        not reach (it failed, or could not start: a warning says why)."""
        if self._child is None:
            return [None] * len(self.policies)
        code = self._child.process.wait()
        with self._runs.open("rb") as f:
            found: list[Outcome | None] = list(read_outcomes(f, len(self.policies)))
        if code != 0 or (len(found) < len(self.policies) and not any(map(ends_session, found))):
            warnings.warn(f"the second session's process failed (exit code {code}), so its "
                          f"policies are solved in this one: {self._child.error_text()}",
                          RuntimeWarning, stacklevel=2)
        return found + [None] * (len(self.policies) - len(found))

    def close(self) -> None:
        """Stop the child if it still runs, let the names it wrote be read (no thread reads a
        closed pipe or calls ``progress`` after this) and remove its files."""
        if self._child is not None:
            self._child.kill()
            if self._reader is not None:  # it stops at the pipe's end, which comes with the
                self._reader.join(READER_WAIT_S)  # child's, unless a child of it holds the pipe
            self._child.close()
            self._child = None
        self._runs.unlink(missing_ok=True)

    def __enter__(self) -> SessionProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def ends_session(outcome: Outcome | None) -> bool:
    """Is the outcome an error that stops its session (any planner error but an infeasible
    policy's, which stops that policy only)?"""
    return isinstance(outcome, PlannerError) and not isinstance(outcome, InfeasibleError)


def solve_in_turn(session: Session, policies: list[PolicySpec | None]) -> Iterator[Outcome]:
    """Each policy's run in ``session``, in order: an infeasible policy's outcome is its error
    and the next is solved (a policy whose limits cannot hold is a finding of the comparison);
    any other planner error is the last outcome."""
    for policy in policies:
        try:
            yield session.solve(policy)
        except InfeasibleError as exc:
            yield exc
        except PlannerError as exc:
            yield exc
            return


NICENESS = 10
"""How much lower the second session's CPU priority is than this process's: its process and,
when forked, the child that computes its coarse optima from the start. The first session's
share is the longer (on the Norway year the status quo and `first_come_first_served`). On the
Norway year compare took 149.3 s with it, 161.2 s at equal priority (session 12, when each
session built its own LP); with a started child, 130 s against 132 s (session 15, HiGHS
1.16). With the forked copy's coarse child at the copy's priority instead of this process's,
the shared build took 10.2–10.7 s instead of 16.0 s beside it and `run_policies` 94.3–95.0 s
instead of 99.7 s (session 16)."""


def write_outcomes(f: BinaryIO, outcomes: Iterator[Outcome],
                   caught: list[warnings.WarningMessage]) -> Iterator[Outcome]:
    """Append each outcome to ``f`` pickled, with the warnings ``caught`` so far (recorded by
    the caller's ``warnings.catch_warnings(record=True)``; in the child they are otherwise
    lost in its error output), as it comes; yields it then. Each record is pickled whole
    before it is written, so a record is never half there."""
    for outcome in outcomes:
        f.write(pickle.dumps((outcome, [_portable(w) for w in caught]),
                             protocol=pickle.HIGHEST_PROTOCOL))
        f.flush()
        caught.clear()
        yield outcome


def _portable(w: warnings.WarningMessage) -> tuple[type[Warning], str]:
    """A warning as (category, text) that any process can unpickle: a category of the
    standard library as it is, any other as RuntimeWarning with its name in the text."""
    if w.category.__module__ == "builtins":
        return w.category, str(w.message)
    return RuntimeWarning, f"{w.category.__name__}: {w.message}"


def read_outcomes(f: BinaryIO, most: int) -> Iterator[Outcome]:
    """The outcomes ``write_outcomes`` wrote, at most ``most``, each after issuing the
    warnings that came with it here; stops early where the writer did."""
    for _ in range(most):
        try:
            outcome, messages = pickle.load(f)
        except EOFError:  # the child stopped early
            return
        for category, text in messages:
            warnings.warn(text, category, stacklevel=3)
        yield outcome


def _take_over(session: Session, policies: list[PolicySpec | None], coarse: CoarseStarts,
               runs: str, out: TextIO) -> None:
    """The forked copy: solve the policies in the session, from the coarse optima ``coarse``."""
    session.take_over(coarse)
    with warnings.catch_warnings(record=True) as caught:
        _solve_and_write(session, policies, runs, out, caught)


def _solve_and_write(session: Session, policies: list[PolicySpec | None], runs: str,
                     out: TextIO, caught: list[warnings.WarningMessage]) -> None:
    """Append each policy's outcome (and its warnings) pickled to the runs file and print the
    policy's name to ``out``."""
    with open(runs, "wb") as f:
        for policy, outcome in zip(policies, write_outcomes(f, solve_in_turn(session, policies),
                                                            caught), strict=False):
            if isinstance(outcome, PolicyRun | InfeasibleError):  # done with, either way
                print(name_of(policy), file=out, flush=True)


def main(input_path: str) -> None:
    """The started child: build the session and solve the policies in it."""
    inst, options, policies, warm, runs = read_payload(input_path)
    out = protocol_output()
    # warnings from the build on go with the next outcome; any after the last are lost
    with warnings.catch_warnings(record=True) as caught, \
            Session(inst, options, warm=warm, upcoming=policies) as session:
        _solve_and_write(session, policies, runs, out, caught)


if __name__ == "__main__":
    main(sys.argv[1])
