"""Independent pieces of work after a solve done at once in forked copies of this process: the
result folders of `planner compare` (written, then checked) and `planner solve`'s workbook
beside the check of its tables.

Why: they are pure Python, one after the other on one core, while a machine with two has the
second idle. On the Norway year compare spent about 9 s writing its seven folders and 6.5 s
checking them, and `planner solve` 15.5 s writing report.xlsx after a 4 s check. A forked copy
has the results already in memory (shared until written to), so nothing is pickled but each
piece's small return value. Where this process cannot fork (``forks``), the pieces run here, in
order.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import TypeVar

import highspy

from planner.background import forks

WORKERS = 2
"""Forked copies at most at once."""

T = TypeVar("T")
R = TypeVar("R")

_WORK: tuple[Callable, Sequence] | None = None
"""The work and its items while ``map_forked`` runs: the copies find them here (a closure
cannot be sent to them, but a fork copies it)."""


def map_forked(work: Callable[[T], R], items: Sequence[T], parallel: bool = True) -> list[R]:
    """``[work(item) for item in items]``: in forked copies of this process, at most WORKERS
    at once, where ``parallel``, there are two items or more, the machine has two cores or more
    and this process can fork (``forks``); else here. ``work``'s return values come back
    pickled; an exception it raises is raised here (the first in item order)."""
    global _WORK
    if not (parallel and len(items) > 1 and (os.cpu_count() or 1) > 1 and forks()):
        return [work(item) for item in items]
    highspy.Highs.resetGlobalScheduler(True)  # HiGHS's worker threads, which a copy would lack
    for stream in (sys.stdout, sys.stderr):  # or each copy writes what is buffered again
        if stream is not None:
            stream.flush()
    _WORK = (work, items)
    try:
        with warnings.catch_warnings():  # Python ≥ 3.12 warns of any thread at a fork, also
            warnings.simplefilter("ignore", DeprecationWarning)  # idle native ones (OpenBLAS's)
            with ProcessPoolExecutor(min(WORKERS, len(items)),
                                     mp_context=multiprocessing.get_context("fork")) as pool:
                return list(pool.map(_run, range(len(items))))
    finally:
        _WORK = None


def _run(k: int) -> object:
    assert _WORK is not None  # set before the copies were forked
    work, items = _WORK
    return work(items[k])
