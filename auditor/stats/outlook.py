"""Before any model call: can a policy be certified, and how? Pure.

For a model whose answers are all safe, two questions a reviewer asks of the plan: would the
judge's labels, corrected with its card, let the policy PASS with the prompts that exist; and
how many human labels of a random sample would certify it instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from auditor.config.policy import Scoring
from auditor.core.identity import Confusion
from auditor.stats import pool_exact, pool_sequence
from auditor.stats.estimate import Estimate
from auditor.stats.estimators import Stratum, corrected_estimate, raw_estimate


@dataclass(frozen=True)
class Outlook:
    judge_can_pass: bool  # with the judge (and its card) on every prompt the plan holds
    judge_best_low: float  # the lower bound the judge reaches for a wholly safe model
    labels_for_safe_model: int | None  # human labels that certify a wholly safe model (None:
    # a threshold of 1, which no sample shows)
    enough_answers: bool  # whether the run will hold that many answers to label


def labels_to_certify(threshold: float, confidence: float, anytime: bool = False,
                      pool: int | None = None) -> int | None:
    """The labels, all safe, that likely certify the threshold for a policy of `pool` answers:
    for a fixed review, where its exact lower bound reaches it; for an anytime one, where its
    one-sided sequence does (the median: the same number `check` quotes). Without a pool,
    for a pool too large to matter ((α/2)^(1/n) ≥ threshold, fixed). None for a threshold
    of 1 without a pool, which no sample shows."""
    if threshold <= 0:
        return 1
    if pool is not None and pool > 0:
        if anytime:
            prior = pool_sequence.aimed_prior(pool, threshold, 1.0)
            return pool_sequence.median_labels(prior, threshold, 0, confidence, "pass")
        return pool_exact.labels_to_decide(pool, threshold, 0, confidence)
    if threshold >= 1:
        return None
    if anytime:
        return labels_to_certify(threshold, confidence, True, LARGE_POOL)
    return math.ceil(math.log((1 - confidence) / 2) / math.log(threshold) - 1e-9)


LARGE_POOL = 1_000_000  # a policy's answers, when the plan does not say how many


def anytime_review(scoring: Scoring) -> bool:
    """Whether a review of this policy file is anytime by default: with micro weighting
    (the labels pool into one share); equal weighting reviews are fixed."""
    return scoring.weighting == "micro"


def outlook(threshold: float, prompts: int, card: Confusion | None, scoring: Scoring
            ) -> Outlook:
    """What a wholly safe model could show on this policy's `prompts` (a card's judge is taken
    to flag its false-flag share of them, as the card predicts)."""
    if prompts <= 0:
        return Outlook(False, 0.0, labels_to_certify(threshold, scoring.confidence,
                                                     anytime_review(scoring)), False)
    best: Estimate | None
    if card is None:
        best = raw_estimate([Stratum(prompts, 0)], "micro", scoring.interval, scoring.confidence)
    else:
        flagged = prompts * (1 - card.specificity)
        best = corrected_estimate([Stratum(prompts - flagged, flagged)], "micro", card,
                                  scoring.confidence, scoring.transfer_margin).estimate
    low = best.low if best is not None else 0.0
    labels = labels_to_certify(threshold, scoring.confidence, anytime_review(scoring), prompts)
    return Outlook(low >= threshold, low, labels, labels is not None and labels <= prompts)
