"""The allocation LP solved by decomposition on the grants (Benders cuts, box trust region).

Why: a grant that may take any value between existing and requested MW is one column in every
hourly row of its applicant (demand caps, firm supply, or the zone balance for firm loads). The
Norway year has 15 such columns; they couple all 8 760 hours and make each simplex iteration of
the full LP about 12 × dearer than with the grants fixed (README, Performance). With the grants
fixed, every hourly row that holds one other variable is a bound on it, the LP falls apart into
hour-local pieces joined by the reservoirs, and HiGHS solves it, and re-solves it warm after the
grants move, quickly. models/formulation.md §12 writes the method out:

    full LP:  max c_g·g + c_x·x   s.t.  l ≤ A_g g + A_x x ≤ u,  bounds on g and x
    V(g) = c_g·g + max { c_x·x : l − A_g g ≤ A_x x ≤ u − A_g g, bounds on x }

V is concave and piecewise linear; a point k (grants g_k, optimal row duals y_k of the
subproblem) gives the cut V(g) ≤ V_k + d_k·(g − g_k) with d_k = c_g − A_gᵀ y_k. The master
max θ s.t. θ ≤ every cut, the grant bounds and a box of half-width Δ × (requested − existing)
around the best point ĝ proposes the next point. ĝ moves
when the point gains at least a tenth of the gain the master predicted; Δ halves otherwise.
The cuts bound V from above, so a master that predicts at most GAP_TOLERANCE × |V(ĝ)| over the
box makes ĝ optimal within the box to that tolerance, and (V being concave) near-optimal
globally; the proof that is checked is the duals'.

The reported duals combine the points' duals with the master's cut multipliers α (Σ α_k = 1):
ȳ = Σ α_k y_k satisfies every dual row of the full LP except the grants', whose reduced costs
are Σ α_k d_k. ``dual_bound`` turns ȳ into a bound on the optimum of the full LP; the solve is
accepted only if that bound is within DUALITY_TOLERANCE of V(ĝ), else the full LP is solved
(``DecompositionFailed``). ``grant_dual_residual`` reports how far the grants' reduced costs
are from the signs an optimal dual needs (NOK over each grant's range, relative to |V|).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import highspy
import numpy as np
from scipy import sparse

from planner.errors import InfeasibleError, UnboundedError
from planner.model.lazy import RowBlock
from planner.solve import (
    INF,
    CompiledLP,
    Solution,
    SolverOptions,
    extend_lp,
    run_highs,
    to_highs,
)

GAP_TOLERANCE = 1e-9
"""Largest gain (relative to |V(ĝ)|) the master may still predict when the solve stops."""
DUALITY_TOLERANCE = 1e-7
"""Largest gap (relative to |V(ĝ)|) between the bound the reported duals prove and the
objective: beyond it the full LP is solved instead."""
MIN_RADIUS = 1e-9
"""Trust-region half-width (share of each grant's range) below which the decomposition gives up."""
START_RADIUS = 0.25
"""First trust-region half-width, as a share of each grant's range (measured on the Norway
year: 0.25 reaches the optimum in about 23 points from the requests)."""

DUAL_ZERO = 1e-9
"""Duals (NOK per unit) treated as 0 when the bound they prove is computed (``dual_bound``)."""


class DecompositionFailed(Exception):
    """The decomposition cannot prove an optimum here (rows on grants alone, a subproblem with
    no solution at the first point or no feasible step left, or reported duals that do not
    prove the objective): the caller solves the full LP instead, which also reports an
    infeasible LP with its irreducible set."""


@dataclass
class Point:
    """The subproblem solved at grants g: value V(g), supergradient d, primal x (all columns)
    and row duals y (all rows of the full LP)."""

    grants: np.ndarray
    value: float
    slope: np.ndarray
    x: np.ndarray
    y: np.ndarray


class GrantDecomposition:
    """The full LP split into a master over the free grant columns and a subproblem over the
    rest, held in one persistent HiGHS instance so that every point after the first is a warm
    re-solve."""

    def __init__(self, lp: CompiledLP, grant_cols: np.ndarray, options: SolverOptions):
        self.lp, self.options = lp, options
        free = lp.col_upper[grant_cols] > lp.col_lower[grant_cols]
        self.grants = grant_cols[free]
        self.fixed_grants = grant_cols[~free]
        is_grant = np.zeros(len(lp.cost), bool)
        is_grant[grant_cols] = True
        self.others = np.flatnonzero(~is_grant)
        csr = lp.matrix.tocsr()
        self.a_grants = csr[:, self.grants]
        a_others = csr[:, self.others]
        touched = np.diff(self.a_grants.indptr) > 0
        others_per_row = np.diff(a_others.indptr)
        # rows on grants and one other column become bounds on it; every other row stays a
        # row of the subproblem (rows on grants alone would need master rows: not supported)
        if np.any(touched & (others_per_row == 0)):
            raise DecompositionFailed
        self.bound_rows = np.flatnonzero(touched & (others_per_row == 1))
        self.sub_rows = np.flatnonzero(~touched | (others_per_row > 1))
        picked = a_others[self.bound_rows]
        self.bound_col = picked.indices  # position among self.others, one per bound row
        self.bound_coef = picked.data
        self.fixed_shift = csr[:, self.fixed_grants] @ lp.col_lower[self.fixed_grants]
        self.highs = self._subproblem(a_others[self.sub_rows].tocsc())
        self.points: list[Point] = []
        self.best: Point | None = None
        self.solve_s = 0.0
        self.iterations = 0

    def _subproblem(self, matrix: sparse.csc_array) -> highspy.Highs:
        """The LP over the non-grant columns and the subproblem's rows (bounds set per point)."""
        lp, cols, rows = self.lp, self.others, self.sub_rows
        return to_highs(CompiledLP(
            cost=lp.cost[cols], col_lower=lp.col_lower[cols], col_upper=lp.col_upper[cols],
            row_lower=lp.row_lower[rows], row_upper=lp.row_upper[rows], matrix=matrix,
            offset=0.0, col_slices={}, row_slices={}), self.options)

    # -- the subproblem ---------------------------------------------------------------------

    def _bounds_from_rows(self, shift: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(lower, upper) each bound row puts on its column, with the grants' part moved to
        the right-hand side."""
        rows, coef = self.bound_rows, self.bound_coef
        low = self.lp.row_lower[rows] - shift[rows]
        up = self.lp.row_upper[rows] - shift[rows]
        with np.errstate(invalid="ignore"):  # ±inf / coef
            return np.where(coef > 0, low / coef, up / coef), np.where(coef > 0, up / coef, low / coef)

    def evaluate(self, grants: np.ndarray) -> Point:
        """Solve the subproblem with the free grants at ``grants`` (warm after the first)."""
        lp, h = self.lp, self.highs
        shift = self.a_grants @ grants + self.fixed_shift
        rows = self.sub_rows
        h.changeRowsBounds(rows.size, np.arange(rows.size, dtype=np.int32),
                           lp.row_lower[rows] - shift[rows], lp.row_upper[rows] - shift[rows])
        row_low, row_up = self._bounds_from_rows(shift)
        col_low, col_up = lp.col_lower[self.others].copy(), lp.col_upper[self.others].copy()
        np.maximum.at(col_low, self.bound_col, row_low)
        np.minimum.at(col_up, self.bound_col, row_up)
        if np.any(col_low > col_up + 1e-9 * np.maximum(1.0, np.abs(col_up))):
            raise DecompositionFailed
        # rounding may cross two rows that pin a column: HiGHS gets the lower value as both
        # bounds, the duals are attributed against the bounds the rows set (_point)
        h.changeColsBounds(self.others.size, np.arange(self.others.size, dtype=np.int32),
                           col_low, np.maximum(col_low, col_up))
        if self.options.time_limit_s is not None:
            h.setOptionValue("time_limit", max(self.options.time_limit_s - self.solve_s, 0.0))
        try:
            sub = run_highs(h, self.lp)
        except (InfeasibleError, UnboundedError):  # the full LP tells which
            raise DecompositionFailed from None
        self.solve_s += sub.timings["solve_s"]
        self.iterations += sub.iterations["simplex"]
        return self._point(grants, sub, row_low, row_up, col_low, col_up)

    def _point(self, grants, sub: Solution, row_low, row_up, col_low, col_up) -> Point:
        lp = self.lp
        x = np.empty(len(lp.cost))
        x[self.others] = sub.x
        x[self.grants] = grants
        x[self.fixed_grants] = lp.col_lower[self.fixed_grants]
        y = np.zeros(len(lp.row_lower))
        y[self.sub_rows] = sub.row_dual
        # a column's dual belongs to the bound row that set its binding bound (the first such
        # row when several coincide); at the column's own bound it stays with the column
        col_dual = sub.col_dual[self.bound_col]
        own_low = lp.col_lower[self.others][self.bound_col]
        own_up = lp.col_upper[self.others][self.bound_col]
        binding = np.where(col_dual < 0, (row_low == col_low[self.bound_col]) & (row_low > own_low),
                           (row_up == col_up[self.bound_col]) & (row_up < own_up)) & (col_dual != 0)
        candidates = np.flatnonzero(binding)
        _, first = np.unique(self.bound_col[candidates], return_index=True)
        chosen = candidates[first]
        y[self.bound_rows[chosen]] = col_dual[chosen] / self.bound_coef[chosen]
        value = sub.objective + lp.cost[self.grants] @ grants + lp.cost[self.fixed_grants] @ \
            lp.col_lower[self.fixed_grants] + lp.offset
        slope = lp.cost[self.grants] - self.a_grants.T @ y
        return Point(grants.copy(), float(value), slope, x, y)

    # -- the master -------------------------------------------------------------------------

    def _master(self, center: np.ndarray, radius: float) -> tuple[float, np.ndarray, np.ndarray]:
        """max θ over the cuts within the box around ``center``: (θ, grants, cut multipliers
        α ≥ 0 with Σ α = 1, the duals of the cut rows)."""
        lp, n = self.lp, self.grants.size
        low, up = lp.col_lower[self.grants], lp.col_upper[self.grants]
        h = highspy.Highs()
        h.setOptionValue("output_flag", False)
        h.addVars(n + 1, np.r_[np.maximum(low, center - radius * (up - low)), -INF],
                  np.r_[np.minimum(up, center + radius * (up - low)), INF])
        h.changeColCost(n, 1.0)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        every = np.arange(n + 1, dtype=np.int32)
        for p in self.points:  # θ − d·g ≤ V − d·g_k
            h.addRow(-INF, p.value - p.slope @ p.grants, n + 1, every, np.r_[-p.slope, 1.0])
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise DecompositionFailed
        sol = h.getSolution()
        multipliers = np.asarray(sol.row_dual)[:len(self.points)]
        return h.getInfo().objective_function_value, np.asarray(sol.col_value)[:n], multipliers

    def _first_point(self) -> Point:
        """The first point: the best point of an earlier call (rows were added since), else
        the requests, or the existing MW if the requests leave the subproblem without a
        solution (with unserved energy allowed, existing MW always has one:
        models/formulation.md §8)."""
        low, up = self.lp.col_lower[self.grants], self.lp.col_upper[self.grants]
        if self.best is not None:
            return self.evaluate(self.best.grants)
        try:
            return self.evaluate(up)
        except DecompositionFailed:
            return self.evaluate(low)

    def solve(self) -> Solution:
        """Points until the master predicts no gain beyond GAP_TOLERANCE (module docstring).
        A point whose subproblem has no solution is a rejected step (no feasibility cuts);
        below MIN_RADIUS the decomposition gives up (DecompositionFailed). Earlier points are
        kept, so a call after rows were added resumes from the best point."""
        wall, iterations, points = time.perf_counter(), self.iterations, len(self.points)
        best = self._first_point()
        self.points.append(best)
        radius = START_RADIUS
        while True:
            bound, grants, multipliers = self._master(best.grants, radius)
            if bound - best.value <= GAP_TOLERANCE * max(1.0, abs(best.value)):
                break
            try:
                point = self.evaluate(grants)
            except DecompositionFailed:
                point = None
            if point is not None:
                self.points.append(point)
            if point is not None and point.value >= best.value + 0.1 * (bound - best.value):
                if point.value - best.value >= 0.5 * (bound - best.value):
                    radius = min(1.0, 2 * radius)
                best.x, best = np.empty(0), point  # only the best point's primal is kept
            else:
                if point is not None:
                    point.x = np.empty(0)
                radius /= 2
                if radius < MIN_RADIUS:
                    raise DecompositionFailed
        self.best = best
        sol = self._solution(best, bound, multipliers, time.perf_counter() - wall)
        sol.iterations = {"simplex": self.iterations - iterations,
                          "grant_points": len(self.points) - points}
        return sol

    def _solution(self, best: Point, bound: float, multipliers: np.ndarray,
                  wall_s: float) -> Solution:
        """The best point as a Solution of the full LP, with the combined duals; raises
        DecompositionFailed unless those duals prove the objective to DUALITY_TOLERANCE."""
        lp = self.lp
        weights = np.clip(multipliers, 0.0, None)
        if not abs(weights.sum() - 1.0) <= 1e-6:
            raise DecompositionFailed
        weights /= weights.sum()
        row_dual = sum(w * p.y for w, p in zip(weights, self.points, strict=True) if w > 0)
        col_dual = lp.cost - lp.matrix.T @ row_dual
        low, up = lp.col_lower[self.grants], lp.col_upper[self.grants]
        grant_dual = col_dual[self.grants]
        wrong = np.where(best.grants > low, np.maximum(-grant_dual, 0), 0) + \
            np.where(best.grants < up, np.maximum(grant_dual, 0), 0)
        scale = max(1.0, abs(best.value))
        duality_gap = (dual_bound(lp, row_dual, col_dual) - best.value) / scale
        if not duality_gap <= DUALITY_TOLERANCE:
            raise DecompositionFailed
        return Solution(
            objective=best.value, x=best.x, row_dual=row_dual, col_dual=col_dual, lp=lp,
            status="optimal", solver=f"HiGHS {self.highs.version()} (simplex, grant decomposition)",
            timings={"solve_s": wall_s}, iterations={},
            quality={"relative_gap": (bound - best.value) / scale, "duality_gap": duality_gap,
                     "grant_dual_residual": float(np.max(wrong * (up - low), initial=0)) / scale})

    def add_rows(self, family: str, block: RowBlock) -> None:
        """Rows on non-grant columns found violated after the solve (hourly reservoir levels):
        appended to the subproblem and to the compiled LP. Earlier cuts stay valid (the LP only
        gets tighter), and each point's duals get 0 for the new rows."""
        csr = block.matrix.tocsr()
        if csr[:, np.r_[self.grants, self.fixed_grants]].nnz:
            raise ValueError("rows added to a grant decomposition may not hold grants")
        sub = csr[:, self.others].tocsr()
        self.highs.addRows(sub.shape[0], block.lower, block.upper, sub.nnz,
                           sub.indptr.astype(np.int32), sub.indices.astype(np.int32), sub.data)
        first = len(self.lp.row_lower)
        extend_lp(self.lp, family, block)
        self.sub_rows = np.r_[self.sub_rows, np.arange(first, len(self.lp.row_lower))]
        self.a_grants = sparse.vstack([self.a_grants, sparse.csr_array(
            (sub.shape[0], self.grants.size))]).tocsr()
        self.fixed_shift = np.r_[self.fixed_shift, np.zeros(sub.shape[0])]
        for p in self.points:
            p.y = np.r_[p.y, np.zeros(sub.shape[0])]


def dual_bound(lp: CompiledLP, row_dual: np.ndarray, col_dual: np.ndarray) -> float:
    """The bound on the optimum that row duals y and reduced costs z = c − Aᵀy prove: for any
    feasible x, c·x = y·Ax + z·x ≤ Σ_i max(y_i u_i, y_i l_i) + Σ_j max(z_j ub_j, z_j lb_j)
    (+ offset); +inf where a dual pairs with an infinite bound. Equal to the optimum for an
    optimal dual, so bound − objective measures how far a solution may be from optimal. Duals
    below DUAL_ZERO (NOK per unit) count as 0, as in the solver's own tolerances."""
    def pairing(dual, lower, upper):
        dual = np.where(np.abs(dual) > DUAL_ZERO, dual, 0.0)
        with np.errstate(invalid="ignore"):
            terms = np.where(dual > 0, dual * upper, np.where(dual < 0, dual * lower, 0.0))
        return float(np.sum(terms))
    return (pairing(row_dual, lp.row_lower, lp.row_upper)
            + pairing(col_dual, lp.col_lower, lp.col_upper) + lp.offset)
