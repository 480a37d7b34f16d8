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
from functools import lru_cache

import numpy as np
from scipy.stats import binom

from auditor.config.policy import Scoring
from auditor.core.intervals import clopper_pearson
from auditor.stats.reviewed import ReviewCell, choose_design, planned_shares
from auditor.stats.scoring import FAIL, PASS, Assessment, Counts, assess

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


@lru_cache(maxsize=4096)
def planned_fractions(case: ReviewCase, budget: int, weighting: str, confidence: float
                      ) -> tuple[float, ...]:
    """Each cell's share of the labels, as `auditor review sample` would plan it for the run
    this case expects (planned once per case and budget: the plan varies little between runs,
    and validity does not rest on it)."""
    se, sp = case.judge
    cells, flagged, judged = [], 0.0, 0.0
    for index, (size, safety) in enumerate(zip(case.sizes, case.safety, strict=True)):
        scored = size * (1 - UNSCORED)
        caught, false_flags = scored * (1 - safety) * se, scored * safety * (1 - sp)
        flagged += caught + false_flags
        judged += scored
        cells += [(f"c{index}", "unsafe", caught + false_flags),
                  (f"c{index}", "safe", scored - caught - false_flags),
                  (f"c{index}", "unscored", size * UNSCORED)]
    plan = planned_shares(round(flagged), round(judged), *case.card)
    empty = [ReviewCell(c, v, max(1, round(n)), 0, 0) for c, v, n in cells]
    design, counts = choose_design(empty, "micro", confidence, [plan[v] for _, v, _ in cells],
                                   budget)
    if design == "simple":
        return ()  # a simple random sample of the answers
    return tuple(c / max(1, sum(counts)) for c in counts)


Run = list[tuple[str, str, int, int]]  # (category, verdict, answers, truly unsafe) per cell


def label_run(case: ReviewCase, run: Run, budget: int, scoring: Scoring,
              rng: np.random.Generator) -> list[ReviewCell]:
    """The review cells of a run after people label `budget` answers, in the planned design."""
    fractions = planned_fractions(case, budget, scoring.weighting, scoring.confidence)
    if not fractions:  # simple: a random sample of all answers, scored per category
        sizes = [n for _, _, n, _ in run]
        taken = rng.multivariate_hypergeometric(sizes, min(budget, sum(sizes)))
        by_category: dict[str, list[int]] = {}
        for (category, _, n, bad), take in zip(run, taken, strict=True):
            unsafe = int(rng.hypergeometric(bad, n - bad, int(take))) if take else 0
            totals = by_category.setdefault(category, [0, 0, 0])
            totals[0] += n
            totals[1] += int(take)
            totals[2] += unsafe
        return [ReviewCell(c, "any", n, t, u) for c, (n, t, u) in by_category.items()]
    labelled = []
    for (category, verdict, n, bad), f in zip(run, fractions, strict=True):
        take = min(n, max(1 if n else 0, round(f * budget)))
        unsafe = int(rng.hypergeometric(bad, n - bad, take)) if take else 0
        labelled.append(ReviewCell(category, verdict, n, take, unsafe))
    return labelled


def score_review(case: ReviewCase, run: Run, labelled: list[ReviewCell], threshold: float,
                 scoring: Scoring, project: bool = False) -> Assessment:
    """`auditor check`'s verdict rule on a reviewed run."""
    flagged = sum(n for _, v, n, _ in run if v == "unsafe")
    judged = sum(n for _, v, n, _ in run if v != "unscored")
    counts = Counts(n=sum(n for _, _, n, _ in run))
    counts.unscored = sum(n for _, v, n, _ in run if v == "unscored")
    counts.unsafe = flagged
    counts.safe = counts.n - counts.unscored - flagged
    shares = planned_shares(flagged, judged, *case.card)
    planned = [shares.get(c.verdict, shares["unscored"]) for c in labelled]
    return assess([], counts, threshold, scoring, None, project=project, review=labelled,
                  planned=planned)


def review_once(case: ReviewCase, threshold: float, scoring: Scoring,
                rng: np.random.Generator, budget: int | None = None
                ) -> tuple[float, float, str, int]:
    """(low, high, verdict, labels used) of one simulated run and review."""
    run = simulate_run(case, rng)
    labelled = label_run(case, run, budget or case.budget, scoring, rng)
    result = score_review(case, run, labelled, threshold, scoring)
    estimate = result.deciding
    return estimate.low, estimate.high, result.verdict, int(sum(c.labelled for c in labelled))


def check_labels_projection(case: ReviewCase, threshold: float, scoring: Scoring,
                            rng: np.random.Generator, cases: int) -> tuple[int, int, int]:
    """For inconclusive reviews that name "about N labels": label N of the same run's answers
    and count how often that decides. (tried, decided, named where undecidable): the last
    counts projections quoted where the truth is within 0.005 of the threshold."""
    tried = decided = on_the_line = 0
    for _ in range(cases * 4):
        if tried >= cases:
            break
        run = simulate_run(case, rng)
        result = score_review(case, run, label_run(case, run, case.budget, scoring, rng),
                              threshold, scoring, project=True)
        needed = result.labels_needed
        if result.verdict != "INCONCLUSIVE" or needed is None:
            continue
        if abs(case.truth() - threshold) < 0.005:
            on_the_line += 1
            continue
        tried += 1
        again = score_review(case, run, label_run(case, run, needed, scoring, rng), threshold,
                             scoring)
        decided += again.verdict != "INCONCLUSIVE"
    return tried, decided, on_the_line


def srs_decides(n: int, truth: float, threshold: float, confidence: float) -> float:
    """The chance that Clopper–Pearson on a simple random sample of n decides correctly
    (exact, from the binomial)."""
    want_pass = truth >= threshold
    x = np.arange(n + 1)
    mass = binom.pmf(x, n, truth)
    decides = 0.0
    for safe, m in zip(x, mass, strict=True):
        if m < 1e-12:
            continue
        low, high = clopper_pearson(float(safe), n, confidence)
        if (low >= threshold) if want_pass else (high < threshold):
            decides += m
    return decides


def srs_labels_to_decide(truth: float, threshold: float, confidence: float,
                         limit: int = 5000) -> int | None:
    """The fewest labels of a simple random sample (the first on a 4 % grid) at which
    Clopper–Pearson decides the policy correctly at least half the time."""
    for n in _grid(limit):
        if srs_decides(n, truth, threshold, confidence) >= 0.5:
            return n
    return None


def design_labels_to_decide(case: ReviewCase, threshold: float, scoring: Scoring,
                            rng: np.random.Generator, reps: int, limit: int) -> int | None:
    """The fewest labels (the first on the same 4 % grid, scanned in order as for the simple
    random sample: the chance to decide is a sawtooth in n, not monotone) at which the design
    decides correctly at least half the time."""
    want = PASS if case.truth() >= threshold else FAIL
    for n in _grid(limit):
        simple = not planned_fractions(case, n, scoring.weighting, scoring.confidence)
        if simple and len(case.sizes) == 1:
            # the simple design on one category is scored exactly as Clopper–Pearson scores
            # a simple random sample: its chance is the exact one, without Monte Carlo noise
            if srs_decides(n, case.truth(), threshold, scoring.confidence) >= 0.5:
                return n
            continue
        if sum(review_once(case, threshold, scoring, rng, n)[2] == want
               for _ in range(reps)) >= reps / 2:
            return n
    return None


def _grid(limit: int) -> list[int]:
    sizes, n = [], 10
    while n <= limit:
        sizes.append(n)
        n = n + max(1, n // 25)  # 4 % steps: fine enough to compare two designs
    return sizes
