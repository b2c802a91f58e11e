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
when the point gains at least a tenth of the gain the master predicted; Δ halves otherwise
(also after a point without a solution, cut off by a feasibility cut).
The cuts bound V from above, so a master that predicts at most GAP_TOLERANCE × |V(ĝ)| over the
box makes ĝ optimal within the box to that tolerance, and (V being concave) near-optimal
globally; the proof that is checked is the duals'.

The reported duals combine the points' duals with the master's cut multipliers α (Σ α_k = 1):
ȳ = Σ α_k y_k satisfies every dual row of the full LP except the grants', whose reduced costs
are Σ α_k d_k. ``dual_bound`` turns ȳ into a bound on the optimum of the full LP; the solve is
accepted only if that bound is within DUALITY_TOLERANCE of V(ĝ), else the full LP is solved
(``DecompositionFailed``). ``grant_dual_residual`` reports how far the grants' reduced costs
are from complementary slackness: the NOK they would still gain by moving each grant to the
bound their sign points to, relative to |V| (0 for an optimal dual).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import chain

import highspy
import numpy as np
from scipy import sparse

from planner.errors import InfeasibleError, SolverLimitError, UnboundedError
from planner.model.lazy import RowBlock
from planner.solve import (
    INF,
    CompiledLP,
    Solution,
    SolverOptions,
    extend_lp,
    new_highs,
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
FIRST_POINT_TRIES = 20
"""Grant points tried, each cut off by a feasibility cut, before the first point is given up."""
START_RADIUS = 0.25
"""First trust-region half-width, as a share of each grant's range (measured on the Norway
year: 0.25 reaches the optimum in about 23 points from the requests)."""
START_RADIUS_REBUILT = 1 / 32
"""First half-width from ``start`` (an earlier model's optimum, after a policy with new
connection terms, or the coarse optimum): large steps from a point already near the optimum
cost 30–60 s each on the Norway year; from the coarse optimum, 1/4, 1/8 and 1/32 took 72, 56
and 48 s against 55 s with 1/16 (session 9, README, Performance). In session 10 1/32 took the
same solve to 19 points and 175 951 iterations in 37.6 s of hourly solve, against 18 points
and 182 906 iterations in 55.4 s with 1/16 (cheaper iterations, one row-generation round
instead of two; 1/64: 16 points, 176 643 iterations, 55.8 s); compare took 393.2 s against
381.1–472.7 s (status quo 48.5 s against 66.0–78.2 s; `first_come_first_served` 126.6 s
against 99.8–108.3 s).
Measured on the same model's best grants, not on a rebuilt one (none of the Norway policies
changes connection terms): from the `market` optimum, `flexible_mining`'s first stage took
117 s with 1/16 against 230 s with 1/4, but after new weights 1/16 made `value_creation` and
`market` about 4 × slower, so the same model's grants keep START_RADIUS."""

HELD_RADIUS = 1 / 256
"""First half-width of the solve after a hold on the objective (``hold_objective``: a tier held
by a row): the grants that keep the held value within its tolerance lie close around the best
ones, and wider first steps are points without a solution. On the Norway year
`flexible_mining`'s tier 2 took 3.8 s so, against 7.5 s with START_RADIUS (seven such points in
a row, the box halving each time) and 5.3 s with 1/64; `first_come_first_served`'s final stage
(after tier 25's hold) was unchanged (2.7–3.0 s)."""

EDGE_PULL = 1e-3
"""Share of the way back to the best point at which a point on the edge of the cuts without a
solution (rounding) is tried again (``_just_inside``)."""

POOL_SIZE = 4
"""Cost vectors whose cuts are kept for a later solve with the same costs (``Pool``), most
recently used first."""

DUAL_ZERO = 1e-9
"""Duals (NOK per unit) treated as 0 when the bound they prove is computed (``dual_bound``)."""


RAY_ZERO = 1e-9
"""Entries of a dual ray (scaled to largest 1) and of its reduced costs treated as 0 when a
feasibility cut is made: rounding noise that would pair with an infinite bound. Dropping them
can make the cut invalid by about this share of the columns' values; a wrong stop that causes
is caught by the duality check (DUALITY_TOLERANCE)."""


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


@dataclass
class FeasibilityCut:
    """slope·g ≤ limit at every grant point whose subproblem has a solution, proved by the row
    multipliers y (all rows of the full LP; ``_add_feasibility_cut``)."""

    slope: np.ndarray
    limit: float
    y: np.ndarray


@dataclass
class Pool:
    """The cuts (points) of a solve, kept for later solves with the same costs: a cut bounds V
    of the LP it was made in and of every tighter LP (the same rows and more, no bound wider),
    so ``fits`` compares the bounds then (``bounds``: column lower, upper, row lower, upper)."""

    points: list[Point]
    bounds: Bounds

    def fits(self, lp: CompiledLP) -> bool:
        """``lp`` is at least as tight as the LP the cuts were made in."""
        return _tighter_or_equal(_bounds(lp), self.bounds)


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
        self.a_fixed = csr[:, self.fixed_grants]
        self.master_rows = np.zeros(0, dtype=np.int64)
        """Rows added on grants alone (a policy's reserve margin): rows of the master."""
        self.highs = self._subproblem(a_others[self.sub_rows].tocsc())
        self.points: list[Point] = []
        self.feasibility: list[FeasibilityCut] = []
        self.best: Point | None = None
        self.start: np.ndarray | None = None
        """Grants to try first while there are no best grants: an earlier model's optimum, or
        the optimum of the instance averaged over periods (planner/api.py ``coarse_grants``)."""
        self.held = False
        """A hold on the objective came since the last solve: the next starts at HELD_RADIUS."""
        self.pools: OrderedDict[bytes, Pool] = OrderedDict()
        """Cuts of earlier solves by their costs (``_cost_key``), at most POOL_SIZE."""
        self.solve_s = 0.0
        self.iterations = 0
        self.runs = 0
        """HiGHS runs of the subproblem so far (a probe that fails restores the basis if any)."""
        self._sent_rows: BoundPair | None = None
        self._sent_cols: BoundPair | None = None
        """The subproblem's row and column bounds HiGHS holds (``_send``)."""

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
        shift = self.a_grants @ grants + self.a_fixed @ lp.col_lower[self.fixed_grants]
        rows = self.sub_rows
        self._sent_rows = _send(h.changeRowsBounds, self._sent_rows,
                                lp.row_lower[rows] - shift[rows], lp.row_upper[rows] - shift[rows])
        row_low, row_up = self._bounds_from_rows(shift)
        col_low, col_up = lp.col_lower[self.others].copy(), lp.col_upper[self.others].copy()
        np.maximum.at(col_low, self.bound_col, row_low)
        np.minimum.at(col_up, self.bound_col, row_up)
        if np.any(col_low > col_up + 1e-9 * np.maximum(1.0, np.abs(col_up))):
            raise DecompositionFailed
        # rounding may cross two rows that pin a column: HiGHS gets the lower value as both
        # bounds, the duals are attributed against the bounds the rows set (_point)
        self._sent_cols = _send(h.changeColsBounds, self._sent_cols, col_low,
                                np.maximum(col_low, col_up))
        if self.options.time_limit_s is not None:
            h.setOptionValue("time_limit", max(self.options.time_limit_s - self.solve_s, 0.0))
        start = time.perf_counter()
        try:
            self.runs += 1
            sub = run_highs(h, self.lp)
        except InfeasibleError:
            self.solve_s += time.perf_counter() - start
            self.iterations += h.getInfo().simplex_iteration_count  # the proof's are spent too
            self._add_feasibility_cut(grants, row_low, row_up, col_low, col_up)
            raise DecompositionFailed from None
        except UnboundedError:  # the full LP tells more
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
        y += self._bound_row_multipliers(sub.col_dual, row_low, row_up, col_low, col_up)
        value = sub.objective + lp.cost[self.grants] @ grants + lp.cost[self.fixed_grants] @ \
            lp.col_lower[self.fixed_grants] + lp.offset
        slope = lp.cost[self.grants] - self.a_grants.T @ y
        return Point(grants.copy(), float(value), slope, x, y)

    def _bound_row_multipliers(self, col_mult: np.ndarray, row_low, row_up, col_low, col_up
                               ) -> np.ndarray:
        """Multipliers of the bound rows (all rows of the full LP, 0 elsewhere) from the
        subproblem's column multipliers (reduced costs, or a dual ray's): a column's multiplier
        belongs to the bound row that set the bound it pairs with (lower where negative, as in
        ``dual_bound``; the first such row when several coincide); at the column's own bound
        it stays with the column."""
        lp = self.lp
        mult = col_mult[self.bound_col]
        own_low = lp.col_lower[self.others][self.bound_col]
        own_up = lp.col_upper[self.others][self.bound_col]
        binding = np.where(mult < 0, (row_low == col_low[self.bound_col]) & (row_low > own_low),
                           (row_up == col_up[self.bound_col]) & (row_up < own_up)) & (mult != 0)
        candidates = np.flatnonzero(binding)
        _, first = np.unique(self.bound_col[candidates], return_index=True)
        chosen = candidates[first]
        y = np.zeros(len(lp.row_lower))
        y[self.bound_rows[chosen]] = mult[chosen] / self.bound_coef[chosen]
        return y

    def _add_feasibility_cut(self, grants, row_low, row_up, col_low, col_up) -> None:
        """After a subproblem without a solution: the cut slope·g ≤ limit from HiGHS's dual
        ray, kept if it cuts off ``grants``. The cut is valid whatever the multipliers are
        (``_cut``); the ray (with its column part moved to the bound rows as the duals are)
        makes it cut off the point. Both signs are tried, as the ray's convention is HiGHS's."""
        lp = self.lp
        _, has_ray, ray = self.highs.getDualRay()
        if not has_ray or not np.any(ray):
            return
        ray = np.asarray(ray) / np.max(np.abs(ray))
        ray[np.abs(ray) < RAY_ZERO] = 0.0
        for sign in (1.0, -1.0):
            y = np.zeros(len(lp.row_lower))
            y[self.sub_rows] = sign * ray
            y += self._bound_row_multipliers(-(lp.matrix.T @ y)[self.others], row_low, row_up,
                                             col_low, col_up)
            cut = self._cut(y, RAY_ZERO, self.points)
            if cut.slope @ grants - cut.limit > 1e-9 * (1.0 + abs(cut.limit)
                                                       + np.abs(cut.slope) @ np.abs(grants)):
                self.feasibility.append(cut)
                return

    def _cut(self, y: np.ndarray, zero: float, solved: list[Point]) -> FeasibilityCut:
        """The feasibility cut row multipliers y prove: with z = −Aᵀy, every feasible (g, x)
        has 0 = y·Ax + z·x ≤ Σ_i max(y_i l_i, y_i u_i) − (A_gᵀy)·g + Σ_{j not a free grant}
        max(z_j lb_j, z_j ub_j), whatever y is. Entries of y and z below ``zero`` are rounding
        (of moving multipliers to rows, or of the duals) and count as 0; the limit is raised
        to meet the points ``solved`` (which meet every valid cut: one they miss is that
        rounding)."""
        lp = self.lp
        others = np.r_[self.others, self.fixed_grants]
        y = np.where(np.abs(y) > zero, y, 0.0)  # rounding that would pair with an infinite bound
        z = -(lp.matrix.T @ y)
        z[np.abs(z) < zero] = 0.0
        slope = -z[self.grants]
        limit = _pairing(y, lp.row_lower, lp.row_upper) + \
            _pairing(z[others], lp.col_lower[others], lp.col_upper[others])
        return FeasibilityCut(slope, max([limit, *(slope @ p.grants for p in solved)]), y)

    def hold_objective(self, rows: np.ndarray) -> None:
        """Rows just added that hold the present objective: their coefficient rows sum to the
        present costs (a tier's hold row, with those of the earlier tiers held by rows; where
        they do not, on columns of tiers held by fixed columns or by filled energy windows, or
        shared by two tiers, the cuts are valid but weaker) and later solves keep their lower
        bounds L. Every later solution then has c·x ≥ Σ L, while each point k's cut gives
        c·x ≤ V_k − offset + d_k·(g − g_k): so the points become feasibility cuts on the
        grants, proved by y_k − Σ_{rows} e_i (``_cut``), and the master knows from the start
        which grants would lose the held value. Of the points, only the best meets the holds
        (it is the solution they hold). The next solve starts with the box at HELD_RADIUS."""
        self.held = True
        for p in self.points:
            y = p.y.copy()
            y[rows] -= 1.0
            cut = self._cut(y, DUAL_ZERO, [self.best] if self.best else [])
            if np.isfinite(cut.limit):
                self.feasibility.append(cut)

    # -- the master -------------------------------------------------------------------------

    def _master(self, center: np.ndarray, radius: float
                ) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """max θ over the cuts, the feasibility cuts and the master rows within the box around
        ``center``: (θ, grants, cut multipliers α ≥ 0 with Σ α = 1, duals of the feasibility
        cuts and master rows)."""
        lp, n = self.lp, self.grants.size
        low, up = lp.col_lower[self.grants], lp.col_upper[self.grants]
        h = new_highs()
        # without cuts θ is held at 0: the master then finds grants that meet the rest
        h.addVars(n + 1, np.r_[np.maximum(low, center - radius * (up - low)), -INF],
                  np.r_[np.minimum(up, center + radius * (up - low)), INF if self.points else 0.0])
        h.changeColCost(n, 1.0)
        h.changeObjectiveSense(highspy.ObjSense.kMaximize)
        every = np.arange(n + 1, dtype=np.int32)
        for p in self.points:  # θ − d·g ≤ V − d·g_k
            h.addRow(-INF, p.value - p.slope @ p.grants, n + 1, every, np.r_[-p.slope, 1.0])
        for f in self.feasibility:
            h.addRow(-INF, f.limit, n, every[:n], f.slope)
        rows = self.master_rows
        if rows.size:  # l − A_fixed g_fixed ≤ A_g g ≤ u − A_fixed g_fixed
            shift = self.a_fixed[rows] @ lp.col_lower[self.fixed_grants]
            block = sparse.csr_array(self.a_grants[rows])
            h.addRows(rows.size, lp.row_lower[rows] - shift, lp.row_upper[rows] - shift,
                      block.nnz, block.indptr.astype(np.int32), block.indices.astype(np.int32),
                      block.data)
        h.run()
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise DecompositionFailed
        sol = h.getSolution()
        duals = np.asarray(sol.row_dual)
        cuts = len(self.points)
        return (h.getInfo().objective_function_value, np.asarray(sol.col_value)[:n],
                duals[:cuts], duals[cuts:])

    def _meets_master_rows(self, grants: np.ndarray) -> bool:
        rows, lp = self.master_rows, self.lp
        value = self.a_grants[rows] @ grants + self.a_fixed[rows] @ lp.col_lower[self.fixed_grants]
        slack = 1e-9 * np.maximum(1.0, np.abs(value))
        return bool(np.all(value >= lp.row_lower[rows] - slack)
                    and np.all(value <= lp.row_upper[rows] + slack))

    def _earlier(self) -> list[tuple[np.ndarray, float]]:
        """The grants from before this solve (the best so far, else ``start``) moved into the
        present bounds, with the trust-region half-width to start from there; [] if none."""
        if self.best:
            grants, radius = self.best.grants, HELD_RADIUS if self.held else START_RADIUS
        elif self.start is not None:
            grants, radius = self.start, START_RADIUS_REBUILT
        else:
            return []
        return [(np.clip(grants, self.lp.col_lower[self.grants], self.lp.col_upper[self.grants]),
                 radius)]

    def _first_point(self) -> tuple[Point, float]:
        """The first point: the best grants so far (of an earlier solve, or ``start``, moved
        into the present bounds: the subproblem's basis is there), else where the cuts so far
        put the optimum (``_cut_optimum``), else the requests, else the existing MW, the first
        that meets the master rows and leaves the subproblem a solution (with unserved energy
        allowed, existing MW always does: models/formulation.md §8); else grants that meet the
        feasibility cuts those tries gave (tier holds), until one has a solution. With it, the
        first trust-region half-width: START_RADIUS_REBUILT from ``start``, HELD_RADIUS from the
        best grants after a hold (``hold_objective``), else START_RADIUS."""
        low, up = self.lp.col_lower[self.grants], self.lp.col_upper[self.grants]
        earlier = self._earlier()
        far = bool(earlier) and not self._meets_master_rows(earlier[0][0])
        for grants, radius in chain(earlier, self._cut_optimum(far),
                                    [(up, START_RADIUS), (low, START_RADIUS)]):
            if self._meets_master_rows(grants):
                try:
                    return self.evaluate(grants), radius
                except DecompositionFailed:
                    continue
        for _ in range(FIRST_POINT_TRIES):  # grants that meet every feasibility cut so far
            cuts = len(self.feasibility)
            grants = self._master(low, 1.0)[1]
            try:
                return self.evaluate(grants), START_RADIUS
            except DecompositionFailed:
                if len(self.feasibility) == cuts:
                    break
        raise DecompositionFailed

    def _cut_optimum(self, far: bool) -> Iterator[tuple[np.ndarray, float]]:
        """With cuts from before (taken back from a pool, or kept after rows were added): the
        grants where they, the master rows and the feasibility cuts put the optimum, as a
        first point where the earlier grants miss a new master row (a reserve margin); nothing
        without such cuts. Lazy: the master is solved only if that point is reached. ``far``:
        the earlier grants miss a master row, so the subproblem's basis is at grants the new
        rows cut off, far from these: HiGHS then solves this point from scratch, with its
        presolve (on the Norway year `reserve_margin`'s first point took 3.3–4.2 s and
        67 000 iterations so, against 7.2–8.2 s and 20 000–28 000 iterations from the last
        basis, after `domestic_first` or `first_come_first_served`)."""
        if not self.points:
            return
        try:
            grants = self._master(self.lp.col_lower[self.grants], 1.0)[1]
        except DecompositionFailed:
            return
        if far and self._meets_master_rows(grants):
            self.highs.clearSolver()
        yield grants, START_RADIUS

    def probe(self) -> np.ndarray:
        """The subproblem's solution (all columns) at the best grants so far (or ``start``),
        moved into the present bounds: a solution of the LP (a session's probe needs no more).
        Raises DecompositionFailed if there is no solution there (no grants yet, or they miss
        the master rows or leave the subproblem without one). A probe that finds none (or
        stops at a limit) puts HiGHS back at the basis it started from, where the stage that
        follows a failed probe starts better: on the Norway year
        `first_come_first_served`'s tier 25 took 2.9 s for its first point against 18–20 s from
        where the probe stopped, the policy (after the status quo) 84.9 s against 92.9–105.7 s.
        (Points within a solve are not restored: after an infeasible point the next is most
        often infeasible too, and proved so faster from where the last proof stopped;
        `flexible_mining`'s tier 2 took 18.4 s with its points restored, against 12.0 s.)"""
        earlier = self._earlier()
        if not earlier or not self._meets_master_rows(grants := earlier[0][0]):
            raise DecompositionFailed
        basis, runs = self.highs.getBasis(), self.runs
        try:
            return self.evaluate(grants).x
        except (DecompositionFailed, SolverLimitError):
            # HiGHS has left the basis if it ran (a point whose bounds cross fails before):
            # a new basis costs it a new factorisation, comparing the two 0.27 s a probe on the
            # Norway year; should HiGHS refuse the basis, it keeps its own, a valid start too
            if self.runs != runs and basis.valid:
                self.highs.setBasis(basis)
            raise

    def solve(self, keep: bool = True) -> Solution:
        """Points until the master predicts no gain beyond GAP_TOLERANCE (module docstring)
        and the combined duals prove it (else the box, not the cuts, held the master: it
        widens fourfold, or to the grants' own bounds if the last widening brought no new
        point or cut; it gives up if that brings none either). A point whose subproblem has no
        solution gives a feasibility cut (from HiGHS's dual ray) or, failing that, is a
        rejected step, where the solve also stops if the duals prove the best point within
        DUALITY_TOLERANCE, else tries the point just inside it (``_just_inside``); unless a
        point gains (below), the box halves (one ray cuts off one face of the grants
        a tier's hold allows; a wide box lets the next point go beyond another). Below
        MIN_RADIUS the decomposition gives up (DecompositionFailed). The points kept since the
        last edit that could loosen the LP (``forget``) stay cuts, so a call after rows were
        added resumes from the best point.
        ``keep``: keep them for later solves with the same costs (``_keep_pool``)."""
        self._restore_pool()
        wall, iterations, points = time.perf_counter(), self.iterations, len(self.points)
        try:
            best, radius = self._first_point()
        finally:
            self.held = False
        self.points.append(best)
        unproved = whole_box = None
        while True:
            bound, grants, multipliers, master_duals = self._master(best.grants, radius)
            if bound - best.value <= GAP_TOLERANCE * max(1.0, abs(best.value)):
                try:
                    sol = self._solution(best, bound, multipliers, master_duals,
                                         time.perf_counter() - wall)
                    break
                except DecompositionFailed:  # the box, not the cuts, may have held the master
                    learnt = (len(self.points), len(self.feasibility))
                    if radius >= 1.0 or learnt == whole_box:
                        raise
                    if learnt == unproved:  # widening taught nothing: the grants' own bounds
                        radius, whole_box = 1.0, learnt
                    else:
                        radius, unproved = min(1.0, 4 * radius), learnt
                    continue
            cuts = len(self.feasibility)
            try:
                point = self.evaluate(grants)
            except DecompositionFailed:
                point = None
                # no cut separates it (it misses the LP by rounding, at the edge of the cuts,
                # as where a tier's hold binds): stop if the duals already prove the best,
                # else try just inside the edge
                if len(self.feasibility) == cuts:
                    if bound - best.value <= DUALITY_TOLERANCE * max(1.0, abs(best.value)):
                        try:
                            sol = self._solution(best, bound, multipliers, master_duals,
                                                 time.perf_counter() - wall)
                            break
                        except DecompositionFailed:
                            pass
                    point = self._just_inside(best, grants)
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
        if keep:
            self._keep_pool()
        sol.iterations = {"simplex": self.iterations - iterations,
                          "grant_points": len(self.points) - points}
        return sol

    def _just_inside(self, best: Point, grants: np.ndarray) -> Point | None:
        """The point EDGE_PULL of the way back from ``grants`` (on the edge of the cuts, where
        rounding left the subproblem without a solution) to the best point; None if it has
        none either. The grants with a solution are a convex set that holds the best point
        and, but for rounding, ``grants``: the point between lies inside it by a margin."""
        try:
            return self.evaluate(best.grants + (1.0 - EDGE_PULL) * (grants - best.grants))
        except DecompositionFailed:
            return None

    def _solution(self, best: Point, bound: float, multipliers: np.ndarray,
                  master_duals: np.ndarray, wall_s: float) -> Solution:
        """The best point as a Solution of the full LP, with the combined duals (and the
        master's duals on the master rows); raises DecompositionFailed unless those duals
        prove the objective to DUALITY_TOLERANCE."""
        lp = self.lp
        weights = np.clip(multipliers, 0.0, None)
        if not abs(weights.sum() - 1.0) <= 1e-6:
            raise DecompositionFailed
        weights /= weights.sum()
        row_dual = sum(w * p.y for w, p in zip(weights, self.points, strict=True) if w > 0)
        feasibility, master = np.split(master_duals, [len(self.feasibility)])
        for beta, f in zip(feasibility, self.feasibility, strict=True):
            row_dual = row_dual + beta * f.y
        row_dual[self.master_rows] = master
        col_dual = lp.cost - lp.matrix.T @ row_dual
        low, up = lp.col_lower[self.grants], lp.col_upper[self.grants]
        grant_dual = col_dual[self.grants]
        # NOK the reduced costs would still gain by moving each grant to the bound they point to
        residual = np.maximum(grant_dual, 0) @ (up - best.grants) + \
            np.maximum(-grant_dual, 0) @ (best.grants - low)
        scale = max(1.0, abs(best.value))
        duality_gap = (dual_bound(lp, row_dual, col_dual) - best.value) / scale
        if not duality_gap <= DUALITY_TOLERANCE:
            raise DecompositionFailed
        return Solution(
            objective=best.value, x=best.x, row_dual=row_dual, col_dual=col_dual, lp=lp,
            status="optimal", solver=f"HiGHS {self.highs.version()} (simplex, grant decomposition)",
            timings={"solve_s": wall_s}, iterations={},
            quality={"relative_gap": (bound - best.value) / scale, "duality_gap": duality_gap,
                     "grant_dual_residual": float(residual) / scale})

    # -- cuts kept for later solves with the same costs ----------------------------------------

    def _cost_key(self) -> bytes:
        return hashlib.sha1(self.lp.cost.tobytes() + np.float64(self.lp.offset).tobytes()).digest()

    def knows_costs(self) -> bool:
        """Does a pool hold the cuts of an earlier solve with the present costs?"""
        return self._cost_key() in self.pools

    def restart(self, grants: np.ndarray) -> None:
        """The next solve starts at these grants (with START_RADIUS_REBUILT), not at the best
        so far; the subproblem keeps its basis and the cuts stay."""
        self.best, self.start, self.held = None, grants, False

    def _keep_pool(self) -> None:
        """Keep this solve's cuts under its costs, unless the pool there holds cuts of an LP
        that is not at least as tight as this one (they fit more later LPs, or others)."""
        key, bounds = self._cost_key(), _bounds(self.lp)
        kept = self.pools.get(key)
        if kept is None or _tighter_or_equal(kept.bounds, bounds):
            self.pools[key] = Pool(list(self.points), tuple(b.copy() for b in bounds))
        self.pools.move_to_end(key)
        while len(self.pools) > POOL_SIZE:
            self.pools.popitem(last=False)

    def _restore_pool(self) -> None:
        """With no cuts (after new costs or a looser LP), take back those of an earlier solve
        with these costs if the LP is at least as tight as theirs (``Pool.fits``); each
        point's duals get 0 for the rows added since."""
        if self.points or (pool := self.pools.get(self._cost_key())) is None \
                or not pool.fits(self.lp):
            return
        rows = len(self.lp.row_lower)
        for p in pool.points:
            p.y = np.r_[p.y, np.zeros(rows - len(p.y))]
        self.points = list(pool.points)

    # -- edits between solves (rows added after a solve, a policy's changes) -------------------

    def forget(self, costs_only: bool = False, pools: bool = False) -> None:
        """Drop the cuts: after an edit that may loosen the LP or changes its costs they no
        longer bound V (feasibility cuts hold until the LP loosens); ``pools``: those kept
        for later solves too (a solve that failed with them). The best grants stay as the
        next solve's first point."""
        self.points = []
        if not costs_only:
            self.feasibility = []
        if pools:
            self.pools.clear()

    def reset(self) -> None:
        """Forget everything learnt: the next solve starts cold, as a new decomposition."""
        self.forget()
        self.best, self.start, self.held = None, None, False
        self.pools.clear()
        self.highs.clearSolver()

    def set_costs(self, cost: np.ndarray) -> None:
        """New column costs (a policy's weights); the cuts are dropped unless the costs are
        the same."""
        if np.array_equal(cost, self.lp.cost):
            return
        self.lp.cost = cost.copy()
        self.highs.changeColsCost(self.others.size, np.arange(self.others.size, dtype=np.int32),
                                  self.lp.cost[self.others])
        self.forget(costs_only=True)

    def set_col_bounds(self, cols: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds on columns (a free grant's are the master's box); the cuts are dropped
        unless the bounds only tighten. Grants fixed when the decomposition was made must
        stay fixed."""
        looser = _looser(self.lp.col_lower[cols], self.lp.col_upper[cols], lower, upper)
        self.lp.col_lower[cols], self.lp.col_upper[cols] = lower, upper
        fixed = self.fixed_grants
        if np.any(self.lp.col_lower[fixed] != self.lp.col_upper[fixed]):
            raise ValueError("a grant fixed when the decomposition was made cannot be freed")
        if looser:
            self.forget()

    def set_row_bounds(self, rows: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> None:
        """New bounds on rows (read at every point); the cuts are dropped unless the bounds
        only tighten."""
        looser = _looser(self.lp.row_lower[rows], self.lp.row_upper[rows], lower, upper)
        self.lp.row_lower[rows], self.lp.row_upper[rows] = lower, upper
        if looser:
            self.forget()

    def restore_feasibility(self, cuts: list[FeasibilityCut]) -> None:
        """Feasibility cuts made before edits that have since been undone (a probe's fixes):
        they hold again, as the LP is what they were made for, or tighter (rows appended
        since get multiplier 0)."""
        rows = len(self.lp.row_lower)
        for f in cuts:
            f.y = np.r_[f.y, np.zeros(rows - len(f.y))]
        self.feasibility = list(cuts)

    def add_row(self, lower: float, upper: float, cols: np.ndarray, coefs: np.ndarray) -> int:
        """Append lower ≤ coefs·x[cols] ≤ upper (a policy's limit or a tier's hold) and return
        its index in the LP."""
        n = len(self.lp.cost)
        matrix = sparse.csr_array((coefs, (np.zeros(len(cols), dtype=np.int64), cols)),
                                  shape=(1, n))
        self.append(RowBlock([], np.array([lower], float), np.array([upper], float), matrix))
        return len(self.lp.row_lower) - 1

    def append(self, block: RowBlock, family: str | None = None) -> None:
        """Append rows to the LP: rows on grants alone to the master, every other row to the
        subproblem (with the grants' part moved to its bounds at each point). The cuts stay
        valid, as the LP only gets tighter; each point's duals get 0 for the new rows.
        ``family`` names the rows in the compiled LP (as ``extend_lp``); without it they are
        the decomposition's own (its LP then holds rows the model does not name)."""
        csr = block.matrix.tocsr()
        sub = csr[:, self.others].tocsr()
        first = len(self.lp.row_lower)
        new = np.arange(first, first + sub.shape[0])
        on_others = np.diff(sub.indptr) > 0
        extend_lp(self.lp, family, block)
        kept = sub[on_others]
        self.highs.addRows(kept.shape[0], block.lower[on_others], block.upper[on_others],
                           kept.nnz, kept.indptr.astype(np.int32),
                           kept.indices.astype(np.int32), kept.data)
        self.sub_rows = np.r_[self.sub_rows, new[on_others]]
        self.master_rows = np.r_[self.master_rows, new[~on_others]]
        self.a_grants = sparse.vstack([self.a_grants, csr[:, self.grants]]).tocsr()
        self.a_fixed = sparse.vstack([self.a_fixed, csr[:, self.fixed_grants]]).tocsr()
        for p in [*self.points, *self.feasibility]:
            p.y = np.r_[p.y, np.zeros(sub.shape[0])]


def dual_bound(lp: CompiledLP, row_dual: np.ndarray, col_dual: np.ndarray) -> float:
    """The bound on the optimum that row duals y and reduced costs z = c − Aᵀy prove: for any
    feasible x, c·x = y·Ax + z·x ≤ Σ_i max(y_i u_i, y_i l_i) + Σ_j max(z_j ub_j, z_j lb_j)
    (+ offset); +inf where a dual pairs with an infinite bound. Equal to the optimum for an
    optimal dual, so bound − objective measures how far a solution may be from optimal. Duals
    below DUAL_ZERO (NOK per unit) count as 0, as in the solver's own tolerances."""
    def small_to_zero(dual):
        return np.where(np.abs(dual) > DUAL_ZERO, dual, 0.0)
    return (_pairing(small_to_zero(row_dual), lp.row_lower, lp.row_upper)
            + _pairing(small_to_zero(col_dual), lp.col_lower, lp.col_upper) + lp.offset)


Bounds = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
"""An LP's column lower, column upper, row lower and row upper bounds."""


def _bounds(lp: CompiledLP) -> Bounds:
    return lp.col_lower, lp.col_upper, lp.row_lower, lp.row_upper


def _tighter_or_equal(bounds: Bounds, than: Bounds) -> bool:
    """An LP with ``bounds`` (the rows of ``than`` first, maybe more: rows only tighten) lets
    in no value that one with ``than`` does not (``_looser``)."""
    col_low, col_up, row_low, row_up = bounds
    than_col_low, than_col_up, than_row_low, than_row_up = than
    rows = than_row_low.size
    return row_low.size >= rows and not (
        _looser(than_col_low, than_col_up, col_low, col_up)
        or _looser(than_row_low, than_row_up, row_low[:rows], row_up[:rows]))


def _looser(lower: np.ndarray, upper: np.ndarray, new_lower: np.ndarray, new_upper: np.ndarray
            ) -> bool:
    """Some new bound lets in values the old ones did not: cuts made before may not hold."""
    return bool(np.any(new_lower < lower) or np.any(new_upper > upper))


BoundPair = tuple[np.ndarray, np.ndarray]
"""Lower and upper bounds of a set of rows or columns."""


def _send(change: Callable[..., object], held: BoundPair | None, lower: np.ndarray,
          upper: np.ndarray) -> BoundPair:
    """Give HiGHS (``change``: changeRowsBounds or changeColsBounds) only the bounds that
    differ from those it holds (all of them if unknown or if rows were added since), and
    return the new ones."""
    if held is None or held[0].size != lower.size:
        idx = np.arange(lower.size, dtype=np.int32)
    else:
        idx = np.flatnonzero((held[0] != lower) | (held[1] != upper)).astype(np.int32)
    if idx.size:
        change(idx.size, idx, lower[idx], upper[idx])
    return lower, upper


def _pairing(mult: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """max of mult·s over lower ≤ s ≤ upper: each multiplier with the bound its sign picks."""
    with np.errstate(invalid="ignore"):
        terms = np.where(mult > 0, mult * upper, np.where(mult < 0, mult * lower, 0.0))
    return float(np.sum(terms))
