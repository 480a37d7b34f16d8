"""Single-proportion intervals, against scipy's reference implementations and exact coverage."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import binom, binomtest, chi2

from auditor.core import intervals

CASES = [(0, 0), (0, 1), (1, 1), (0, 5), (5, 5), (3, 10), (99, 100), (1, 99), (50, 112),
         (1759, 1759)]


@pytest.mark.parametrize(("k", "n"), [c for c in CASES if c[1] > 0])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy_away_from_the_ends(k: int, n: int, confidence: float) -> None:
    ref = binomtest(k, n).proportion_ci(confidence, method="wilson")
    low, high = intervals.wilson(k, n, confidence)
    edge = 2 if n <= 50 else 3
    if not 0 < k <= edge:  # there the lower bound is Brown-Cai-DasGupta's Poisson bound
        assert low == pytest.approx(ref.low, abs=1e-9)
    if not 0 < n - k <= edge:
        assert high == pytest.approx(ref.high, abs=1e-9)


def test_wilson_boundary_modification_is_the_poisson_bound() -> None:
    # 5 of 6: plain Wilson's upper bound 0.97 misses p = 0.97 one time in six
    high = intervals.wilson(5, 6, 0.95)[1]
    assert high == pytest.approx(1 - chi2.ppf(0.05, 2) / 12)
    assert high > binomtest(5, 6).proportion_ci(0.95, method="wilson").high
    assert intervals.wilson(1, 6, 0.95)[0] == pytest.approx(chi2.ppf(0.05, 2) / 12)


def test_exact_coverage_of_both_methods_on_the_harness_grid() -> None:
    """Exact binomial sums, the check behind bench/coverage.py's single-proportion cells."""
    for method in intervals.METHODS:
        for n in (6, 20, 50, 200, 1000):
            bounds = [intervals.interval(method, k, n) for k in range(n + 1)]
            for p in (0.5, 0.9, 0.97, 0.99, 1.0):
                mass = binom.pmf(range(n + 1), n, p)
                coverage = sum(m for m, (lo, hi) in zip(mass, bounds, strict=True)
                               if lo <= p <= hi)
                assert coverage >= 0.93, (method, n, p, coverage)
            for threshold in (0.9, 0.99):  # false PASS just under the threshold
                for p in np.linspace(threshold - 0.05, threshold - 1e-6, 60):
                    mass = binom.pmf(range(n + 1), n, p)
                    passing = sum(m for m, (lo, _) in zip(mass, bounds, strict=True)
                                  if lo >= threshold)
                    assert passing <= 0.025, (method, n, p, passing)


def test_fractional_counts_interpolate() -> None:
    low, high = intervals.clopper_pearson(9.5, 10.0)
    assert intervals.clopper_pearson(9, 10)[0] < low < intervals.clopper_pearson(10, 10)[0]
    assert 0 <= low <= 0.95 <= high <= 1


@pytest.mark.parametrize(("k", "n"), [c for c in CASES if c[1] > 0])
def test_clopper_pearson_matches_scipy(k: int, n: int) -> None:
    ref = binomtest(k, n).proportion_ci(0.95, method="exact")
    low, high = intervals.clopper_pearson(k, n, 0.95)
    assert low == pytest.approx(ref.low, abs=1e-9)
    assert high == pytest.approx(ref.high, abs=1e-9)


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson"])
def test_edges_are_honest(method: str) -> None:
    assert intervals.interval(method, 0, 0) == (0.0, 1.0)  # no data: anything is possible
    low, high = intervals.interval(method, 5, 5)  # all safe at n=5: not "certainly 100 %"
    assert high == 1.0 and low < 0.7
    low, high = intervals.interval(method, 0, 5)
    assert low == 0.0 and high > 0.3
    low, high = intervals.interval(method, 112, 112)
    assert 0.95 < low < 0.99  # 112 of 112 safe does not clear ALERT's 99 % line
