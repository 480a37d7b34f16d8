"""Human review as the CLI runs it, for bench/review_coverage.py: every draw goes through the
shipped code path, never a copy of its rule.

- `review sample`: the items of `auditor.review.sample.reviewable`, each policy's plan
  (`auditor.review.pool_plans.plan_policy`: its design and its test's aim), the sample of
  `auditor.review.sample.choose_pooled` for each policy's budget, the known-unsafe checks of
  `auditor.review.checks.grow_checks`, and `looked_at` (a fixed review is not grown);
- `review import`: labels as the store holds them (`StoredReview`), settled by
  `auditor.stages.review_labels.settled_sample`;
- `check`: each policy's cells (`auditor.review.state.review_cells`) scored by
  `auditor.stats.scoring.score_policy`, the run's policies together by
  `auditor.stats.family.scored_family`, a single reviewer's measured misses
  (`auditor.review.checks.miss_rates`) weighed as `auditor.review.state.certifying_miss`
  weighs them.

Only the SQLite round trip is left out (the store's own tests cover it). A run is a set of
categories, each with a known number of truly unsafe answers; policies cover categories and
may share them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from auditor.config.policy import Policy, Scoring
from auditor.core.outcome import Outcome
from auditor.review.checks import grow_checks, miss_rates
from auditor.review.pool_plans import plan_policy
from auditor.review.sample import ReviewItem, choose_pooled, looked_at, reviewable
from auditor.review.state import review_cells
from auditor.stages.review_labels import Budgets, PolicyPlan, SampleLabels, settled_sample
from auditor.stages.store import StoredReview
from auditor.stats.family import scored_family
from auditor.stats.review_cells import answer_id
from auditor.stats.scoring import PolicyRecord, score_policy

SAFE, UNSAFE = "I can't help with that.", "Sure, here is how."


@dataclass
class Run:
    """A run's answers: `sizes[c]` answers in category c, the first `unsafe[c]` of them
    truly unsafe; `policies` maps each policy to its categories."""

    sizes: dict[str, int]
    unsafe: dict[str, int]
    policies: dict[str, list[str]]
    threshold: float
    outcomes: dict[str, list[Outcome]] = field(default_factory=dict)
    items: dict[str, ReviewItem] = field(default_factory=dict)
    truth: dict[str, bool] = field(default_factory=dict)  # answer id → truly unsafe

    def __post_init__(self) -> None:
        for policy, categories in self.policies.items():
            mine = []
            for category in categories:
                for i in range(self.sizes[category]):
                    bad = i < self.unsafe.get(category, 0)
                    prompt, response = f"{category} request {i}", UNSAFE if bad else SAFE
                    self.truth[answer_id(prompt, response)] = bad
                    mine.append(Outcome(policy, f"{category}-{i}", category, "none", "safe",
                                        prompt, response, None, None))
            self.outcomes[policy] = mine
        self.items = reviewable(o for mine in self.outcomes.values() for o in mine)

    def safety(self, policy: str) -> float:
        categories = self.policies[policy]
        total = sum(self.sizes[c] for c in categories)
        return 1 - sum(self.unsafe.get(c, 0) for c in categories) / total


# A reviewer: (is the answer truly unsafe, random draw) → "safe" | "unsafe" | "skip".
Reviewer = Callable[[bool, np.random.Generator], str]


def truthful(bad: bool, rng: np.random.Generator) -> str:
    return "unsafe" if bad else "safe"


def skips_unsafe(share: float) -> Reviewer:
    """Marks `share` of the unsafe answers `skip` and the rest as they are."""
    def label(bad: bool, rng: np.random.Generator) -> str:
        return "skip" if bad and rng.random() < share else truthful(bad, rng)
    return label


def misses_unsafe(share: float) -> Reviewer:
    """Labels `share` of the unsafe answers (the known-unsafe checks too) safe."""
    def label(bad: bool, rng: np.random.Generator) -> str:
        return "safe" if bad and rng.random() < share else truthful(bad, rng)
    return label


@dataclass
class Review:
    """One simulated review of a run: what `review sample` chose and what was labelled."""

    run: Run
    seed: int
    scoring: str  # anytime | fixed
    budgets: dict[str, int]
    reviewer: Reviewer
    rng: np.random.Generator
    order: list[str] = field(default_factory=list)
    reviews: list[StoredReview] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)
    plans: dict[str, PolicyPlan] = field(default_factory=dict)

    def sample(self, budgets: dict[str, int]) -> None:
        """`review sample` with these budgets (a sample only grows; a plan, once made,
        stays)."""
        self.budgets = {p: max(n, self.budgets.get(p, 0)) for p, n in budgets.items()}
        for policy in self.run.policies:
            if policy not in self.plans:
                self.plans[policy] = plan_policy(self.run.outcomes[policy], self.run.threshold,
                                                 None, self.scoring == "anytime", 0.95).plan
        plan = choose_pooled(self.run.items, self.budgets, self.plans, self.seed)
        self.order = [item.answer_id for item in plan.chosen]
        self.checks = grow_checks(self.checks, len(self.order), self.seed)

    def label(self, upto: int | None = None, with_checks: bool = False) -> None:
        """Label the sample's answers in order, up to `upto` of them (all by default),
        each once; with the known-unsafe checks mixed in."""
        done = {r.answer_id for r in self.reviews}
        for answer in self.order[:upto]:
            if answer not in done:
                self.reviews.append(StoredReview(answer, "ana", self.reviewer(
                    self.run.truth[answer], self.rng), None, 0.0))
        if with_checks:
            for check in self.checks:
                if check not in done:
                    self.reviews.append(StoredReview(check, "ana", self.reviewer(
                        True, self.rng), None, 0.0))

    def labels(self) -> SampleLabels:
        return settled_sample(self.order, self.reviews, design="simple",
                              scoring="anytime" if self.scoring == "anytime" else "fixed",
                              used=True, needed=1, budgets=Budgets(dict(self.budgets)),
                              seed=self.seed, plans=dict(self.plans))

    def looked(self) -> list[str]:
        """The fixed review's policies already scored once (`review sample` refuses to grow
        them)."""
        return looked_at(self.run.items, self.seed, self.budgets,
                         {r.answer_id for r in self.reviews}, self.plans)

    def verdicts(self, family_wise: bool = False, measured_misses: bool = False
                 ) -> dict[str, PolicyRecord]:
        """`check` on the labels so far: every policy's record."""
        labels = self.labels()
        scoring = Scoring(family_wise=family_wise)
        miss = None
        if measured_misses:
            rates = miss_rates(self.reviews, set(self.checks), scoring.confidence)
            miss = max((r.high for r in rates), default=None)
        names = list(self.run.policies)

        def score_at(index: int, confidence: float) -> PolicyRecord:
            policy = names[index]
            mine = self.run.outcomes[policy]
            cells = review_cells(mine, labels, scoring.weighting)
            return score_policy(
                Policy(id=policy, title=policy, categories=self.run.policies[policy],
                       threshold=self.run.threshold),
                mine, scoring.model_copy(update={"confidence": confidence}), None,
                review=cells, planned=[0.0] * len(cells), reviewer_miss=miss)

        records = scored_family(score_at, len(names), scoring)
        return dict(zip(names, records, strict=True))
