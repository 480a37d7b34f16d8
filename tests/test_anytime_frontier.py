"""bench/anytime_frontier.py's lower bound is a bound: on a pool small enough to write the
stopping-rule linear programme out in full, the bound never exceeds the programme's optimum
(the least false-PASS chance of any rule meeting the deadlines), comes close to it, and the
deterministic rule the search returns is one the programme allows."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sparse
from scipy.optimize import linprog
from scipy.stats import hypergeom

from bench.anytime_frontier import Frontier, deadlines, frontier
from bench.helpers.yardsticks import clopper_pearson_median


def least_false_pass(problem: Frontier) -> float:
    """The linear programme over stopping rules, solved directly: per state (n labels, u
    unsafe), s = the share of its paths still going, v = the share stopping there."""
    states = [(n, u) for n in range(1, problem.horizon + 1)
              for u in range(min(n, problem.unsafe_cap) + 1)]
    index = {state: i for i, state in enumerate(states)}
    size = len(states)
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    rhs: list[float] = []
    for row, (n, u) in enumerate(states):
        rows.append(row)
        cols.append(index[(n, u)])
        vals.append(1.0)
        start = 0.0
        for before, weight in ((u, (n - u) / n), (u - 1, u / n)):
            if weight == 0 or before < 0:
                continue
            if n == 1:
                start += weight  # the empty path, which never stops
            elif (n - 1, before) in index:
                j = index[(n - 1, before)]
                rows += [row, row]
                cols += [j, size + j]
                vals += [-weight, weight]
        rhs.append(start)
    flows = sparse.csr_matrix((vals, (rows, cols)), shape=(size, 2 * size))
    labels = np.array([n for n, _ in states])
    unsafe = np.array([u for _, u in states])

    def chance(unsafe_in_pool: int) -> np.ndarray:
        pmf: np.ndarray = hypergeom.pmf(unsafe, problem.pool, unsafe_in_pool, labels)
        return pmf

    stop_within = sparse.hstack([-sparse.identity(size), sparse.identity(size)])
    power_rows = [np.concatenate([np.zeros(size), -chance(d.unsafe) * (labels <= d.labels)])
                  for d in problem.targets]
    bounds_matrix = sparse.vstack([stop_within, sparse.csr_matrix(np.array(power_rows))])
    bounds_rhs = np.concatenate([np.zeros(size), -0.5 * np.ones(len(power_rows))])
    objective = np.concatenate([np.zeros(size), chance(problem.null_unsafe)])
    result = linprog(objective, A_ub=bounds_matrix, b_ub=bounds_rhs, A_eq=flows,
                     b_eq=np.array(rhs), bounds=(0, 1), method="highs")
    assert result.status == 0
    return float(result.fun)


@pytest.mark.parametrize(("pool", "threshold", "lowest", "ratio"),
                         [(300, 0.9, 0.95, 1.6), (400, 0.95, 0.97, 1.7)])
def test_the_bound_is_below_the_programmes_optimum_and_close_to_it(
        pool: int, threshold: float, lowest: float, ratio: float) -> None:
    problem = Frontier(pool, threshold, deadlines(pool, threshold, lowest, ratio))
    optimum = least_false_pass(problem)
    found = frontier(pool, threshold, lowest, ratio)
    assert found["any_test"] <= optimum + 1e-4
    assert found["any_test"] >= optimum - 0.002
    assert found["rule_found"] is None or found["rule_found"] >= optimum - 1e-4
    # a rule within the budget stops by the ratio's deadline at the truths it prints
    for truth, median in found["rule_medians"].items():
        assert median is not None
        assert median <= ratio * clopper_pearson_median(float(truth), threshold, 0.95)
