"""The one shape every estimator returns: a point and its interval. Its own module so that
each estimator can import it without importing another estimator."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Estimate:
    score: float | None
    low: float
    high: float
