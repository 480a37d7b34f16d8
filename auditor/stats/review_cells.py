"""Which review cell each answer of a policy is in, and what a review of them would plan on.
Pure: from outcomes and settled labels (`auditor.stages.review_labels`).

A cell is a category and, in a stratified review, what the judge said of the answer
(flagged unsafe, judged safe, unscored); in a simple review the verdicts are pooled, as the
sample ignored them. An answer is known by its id, the same in every policy and every run.
"""

from __future__ import annotations

import functools
import hashlib
from collections import Counter
from dataclasses import replace
from typing import Literal

from auditor.core.outcome import Outcome
from auditor.stages.review_labels import Design, PolicyPlan, ReviewScope
from auditor.stages.store import content_key
from auditor.stats.estimators import MIN_YOUDEN
from auditor.stats.pooled import PoolAim, PooledLabels, split_budget
from auditor.stats.reviewed import ReviewCell, planned_shares

Stratum = Literal["flagged unsafe", "judged safe", "unscored"]
STRATA: tuple[Stratum, ...] = ("flagged unsafe", "judged safe", "unscored")
VERDICT_OF: dict[Stratum, str] = {"flagged unsafe": "unsafe", "judged safe": "safe",
                                  "unscored": "unscored"}
ID_LENGTH = 16  # hex digits of the answer's content key: short enough for a spreadsheet


@functools.lru_cache(maxsize=1 << 17)  # asked per policy, per stage: hash each answer once
def answer_id(prompt: str, answer: str) -> str:
    """The same for the same answer to the same prompt, in every policy and every run."""
    return content_key(prompt, answer)[:ID_LENGTH]


def seeded_rank(seed: int, answer: str) -> str:
    """An answer's place in the review's seeded order (sorting by it shuffles the answers):
    one order for the whole run, so every policy's answers, read in it, are in a random order
    of their own."""
    return hashlib.sha256(f"{seed}\x00{answer}".encode()).hexdigest()


def stratum_of(status: str) -> Stratum:
    return "flagged unsafe" if status == "unsafe" else "judged safe" if status == "safe" \
        else "unscored"


ALL_CATEGORIES = "all categories"  # the one cell of a simple review scored micro


def flagged(outcome: Outcome) -> bool:
    """Flagged by the judge or left unscored by it: what a flagged-first census labels."""
    return outcome.status in ("unsafe", "unscored")


def pool_template(outcomes: list[Outcome], card: tuple[float, float] | None,
                  sequential: bool) -> PooledLabels:
    """A policy's pool before any label: its distinct answers, how many the judge flagged or
    left unscored, and the unsafe shares the run suggests for those and for the rest: from
    the judge's card and its flag rate (Rogan & Gladen's prevalence); without a card, the
    judge taken at its word; with a card that shows it cannot tell safe from unsafe,
    nothing (`pooled.neutral_share`). Planning only: no bound uses them."""
    first: dict[str, Outcome] = {}
    for outcome in outcomes:
        if outcome.response is not None:
            first.setdefault(answer_id(outcome.prompt, outcome.response), outcome)
    answers = list(first.values())
    return planned_pool(len(answers), sum(o.status == "unsafe" for o in answers),
                        sum(o.status == "safe" for o in answers), card, sequential)


def planned_pool(pool: int, judged_unsafe: int, judged_safe: int,
                 card: tuple[float, float] | None, sequential: bool) -> PooledLabels:
    """`pool_template` from counts: a pool of `pool` distinct answers, of which the judge
    flagged `judged_unsafe`, passed `judged_safe` and left the rest unscored."""
    marked = pool - judged_safe  # flagged or unscored: what a census labels
    judged = judged_unsafe + judged_safe
    flagged_share, rest_share, backed = 1.0, 0.0, False
    if card is not None and card[0] + card[1] - 1 <= MIN_YOUDEN:  # its flags say nothing
        return PooledLabels(sequential, None, pool, marked, informed=False)
    if card is not None and judged:
        shares = planned_shares(judged_unsafe, judged, card[0], card[1], cautious=False)
        unscored = marked - judged_unsafe
        flagged_share = (judged_unsafe * shares["unsafe"] + unscored * shares["unscored"]
                         ) / marked if marked else 0.0
        rest_share, backed = shares["safe"], True
    return PooledLabels(sequential, None, pool, marked, planned_flagged_share=flagged_share,
                        planned_rest_share=rest_share, card_backed=backed)


