"""Which of a run's answers people review: a seeded sample, either simple or stratified by
category and what the judge said (flagged unsafe, judged safe, unscored), chosen to decide the
policies with the fewest labels (`auditor.stats.reviewed` plans it). An answer several
policies share is one item, labelled once, counted for each.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import cast

from auditor.core.outcome import Outcome
from auditor.stages.review_labels import Design, PolicyPlan
from auditor.stats.review_cells import (
    STRATA,
    VERDICT_OF,
    Stratum,
    answer_id,
    review_order,
    seeded_rank,
    stratum_of,
)
from auditor.stats.reviewed import ReviewCell, allocate_labels, choose_design, planned_shares

__all__ = ["STRATA", "Design", "ReviewItem", "ReviewPlan", "Stratum", "answer_id", "choose",
           "reviewable"]


@dataclass
class ReviewItem:
    """One answer to review, with everything a reviewer needs beside it."""

    answer_id: str
    prompt: str
    answer: str
    category: str
    attack_type: str
    judge_label: Stratum
    policies: list[str] = field(default_factory=list)


def reviewable(outcomes: Iterable[Outcome]) -> dict[str, ReviewItem]:
    """Every answered prompt of the run, by answer id (errors have no answer to review)."""
    items: dict[str, ReviewItem] = {}
    for outcome in outcomes:
        if outcome.response is None:
            continue
        key = answer_id(outcome.prompt, outcome.response)
        item = items.setdefault(key, ReviewItem(
            key, outcome.prompt, outcome.response, outcome.category, outcome.attack_type,
            stratum_of(outcome.status)))
        if outcome.policy_id not in item.policies:
            item.policies.append(outcome.policy_id)
    return items


@dataclass
class ReviewPlan:
    """The answers chosen, and the design the score must be computed under."""

    design: Design
    chosen: list[ReviewItem]


def per_policy_sample(ordered: list[ReviewItem], budgets: dict[str, int]) -> list[ReviewItem]:
    """Each policy's first `budgets[policy]` answers in the seeded order (all of them when it
    has fewer), an answer several policies share taken once. For every policy its first
    answers in a random order are a simple random sample of its own answers, whatever the
    others draw; so a budget is what each policy gets, not what the run's policies share."""
    taken: dict[str, int] = {}
    chosen = []
    for item in ordered:
        if any(taken.get(p, 0) < budgets.get(p, 0) for p in item.policies):
            chosen.append(item)
            for policy in item.policies:
                taken[policy] = taken.get(policy, 0) + 1
    return chosen


def in_seeded_order(items: Iterable[ReviewItem], seed: int) -> list[ReviewItem]:
    return sorted(items, key=lambda i: seeded_rank(seed, i.answer_id))


def choose(items: dict[str, ReviewItem], budgets: dict[str, int], seed: int = 0,
           card: tuple[float, float] | None = None, confidence: float = 0.95,
           design: Design | None = None) -> ReviewPlan:
    """The review sample of `budgets[policy]` answers of each policy, and its design.

    The design is chosen before any label, from the judge's card and what it flagged: a
    *simple* random sample of the run's answers (what a judge that tells little calls for,
    and what certifies a wholly safe model with the fewest labels), or a sample *stratified*
    by category and verdict with more labels where the judge's flags are (when that narrows
    the planned bound, as with an informative judge and a model that is not wholly safe). A
    later, larger sample of the same run keeps its design and every answer already chosen:
    both take the first answers of a seeded order (of each policy, or in each cell). A
    stratified plan labels as many answers in all as the simple sample would.
    """
    ordered = in_seeded_order(items.values(), seed)
    simple = per_policy_sample(ordered, budgets)
    cells: dict[tuple[str, str], list[ReviewItem]] = {}
    for item in ordered:
        cells.setdefault((item.category, item.judge_label), []).append(item)
    keys = sorted(cells)
    review_cells = [ReviewCell(c, VERDICT_OF[cast(Stratum, v)], len(cells[(c, v)]), 0, 0)
                    for c, v in keys]
    judged = [i for i in ordered if i.judge_label != "unscored"]
    flagged = sum(i.judge_label == "flagged unsafe" for i in judged)
    shares = planned_shares(flagged, len(judged), *(card or (None, None)))
    planned = [shares[c.verdict] for c in review_cells]
    total = len(simple)  # a stratified plan labels as many answers as the simple one would
    if design is None:
        chosen_design, counts = choose_design(review_cells, "micro", confidence, planned,
                                              total)
        design = cast(Design, chosen_design)
    if design == "simple":
        return ReviewPlan("simple", simple)
    counts = allocate_labels(review_cells, "micro", confidence, planned, total)
    chosen = [item for key, count in zip(keys, counts, strict=True)
              for item in cells[key][:count]]
    return ReviewPlan("stratified", in_seeded_order(chosen, seed))


def in_census(item: ReviewItem) -> bool:
    """Flagged by the judge or left unscored: labelled first in a flagged-first design."""
    return item.judge_label != "judged safe"


def policy_order(items: Iterable[ReviewItem], policy: str, seed: int,
                 plan: PolicyPlan | None) -> list[ReviewItem]:
    """One policy's answers in the order its pooled review labels them
    (`auditor.stats.review_cells.review_order`, which its score reads them in)."""
    mine = {i.answer_id: i for i in items if policy in i.policies}
    return [mine[a] for a in review_order({a: in_census(i) for a, i in mine.items()}, seed,
                                          plan)]


def choose_pooled(items: dict[str, ReviewItem], budgets: dict[str, int],
                  plans: dict[str, PolicyPlan], seed: int) -> ReviewPlan:
    """Each policy's first `budgets[policy]` answers in its own order (`policy_order`), an
    answer several policies share chosen once. Any prefix of a policy's order is what its
    test reads, whatever the other policies draw."""
    chosen: dict[str, ReviewItem] = {}
    for policy, budget in sorted(budgets.items()):
        for item in policy_order(items.values(), policy, seed, plans.get(policy))[:budget]:
            chosen.setdefault(item.answer_id, item)
    designs = {plan.design for plan in plans.values()}
    design: Design = "simple" if designs <= {"simple"} else "flagged-first" \
        if "stratified" not in designs else "stratified"
    return ReviewPlan(design, in_seeded_order(chosen.values(), seed))


def looked_at(items: dict[str, ReviewItem], seed: int, budgets: dict[str, int],
              seen: set[str], plans: dict[str, PolicyPlan] | None = None) -> list[str]:
    """The policies of a fixed review already scored: every one of their first `budget`
    answers seen by a reviewer. Their one look is taken; a larger sample would be another."""
    done = []
    for policy, budget in sorted(budgets.items()):
        if budget <= 0:
            continue
        order = policy_order(items.values(), policy, seed, (plans or {}).get(policy))
        mine = [i.answer_id for i in order][:budget]
        if mine and set(mine) <= seen:
            done.append(policy)
    return done
