"""One claim for a whole run: Holm's step-down across its policies' safety verdicts.

Each verdict on its own errs with at most α/2 (2.5 % at the default confidence 0.95): a PASS
below the threshold, or a FAIL at or above it. A run of many policies makes many such claims,
and the chance that at least one is wrong grows with their number (30 policies, each just
under its threshold: 0.32 measured). With `scoring.family_wise: true` the verdicts are
decided by Holm's procedure (Holm, 1979), so that the chance of *any* wrong safety verdict in
the run is at most α/2.

Holm is applied to the intervals directly. With k policies still undecided, each is scored at
confidence 1 − α/k; those whose interval now clears their threshold (either way) are decided,
k falls by their number, and the rest are scored again at the new level, until a round
decides none. Each policy has exactly one true null hypothesis (its safety is either below
its threshold or not), so at most k true nulls remain among k undecided policies, which is
what makes the step-down valid (Shaffer's refinement of Holm for exclusive pairs). A verdict
decided at confidence c stays decided at any lower level, because every interval the tool
computes widens with its confidence.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, TypeVar

from auditor.config.policy import Scoring
from auditor.core.verdicts import INCONCLUSIVE


class HasVerdict(Protocol):
    @property
    def verdict(self) -> str: ...


R = TypeVar("R", bound=HasVerdict)


def holm(score_at: Callable[[int, float], R], count: int, confidence: float) -> list[R]:
    """Each of `count` policies' records, decided by Holm's step-down at the run's level.
    `score_at(i, c)` scores policy i with its interval at confidence c."""
    alpha = 1 - confidence
    records: dict[int, R] = {}
    undecided = list(range(count))
    while undecided:
        level = 1 - alpha / len(undecided)
        scored = {i: score_at(i, level) for i in undecided}
        decided = [i for i, record in scored.items() if record.verdict != INCONCLUSIVE]
        records.update(scored)
        if not decided:
            break
        undecided = [i for i in undecided if i not in decided]
    return [records[i] for i in range(count)]


def any_wrong_chance(policies: int, per_verdict: float) -> float:
    """The chance that at least one of `policies` independent verdicts, each wrong with at
    most `per_verdict`, is wrong: 1 − (1 − per_verdict)^policies (the union bound, policies ×
    per_verdict, holds whatever their dependence)."""
    return 1 - (1 - per_verdict) ** policies


def scored_family(score_at: Callable[[int, float], R], count: int,
                  scoring: Scoring) -> list[R]:
    """Every policy scored at the run's confidence, or, with `scoring.family_wise`, decided
    by Holm's step-down across them (`auditor.stats.family`). Verify calls this too."""
    if scoring.family_wise:
        return holm(score_at, count, scoring.confidence)
    return [score_at(i, scoring.confidence) for i in range(count)]
