"""What a run's human review brings to its outputs: each policy's review cells, who reviewed
and when, and the judge's agreement with the reviewers on this model's own answers. The
labels themselves come from `auditor.stages.review_labels` (the sample's, settled).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from auditor.core.clock import utc_text
from auditor.core.identity import JudgeMetrics
from auditor.core.outcome import Outcome
from auditor.judges.metrics import binary_metrics
from auditor.outputs.records import (
    FoundUnsafe,
    ReviewedCategory,
    ReviewerChecks,
    ReviewerRecord,
    ReviewPlanRecord,
    ReviewRecord,
)
from auditor.review.checks import miss_rates
from auditor.review.sample import reviewable
from auditor.stages.review_labels import SampleLabels, sample_labels
from auditor.stages.store import RunStore, StoredReview
from auditor.stats.review_cells import (
    ALL_CATEGORIES,
    VERDICT_OF,
    answer_id,
    policy_cells,
    pool_template,
    pooled_cells,
)
from auditor.stats.reviewed import ReviewCell


@dataclass
class Review:
    """The review of one run: its settled labels and its record."""

    labels: SampleLabels
    record: ReviewRecord

    def cells(self, outcomes: list[Outcome], weighting: str,
              card: tuple[float, float] | None = None) -> list[ReviewCell]:
        """One policy's review cells, with the labels that are scored."""
        return review_cells(outcomes, self.labels, weighting, card)


def review_cells(outcomes: list[Outcome], labels: SampleLabels | None, weighting: str,
                 card: tuple[float, float] | None = None) -> list[ReviewCell]:
    """A policy's cells: under the review's design with its labels, or, with no review yet,
    as the default review would have them (anytime, one pooled cell, with micro weighting;
    stratified otherwise), unlabelled, so that "labels needed" counts for that review.
    `card`: the judge card's sensitivity and specificity, which only plan (never score)."""
    if labels is None and weighting == "micro":
        template = pool_template(outcomes, card, sequential=True)
        return [ReviewCell(ALL_CATEGORIES, "any", template.pool, 0, 0, pooled=template)]
    if labels is not None and labels.plans is not None and labels.used:
        return pooled_cells(outcomes, labels.labels, labels.scope(), card)
    if labels is None or not labels.scored:
        return policy_cells(outcomes, None, {}, weighting)
    return policy_cells(outcomes, labels.design, labels.labels, weighting, labels.scope())


def load_review(store: RunStore, outcomes: list[Outcome], judge_id: str, confidence: float
                ) -> Review | None:
    """The run's review, or None when no sample was drawn."""
    labels = sample_labels(store, judge_id)
    if labels is None:
        return None
    times: dict[str, list[float]] = {}
    by_answer: dict[str, set[str]] = {}
    # Every label ever given counts for disagreement: a reviewer's later safe beside their
    # own earlier unsafe is one too.
    for review in [*labels.reviews, *(r for r in store.review_history()
                                      if r.answer_id in labels.sample)]:
        by_answer.setdefault(review.answer_id, set()).add(review.label)
    for review in labels.reviews:
        if review.label != "skip":
            times.setdefault(review.reviewer, []).append(review.created_at)
    reviewers = [ReviewerRecord(name=name, labels=len(stamps), first=utc_text(min(stamps)),
                                last=utc_text(max(stamps))) for name, stamps in sorted(times.items())]
    items = reviewable(outcomes)
    pairs = [(label, items[a].judge_label) for a, label in labels.labels.items() if a in items]
    agreement = None
    if pairs:
        agreement = binary_metrics([t for t, _ in pairs], [VERDICT_OF[j] for _, j in pairs],
                                   confidence)
    between = _between_reviewers(labels.reviews, confidence)
    by_category, found = _per_policy(outcomes, labels)
    # Samples drawn before 0.3.0 have no checks: nothing was measured, and nothing is
    # weighed (their runs verify as they were written).
    checks = store.get_meta("review_checks")
    labelled_by = {r.reviewer for r in labels.reviews if r.label != "skip"}
    rates = [r for r in miss_rates(store.reviews(), set(checks), confidence)
             if r.reviewer in labelled_by] if checks is not None else []
    record = ReviewRecord(
        design=labels.design, sample=len(labels.sample), labelled=len(labels.labels),
        plans=None if labels.plans is None else {
            p: ReviewPlanRecord(design=plan.design, aim=plan.aim, aimed_at=plan.aimed_at,
                             flagged_labels=plan.flagged_labels,
                             flagged_aim=plan.flagged_aim, prior=plan.prior)
            for p, plan in sorted(labels.plans.items())},
        disagreements=sum({"safe", "unsafe"} <= given for given in by_answer.values()),
        reviewers=reviewers, used=labels.used, agreement=agreement, scoring=labels.scoring,
        complete=labels.complete, reviewers_per_answer=labels.reviewers_per_answer,
        by_category=by_category, found_unsafe=found, between_reviewers=between,
        checks=[ReviewerChecks(name=r.reviewer, checks=r.checks, missed=r.missed,
                               miss_rate=r.missed / r.checks if r.checks else None,
                               miss_high=r.high) for r in rates],
        miss_bound=max((r.high for r in rates), default=None))
    return Review(labels, record)


def certifying_miss(review: Review | None) -> float | None:
    """The share of unsafe answers a PASS on this review must hold up to being missed: the
    reviewers' highest measured miss-rate bound when each answer has one reviewer; None
    with two or more per answer (any one's unsafe stands) or no review."""
    if review is None or review.labels.reviewers_per_answer > 1:
        return None
    return review.record.miss_bound


FOUND_PER_POLICY = 10  # unsafe answers reviewers found, quoted per policy


def _per_policy(outcomes: list[Outcome], labels: SampleLabels
                ) -> tuple[list[ReviewedCategory], list[FoundUnsafe]]:
    """Each policy's labelled sampled answers by category, and the unsafe ones found."""
    counts: dict[tuple[str, str], dict[str, int]] = {}
    found: list[FoundUnsafe] = []
    per_policy: dict[str, int] = {}
    for outcome in outcomes:
        if outcome.response is None:
            continue
        answer = answer_id(outcome.prompt, outcome.response)
        if answer not in labels.sample or answer not in labels.seen:
            continue
        label = labels.labels.get(answer, "skip")
        cell = counts.setdefault((outcome.policy_id, outcome.category),
                                 {"safe": 0, "unsafe": 0, "skip": 0})
        cell[label] += 1
        if label == "unsafe" and per_policy.get(outcome.policy_id, 0) < FOUND_PER_POLICY:
            per_policy[outcome.policy_id] = per_policy.get(outcome.policy_id, 0) + 1
            found.append(FoundUnsafe(policy_id=outcome.policy_id, uid=outcome.uid,
                                     category=outcome.category))
    return [ReviewedCategory(policy_id=p, category=c, **n)
            for (p, c), n in sorted(counts.items())], found


def _between_reviewers(reviews: list[StoredReview], confidence: float) -> JudgeMetrics | None:
    """The two reviewers with the most labelled answers in common, one against the other."""
    given: dict[str, dict[str, str]] = {}
    for review in reviews:
        if review.label != "skip":
            given.setdefault(review.reviewer, {})[review.answer_id] = review.label
    pairs = [(len(given[a].keys() & given[b].keys()), a, b)
             for a, b in itertools.combinations(sorted(given), 2)]
    if not pairs or max(pairs)[0] == 0:
        return None
    _, first, second = max(pairs)
    shared = sorted(given[first].keys() & given[second].keys())
    return binary_metrics([given[first][a] for a in shared], [given[second][a] for a in shared],
                          confidence)


