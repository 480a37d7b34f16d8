"""Simulated human review, for bench/coverage.py: validity and efficiency of the reviewed score.

A run is simulated as the audit sees one: N answers drawn from the model (each truly unsafe
with the category's rate), judged by a judge whose sensitivity and specificity *on this model*
are given (and differ from the card the design plans with), with a few answers unscored. A
review sample is allocated as `auditor review sample` does (`allocate_labels`, planned from the
card and the flags), drawn without replacement in every cell, and labelled with the truth.
The verdict is `auditor.stats.scoring.assess` with those labels, the rule `auditor check`
uses. The truth is the model's own safety (the run is itself a sample of it).

Efficiency: the fewest labels at which the design decides the policy correctly in at least
half of the draws, beside the same for a simple random sample of answers scored with
Clopper–Pearson (computed exactly from the binomial).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import binom

from auditor.config.policy import Scoring
from auditor.core.intervals import clopper_pearson
from auditor.stats.reviewed import ReviewCell, allocate_labels, planned_shares
from auditor.stats.scoring import FAIL, PASS, Counts, assess

UNSCORED = 0.02  # share of answers the judge could not score


@dataclass(frozen=True)
class ReviewCase:
    name: str
    sizes: tuple[int, ...]  # answers per category in the run
    safety: tuple[float, ...]  # true safety per category
    weighting: str
    judge: tuple[float, float]  # the judge's (Se, Sp) on this model
    card: tuple[float, float]  # what its card says (the design plans with it)
    budget: int

    def truth(self) -> float:
        rates = np.array(self.safety)
        if self.weighting == "micro":
            return float(np.dot(self.sizes, rates) / sum(self.sizes))
        return float(rates.mean())


def simulate_run(case: ReviewCase, rng: np.random.Generator) -> list[tuple[str, str, int, int]]:
    """(category, verdict, answers, of them truly unsafe) per cell of one simulated run."""
    se, sp = case.judge
    cells = []
    for index, (size, safety) in enumerate(zip(case.sizes, case.safety, strict=True)):
        unsafe = rng.binomial(size, 1 - safety)
        safe = size - unsafe
        unsafe_unscored = rng.binomial(unsafe, UNSCORED)
        safe_unscored = rng.binomial(safe, UNSCORED)
        unsafe, safe = unsafe - unsafe_unscored, safe - safe_unscored
        caught = rng.binomial(unsafe, se)
        false_flags = rng.binomial(safe, 1 - sp)
        category = f"c{index}"
        cells += [(category, "unsafe", caught + false_flags, caught),
                  (category, "safe", unsafe - caught + safe - false_flags, unsafe - caught),
                  (category, "unscored", unsafe_unscored + safe_unscored, unsafe_unscored)]
    return cells


def review_once(case: ReviewCase, threshold: float, scoring: Scoring,
                rng: np.random.Generator, budget: int | None = None
                ) -> tuple[float, float, str, int]:
    """(low, high, verdict, labels used) of one simulated run and review."""
    run = simulate_run(case, rng)
    flagged = sum(n for _, v, n, _ in run if v == "unsafe")
    judged = sum(n for _, v, n, _ in run if v != "unscored")
    plan = planned_shares(flagged, judged, *case.card)
    empty = [ReviewCell(c, v, n, 0, 0) for c, v, n, _ in run]
    extra = allocate_labels(empty, scoring.weighting, scoring.confidence,
                            [plan[v] for _, v, _, _ in run], budget or case.budget)
    labelled = []
    for (category, verdict, n, bad), take in zip(run, extra, strict=True):
        unsafe = int(rng.hypergeometric(bad, n - bad, take)) if take else 0
        labelled.append(ReviewCell(category, verdict, n, take, unsafe))
    counts = Counts(n=sum(n for _, _, n, _ in run))
    counts.unscored = sum(n for _, v, n, _ in run if v == "unscored")
    counts.unsafe = flagged
    counts.safe = counts.n - counts.unscored - flagged
    result = assess([], counts, threshold, scoring, None, project=False, review=labelled)
    estimate = result.deciding
    return estimate.low, estimate.high, result.verdict, sum(extra)


def srs_labels_to_decide(truth: float, threshold: float, confidence: float,
                         limit: int = 5000) -> int | None:
    """The fewest labels of a simple random sample at which Clopper–Pearson decides the
    policy correctly at least half the time (exact, from the binomial)."""
    want_pass = truth >= threshold
    for n in _grid(limit):
        x = np.arange(n + 1)
        mass = binom.pmf(x, n, truth)
        decides = 0.0
        for safe, m in zip(x, mass, strict=True):
            low, high = clopper_pearson(float(safe), n, confidence)
            if (low >= threshold) if want_pass else (high < threshold):
                decides += m
        if decides >= 0.5:
            return n
    return None


def design_labels_to_decide(case: ReviewCase, threshold: float, scoring: Scoring,
                            rng: np.random.Generator, reps: int, limit: int) -> int | None:
    """The fewest labels at which the design decides correctly at least half the time."""
    want = PASS if case.truth() >= threshold else FAIL
    for n in _grid(limit):
        hits = sum(review_once(case, threshold, scoring, rng, n)[2] == want
                   for _ in range(reps))
        if hits >= reps / 2:
            return n
    return None


def _grid(limit: int) -> list[int]:
    sizes, n = [], 10
    while n <= limit:
        sizes.append(n)
        n = n + max(1, n // 25)  # 4 % steps: fine enough to compare two designs
    return sizes
