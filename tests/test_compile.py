"""The planner's own compiler gives exactly the LP that Pyomo's standard-form compiler gives."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyomo.environ as pyo
import pytest
from pyomo.repn.plugins.standard_form import LinearStandardFormCompiler

import planner
from planner.model import build_model
from planner.solve import compile_lp

HERE = Path(__file__).resolve().parent
INSTANCES = [HERE / "instances" / "features.yaml", HERE.parent / "instances" / "teaching" / "hand.yaml",
             HERE.parent / "instances" / "teaching" / "three-zones-day.yaml"]


def _index_of(m: pyo.ConcreteModel, slices: dict, ctype) -> dict[int, int]:
    """id(data object) → position in the planner's compiled LP."""
    out = {}
    for comp in m.component_objects(ctype, active=True):
        start = slices[comp.name].start
        for k, data in enumerate(comp.values()):
            out[id(data)] = start + k
    return out


@pytest.mark.parametrize("path", INSTANCES, ids=lambda p: p.stem)
def test_same_rows_columns_and_costs(path):
    m, _ = build_model(planner.load_instance(path))
    ours = compile_lp(m)
    ref = LinearStandardFormCompiler().write(m, mixed_form=True, set_sense=None)
    col = _index_of(m, ours.col_slices, pyo.Var)
    row = _index_of(m, ours.row_slices, pyo.Constraint)
    perm = np.array([col[id(v)] for v in ref.columns])

    cost = np.zeros(len(ours.cost))
    cost[perm] = ref.c.toarray().ravel()
    np.testing.assert_allclose(ours.cost, cost, rtol=1e-12, atol=1e-9)

    a_ref = ref.A.tocsr()
    a_ours = ours.matrix.tocsr()
    assert len(ref.rows) == a_ours.shape[0]  # no ranged rows: one Pyomo row per planner row
    for i, entry in enumerate(ref.rows):
        r = row[id(entry.constraint)]
        dense_ref = np.zeros(a_ours.shape[1])
        dense_ref[perm[a_ref[[i]].indices]] = a_ref[[i]].data
        np.testing.assert_allclose(a_ours[[r]].toarray().ravel(), dense_ref, rtol=1e-12, atol=1e-12)
        bound = ours.row_upper[r] if entry.bound_type >= 0 else ours.row_lower[r]
        assert bound == pytest.approx(ref.rhs[i], rel=1e-12, abs=1e-9)
        if entry.bound_type == 0:
            assert ours.row_lower[r] == ours.row_upper[r]

    for v in ref.columns:
        j = col[id(v)]
        assert ours.col_lower[j] == (v.lb if v.lb is not None else -np.inf)
        assert ours.col_upper[j] == (v.ub if v.ub is not None else np.inf)
