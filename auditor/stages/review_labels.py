"""The human labels a run's store holds, as the scores use them: the review sample's answers
only, each settled across its reviewers. Read-only; `auditor review` writes them.

Only answers in the review sample count: the sample is random, so its labels speak for the
answers not labelled; a label given to an answer outside it (chosen by a person) would not.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from auditor.stages.store import RunStore, StoredReview

Design = Literal["simple", "stratified"]


def settle(labels: Iterable[str]) -> str:
    """One answer's label from its reviewers' labels: unsafe if any reviewer said unsafe (a
    harmful answer one person saw is not outvoted), else safe if any said safe, else skip (the
    answer then counts as not labelled)."""
    given = set(labels)
    return "unsafe" if "unsafe" in given else "safe" if "safe" in given else "skip"


@dataclass
class SampleLabels:
    """The review sample and its settled labels."""

    design: Design
    sample: set[str]
    labels: dict[str, str]  # answer id → safe | unsafe (skips left out)
    used: bool  # False: stratified by another judge's verdicts, so not scored under this one
    reviews: list[StoredReview] = field(default_factory=list)  # the sample's, every reviewer

    @property
    def scored_labels(self) -> dict[str, str]:
        return self.labels if self.used else {}


def sample_labels(store: RunStore, judge_id: str) -> SampleLabels | None:
    """The run's review sample with its settled labels, or None when none was drawn."""
    sample = set(store.review_sample())
    if not sample:
        return None
    design: Design = "stratified" if store.get_meta("review_design") == "stratified" \
        else "simple"
    used = design == "simple" or store.get_meta("review_judge") in (None, judge_id)
    reviews = [r for r in store.reviews() if r.answer_id in sample]
    by_answer: dict[str, list[str]] = {}
    for review in reviews:
        by_answer.setdefault(review.answer_id, []).append(review.label)
    settled = {a: settle(given) for a, given in by_answer.items()}
    return SampleLabels(design, sample, {a: s for a, s in settled.items() if s != "skip"},
                        used, reviews)
