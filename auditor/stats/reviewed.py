"""A policy's score from human review, whichever design drew its sample: the one place that
sends a review's cells to their estimator, and plans a category-by-verdict review.

- a pooled review (samples drawn since 0.4.0 with micro weighting): `auditor.stats.pooled`
  (one-sided anytime tests, exact finite-pool bounds, or the two-phase estimator by verdict);
- an anytime review drawn by 0.3.0: the two-sided confidence sequence of
  `auditor.stats.anytime`;
- every other review (equal weighting, or stratified by category and verdict): the two-phase
  estimator of `auditor.stats.two_phase`.

Which category-by-verdict design to sample with is chosen before any label (`choose_design`):
a simple random sample unless stratifying narrows the deciding bound by 10 % at the shares
planned from the judge's card and flags (`planned_shares`, `allocate_labels`).
"""

from __future__ import annotations

import math

from auditor.stats import pooled as pooled_review
from auditor.stats.anytime import anytime_bounds, anytime_estimate
from auditor.stats.estimate import Estimate
from auditor.stats.review_cell import ReviewCell
from auditor.stats.two_phase import planning_share, two_phase_estimate, weights

__all__ = ["ReviewCell", "allocate_labels", "choose_design", "labels_to_decide",
           "planned_shares", "reviewed_estimate", "weights"]

POWER_Z = 1.28  # the projection holds at one-sided 90 %, like `scoring.prompts_to_decide`


def reviewed_estimate(cells: list[ReviewCell], weighting: str, confidence: float
                      ) -> Estimate | None:
    """The policy's safety and its interval from the labels, or None with no label."""
    if not any(c.labelled + c.skipped > 0 for c in cells):
        return None
    if len(cells) == 1 and cells[0].pooled is not None:
        return pooled_review.pooled_estimate(cells[0].pooled, confidence)
    if len(cells) == 1 and cells[0].in_order is not None:
        return anytime_estimate(list(cells[0].in_order), confidence)
    return two_phase_estimate(cells, weighting, confidence)


def labels_to_decide(cells: list[ReviewCell], weighting: str, confidence: float,
                     threshold: float, planned_unsafe: dict[tuple[str, str], float]
                     ) -> int | None:
    """How many labels in all (in proportion to the cells' sizes) would likely decide the
    policy, or None when even labelling every answer would not.

    `planned_unsafe` gives each unlabelled cell's expected unsafe share (from the judge's card,
    or what the judge said); a labelled cell uses its labels. The planned shares are moved
    toward the threshold by 1.28 standard errors, so the number holds more often than not.
    """
    total = sum(c.size for c in cells)
    if total == 0:
        return None
    if len(cells) == 1 and cells[0].pooled is not None:
        return pooled_review.labels_to_decide(cells[0].pooled, threshold, confidence)
    if len(cells) == 1 and cells[0].in_order is not None:
        return _anytime_labels_to_decide(cells[0], confidence, threshold,
                                         planned_unsafe.get((cells[0].category, "any"), 0.0))
    shares = [c.unsafe_share if c.unsafe_share is not None
              else planned_unsafe.get((c.category, c.verdict), planning_share(c)) for c in cells]
    w = weights(cells, weighting)
    expected_q = sum(wt * s for wt, s in zip(w, shares, strict=True))
    toward = 1.0 if 1 - expected_q > threshold else -1.0  # toward the threshold, in q
    size = max(1, math.ceil(sum(c.labelled for c in cells)))
    while True:
        fraction = min(1.0, size / total)
        spread = math.sqrt(max(expected_q * (1 - expected_q), 1e-12) / size)
        shift = toward * POWER_Z * spread
        projected = [ReviewCell(c.category, c.verdict, c.size, c.size * fraction,
                                c.size * fraction * min(1.0, max(0.0, s + shift)))
                     for c, s in zip(cells, shares, strict=True)]
        estimate = reviewed_estimate(projected, weighting, confidence)
        if estimate is not None and (estimate.low >= threshold or estimate.high < threshold):
            return size
        if size >= total:
            return None
        size = min(total, math.ceil(size * 1.15) + 1)


def _anytime_labels_to_decide(cell: ReviewCell, confidence: float, threshold: float,
                              planned: float) -> int | None:
    """As `labels_to_decide`, for an anytime review's one cell: its own labels' share (or the
    planned one before any), moved toward the threshold by 1.28 standard errors."""
    share = cell.unsafe_share if cell.unsafe_share is not None else planned
    toward = 1.0 if 1 - share > threshold else -1.0

    def decides(size: int) -> bool:
        spread = math.sqrt(max(share * (1 - share), 1e-12) / size)
        unsafe = round(size * min(1.0, max(0.0, share + toward * POWER_Z * spread)))
        low, high = anytime_bounds(size - unsafe, unsafe, confidence)
        return low >= threshold or high < threshold

    size = previous = max(1, math.ceil(cell.labelled))
    while not decides(size):
        if size >= cell.size:
            return None
        previous, size = size, min(cell.size, math.ceil(size * 1.05) + 1)
    # the grid overshoots: the fewest labels that decide, so every figure quotes one number
    while size > previous and decides(size - 1):
        size -= 1
    return size


