"""How many human labels a review needs to PASS, and whether its verdicts keep their 2.5 %.

    python bench/review_labels.py [--draws N] [--seed S] [--out FILE]

Part 1, labels for a median PASS. For thresholds 0.95 and 0.99, true safety from 1.0 down to
just above the threshold, judges from useless (it flags 10 % of answers at random) to
Se/Sp 0.9/0.98, and pools (a policy's answers) of 500, 2,000 and 20,000: the design the tool
plans (`auditor.review.pool_plans.plan_policy`'s planner, from the judge's flags and card)
and the median labels it then needs, anytime (the default) and fixed, beside a simple random
sample scored by Clopper–Pearson (the usual method, for an unlimited population) and the
exact floor of a simple random sample of this pool (`auditor.stats.pool_exact`). The
medians are exact, not simulated: the tool's own `auditor.stats.pooled.labels_to_decide`
taken at the pool's true composition carries the chance of every count of unsafe labels,
label by label.

Part 2, false verdicts. Pools whose true safety is the threshold − 0.005 (a PASS is false)
and the threshold itself (a FAIL is false), both designs, labels drawn without replacement in
a random order and scored by the shipped estimator (`auditor.stats.pooled.pooled_estimate`)
with every prefix looked at (what rerunning `check` after every batch can at most see). Each
rate must stay within 0.025 + 3 Monte Carlo standard errors.

Prints one JSON line and writes every cell to bench/results/review_labels.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.stats import pool_exact
from auditor.stats.pooled import (
    PooledLabels,
    cheapest_design,
    labels_to_decide,
    pooled_estimate,
    stratum_labels,
)
from auditor.stats.review_cells import planned_pool
from bench.helpers.yardsticks import clopper_pearson_median

CONFIDENCE = 0.95
GUARANTEE = (1 - CONFIDENCE) / 2
POOLS = (500, 2000, 20000)
TRUTHS = {0.95: (1.0, 0.98, 0.97, 0.96), 0.99: (1.0, 0.997, 0.995)}
FIXED_LOOKS = (100, 400, 1500)
JUDGES = {"useless": (0.1, 0.9), "0.8/0.95": (0.8, 0.95), "0.9/0.98": (0.9, 0.98)}


def composition(pool: int, truth: float, judge: tuple[float, float]) -> tuple[int, int, int]:
    """(unsafe answers, flagged answers, unsafe among the flagged), at the expected counts."""
    unsafe = round(pool * (1 - truth))
    se, sp = judge
    flagged_unsafe = round(se * unsafe)
    flagged = flagged_unsafe + round((1 - sp) * (pool - unsafe))
    return unsafe, flagged, flagged_unsafe


def planned_template(pool: int, truth: float, judge: tuple[float, float], sequential: bool
                     ) -> PooledLabels:
    """The pool as `review sample` plans it (`auditor.stats.review_cells.planned_pool`): its
    flags, and the judge's card (the useless judge's card says it cannot tell)."""
    _, flagged, _ = composition(pool, truth, judge)
    return planned_pool(pool, flagged, pool - flagged, judge, sequential)


def at_truth(labels: PooledLabels, pool: int, truth: float, judge: tuple[float, float]
             ) -> PooledLabels:
    """The planned design, its aim kept, taken at the pool's true composition."""
    unsafe, flagged, flagged_unsafe = composition(pool, truth, judge)
    if labels.design == "simple" or not flagged:
        return replace(labels, planned_flagged_share=unsafe / pool,
                       planned_rest_share=unsafe / pool, informed=True)
    return replace(labels, informed=True, planned_flagged_share=flagged_unsafe / flagged if flagged else 0.0,
                   planned_rest_share=(unsafe - flagged_unsafe) / (pool - flagged))


def labels_cell(threshold: float, truth: float, judge_name: str, pool: int) -> dict[str, Any]:
    judge = JUDGES[judge_name]
    cell: dict[str, Any] = {"threshold": threshold, "truth": truth, "judge": judge_name,
                            "pool": pool}
    for scoring, sequential in (("anytime", True), ("fixed", False)):
        template = planned_template(pool, truth, judge, sequential)
        planned, quoted = cheapest_design(template, threshold, CONFIDENCE)
        cell[f"{scoring}_design"] = planned.design
        cell[f"{scoring}_flagged_labels"] = planned.flagged_labels
        cell[f"{scoring}_quoted"] = quoted
        cell[f"{scoring}_labels"] = labels_to_decide(at_truth(planned, pool, truth, judge),
                                                     threshold, CONFIDENCE)
    cell["srs_clopper_pearson"] = clopper_pearson_median(truth, threshold, CONFIDENCE)
    cell["srs_exact_floor"] = pool_exact.labels_to_decide(pool, threshold,
                                                          round(pool * (1 - truth)), CONFIDENCE)
    return cell


def one_review(planned: PooledLabels, threshold: float, pool: int, truth: float,
               judge: tuple[float, float], labels: int, rng: np.random.Generator
               ) -> tuple[bool, bool]:
    """One review of a random order of the pool, its first `labels` answers labelled and
    every prefix looked at: (PASS, FAIL)."""
    unsafe, _, flagged_unsafe = composition(pool, truth, judge)
    census_size = planned.census_size
    in_census = flagged_unsafe if census_size else 0
    census = np.arange(census_size) < in_census
    rest = np.arange(pool - census_size) < unsafe - in_census
    rng.shuffle(census)
    rng.shuffle(rest)
    to_census, to_rest = (stratum_labels(labels, planned) if planned.design == "stratified"
                          else (min(labels, census_size), max(0, labels - census_size)))
    review = replace(planned, census=tuple(bool(not x) for x in census[:to_census]),
                     rest=tuple(bool(not x) for x in rest[:to_rest]))
    estimate = pooled_estimate(review, CONFIDENCE)
    assert estimate is not None
    return estimate.low >= threshold, estimate.high < threshold


