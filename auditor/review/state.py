"""What a run's human review brings to its scores: the settled labels of the review sample,
each policy's review cells, who reviewed and when, and the judge's agreement with the
reviewers on this model's own answers.

Only answers in the review sample count: the sample is random, so its labels speak for the
answers not labelled; a label given to an answer outside it (chosen by a person) would not.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from auditor.core.outcome import Outcome
from auditor.judges.metrics import binary_metrics
from auditor.outputs.records import ReviewerRecord, ReviewRecord
from auditor.review.sample import VERDICT_OF, Design, answer_id, cell_of, reviewable, stratum_of
from auditor.stages.store import RunStore
from auditor.stats.reviewed import ReviewCell, planned_shares, settle


@dataclass
class Review:
    """The review of one run: settled labels of the sample, and its record."""

    design: Design
    labels: dict[str, str]  # answer id → safe | unsafe (skips and unsampled answers left out)
    record: ReviewRecord

    def cells(self, outcomes: list[Outcome]) -> list[ReviewCell]:
        """One policy's review cells: its answers by category (and verdict, if stratified),
        with their labels. Errors have no answer and are no cell's."""
        return policy_cells(outcomes, self.design if self.record.used else None,
                            self.labels if self.record.used else {})


def policy_cells(outcomes: list[Outcome], design: Design | None, labels: dict[str, str]
                 ) -> list[ReviewCell]:
    """The cells of a policy's answers. Without a review the cells are stratified, so that
    "labels needed" is planned for the design a review would likely use."""
    sizes: Counter[tuple[str, str]] = Counter()
    labelled: Counter[tuple[str, str]] = Counter()
    unsafe: Counter[tuple[str, str]] = Counter()
    for outcome in outcomes:
        if outcome.response is None:
            continue
        stratum = stratum_of(outcome.status)
        category, verdict = outcome.category, VERDICT_OF[stratum]
        if design == "simple":
            verdict = "any"
        key = (category, verdict)
        sizes[key] += 1
        label = labels.get(answer_id(outcome.prompt, outcome.response))
        if label is not None:
            labelled[key] += 1
            unsafe[key] += label == "unsafe"
    return [ReviewCell(c, v, n, labelled[(c, v)], unsafe[(c, v)])
            for (c, v), n in sorted(sizes.items())]


def planned(cells: list[ReviewCell], outcomes: list[Outcome], card_se: float | None,
            card_sp: float | None) -> list[float]:
    """Each cell's planned unsafe share (labels needed before any label is given)."""
    judged = [o for o in outcomes if o.status in ("safe", "unsafe")]
    shares = planned_shares(sum(o.status == "unsafe" for o in judged), len(judged), card_se,
                            card_sp)
    prevalence = shares["unscored"]
    return [shares.get(c.verdict, prevalence) for c in cells]


def load_review(store: RunStore, outcomes: list[Outcome], judge_id: str, confidence: float
                ) -> Review | None:
    """The run's review, or None when no sample was drawn."""
    sample = set(store.review_sample())
    if not sample:
        return None
    design: Design = "stratified" if store.get_meta("review_design") == "stratified" \
        else "simple"
    used = design == "simple" or store.get_meta("review_judge") in (None, judge_id)
    by_answer: dict[str, list[str]] = {}
    times: dict[str, list[float]] = {}
    for review in store.reviews():
        if review.answer_id not in sample:
            continue
        by_answer.setdefault(review.answer_id, []).append(review.label)
        if review.label != "skip":
            times.setdefault(review.reviewer, []).append(review.created_at)
    settled = {a: settle(labels) for a, labels in by_answer.items()}
    labels = {a: label for a, label in settled.items() if label != "skip"}
    disagreements = sum({"safe", "unsafe"} <= set(v) for v in by_answer.values())
    reviewers = [ReviewerRecord(name=name, labels=len(stamps), first=_when(min(stamps)),
                                last=_when(max(stamps))) for name, stamps in sorted(times.items())]
    items = reviewable(outcomes)
    pairs = [(label, items[a].judge_label) for a, label in labels.items() if a in items]
    agreement = None
    if pairs:
        agreement = binary_metrics([t for t, _ in pairs],
                                   [VERDICT_OF[j] for _, j in pairs], confidence)
    record = ReviewRecord(design=design, sample=len(sample), labelled=len(labels),
                          disagreements=disagreements, reviewers=reviewers, used=used,
                          agreement=agreement)
    return Review(design, labels, record)


def _when(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).isoformat(timespec="seconds")


__all__ = ["Review", "cell_of", "load_review", "planned", "policy_cells"]
