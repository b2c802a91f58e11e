"""The decomposition's first point (planner/api.py ``coarse_grants``) computed in a child Python
process while the hourly LP is built.

Why a process and not a thread: the build is pure Python and holds the GIL. Beside it, a thread
computing the coarse optimum waits for the GIL each time one of its HiGHS runs returns; on the
Norway year (2 cores) the build then took 15.3 s instead of 9.6 s and the coarse optimum
26.0 s instead of 11.6 s, slower in all than one after the other. The child receives the
instance and the options pickled in a temporary file and prints the grants as JSON (floats
round-trip exactly).
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import planner
from planner.instance.aggregate import can_aggregate
from planner.instance.instance import Instance
from planner.solve import SolverOptions

BACKGROUND_MIN_HOURS = 2000
"""Instances of at least this many hours compute the coarse optimum in a child process; below,
the hourly build takes less time than the child needs to start (about 2 s to import Pyomo and
the planner), so the coarse optimum is computed in the process itself when it is asked for."""

Grants = dict[str, float] | None


def needs_coarse(inst: Instance, options: SolverOptions) -> bool:
    """Is there a coarse optimum to compute (coarse periods that tile the instance)?"""
    return bool(options.coarse_periods_h) and can_aggregate(inst, options.coarse_periods_h[0])


def pays_off(inst: Instance) -> bool:
    """Is the instance large enough for the child process (BACKGROUND_MIN_HOURS)?"""
    return inst.hours >= BACKGROUND_MIN_HOURS


class CoarseStart:
    """The coarse optimum of an instance: with ``background``, begun at once in a child
    process; else computed in this process when first asked for. As a context manager it stops
    a child whose result was not asked for."""

    def __init__(self, inst: Instance, options: SolverOptions, background: bool):
        self.inst, self.options = inst, options
        self._child: subprocess.Popen | None = None
        self._input: Path | None = None
        self._result: tuple[Grants, float] | None = None
        if background and needs_coarse(inst, options):
            self._start()

    def _start(self) -> None:
        self.started = time.perf_counter()
        fd, name = tempfile.mkstemp(prefix="planner-coarse-", suffix=".pickle")
        self._input = Path(name)
        with os.fdopen(fd, "wb") as f:
            pickle.dump((self.inst, self.options), f, protocol=pickle.HIGHEST_PROTOCOL)
        # the child imports this very planner, also when it is not installed
        source = str(Path(planner.__file__).resolve().parents[1])
        env = os.environ | {"PYTHONPATH": os.pathsep.join(
            p for p in (source, os.environ.get("PYTHONPATH")) if p)}
        self._child = subprocess.Popen(
            [sys.executable, "-m", "planner.background", name], env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def result(self) -> tuple[Grants, float]:
        """The coarse grants (MW by applicant; None: no coarse optimum) and the seconds they
        took (computed once). A child that fails gives None with a warning: the hourly LP is
        then solved from the requests, slower but to the same optimum."""
        if self._result is None:
            self._result = self._compute()
        return self._result

    def _compute(self) -> tuple[Grants, float]:
        if self._child is None:
            from planner.api import timed_coarse_grants  # planner.api uses this module
            return timed_coarse_grants(self.inst, self.options)
        out, err = self._child.communicate()
        self.close()
        if self._child.returncode != 0:
            warnings.warn("the coarse optimum's process failed, so the decomposition starts "
                          f"from the requests: {err.strip()[-2000:]}", RuntimeWarning,
                          stacklevel=3)
            return None, time.perf_counter() - self.started
        answer = json.loads(out)
        return answer["granted_mw"], answer["seconds"]

    def close(self) -> None:
        """Stop the child if it still runs, and remove its input."""
        if self._child is not None and self._child.poll() is None:
            self._child.kill()
            self._child.wait()
        if self._input is not None:
            self._input.unlink(missing_ok=True)
            self._input = None

    def __enter__(self) -> CoarseStart:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def main(input_path: str) -> None:
    """The child: read the pickled instance and options, print the coarse grants as JSON."""
    from planner.api import timed_coarse_grants

    with open(input_path, "rb") as f:
        inst, options = pickle.load(f)
    os.unlink(input_path)
    granted_mw, seconds = timed_coarse_grants(inst, options)
    json.dump({"granted_mw": granted_mw, "seconds": seconds}, sys.stdout)


if __name__ == "__main__":
    main(sys.argv[1])