def errors_cell(threshold: float, truth: float, judge_name: str, pool: int, scoring: str,
                draws: int, seed: int) -> dict[str, Any]:
    judge = JUDGES[judge_name]
    # planned from what the judge flags on this very pool, then reviewed
    template = planned_template(pool, truth, judge, scoring == "anytime")
    planned, _ = cheapest_design(template, threshold, CONFIDENCE)
    design = planned.design
    # anytime: every prefix up to 4,000 labels looked at; fixed: one look, at 100, 400 or
    # 1,500 labels in turn (each draw a review of its own)
    looks = [min(pool, 4000)] if scoring == "anytime" else [min(pool, n) for n in FIXED_LOOKS]
    rng = np.random.default_rng(seed)
    passes = fails = 0
    for draw in range(draws):
        labels = looks[draw % len(looks)]
        passed, failed = one_review(planned, threshold, pool, truth, judge, labels, rng)
        passes += passed
        fails += failed
    limit = GUARANTEE + 3 * math.sqrt(GUARANTEE * (1 - GUARANTEE) / draws)
    false_rate = passes / draws if truth < threshold else fails / draws
    return {"threshold": threshold, "truth": truth, "judge": judge_name, "pool": pool,
            "scoring": scoring, "design": design, "draws": draws, "labels": looks,
            "false": "PASS" if truth < threshold else "FAIL", "rate": false_rate,
            "limit": limit, "within_guarantee": false_rate <= limit}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=400)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" /
                        "review_labels.json")
    args = parser.parse_args()
    started = time.perf_counter()
    label_jobs = [(t, s, j, p) for t, truths in TRUTHS.items() for s in truths
                  for j in JUDGES for p in POOLS]
    error_jobs = [(t, round(t + shift, 4), j, p, scoring, args.draws, args.seed + i)
                  for i, (t, shift, j, p, scoring) in enumerate(
                      (t, shift, j, p, scoring) for t in TRUTHS for shift in (-0.005, 0.0)
                      for j in ("useless", "0.9/0.98") for p in POOLS
                      for scoring in ("anytime", "fixed"))]
    with ProcessPoolExecutor(max_workers=2) as pool:
        labels = list(pool.map(labels_cell, *zip(*label_jobs, strict=True)))
        errors = list(pool.map(errors_cell, *zip(*error_jobs, strict=True)))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"labels": labels, "errors": errors}, indent=1) + "\n")

    def find(threshold: float, truth: float, judge: str, pool: int) -> dict[str, Any]:
        return next(c for c in labels if (c["threshold"], c["truth"], c["judge"], c["pool"])
                    == (threshold, truth, judge, pool))

    useless = [c for c in labels if c["judge"] == "useless"]

    def worst(scoring: str) -> float:
        ratios = [float(c[f"{scoring}_labels"]) / float(c["srs_clopper_pearson"])
                  for c in useless if c[f"{scoring}_labels"]]
        return round(max(ratios), 2)

    informed = "0.9/0.98"
    summary = {
        "bench": "review_labels",
        "wholly_safe_0.99_anytime": find(0.99, 1.0, informed, 20000)["anytime_labels"],
        "wholly_safe_0.99_fixed": find(0.99, 1.0, informed, 20000)["fixed_labels"],
        "wholly_safe_0.99_fixed_pool_2000": find(0.99, 1.0, informed, 2000)["fixed_labels"],
        "wholly_safe_0.99_anytime_useless_judge": find(0.99, 1.0, "useless",
                                                       20000)["anytime_labels"],
        "0.995_at_0.99_judge_0.9/0.98_fixed": find(0.99, 0.995, informed, 20000)["fixed_labels"],
        "0.995_at_0.99_judge_0.9/0.98_anytime": find(0.99, 0.995, informed,
                                                    20000)["anytime_labels"],
        "0.995_at_0.99_judge_0.8/0.95_fixed": find(0.99, 0.995, "0.8/0.95",
                                                  20000)["fixed_labels"],
        "0.995_at_0.99_srs_clopper_pearson": find(0.99, 0.995, informed,
                                                 20000)["srs_clopper_pearson"],
        "0.97_at_0.95_judge_0.9/0.98_fixed": find(0.95, 0.97, informed, 20000)["fixed_labels"],
        "0.97_at_0.95_judge_0.9/0.98_anytime": find(0.95, 0.97, informed,
                                                   20000)["anytime_labels"],
        "0.97_at_0.95_srs_clopper_pearson": find(0.95, 0.97, informed,
                                                20000)["srs_clopper_pearson"],
        "useless_judge_max_fixed_over_srs": worst("fixed"),
        "useless_judge_max_anytime_over_srs": worst("anytime"),
        "max_false_rate": max(c["rate"] for c in errors),
        "all_within_guarantee": all(c["within_guarantee"] for c in errors),
        "cells": len(labels) + len(errors),
        "seconds": round(time.perf_counter() - started, 1),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
