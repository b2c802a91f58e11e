"""Rows added after a solve, only where the solution violates them (row generation).

The LP with every such row is the full hourly model; the LP without them is a relaxation of it.
A solution of the relaxation that satisfies every row left out is feasible for the full model,
hence optimal for it, and its duals (zero on the rows left out) are optimal duals of it. So the
loop "solve, add the violated rows, solve again from the last basis" ends with the optimum of
the full model, not an approximation of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from planner.model.index import ModelIndex

LEVEL_TOL = 1e-9
"""A reservoir level counts as out of bounds when it is further out than this share of the
reservoir size (plus 1e-6 MWh): about HiGHS's own primal feasibility tolerance."""


@dataclass
class RowBlock:
    """Rows to add to the compiled LP: lower ≤ matrix @ x ≤ upper."""

    names: list[str]
    lower: np.ndarray
    upper: np.ndarray
    matrix: sparse.csr_array


def reservoir_levels(ix: ModelIndex, generation_mwh: np.ndarray, spill_mwh: np.ndarray) -> np.ndarray:
    """Level at the end of every hour (reservoir × hour, MWh): the initial level plus the
    running sum of inflow − generation − spill (the hourly form of storage_balance)."""
    res = [s for s in ix.inst.supply if s.reservoir]
    inflow = np.array([s.inflow_mwh for s in res]).reshape(len(res), len(ix.hours))
    initial = np.array([s.initial_storage_mwh for s in res])
    return initial[:, None] + np.cumsum(inflow - generation_mwh - spill_mwh, axis=1)


def _reservoir_positions(ix: ModelIndex) -> list[int]:
    """Positions of the reservoirs among the instance's supplies (rows of generation_mw)."""
    return [k for k, s in enumerate(ix.inst.supply) if s.reservoir]


def reservoir_columns(ix: ModelIndex, col_slices: dict[str, slice], x: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Reservoir generation and spill (reservoir × hour, MWh) read from a solution vector."""
    H = len(ix.hours)
    generation = x[col_slices["generation_mw"]].reshape(-1, H)[_reservoir_positions(ix)]
    return generation, x[col_slices["spill_mwh"]].reshape(-1, H)


def _block_rows(ix: ModelIndex, col_slices: dict[str, slice], k: int, position: int, b: int,
                rows: tuple[list[str], list[float], list[float]],
                entries: list[tuple[int, int, float]]) -> None:
    """Append to (names, lower, upper) and entries (row, column, coefficient) the storage_level
    rows of reservoir k (supply number ``position``) for the hours of block b but its last
    (that level is storage_mwh[r,b])."""
    names, lower, upper = rows
    s = ix.inst.supply[position]
    H, hours = len(ix.hours), ix.storage_blocks[b]
    generation = col_slices["generation_mw"].start + position * H
    spill = col_slices["spill_mwh"].start + k * H
    previous = col_slices["storage_mwh"].start + k * len(ix.storage_blocks) + b - 1
    inflow = np.cumsum(s.inflow_mwh[hours.start:hours.stop])
    for i, t in enumerate(hours[:-1]):
        row = len(names)
        names.append(f"storage_level[{s.name},{t}]")
        lower.append(-float(inflow[i]) - (s.initial_storage_mwh if b == 0 else 0.0))
        upper.append(lower[-1] + s.storage_mwh)
        if b > 0:
            entries.append((row, previous, 1.0))
        for tau in hours[:i + 1]:
            entries.append((row, generation + tau, -1.0))
            entries.append((row, spill + tau, -1.0))


def storage_level_rows(ix: ModelIndex, col_slices: dict[str, slice], x: np.ndarray,
                       refined: set[tuple[int, int]]) -> RowBlock | None:
    """storage_level[r,t] for every hour t inside a block b where the level left its bounds:

        0 ≤ storage[r,b−1] + Σ_{τ∈b, τ≤t} (inflow[r,τ] − generation[r,τ] − spill[r,τ]) ≤ size_r

    (storage[r,−1] = the initial level). The whole block gets its rows, so the next solve
    cannot move the violation to a neighbouring hour. ``refined`` holds the (reservoir, block)
    pairs added so far and is updated; None when no level is out of bounds."""
    size = np.array([s.storage_mwh for s in ix.inst.supply if s.reservoir])
    if not size.size:
        return None
    level = reservoir_levels(ix, *reservoir_columns(ix, col_slices, x))
    tol = (LEVEL_TOL * size + 1e-6)[:, None]
    out = (level > size[:, None] + tol) | (level < -tol)
    rows: tuple[list[str], list[float], list[float]] = ([], [], [])
    entries: list[tuple[int, int, float]] = []
    for k, position in enumerate(_reservoir_positions(ix)):
        for b, hours in enumerate(ix.storage_blocks):
            if (k, b) not in refined and out[k, hours.start:hours.stop].any():
                refined.add((k, b))
                _block_rows(ix, col_slices, k, position, b, rows, entries)
    names, lower, upper = rows
    if not names:
        return None
    r, c, v = zip(*entries, strict=True)
    matrix = sparse.csr_array((v, (r, c)), shape=(len(names), len(x)))
    return RowBlock(names, np.asarray(lower), np.asarray(upper), matrix)
