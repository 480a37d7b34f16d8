"""What an anytime review costs when the run suggests no safety (a judge card shows the judge
cannot tell safe from unsafe), for each prior the test could be fixed with.

    python bench/anytime_priors.py [--search] [--out FILE]

For thresholds 0.9, 0.95 and 0.99, true safety from 1.0 down to just above the threshold
(a fifth of the threshold's room above it), and pools of 2,000 and 20,000 answers: the exact
median labels for a PASS (`auditor.stats.pool_sequence.median_labels`, label by label
without replacement) as a ratio to a simple random sample scored once with Clopper–Pearson
(the issue's yardstick), and each prior's largest ratio over the cells. The priors:

- `spread` — the shipped one (`pool_sequence.spread_prior`);
- `aimed-neutral` — what such a run was given before: `pool_sequence.aimed_prior` aimed at
  half the threshold's room (`auditor.stats.pooled.neutral_share`), an arbitrary point;
- `alpha` — not a prior but a bet: ALPHA (Stark 2023, "ALPHA: audit that learns from
  previously hand-audited ballots"), a test supermartingale for sampling without
  replacement whose bet is a shrunk running mean (prior guess halfway between threshold and
  1, weight `ALPHA_D` labels); its median over `ALPHA_DRAWS` seeded shuffles of the pool
  (simulated: its wealth depends on the order, not only on the counts).

With `--search`, also the best fixed prior found for one threshold and pool (0.95, 20,000)
by multiplicative weights over 37 support points, tuned to exactly those cells (and a denser
grid of truths between them): how far below the shipped prior any fixed prior can go there,
which is what the issue's 1.6 target asks of a prior that must serve every threshold. Prints
one JSON line and writes it to bench/results/anytime_priors.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.stats import pool_sequence
from auditor.stats.pooled import neutral_share
from bench.helpers.yardsticks import clopper_pearson_median

CONFIDENCE = 0.95
TRUTHS = {0.9: (1.0, 0.97, 0.95, 0.93, 0.92),
          0.95: (1.0, 0.99, 0.98, 0.975, 0.97, 0.965, 0.96),
          0.99: (1.0, 0.998, 0.997, 0.996, 0.995)}
POOLS = (2000, 20000)
ALPHA_D = 100
ALPHA_DRAWS = 60
TARGET = 1.6
SEARCH_POOL, SEARCH_THRESHOLD = 20000, 0.95
SEARCH_TRUTHS = (1.0, 0.995, 0.99, 0.985, 0.98, 0.975, 0.97, 0.9675, 0.965, 0.9625, 0.96)
SEARCH_ROUNDS = 9
OUT = Path(__file__).parent / "results" / "anytime_priors.json"


def prior_of(name: str, pool: int, threshold: float) -> pool_sequence.AimedPrior:
    if name == "spread":
        return pool_sequence.spread_prior(pool, threshold)
    return pool_sequence.aimed_prior(pool, threshold, 1 - neutral_share(threshold))


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


def cell(pool: int, threshold: float, truth: float) -> dict[str, Any]:
    unsafe = round(pool * (1 - truth))
    yardstick = clopper_pearson_median(truth, threshold, CONFIDENCE)
    row: dict[str, Any] = {"pool": pool, "threshold": threshold, "truth": truth,
                           "srs_cp": yardstick}
    for name in ("spread", "aimed-neutral"):
        labels = pool_sequence.median_labels(prior_of(name, pool, threshold), threshold,
                                             unsafe, CONFIDENCE, "pass")
        row[name] = None if labels is None else round(labels / yardstick, 2)
    row["alpha"] = round(alpha_labels(pool, threshold, truth) / yardstick, 2)
    return row


SUPPORT = sorted({round(t * SEARCH_POOL) for t in np.linspace(0.955, 1.0, 37)})


def searched_prior(weights: tuple[float, ...]) -> pool_sequence.AimedPrior:
    """A prior on the search's support points, with the shipped 15 % over every count."""
    mass = dict(zip(SUPPORT, weights, strict=True))
    every = pool_sequence._grid(0, SEARCH_POOL, pool_sequence.SPREAD_POINTS)
    for count in every.tolist():
        mass[count] = mass.get(count, 0.0) + pool_sequence.EVERYWHERE_WEIGHT / len(every)
    return pool_sequence.prior_from_weights(SEARCH_POOL, mass)


def searched_labels(weights: tuple[float, ...], truth: float) -> int | None:
    return pool_sequence.median_labels(searched_prior(weights), SEARCH_THRESHOLD,
                                       round(SEARCH_POOL * (1 - truth)), CONFIDENCE, "pass")


def search(workers: ProcessPoolExecutor) -> dict[str, Any]:
    """Multiplicative weights: each round, the support points near the truths with the
    largest ratio gain mass. Returns the best prior's worst ratio and its ratios."""
    yardsticks = [clopper_pearson_median(t, SEARCH_THRESHOLD, CONFIDENCE) for t in SEARCH_TRUTHS]
    weights = np.full(len(SUPPORT), (1 - pool_sequence.EVERYWHERE_WEIGHT) / len(SUPPORT))
    best: dict[str, Any] = {"worst_ratio": math.inf}
    shares = np.array(SUPPORT) / SEARCH_POOL
    for _ in range(SEARCH_ROUNDS):
        frozen = tuple(weights.tolist())
        labels = list(workers.map(searched_labels, [frozen] * len(SEARCH_TRUTHS),
                                  SEARCH_TRUTHS))
        ratios = np.array([n / y if n else math.inf
                           for n, y in zip(labels, yardsticks, strict=True)])
        if ratios.max() < best["worst_ratio"]:
            best = {"worst_ratio": round(float(ratios.max()), 2),
                    "ratios": dict(zip(map(str, SEARCH_TRUTHS), ratios.round(2).tolist(),
                                       strict=True))}
        boost = sum((r / ratios.max()) ** 8 * np.exp(-((shares - t) / 0.004) ** 2)
                    for t, r in zip(SEARCH_TRUTHS, ratios, strict=True))
        weights = weights * np.exp(0.5 * boost / boost.max())
        weights *= (1 - pool_sequence.EVERYWHERE_WEIGHT) / weights.sum()
    return {"pool": SEARCH_POOL, "threshold": SEARCH_THRESHOLD, **best}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", action="store_true",
                        help="also search for the best fixed prior at 0.95 on 20,000 answers")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.perf_counter()
    jobs = [(pool, threshold, truth) for pool in POOLS for threshold, truths in TRUTHS.items()
            for truth in truths]
    with ProcessPoolExecutor(max_workers=2) as workers:
        cells = list(workers.map(cell, *zip(*jobs, strict=True)))
        searched = search(workers) if args.search else None
    worst = {name: max((c[name] for c in cells if c[name] is not None), default=None)
             for name in ("spread", "aimed-neutral", "alpha")}
    line = json.dumps({"bench": "anytime_priors", "cells": cells, "worst_ratio": worst,
                       "searched": searched, "target": TARGET,
                       "seconds": round(time.perf_counter() - started, 1)})
    args.out.write_text(line + "\n", encoding="utf-8")
    print(line)


if __name__ == "__main__":
    main()
