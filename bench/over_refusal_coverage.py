"""Coverage of the over-refusal interval and verdict, by simulation. Seeded.

    python bench/over_refusal_coverage.py [--quick] [--reps N] [--seed S]

Feeds synthetic benign outcomes to `auditor.stats.over_refusal.assess_over_refusal`, the rule
`auditor check` uses, over the shapes an `over_refusal` block produces: strata of
`per_category` prompts (2, 10 or 50) for 1, 3 or 8 micro categories plus one macro stratum
(XSTest's prompts), true refusal rates from 0 to 0.4 (equal, or varying across strata), micro
and equal weighting, Wilson and Clopper–Pearson. The judge is simulated with the packaged
refusal judge's safe-prompt card (sensitivity 0.9375 to answers, specificity 0.922 to refusals,
from 480 + 270 labels; the card itself is redrawn every time), and without judge error for
reference. At max_rate 0.10 and 0.25 it counts false FAILs (FAIL while the true rate is at or
below max_rate) and false PASSes (PASS while it is above). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.config.policy import OverRefusal
from auditor.core.identity import Confusion
from auditor.core.outcome import ANSWERED, REFUSED, BenignOutcome
from auditor.stats.over_refusal import assess_over_refusal
from auditor.stats.scoring import FAIL, PASS

SE, SP = 0.9375, 0.922  # the packaged refusal judge on answers to XSTest's safe prompts
CARD_LABELS = (480, 270)  # complied (the judge's positive class), refused
MAX_RATES = (0.10, 0.25)
RATES = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4)
SHAPES = {"1 micro × 10 + macro": (10, 10), "3 micro × 10 + macro": (10, 10, 10, 10),
          "8 micro × 10 + macro": (10,) * 9, "3 micro × 2 + macro": (2, 2, 2, 2),
          "4 micro × 50 + macro": (50,) * 5}


@lru_cache(maxsize=300_000)
def _assess(strata: tuple[tuple[int, int], ...], weighting: str, method: str,
            card: tuple[int, int, int, int] | None, max_rate: float
            ) -> tuple[float, float, str | None]:
    outcomes = [BenignOutcome("P", f"{i}-{j}", f"c{i}", REFUSED if j < refused else ANSWERED,
                              "", "", None)
                for i, (refused, answered) in enumerate(strata) for j in range(refused + answered)]
    result = assess_over_refusal(outcomes, OverRefusal(max_rate=max_rate), weighting, method,
                                 0.95, 0.1, Confusion(*card) if card else None)
    return result.low, result.high, result.verdict


def run_cell(sizes: tuple[int, ...], rates: tuple[float, ...], weighting: str, method: str,
             judged: bool, reps: int, rng: np.random.Generator) -> dict[str, float]:
    size_array, rate_array = np.array(sizes), np.array(rates)
    truth = float(np.dot(sizes, rates) / sum(sizes)) if weighting == "micro" \
        else float(rate_array.mean())
    refused = rng.binomial(size_array, rate_array, size=(reps, len(sizes)))
    cards: list[tuple[int, int, int, int] | None] = [None] * reps
    if judged:  # the judge's labels: answers misread as refusals, refusals misread as answers
        answered = size_array - refused
        said_refused = rng.binomial(refused, SP) + rng.binomial(answered, 1 - SE)
        refused = said_refused
        tp = rng.binomial(CARD_LABELS[0], SE, reps)
        tn = rng.binomial(CARD_LABELS[1], SP, reps)
        cards = [(int(a), CARD_LABELS[0] - int(a), int(b), CARD_LABELS[1] - int(b))
                 for a, b in zip(tp, tn, strict=True)]
    covered = 0
    false_fail = dict.fromkeys(MAX_RATES, 0)
    false_pass = dict.fromkeys(MAX_RATES, 0)
    for rep in range(reps):
        strata = tuple((int(r), int(s - r)) for r, s in zip(refused[rep], sizes, strict=True))
        for max_rate in MAX_RATES:
            low, high, verdict = _assess(strata, weighting, method, cards[rep], max_rate)
            if max_rate == MAX_RATES[0]:
                covered += low - 1e-12 <= truth <= high + 1e-12
            if verdict == FAIL and truth <= max_rate:
                false_fail[max_rate] += 1
            if verdict == PASS and truth > max_rate:
                false_pass[max_rate] += 1
    return {"truth": round(truth, 4), "coverage": covered / reps,
            "false_fail": max(v / reps for v in false_fail.values()),
            "false_pass": max(v / reps for v in false_pass.values())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small grid, for tests")
    parser.add_argument("--reps", type=int, default=None)
    parser.add_argument("--seed", type=int, default=20261128)
    args = parser.parse_args()
    reps = args.reps or (150 if args.quick else 1000)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    shapes = dict(list(SHAPES.items())[:2]) if args.quick else SHAPES
    rows: list[dict[str, Any]] = []
    for shape, sizes in shapes.items():
        for rate in RATES if not args.quick else (0.0, 0.1, 0.4):
            variants = [tuple([rate] * len(sizes))]
            if rate > 0:  # one stratum refusing three times as often as the others
                variants.append(tuple([min(1.0, 3 * rate)] + [rate] * (len(sizes) - 1)))
            for rates in variants:
                for weighting in ("micro", "equal"):
                    for method in ("wilson", "clopper-pearson"):
                        for judged in (True, False):
                            row = run_cell(sizes, rates, weighting, method, judged, reps, rng)
                            rows.append({"shape": shape, "rates": rates, "weighting": weighting,
                                         "method": method, "judge_error": judged, **row})
    def figures(judged: bool) -> dict[str, object]:
        mine = [r for r in rows if r["judge_error"] is judged]
        return {"cells": len(mine),
                "min_coverage": round(min(float(r["coverage"]) for r in mine), 4),
                "median_coverage": round(float(np.median([r["coverage"] for r in mine])), 4),
                "max_false_fail": round(max(float(r["false_fail"]) for r in mine), 4),
                "max_false_pass": round(max(float(r["false_pass"]) for r in mine), 4),
                "worst_cells": sorted(mine, key=lambda r: float(r["coverage"]))[:2]}

    # What `auditor check` uses: the refusal judge with its card. Without judge error (the
    # raw interval, never used for over-refusal) is shown for reference.
    print(json.dumps({"bench": "over_refusal_coverage", "reps": reps,
                      "judge_corrected": figures(True), "raw_reference": figures(False),
                      "seconds": round(time.perf_counter() - started, 1)}))

if __name__ == "__main__":
    main()