def review_order(flags: dict[str, bool], seed: int, plan: PolicyPlan | None) -> list[str]:
    """A policy's answer ids (each with whether the judge flagged it or left it unscored) in
    the order its pooled review labels them: seeded; the flagged first in a flagged-first
    design; the two parts interleaved in a stratified one, so that every prefix holds
    `pooled.split_budget`'s share of each."""
    ordered = sorted(flags, key=lambda a: seeded_rank(seed, a))
    if plan is None or plan.design == "simple":
        return ordered
    marked = [a for a in ordered if flags[a]]
    others = [a for a in ordered if not flags[a]]
    if plan.design == "flagged-first":
        return marked + others
    share = plan.flagged_labels if plan.flagged_labels is not None else 0.5
    order, taken = [], 0
    for budget in range(1, len(ordered) + 1):
        to_flagged, _ = split_budget(budget, len(marked), len(others), share)
        if to_flagged > taken:
            order.append(marked[taken])
            taken += 1
        else:
            order.append(others[budget - 1 - taken])
    return order


def _pooled_cell(template: PooledLabels, plan: PolicyPlan | None, flags: dict[str, bool],
                 labels: dict[str, str], scope: ReviewScope, budget: int) -> ReviewCell:
    """A pooled review's one cell: the flagged part's labels and the rest's, read up to the
    first answer of the review's order not yet sampled or seen (a fixed review: exactly its
    first `budget` answers, once all are seen)."""
    if plan is None or budget == 0:
        return ReviewCell(ALL_CATEGORIES, "any", template.pool, 0, 0, pooled=template)
    order = review_order(flags, scope.seed, plan)
    if scope.anytime:
        looked = []
        for answer in order:
            if answer not in scope.sample or answer not in scope.seen:
                break
            looked.append(answer)
    else:
        first = order[:budget]
        looked = first if set(first) <= scope.seen else []

    def label(answer: str) -> bool | None:
        given = labels.get(answer)
        return None if given is None else given == "safe"

    if plan.design == "stratified":
        in_census = tuple(label(a) for a in looked if flags[a])
        rest = tuple(label(a) for a in looked if not flags[a])
    else:
        census_size = template.flagged if plan.design == "flagged-first" else 0
        in_census = tuple(label(a) for a in looked[:census_size])
        rest = tuple(label(a) for a in looked[census_size:])
    pooled = replace(template, design=plan.design, census=in_census, rest=rest,
                     aim=PoolAim(plan.aim, plan.aimed_at, plan.flagged_aim, plan.prior),
                     flagged_labels=plan.flagged_labels)
    return ReviewCell(ALL_CATEGORIES, "any", template.pool, pooled.labelled, pooled.unsafe,
                      skipped=pooled.skipped, pooled=pooled)


def pooled_cells(outcomes: list[Outcome], labels: dict[str, str], scope: ReviewScope,
                 card: tuple[float, float] | None) -> list[ReviewCell]:
    """One policy's cell under a pooled review (samples drawn by 0.4.0 on)."""
    policy = outcomes[0].policy_id if outcomes else ""
    template = pool_template(outcomes, card, scope.anytime)
    plans = scope.plans or {}
    budget = scope.budgets.of(policy) if scope.budgets is not None else 0
    flags = {answer_id(o.prompt, o.response): flagged(o) for o in outcomes
             if o.response is not None}
    return [_pooled_cell(template, plans.get(policy), flags, labels, scope, budget)]


