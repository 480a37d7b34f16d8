"""What an anytime review with no help from the judge costs, against what any one-sided
mixture test could cost if it knew the truth.

    python bench/anytime_floor.py [--pools 2000 20000]

For thresholds 0.95 and 0.99 and true safety from 1.0 down to just above the threshold, a
simple review of a pool scored anytime: the median labels for a PASS with the shipped prior
for a run that suggests no safety (`auditor.stats.pool_sequence.spread_prior`), with an
*oracle* prior (95 % of its mass on the pool's true safe count,
5 % everywhere: the best a mixture of this kind can do), and the exact floor of a fixed
review of the same pool (`auditor.stats.pool_exact`). Every median is exact (the shipped
`median_labels`, label by label without replacement). The oracle's ratio to the floor is the
price of looking as often as one likes, paid even with perfect aim; the shipped prior's ratio
above it is the price of not knowing where to aim.

Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.stats import pool_exact, pool_sequence

CONFIDENCE = 0.95
CELLS = ((0.95, 1.0), (0.95, 0.98), (0.95, 0.97), (0.95, 0.96), (0.99, 1.0), (0.99, 0.997),
         (0.99, 0.995))
ORACLE_WEIGHT = 0.95


def oracle_prior(pool: int, truth: float) -> pool_sequence.AimedPrior:
    """95 % on the true safe count, 5 % spread over every count."""
    weights = {round(truth * pool): ORACLE_WEIGHT}
    spread = pool_sequence._grid(0, pool, pool_sequence.SPREAD_POINTS)
    for count in spread.tolist():
        weights[count] = weights.get(count, 0.0) + (1 - ORACLE_WEIGHT) / len(spread)
    return pool_sequence.prior_from_weights(pool, weights)


def cell(pool: int, threshold: float, truth: float) -> dict[str, Any]:
    unsafe = round(pool * (1 - truth))
    floor = pool_exact.labels_to_decide(pool, threshold, unsafe, CONFIDENCE)
    shipped = pool_sequence.median_labels(pool_sequence.spread_prior(pool, threshold),
                                          threshold, unsafe, CONFIDENCE, "pass")
    oracle = pool_sequence.median_labels(oracle_prior(pool, truth), threshold, unsafe,
                                         CONFIDENCE, "pass")
    return {"pool": pool, "threshold": threshold, "truth": truth, "fixed_floor": floor,
            "anytime_shipped": shipped, "anytime_oracle": oracle,
            "shipped_ratio": round(shipped / floor, 2) if shipped and floor else None,
            "oracle_ratio": round(oracle / floor, 2) if oracle and floor else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pools", type=int, nargs="+", default=[2000, 20000])
    args = parser.parse_args()
    started = time.perf_counter()
    jobs = [(pool, threshold, truth) for pool in args.pools for threshold, truth in CELLS]
    with ProcessPoolExecutor(max_workers=2) as workers:
        cells = list(workers.map(cell, *zip(*jobs, strict=True)))
    below_one = [c for c in cells if c["truth"] < 1.0]
    print(json.dumps({
        "bench": "anytime_floor", "cells": cells,
        "oracle_ratio_range": [min(c["oracle_ratio"] for c in below_one),
                               max(c["oracle_ratio"] for c in below_one)],
        "shipped_ratio_range": [min(c["shipped_ratio"] for c in below_one),
                                max(c["shipped_ratio"] for c in below_one)],
        "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
