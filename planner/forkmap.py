"""Independent pieces of work after a solve done at once in forked copies of this process: the
result folders of `planner compare` (written, then checked) and `planner solve`'s workbook
beside the check of its tables and its other reports.

Why: they are pure Python, one after the other on one core, while a machine with two has the
second idle. On the Norway year compare spent about 9 s writing its seven folders and 6.6 s
checking them, and `planner solve` 15.5 s writing report.xlsx beside about 1 s of check and
2 s of other reports. A forked copy has the results in memory already, so nothing is pickled
but each piece's small return value (the objects are frozen out of the copies' garbage
collection first, so that it does not copy the pages it would walk). Where this process cannot
fork (``forks``), or the fork fails, the pieces run here, in order.
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import signal
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import TypeVar

from planner.background import end_with_parent, forks, ready_to_fork

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
    pickled; an exception it raises is raised here (the first in item order; items not started
    by then are not done). If a copy cannot be made or dies (the out-of-memory killer), every
    item is done again here, in order, once no copy runs: ``work`` must be safe to repeat."""
    global _WORK
    if not (parallel and len(items) > 1 and (os.cpu_count() or 1) > 1 and forks()):
        return [work(item) for item in items]
    ready_to_fork()
    try:
        _WORK = (work, items)
        gc.freeze()
        results = _in_copies(len(items))
    finally:
        _WORK = None
        gc.unfreeze()
    return [work(item) for item in items] if results is None else results


def _in_copies(n: int) -> list | None:
    """The results of items 0..n-1 of ``_WORK``, each done in a forked copy; None if a copy
    could not be made or died (no copy runs any more when this returns)."""
    with warnings.catch_warnings():  # Python ≥ 3.12 warns of any thread at a fork, also idle
        warnings.simplefilter("ignore", DeprecationWarning)  # native ones (OpenBLAS's)
        pool = ProcessPoolExecutor(min(WORKERS, n), mp_context=multiprocessing.get_context("fork"),
                                   initializer=_start_copy, initargs=(os.getpid(),))
        try:  # the first submit forks every copy (fork context, Python 3.11–3.13)
            futures = [pool.submit(_run, k) for k in range(n)]
        except BaseException as exc:  # a refused fork, or one copy made and the next not
            for process in list((getattr(pool, "_processes", None) or {}).values()):
                process.terminate()  # else it waits for work, and this process at its exit
            pool.shutdown(wait=True, cancel_futures=True)
            if isinstance(exc, OSError):
                return None
            raise
    try:
        return [future.result() for future in futures]
    except BrokenProcessPool:  # a copy died: the pool ends the others first
        return None
    finally:  # on an error, the items not started are dropped
        pool.shutdown(wait=True, cancel_futures=True)


def _start_copy(parent: int) -> None:
    """In a copy: end with this process (``end_with_parent``), and at Ctrl-C (which the whole
    terminal's process group gets) end without a traceback, the files it was writing removed
    (``atomic_write``'s cleanup runs): this process reports the interruption. A copy of a
    process that ignores Ctrl-C (a command started in the background) ignores it too."""
    if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:
        signal.signal(signal.SIGINT, _interrupted)
    if not end_with_parent(parent):
        os._exit(1)


def _interrupted(signum: int, frame: object) -> None:
    raise SystemExit(130)


def _run(k: int) -> object:
    assert _WORK is not None  # set before the copies were forked
    work, items = _WORK
    return work(items[k])
