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
# How the labels are scored: `anytime` (a confidence sequence: any number of looks) or `fixed`
# (Clopper–Pearson: one look, once every sampled answer is labelled). Chosen at `review sample`.
Scoring = Literal["anytime", "fixed"]


def settle(labels: Iterable[str]) -> str:
    """One answer's label from its reviewers' labels: unsafe if any reviewer said unsafe (a
    harmful answer one person saw is not outvoted), else safe if any said safe, else skip (the
    answer then counts as not labelled)."""
    given = set(labels)
    return "unsafe" if "unsafe" in given else "safe" if "safe" in given else "skip"


@dataclass(frozen=True)
class ReviewScope:
    """A simple review's sample as each policy's score reads it: the answers in their seeded
    order, whether it is anytime, each policy's budget, and which answers reviewers have
    seen (a seen answer with no label was skipped)."""

    order: list[str]
    anytime: bool
    per_policy: int | None
    seen: set[str]


@dataclass
class SampleLabels:
    """The review sample and its settled labels."""

    design: Design
    sample: set[str]
    labels: dict[str, str]  # answer id → safe | unsafe (skips left out)
    used: bool  # False: stratified by another judge's verdicts, so not scored under this one
    reviews: list[StoredReview] = field(default_factory=list)  # the sample's, every reviewer
    scoring: Scoring = "fixed"
    order: list[str] = field(default_factory=list)  # the sample in its seeded order
    seen: set[str] = field(default_factory=set)  # answers some reviewer labelled (skips too)
    per_policy: int | None = None  # each policy's first answers in the order (older: None)
    reviewers_per_answer: int = 1  # people who must label an answer before it counts

    @property
    def complete(self) -> bool:
        """Every sampled answer has been seen by a reviewer (a fixed review's one look)."""
        return self.sample <= self.seen

    @property
    def scored(self) -> bool:
        """Whether the labels may decide now: under this judge's design, and a fixed review
        only once complete (an earlier look would be one more chance at a false PASS); a
        simple fixed review with a per-policy budget is complete policy by policy
        (`auditor.stats.review_cells.policy_cells` checks it)."""
        per_policy = self.design == "simple" and self.per_policy is not None
        return self.used and (self.scoring == "anytime" or per_policy or self.complete)

    def scope(self) -> ReviewScope:
        """What the cells of each policy need to know of the sample."""
        return ReviewScope(self.order, self.scoring == "anytime", self.per_policy, self.seen)

    @property
    def scored_labels(self) -> dict[str, str]:
        return self.labels if self.scored else {}




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
    # With `review sample --reviewers N`, an answer counts once N people have labelled it.
    needed = int(store.get_meta("review_reviewers", 1) or 1)
    by_answer = {a: given for a, given in by_answer.items() if len(given) >= needed}
    settled = {a: settle(given) for a, given in by_answer.items()}
    scoring: Scoring = "anytime" if store.get_meta("review_scoring") == "anytime" else "fixed"
    per_policy = store.get_meta("review_per_policy")
    return SampleLabels(design, sample, {a: s for a, s in settled.items() if s != "skip"},
                        used, reviews, scoring, store.review_sample(), set(by_answer),
                        int(per_policy) if per_policy is not None else None, needed)
