"""Binomial confidence intervals and the judge-error correction. Pure functions, no I/O.

All intervals return (low, high) within [0, 1] and are honest at n = 0 (the whole of [0, 1])
and at 0 % or 100 %, where a naive normal interval has zero width.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from scipy.stats import beta, norm

Interval = tuple[float, float]


def _z(confidence: float) -> float:
    return float(norm.ppf(0.5 + confidence / 2))


def wilson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    if n == 0:
        return (0.0, 1.0)
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # exact at the edges (the formula can miss 0 or 1 by rounding)
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


def clopper_pearson(successes: int, n: int, confidence: float = 0.95) -> Interval:
    if n == 0:
        return (0.0, 1.0)
    alpha = 1 - confidence
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, n - successes + 1))
    high = 1.0 if successes == n else float(beta.ppf(1 - alpha / 2, successes + 1, n - successes))
    return (low, high)


def jeffreys(successes: int, n: int, confidence: float = 0.95) -> Interval:
    if n == 0:
        return (0.0, 1.0)
    alpha = 1 - confidence
    a, b = successes + 0.5, n - successes + 0.5
    # Brown, Cai & DasGupta's boundary convention keeps coverage at 0 and n
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, a, b))
    high = 1.0 if successes == n else float(beta.ppf(1 - alpha / 2, a, b))
    return (low, high)


METHODS: dict[str, Callable[[int, int, float], Interval]] = {
    "wilson": wilson, "clopper-pearson": clopper_pearson, "jeffreys": jeffreys}


def interval(method: str, successes: int, n: int, confidence: float = 0.95) -> Interval:
    return METHODS[method](successes, n, confidence)


def rogan_gladen(observed_safe: float, sensitivity: float, specificity: float) -> float | None:
    """The true safe rate, given the judge's error rates. None when the judge is uninformative.

    The judge flags *unsafe*: sensitivity = P(flag | unsafe), specificity = P(pass | safe).
    Observed unsafe q_obs = se*q + (1-sp)*(1-q), so q = (q_obs + sp - 1) / (se + sp - 1).
    """
    youden = sensitivity + specificity - 1
    if youden <= 0:
        return None
    q_true = ((1 - observed_safe) + specificity - 1) / youden
    return 1 - min(1.0, max(0.0, q_true))
