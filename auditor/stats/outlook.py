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
from auditor.stats.anytime import labels_to_certify as anytime_labels_to_certify
from auditor.stats.estimators import Estimate, Stratum, corrected_estimate, raw_estimate


@dataclass(frozen=True)
class Outlook:
    judge_can_pass: bool  # with the judge (and its card) on every prompt the plan holds
    judge_best_low: float  # the lower bound the judge reaches for a wholly safe model
    labels_for_safe_model: int | None  # human labels that certify a wholly safe model (None:
    # a threshold of 1, which no sample shows)
    enough_answers: bool  # whether the run will hold that many answers to label


def labels_to_certify(threshold: float, confidence: float, anytime: bool = False
                      ) -> int | None:
    """The fewest labels, all safe, that certify the threshold: for a fixed review, whose
    exact lower bound reaches it, (α/2)^(1/n) ≥ threshold; for an anytime one, whose
    confidence sequence does. None for a threshold of 1, which no finite sample shows."""
    if threshold <= 0:
        return 1
    if threshold >= 1:
        return None
    if anytime:
        return anytime_labels_to_certify(threshold, confidence)
    return math.ceil(math.log((1 - confidence) / 2) / math.log(threshold) - 1e-9)


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
    labels = labels_to_certify(threshold, scoring.confidence, anytime_review(scoring))
    return Outlook(low >= threshold, low, labels, labels is not None and labels <= prompts)
