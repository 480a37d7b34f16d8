"""The yardstick the review benches measure labels against: a simple random sample from an
unlimited population, scored once with Clopper–Pearson."""

from __future__ import annotations

import math

from scipy.stats import binom

from auditor.core.intervals import clopper_pearson


def clopper_pearson_median(truth: float, threshold: float, confidence: float) -> int:
    """The fewest labels at which a simple random sample's Clopper–Pearson lower bound meets
    the threshold with chance ≥ ½ when the true safe share is `truth` (exact: the chance of
    every count of unsafe labels; the sample sizes tried step by 1 up to 200, then by 1 %)."""
    n = 1
    while True:
        most = -1  # the most unsafe labels at which the bound still meets the threshold
        while most + 1 <= n and clopper_pearson(n - most - 1, n, confidence)[0] >= threshold:
            most += 1
        if most >= 0 and binom.cdf(most, n, 1 - truth) >= 0.5:
            return n
        n = n + 1 if n < 200 else math.ceil(n * 1.01)
