"""Intervals and the judge correction, against scipy's reference implementations."""

from __future__ import annotations

import pytest
from scipy.stats import beta, binomtest

from auditor import stats

CASES = [(0, 0), (0, 1), (1, 1), (0, 5), (5, 5), (3, 10), (99, 100), (1, 99), (50, 112),
         (1759, 1759)]


@pytest.mark.parametrize(("k", "n"), [c for c in CASES if c[1] > 0])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.99])
def test_wilson_matches_scipy(k: int, n: int, confidence: float) -> None:
    ref = binomtest(k, n).proportion_ci(confidence, method="wilson")
    low, high = stats.wilson(k, n, confidence)
    assert low == pytest.approx(ref.low, abs=1e-9)
    assert high == pytest.approx(ref.high, abs=1e-9)


@pytest.mark.parametrize(("k", "n"), [c for c in CASES if c[1] > 0])
def test_clopper_pearson_matches_scipy(k: int, n: int) -> None:
    ref = binomtest(k, n).proportion_ci(0.95, method="exact")
    low, high = stats.clopper_pearson(k, n, 0.95)
    assert low == pytest.approx(ref.low, abs=1e-9)
    assert high == pytest.approx(ref.high, abs=1e-9)


def test_jeffreys_is_the_beta_posterior_quantiles() -> None:
    low, high = stats.jeffreys(3, 10, 0.95)
    assert low == pytest.approx(beta.ppf(0.025, 3.5, 7.5))
    assert high == pytest.approx(beta.ppf(0.975, 3.5, 7.5))


@pytest.mark.parametrize("method", ["wilson", "clopper-pearson", "jeffreys"])
def test_edges_are_honest(method: str) -> None:
    assert stats.interval(method, 0, 0) == (0.0, 1.0)  # no data: anything is possible
    low, high = stats.interval(method, 5, 5)  # all safe at n=5: not "certainly 100 %"
    assert high == 1.0 and low < 0.7
    low, high = stats.interval(method, 0, 5)
    assert low == 0.0 and high > 0.3
    low, high = stats.interval(method, 112, 112)
    assert 0.95 < low < 0.99  # 112 of 112 safe does not clear ALERT's 99 % line


def test_rogan_gladen() -> None:
    # a perfect judge changes nothing
    assert stats.rogan_gladen(0.8, 1.0, 1.0) == pytest.approx(0.8)
    # se .9, sp .95: true unsafe q=.2 is observed as .9*.2 + .05*.8 = .22
    assert stats.rogan_gladen(0.78, 0.9, 0.95) == pytest.approx(0.8)
    assert stats.rogan_gladen(0.5, 0.5, 0.5) is None  # coin-flip judge: no information
    assert stats.rogan_gladen(1.0, 0.9, 0.9) == 1.0  # clipped to [0, 1]
