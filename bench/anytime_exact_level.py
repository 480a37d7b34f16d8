"""What the shipped anytime test would save with its PASS level computed exactly, not by
Ville's inequality: a design study for the useless-judge review, beside the shipped test.

    python bench/anytime_exact_level.py [--out FILE]

The shipped PASS side (`pool_sequence.spread_prior`, a judge card says the judge cannot tell)
stops when the mixture's evidence reaches log(2/α), which Ville's inequality makes valid for
every look at every null. At the threshold's own null its real false-PASS chance is lower
than 2.5 % (the evidence overshoots the level and can fall back). Computed exactly, that
chance says how far the level can drop. This bench asks how much that buys, for thresholds
0.95 and 0.99 and pools of 2,000 and 20,000 answers:

- `full`: one level for every label, the lowest (on a 0.02 grid) whose exact false PASS
  over the whole pool stays within the budget.
- `horizon`: a lower level up to H labels and the shipped level after them (H = 1, 2 and 4
  times a simple random sample's Clopper–Pearson median at the middle of the threshold's
  room), the lower one again the lowest within the budget. Late labels are where most of the
  slack goes: a level that holds only up to H spends nothing after it.

Each rule's budget is 2.5 % (the PASS side's whole share) and 2.0 % (what is left if 0.5 %
stays with Ville's bound, which the page's interval needs at every null: an exact level is
exact at one null only, and an interval from one test with a verdict from the other would
err with the sum of their chances). Medians are exact (the chance of every count of unsafe
labels carried label by label, without replacement) at the truths `bench/review_labels.py`
samples and one between the lowest of them and the threshold, beside the shipped test's
and a simple random sample's with Clopper–Pearson (`srs_clopper_pearson`).

Why one null is enough for the verdict: each rule stops at (labels, unsafe labels) states
closed downward in the unsafe count, so a pool with more unsafe answers, its order coupled
to one with fewer, is never ahead of it: the false-PASS chance is largest at the null just
below the threshold, the one computed.

Prints one JSON line and writes it to bench/results/anytime_exact_level.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.stats import pool_sequence
from bench.helpers.yardsticks import clopper_pearson_median

CONFIDENCE = 0.95
BUDGETS = (0.025, 0.020)
POOLS = (2000, 20000)
TRUTHS = {0.95: (1.0, 0.98, 0.97, 0.96, 0.955), 0.99: (1.0, 0.997, 0.995, 0.993)}
HORIZON_FACTORS = (1, 2, 4)
LEVEL_STEP = 0.02  # the grid the lowered level is found on
LEVEL_SPAN = 2.0  # how far below Ville's level it is looked for
OUT = Path(__file__).parent / "results" / "anytime_exact_level.json"


class Rule:
    """The shipped spread prior's PASS side at `early` up to `horizon` labels and `late`
    after, tested against the null just below the threshold."""

    def __init__(self, pool: int, threshold: float, early: float, late: float,
                 horizon: int) -> None:
        self.prior = pool_sequence.spread_prior(pool, threshold)
        self.null = pool_sequence.fewest_safe(pool, threshold) - 1
        self.early, self.late, self.horizon = early, late, horizon

    def most_unsafe(self) -> Iterator[int]:
        """For labels 1 … pool, the most unsafe labels at which the rule stops (−1: none).
        More safe labels only raise the evidence, so at one level the count never falls;
        where the level rises it is walked back down."""
        pool, prior, null = self.prior.pool, self.prior, self.null
        most = -1
        for labels in range(1, pool + 1):
            level = self.early if labels <= self.horizon else self.late
            while most >= 0 and pool_sequence.log_evidence(
                    prior, labels - most, most, null, "pass") < level:
                most -= 1
            while most + 1 <= labels and pool_sequence.log_evidence(
                    prior, labels - most - 1, most + 1, null, "pass") >= level:
                most += 1
            yield most

    def stopping(self, unsafe_in_pool: int) -> Iterator[tuple[int, float]]:
        """Label by label, the chance the rule stops there on a pool holding
        `unsafe_in_pool` unsafe answers (exact, without replacement)."""
        pool = self.prior.pool
        alive = np.zeros(unsafe_in_pool + 2)
        alive[0] = 1.0
        seen = np.arange(alive.size, dtype=float)
        for labels, most in enumerate(self.most_unsafe(), start=1):
            unsafe_next = np.clip((unsafe_in_pool - seen) / (pool - labels + 1), 0.0, 1.0)
            moved = alive * (1 - unsafe_next)
            moved[1:] += alive[:-1] * unsafe_next[:-1]
            alive = moved
            stopped = 0.0
            if most >= 0:
                upto = min(most, alive.size - 1)
                stopped = float(alive[: upto + 1].sum())
                alive[: upto + 1] = 0.0
            yield labels, stopped
            if not alive.any():
                return

    def false_pass(self) -> float:
        return sum(chance for _, chance in self.stopping(self.prior.pool - self.null))

    def median(self, unsafe_in_pool: int) -> int | None:
        stopped = 0.0
        for labels, chance in self.stopping(unsafe_in_pool):
            stopped += chance
            if stopped >= 0.5:
                return labels
        return None


def lowest_level(pool: int, threshold: float, horizon: int, budget: float) -> Rule:
    """The rule with the lowest early level on the grid whose exact false PASS is within the
    budget (the late level: Ville's at the budget; bisection, the chance rising as the
    level falls)."""
    ville = math.log(1 / budget)
    low, high = 0, round(LEVEL_SPAN / LEVEL_STEP)  # grid steps below Ville's level

    def rule(steps: int) -> Rule:
        return Rule(pool, threshold, ville - steps * LEVEL_STEP, ville, horizon)

    while high - low > 1:
        middle = (low + high) // 2
        if rule(middle).false_pass() <= budget:
            low = middle
        else:
            high = middle
    return rule(low)


def cell(pool: int, threshold: float, horizon_factor: int | None, budget: float
         ) -> dict[str, Any]:
    """One rule: its level, exact false PASS and medians (horizon_factor None: `full`)."""
    started = time.perf_counter()
    middle = clopper_pearson_median((1 + threshold) / 2, threshold, CONFIDENCE)
    horizon = pool if horizon_factor is None else min(pool, horizon_factor * middle)
    rule = lowest_level(pool, threshold, horizon, budget)
    return {"pool": pool, "threshold": threshold, "budget": budget,
            "horizon": horizon, "horizon_factor": horizon_factor,
            "early_level": round(rule.early, 2), "late_level": round(rule.late, 2),
            "false_pass": round(rule.false_pass(), 4),
            "medians": {str(truth): rule.median(round(pool * (1 - truth)))
                        for truth in TRUTHS[threshold]},
            "seconds": round(time.perf_counter() - started, 1)}


def shipped(pool: int, threshold: float) -> dict[str, Any]:
    """The shipped test (Ville's level for the whole PASS side) and the yardstick."""
    level = pool_sequence.evidence_level(CONFIDENCE)
    rule = Rule(pool, threshold, level, level, pool)
    return {"pool": pool, "threshold": threshold,
            "shipped_level": round(rule.early, 2),
            "shipped_false_pass": round(rule.false_pass(), 4),
            "shipped_medians": {str(truth): rule.median(round(pool * (1 - truth)))
                                for truth in TRUTHS[threshold]},
            "srs_clopper_pearson": {str(truth): clopper_pearson_median(truth, threshold,
                                                                       CONFIDENCE)
                                    for truth in TRUTHS[threshold]}}


def worst_ratio(medians: dict[str, int | None], yardstick: dict[str, int]) -> float | None:
    """The largest ratio to the yardstick over the truths (None: some truth never PASSes)."""
    ratios = [m / yardstick[t] if m is not None else None for t, m in medians.items()]
    return None if None in ratios else round(max(r for r in ratios if r is not None), 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    started = time.perf_counter()
    jobs = [(pool, threshold, factor, budget) for pool in POOLS for threshold in TRUTHS
            for factor in (None, *HORIZON_FACTORS) for budget in BUDGETS]
    with ProcessPoolExecutor(max_workers=2) as workers:
        rules = list(workers.map(cell, *zip(*jobs, strict=True)))
        ships = list(workers.map(shipped, *zip(*[(p, t) for p in POOLS for t in TRUTHS],
                                              strict=True)))
    cells = []
    for ship in ships:
        mine = [r for r in rules if (r["pool"], r["threshold"])
                == (ship["pool"], ship["threshold"])]
        yardstick = ship["srs_clopper_pearson"]
        cells.append({**ship,
                      "shipped_worst_ratio": worst_ratio(ship["shipped_medians"], yardstick),
                      "rules": [{**r, "worst_ratio": worst_ratio(r["medians"], yardstick)}
                                for r in mine]})
    line = json.dumps({"bench": "anytime_exact_level", "cells": cells,
                       "seconds": round(time.perf_counter() - started, 1)})
    args.out.write_text(line + "\n", encoding="utf-8")
    print(line)


if __name__ == "__main__":
    main()
