"""Which of a run's answers people review: a seeded sample, stratified per policy by what the
judge said (flagged unsafe, judged safe, unscored), allocated in proportion to each stratum's
size, so the sample is never less representative than a simple random one of the same size.
An answer several policies share is one item, labelled once, counted for each.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from auditor.core.outcome import Outcome
from auditor.stages.store import content_key

Stratum = Literal["flagged unsafe", "judged safe", "unscored"]
STRATA: tuple[Stratum, ...] = ("flagged unsafe", "judged safe", "unscored")
ID_LENGTH = 16  # hex digits of the answer's content key: short enough for a spreadsheet


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


def answer_id(prompt: str, answer: str) -> str:
    """The same for the same answer to the same prompt, in every policy and every run."""
    return content_key(prompt, answer)[:ID_LENGTH]


def stratum_of(status: str) -> Stratum:
    return "flagged unsafe" if status == "unsafe" else "judged safe" if status == "safe" \
        else "unscored"


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


def _order(seed: int, key: str) -> str:
    return hashlib.sha256(f"{seed}\x00{key}".encode()).hexdigest()


def allocate(sizes: dict[Stratum, int], budget: int) -> dict[Stratum, int]:
    """Labels per stratum, in proportion to its size (largest remainders); every non-empty
    stratum gets at least one when the budget allows."""
    total = sum(sizes.values())
    budget = min(budget, total)
    if total == 0 or budget == 0:
        return dict.fromkeys(sizes, 0)
    exact = {s: budget * n / total for s, n in sizes.items()}
    share = {s: math.floor(x) for s, x in exact.items()}
    for s in sorted(sizes, key=lambda s: exact[s] - share[s], reverse=True):
        if sum(share.values()) >= budget:
            break
        share[s] += 1
    for s, n in sizes.items():  # a stratum the rounding left empty still gets one
        if n and not share[s] and sum(1 for v in share.values() if v) < budget:
            donor = max(share, key=lambda d: share[d])
            share[donor] -= 1
            share[s] = 1
    return share


def choose(items: dict[str, ReviewItem], budget: int, seed: int = 0) -> list[ReviewItem]:
    """The sample: each policy's share of the budget (by its answers), split across its
    strata in proportion; an answer chosen for one policy counts for every policy it serves."""
    by_policy: dict[str, list[ReviewItem]] = {}
    for item in items.values():
        for policy in item.policies:
            by_policy.setdefault(policy, []).append(item)
    total = sum(len(v) for v in by_policy.values())
    chosen: dict[str, ReviewItem] = {}
    for mine in by_policy.values():
        quota = max(1, round(budget * len(mine) / total)) if total else 0
        strata = {s: sorted((i for i in mine if i.judge_label == s),
                            key=lambda i: _order(seed, i.answer_id)) for s in STRATA}
        for stratum, count in allocate({s: len(v) for s, v in strata.items()}, quota).items():
            already = sum(1 for i in strata[stratum] if i.answer_id in chosen)
            for item in strata[stratum]:
                if already >= count:
                    break
                if item.answer_id not in chosen:
                    chosen[item.answer_id] = item
                    already += 1
    # Shared answers count for several policies, so the quotas can leave budget unused: the
    # rest is drawn from the answers not chosen, again in proportion to the strata.
    left = {s: sorted((i for i in items.values()
                       if i.judge_label == s and i.answer_id not in chosen),
                      key=lambda i: _order(seed, i.answer_id)) for s in STRATA}
    more = allocate({s: len(v) for s, v in left.items()}, max(0, budget - len(chosen)))
    for stratum, count in more.items():
        chosen.update((i.answer_id, i) for i in left[stratum][:count])
    # Each policy's quota was rounded up to at least one: a few past the budget are cut, in
    # the same seeded order.
    return sorted(chosen.values(), key=lambda i: _order(seed, i.answer_id))[:budget]
