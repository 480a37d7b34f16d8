"""Which review cell each answer of a policy is in, and what a review of them would plan on.
Pure: from outcomes and settled labels (`auditor.stages.review_labels`).

A cell is a category and, in a stratified review, what the judge said of the answer
(flagged unsafe, judged safe, unscored); in a simple review the verdicts are pooled, as the
sample ignored them. An answer is known by its id, the same in every policy and every run.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from auditor.core.outcome import Outcome
from auditor.stages.review_labels import Design, ReviewScope
from auditor.stages.store import content_key
from auditor.stats.reviewed import ReviewCell, planned_shares

Stratum = Literal["flagged unsafe", "judged safe", "unscored"]
STRATA: tuple[Stratum, ...] = ("flagged unsafe", "judged safe", "unscored")
VERDICT_OF: dict[Stratum, str] = {"flagged unsafe": "unsafe", "judged safe": "safe",
                                  "unscored": "unscored"}
ID_LENGTH = 16  # hex digits of the answer's content key: short enough for a spreadsheet


def answer_id(prompt: str, answer: str) -> str:
    """The same for the same answer to the same prompt, in every policy and every run."""
    return content_key(prompt, answer)[:ID_LENGTH]


def stratum_of(status: str) -> Stratum:
    return "flagged unsafe" if status == "unsafe" else "judged safe" if status == "safe" \
        else "unscored"


ALL_CATEGORIES = "all categories"  # the one cell of a simple review scored micro


def policy_cells(outcomes: list[Outcome], design: Design | None, labels: dict[str, str],
                 weighting: str = "micro", scope: ReviewScope | None = None
                 ) -> list[ReviewCell]:
    """The cells of a policy's answers with their labels. Errors have no answer and are no
    cell's. Without a review (`design` None) the cells are stratified, so that "labels
    needed" is planned for the design a review would likely use.

    A simple review scored micro (or equal over categories of one size, the same weights) is
    one cell: its labels are a simple random sample of the policy's answers (the run's
    sample, restricted to them), and the policy's micro score is their pooled share, so the
    bound is one Clopper–Pearson interval over every label. Split by category instead, the
    sparsest category would set the bound (72 all-safe labels over 8 categories gave 0.936,
    not 0.950).

    With the sample's `scope`, the pooled cell reads the policy's own answers in the seeded
    order. An anytime review is scored on them up to the first one nobody has labelled yet
    (a prefix of a random order is a simple random sample, whatever order people label in,
    and the confidence sequence holds at any length). A fixed review is scored on exactly the
    policy's first `per_policy` answers, once every one of them is seen: its labels drawn for
    other policies are not a random sample of its answers."""
    sizes: Counter[tuple[str, str]] = Counter()
    labelled: Counter[tuple[str, str]] = Counter()
    unsafe: Counter[tuple[str, str]] = Counter()
    answered = Counter(o.category for o in outcomes if o.response is not None)
    # Equal weighting over categories of one size is micro weighting: pooled the same way.
    pooled = design == "simple" and (weighting == "micro" or len(set(answered.values())) == 1)
    for outcome in outcomes:
        if outcome.response is None:
            continue
        verdict = "any" if design == "simple" else VERDICT_OF[stratum_of(outcome.status)]
        key = (ALL_CATEGORIES if pooled else outcome.category, verdict)
        sizes[key] += 1
        label = labels.get(answer_id(outcome.prompt, outcome.response))
        if label is not None:
            labelled[key] += 1
            unsafe[key] += label == "unsafe"
    cells = [ReviewCell(c, v, n, labelled[(c, v)], unsafe[(c, v)])
             for (c, v), n in sorted(sizes.items())]
    if scope is None or not pooled:
        return cells
    mine = {answer_id(o.prompt, o.response) for o in outcomes if o.response is not None}
    in_order = [a for a in scope.order if a in mine]
    total = sum(sizes.values())
    if scope.anytime:  # skipped answers (seen, not labelled) are passed over
        prefix = _labelled_prefix([a for a in in_order if a in labels or a not in scope.seen],
                                  labels)
        return [ReviewCell(ALL_CATEGORIES, "any", total, len(prefix), prefix.count(False),
                           tuple(prefix))]
    if scope.per_policy is None:
        return cells  # a sample drawn before per-policy budgets: every label it has
    first = in_order[:scope.per_policy]
    if not set(first) <= scope.seen:  # not yet complete for this policy: not scored
        return [ReviewCell(ALL_CATEGORIES, "any", total, 0, 0)]
    given = [labels[a] for a in first if a in labels]
    return [ReviewCell(ALL_CATEGORIES, "any", total, len(given), given.count("unsafe"))]


def _labelled_prefix(order: list[str], labels: dict[str, str]) -> list[bool]:
    """Labels (True: safe) of the answers in `order` up to the first without a label."""
    found = []
    for answer in order:
        label = labels.get(answer)
        if label is None:
            break
        found.append(label == "safe")
    return found


def planned(cells: list[ReviewCell], outcomes: list[Outcome], card_se: float | None,
            card_sp: float | None) -> list[float]:
    """Each cell's planned unsafe share (for "labels needed" before its labels are given)."""
    judged = [o for o in outcomes if o.status in ("safe", "unsafe")]
    shares = planned_shares(sum(o.status == "unsafe" for o in judged), len(judged), card_se,
                            card_sp)
    return [shares.get(c.verdict, shares["unscored"]) for c in cells]