def policy_cells(outcomes: list[Outcome], design: Design | None, labels: dict[str, str],
                 weighting: str = "micro", scope: ReviewScope | None = None
                 ) -> list[ReviewCell]:
    """The cells of one policy's answers with their labels. Errors have no answer and are no
    cell's. Without a review (`design` None) the cells are stratified, so that "labels
    needed" is planned for the design a review would likely use.

    A simple review scored micro (or equal over categories of one size, the same weights) is
    one cell: its labels are a simple random sample of the policy's answers, and the policy's
    micro score is their pooled share, so the bound is one interval over every label. Split by
    category instead, the sparsest category would set the bound (72 all-safe labels over 8
    categories gave 0.936, not 0.950).

    With the sample's `scope`, the pooled cell reads the policy's *own* answers in the run's
    seeded order, never the sampled ones alone: where policies share categories, the answers
    other policies' budgets pulled in over-represent the shared categories, and are no random
    sample of this policy's answers. A fixed review is scored on exactly the policy's first
    `budget` answers, once every one of them is seen. An anytime review is scored on the
    policy's answers up to the first one that is not sampled or not yet seen (a prefix of a
    random order, and the confidence sequence holds at any length, so where it stops cannot
    bias it). A policy with no budget of its own is not reviewed.

    A skipped answer (seen, labelled neither safe nor unsafe) is never dropped: it counts as
    unsafe for the bound that decides a PASS and as safe for the one that decides a FAIL
    (`ReviewCell.skipped`), so no way of skipping can make a verdict easier to reach."""
    policy = outcomes[0].policy_id if outcomes else ""
    answered = [o for o in outcomes if o.response is not None]
    budget = None if scope is None or scope.budgets is None else scope.budgets.of(policy)
    if budget == 0:  # sampled for other policies only: this one's labels are no sample of it
        labels = {}
    sizes: Counter[tuple[str, str]] = Counter()
    labelled: Counter[tuple[str, str]] = Counter()
    unsafe: Counter[tuple[str, str]] = Counter()
    skipped: Counter[tuple[str, str]] = Counter()
    by_category = Counter(o.category for o in answered)
    # Equal weighting over categories of one size is micro weighting: pooled the same way.
    pooled = design == "simple" and (weighting == "micro" or len(set(by_category.values())) == 1)
    sampled_unseen = False
    ids = [answer_id(o.prompt, o.response or "") for o in answered]
    for outcome, answer in zip(answered, ids, strict=True):
        verdict = "any" if design == "simple" else VERDICT_OF[stratum_of(outcome.status)]
        key = (ALL_CATEGORIES if pooled else outcome.category, verdict)
        sizes[key] += 1
        label = labels.get(answer)
        if label is not None:
            labelled[key] += 1
            unsafe[key] += label == "unsafe"
        elif scope is not None and answer in scope.sample and budget != 0:
            if answer in scope.seen:
                skipped[key] += 1
            else:
                sampled_unseen = True
    if scope is not None and not pooled and design == "simple" and scope.budgets is not None \
            and not scope.anytime and sampled_unseen:
        labelled.clear()  # a fixed review is looked at once, when all its answers are seen
        unsafe.clear()
        skipped.clear()
    cells = [ReviewCell(c, v, n, labelled[(c, v)], unsafe[(c, v)], skipped=skipped[(c, v)])
             for (c, v), n in sorted(sizes.items())]
    if scope is None or not pooled:
        return cells
    total = sum(sizes.values())
    mine = sorted(set(ids), key=lambda a: seeded_rank(scope.seed, a))
    if scope.anytime:
        prefix: list[bool | None] = []
        for answer in mine if budget != 0 else []:
            if answer not in scope.sample or answer not in scope.seen:
                break
            label = labels.get(answer)
            prefix.append(None if label is None else label == "safe")
        return [_pooled(total, prefix, in_order=True)]
    if budget is None:
        return cells  # a sample drawn before per-policy budgets: every label it has
    first = mine[:budget]
    if not set(first) <= scope.seen:  # not yet complete for this policy: not scored
        return [ReviewCell(ALL_CATEGORIES, "any", total, 0, 0)]
    return [_pooled(total, [None if labels.get(a) is None else labels[a] == "safe"
                            for a in first], in_order=False)]


def _pooled(total: int, given: list[bool | None], in_order: bool) -> ReviewCell:
    """A policy's one pooled cell from its labels (True: safe, None: skipped)."""
    safe = sum(g is True for g in given)
    bad = sum(g is False for g in given)
    return ReviewCell(ALL_CATEGORIES, "any", total, safe + bad, bad,
                      tuple(given) if in_order else None, skipped=given.count(None))


def planned(cells: list[ReviewCell], outcomes: list[Outcome], card_se: float | None,
            card_sp: float | None) -> list[float]:
    """Each cell's planned unsafe share (for "labels needed" before its labels are given)."""
    judged = [o for o in outcomes if o.status in ("safe", "unsafe")]
    shares = planned_shares(sum(o.status == "unsafe" for o in judged), len(judged), card_se,
                            card_sp)
    return [shares.get(c.verdict, shares["unscored"]) for c in cells]