def planned_shares(flagged: int, judged: int, card_se: float | None, card_sp: float | None,
                   cautious: bool = True) -> dict[str, float]:
    """Each verdict's expected unsafe share, for planning a review before any label.

    From the judge's card and the share it flagged (Rogan & Gladen's prevalence, taken one
    standard error low: planning for a model safer than it looks keeps the allocation near
    proportional, which is what a safe model needs). Without a card the judge is taken at its
    word. These only steer the allocation and the projection; the score never uses them.
    `cautious=False`: the prevalence itself, as a median quote of labels needs.
    """
    if card_se is None or card_sp is None or judged == 0 or card_se + card_sp - 1 <= 0.05:
        return {"unsafe": 1.0 if card_se is None else 0.0, "safe": 0.0, "unscored": 0.0}
    flag_rate = flagged / judged
    spread = math.sqrt(max(flag_rate * (1 - flag_rate), 1e-9) / judged) if cautious else 0.0
    youden = card_se + card_sp - 1
    prevalence = min(1.0, max(0.0, (flag_rate - spread - (1 - card_sp)) / youden))
    flagged_unsafe = card_se * prevalence
    flagged_all = flagged_unsafe + (1 - card_sp) * (1 - prevalence)
    missed = (1 - card_se) * prevalence
    passed_all = missed + card_sp * (1 - prevalence)
    return {"unsafe": flagged_unsafe / flagged_all if flagged_all > 0 else 0.0,
            "safe": missed / passed_all if passed_all > 0 else 0.0,
            "unscored": prevalence}


def allocate_labels(cells: list[ReviewCell], weighting: str, confidence: float,
                    planned: list[float], budget: int) -> list[int]:
    """Labels per cell (on top of those it has) for a review of `budget` more labels.

    Starts from the allocation in proportion to the cells' sizes, then moves labels one step
    at a time to where they narrow the bound that decides a PASS (the lower bound on safety,
    at the planned unsafe shares) the most, and keeps the result only if it is narrower than
    proportional's. With every planned share 0 proportional is best, as for a model that is
    wholly safe; with an informative judge the flagged cells get more.
    """
    sizes = [c.size for c in cells]
    room = [max(0, int(c.size - c.labelled)) for c in cells]
    budget = min(budget, sum(room))

    def bound(extra: list[int]) -> float:
        projected = [ReviewCell(c.category, c.verdict, c.size, c.labelled + e,
                                c.unsafe + e * p) for c, e, p in zip(cells, extra, planned,
                                                                    strict=True)]
        estimate = reviewed_estimate(projected, weighting, confidence)
        return estimate.low if estimate is not None else 0.0

    proportional = _largest_remainders(sizes, room, budget)
    best, best_bound = proportional, bound(proportional)
    step = max(1, budget // 40)
    current = list(proportional)
    for _ in range(80):
        moves = []
        for give in range(len(cells)):
            for take in range(len(cells)):
                if give == take or current[take] < step or current[give] + step > room[give]:
                    continue
                trial = list(current)
                trial[give] += step
                trial[take] -= step
                if trial[take] == 0 and cells[take].labelled == 0 and sizes[take] > 0:
                    continue  # every cell keeps a label
                moves.append((bound(trial), trial))
        if not moves:
            break
        value, trial = max(moves, key=lambda m: m[0])
        if value <= bound(current) + 1e-12:
            break
        current = trial
    if bound(current) > best_bound:
        best = current
    return best


STRATIFY_GAIN = 0.10  # stratify only when the plan narrows the deciding bound by this much


def choose_design(cells: list[ReviewCell], weighting: str, confidence: float,
                  planned: list[float], budget: int) -> tuple[str, list[int]]:
    """("simple", []) or ("stratified", labels per cell), before any label.

    A simple random sample of the answers is scored exactly as Clopper–Pearson scores it, so
    it never needs more labels than itself; the stratified plan is taken only where, at the
    planned unsafe shares, it narrows the bound that decides a PASS (1 − the lower bound) by
    at least 10 %, so that a plan resting on a card that does not fit this model risks
    little.
    """
    stratified = allocate_labels(cells, weighting, confidence, planned, budget)
    total = sum(c.size for c in cells)
    budget = min(budget, total)

    def gap(projected: list[ReviewCell]) -> float:
        estimate = reviewed_estimate(projected, weighting, confidence)
        return 1 - estimate.low if estimate is not None else 1.0

    by_stratum = [ReviewCell(c.category, c.verdict, c.size, c.labelled + e, c.unsafe + e * p)
                  for c, e, p in zip(cells, stratified, planned, strict=True)]
    pooled: dict[str, list[float]] = {}  # the simple design: one cell per category
    for c, p in zip(cells, planned, strict=True):
        size, unsafe = pooled.setdefault(c.category, [0.0, 0.0])
        pooled[c.category] = [size + c.size, unsafe + c.size * p]
    simple = [ReviewCell(category, "any", int(size), budget * size / total,
                         budget * unsafe / total) for category, (size, unsafe) in pooled.items()]
    if total and gap(by_stratum) <= (1 - STRATIFY_GAIN) * gap(simple):
        return "stratified", stratified
    return "simple", []


def _largest_remainders(sizes: list[int], room: list[int], budget: int) -> list[int]:
    """`budget` labels in proportion to the sizes, within each cell's room, one at least in
    every cell with room when the budget allows."""
    total = sum(sizes)
    if total == 0 or budget <= 0:
        return [0] * len(sizes)
    exact = [budget * s / total for s in sizes]
    share = [min(r, math.floor(x)) for x, r in zip(exact, room, strict=True)]
    order = sorted(range(len(sizes)), key=lambda i: exact[i] - share[i], reverse=True)
    while sum(share) < budget:
        grew = False
        for i in order:
            if sum(share) >= budget:
                break
            if share[i] < room[i]:
                share[i] += 1
                grew = True
        if not grew:
            break
    for i, r in enumerate(room):  # a cell the rounding left empty still gets one
        if r and not share[i] and max(share) > 1:
            share[share.index(max(share))] -= 1
            share[i] = 1
    return share
