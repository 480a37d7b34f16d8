"""Which fixed prior would make an anytime review with a useless judge cheapest: the shipped
mixture against variants with part of the mass spread evenly over the passing counts.

    python bench/anytime_priors.py

For thresholds 0.95 and 0.99, true safety from 1.0 down to just above the threshold, pools of
2,000 and 20,000 answers, and the aim a useless judge leaves (`neutral_share`): the exact
median labels for a PASS (`auditor.stats.pool_sequence.median_labels`) of each prior, as a
ratio to a simple random sample scored once with Clopper–Pearson (the issue's yardstick), and
the largest ratio of each prior over the cells. Each variant's weights are: on the aim / over
the passing counts weighed 1/(unsafe + 1) / evenly over the passing counts / over every count.

Beside them, not a prior but a bet: ALPHA (Stark 2023, "ALPHA: audit that learns from
previously hand-audited ballots"), a test supermartingale for sampling without replacement
whose bet is a shrunk running mean (prior guess halfway between threshold and 1, weight
`ALPHA_D` labels), its median over `ALPHA_DRAWS` seeded shuffles of the pool (not exact:
its wealth depends on the order, not only on the counts). Prints one JSON line.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import beta, binom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.stats import pool_sequence
from auditor.stats.pooled import neutral_share

CONFIDENCE = 0.95
CELLS = ((0.95, 1.0), (0.95, 0.98), (0.95, 0.97), (0.95, 0.96), (0.99, 1.0), (0.99, 0.997),
         (0.99, 0.995))
ALPHA_D = 100
ALPHA_DRAWS = 60
PRIORS = {  # aim, leaning, even, everywhere
    "shipped": (pool_sequence.POINT_WEIGHT, pool_sequence.PASS_SIDE_WEIGHT, 0.0,
                pool_sequence.EVERYWHERE_WEIGHT),
    "even-30": (0.3, 0.35, 0.3, 0.05),
    "even-35": (0.2, 0.4, 0.35, 0.05),
    "even-45": (0.25, 0.25, 0.45, 0.05),
}


def srs_clopper_pearson(threshold: float, truth: float) -> int:
    """Median labels for a PASS of a simple random sample (binomial) scored once: the
    one-sided Clopper–Pearson bound at α/2 above the threshold at the median unsafe count."""
    def passes(n: int) -> bool:
        unsafe = int(binom.median(n, 1 - truth))
        safe = n - unsafe
        return safe > 0 and float(beta.ppf((1 - CONFIDENCE) / 2, safe, unsafe + 1)) > threshold

    n = 1
    while not passes(n):
        n = int(n * 1.1) + 1
    return next(m for m in range(max(1, int(n / 1.1)), n + 1) if passes(m))


def prior(pool: int, threshold: float, weights: tuple[float, float, float, float]
          ) -> pool_sequence.AimedPrior:
    aim_w, lean_w, even_w, every_w = weights
    cut = pool_sequence.fewest_safe(pool, threshold)
    mass = {min(pool, round((1 - neutral_share(threshold)) * pool)): aim_w}
    passing = pool_sequence._grid(cut, pool, pool_sequence.SPREAD_POINTS)
    lean = 1.0 / (pool - passing.astype(float) + 1)
    for count, leaning in zip(passing.tolist(), (lean / lean.sum()).tolist(), strict=True):
        mass[count] = mass.get(count, 0.0) + lean_w * leaning + even_w / len(passing)
    every = pool_sequence._grid(0, pool, pool_sequence.SPREAD_POINTS)
    for count in every.tolist():
        mass[count] = mass.get(count, 0.0) + every_w / len(every)
    counts = np.array(sorted(mass), dtype=np.int64)
    return pool_sequence.AimedPrior(pool, counts,
                                    np.log(np.array([mass[c] for c in counts.tolist()])))


def alpha_labels(pool: int, threshold: float, truth: float, draws: int = ALPHA_DRAWS) -> int:
    """Median labels for ALPHA to reject "safe share ≤ threshold" at α/2 (a PASS)."""
    unsafe = round(pool * (1 - truth))
    rng = np.random.default_rng(7)
    guess = (1 + threshold) / 2
    stops = []
    for _ in range(draws):
        order = np.ones(pool)
        order[:unsafe] = 0.0
        rng.shuffle(order)
        wealth, safe_so_far, stop = 1.0, 0.0, pool + 1
        for j, safe in enumerate(order.tolist(), start=1):
            null_mean = (pool * threshold - safe_so_far) / (pool - j + 1)  # of the rest
            if null_mean < 0:
                stop = j - 1
                break
            if null_mean >= 1:
                break
            floor = null_mean + (guess - threshold) / (2 * math.sqrt(ALPHA_D + j - 1))
            bet = min(max((ALPHA_D * guess + safe_so_far) / (ALPHA_D + j - 1), floor),
                      1 - 1e-6)
            wealth *= safe * bet / null_mean + (1 - safe) * (1 - bet) / (1 - null_mean)
            safe_so_far += safe
            if wealth >= 2 / (1 - CONFIDENCE):
                stop = j
                break
        stops.append(stop)
    return int(np.median(stops))


def main() -> None:
    started = time.perf_counter()
    cells = []
    for pool in (2000, 20000):
        for threshold, truth in CELLS:
            unsafe = round(pool * (1 - truth))
            yardstick = srs_clopper_pearson(threshold, truth)
            row: dict[str, object] = {"pool": pool, "threshold": threshold, "truth": truth,
                                      "srs_cp": yardstick}
            for name, weights in PRIORS.items():
                labels = pool_sequence.median_labels(prior(pool, threshold, weights), threshold,
                                                     unsafe, CONFIDENCE, "pass")
                row[name] = None if labels is None else round(labels / yardstick, 2)
            row["alpha"] = round(alpha_labels(pool, threshold, truth) / yardstick, 2)
            cells.append(row)
    worst = {name: max((ratio for c in cells if isinstance(ratio := c[name], float)),
                       default=None) for name in (*PRIORS, "alpha")}
    print(json.dumps({"bench": "anytime_priors", "cells": cells, "worst_ratio": worst,
                      "target": 1.6, "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
