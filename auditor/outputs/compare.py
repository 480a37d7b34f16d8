"""Vendor comparison: two runs, per policy, on the prompts both runs scored, on both axes:
safety (ALERT prompts) and over-refusal (benign look-alike prompts), each paired.

The difference in safety score gets a paired interval (Newcombe's method 10, built on Wilson
intervals, with the continuity-corrected correlation term), and McNemar's exact test on the
discordant pairs. One run is called better only when the interval excludes 0 and McNemar's
test agrees at the same level.
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import Field

from auditor.core.identity import Record
from auditor.core.intervals import wilson
from auditor.core.outcome import BenignOutcome, Outcome
from auditor.core.verdicts import Verdict
from auditor.outputs.comparability import RunRecord
from auditor.outputs.records import Results


def newcombe_paired(both_safe: int, only_a: int, only_b: int, neither: int,
                    confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference A − B in safe rate, with Newcombe's (1998) method-10 interval."""
    n = both_safe + only_a + only_b + neither
    if n == 0:
        return (0.0, -1.0, 1.0)
    a, b, c, d = both_safe, only_a, only_b, neither
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, confidence)
    l2, u2 = wilson(a + c, n, confidence)
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    # Newcombe's continuity correction of the correlation term: max(AD − BC − N/2, 0)
    # when AD > BC. Without it the interval is too narrow for small tables.
    numerator = max(a * d - b * c - n / 2, 0.0) if a * d > b * c else float(a * d - b * c)
    phi = numerator / math.sqrt(denominator) if denominator else 0.0
    delta = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (delta, max(-1.0, delta - dl), min(1.0, delta + du))


class PairedDifference(Record):
    """A − B in the share of True on paired answers, with Newcombe's interval and McNemar's
    exact p, and the 2×2 table they come from."""

    n_shared: int
    rate_a: float | None
    rate_b: float | None
    difference: float
    low: float
    high: float
    mcnemar_p: float
    both: int
    only_a: int
    only_b: int
    neither: int
    larger_is_a: bool | None = Field(exclude=True, description="Whether A's share is "
                                     "significantly larger (None: neither is).")


def paired_difference(pairs: list[tuple[bool, bool]], confidence: float) -> PairedDifference:
    both = sum(a and b for a, b in pairs)
    only_a = sum(a and not b for a, b in pairs)
    only_b = sum(b and not a for a, b in pairs)
    neither = len(pairs) - both - only_a - only_b
    delta, low, high = newcombe_paired(both, only_a, only_b, neither, confidence)
    discordant = only_a + only_b
    from scipy.stats import binomtest  # slow to import; only compare needs it

    p_value = float(binomtest(only_a, discordant, 0.5).pvalue) if discordant else 1.0
    # A difference needs both the interval and McNemar's test: they can disagree at small n.
    significant = p_value < 1 - confidence
    larger = (True if low > 0 else False if high < 0 else None) if significant else None
    return PairedDifference(
        n_shared=len(pairs), rate_a=(both + only_a) / len(pairs) if pairs else None,
        rate_b=(both + only_b) / len(pairs) if pairs else None, difference=delta, low=low,
        high=high, mcnemar_p=p_value, both=both, only_a=only_a, only_b=only_b,
        neither=neither, larger_is_a=larger)


Better = Literal["A", "B"] | None


class OverRefusalDifference(PairedDifference):
    better: Better = Field(description="Which run refuses fewer benign prompts, where the "
                           "difference is significant.")


class OwnRefusal(Record):
    rate: float | None
    low: float
    high: float
    verdict: Verdict | None
    decided_on: Literal["raw", "judge-corrected"]


class OwnFigures(Record):
    """A policy's figures as its own audit reports them (judge-corrected where it was), so a
    comparison never shows a vendor a different number than its report does."""

    score: float | None
    low: float
    high: float
    verdict: Verdict
    decided_on: Literal["raw", "judge-corrected"]
    over_refusal: OwnRefusal | None


class ComparisonRow(Record):
    policy_id: str
    title: str
    n_shared: int
    score_a: float | None
    score_b: float | None
    difference: float
    low: float
    high: float
    mcnemar_p: float
    both_safe: int
    only_a_safe: int
    only_b_safe: int
    neither_safe: int
    better: Better
    verdict_a: Verdict
    verdict_b: Verdict
    over_refusal: OverRefusalDifference | None
    own_a: OwnFigures
    own_b: OwnFigures


class RunRef(Record):
    run_id: str
    model: str
    fingerprint: str


class Comparison(Record):
    """comparison.json: both axes per policy, paired on the prompts both runs answered."""

    confidence: float
    a: RunRef
    b: RunRef
    organisation: str
    dataset_licence: str
    policies: list[ComparisonRow]
    mismatches: list[str] = Field(default_factory=list, description="How the runs differ in "
                                  "what they measured (compared anyway, --allow-mismatch).")


def _pairs(status_a: dict[tuple[str, str], str], status_b: dict[tuple[str, str], str],
           policy_id: str, yes: str, no: str) -> list[tuple[bool, bool]]:
    shared = [key for key in status_a if key[0] == policy_id and key in status_b
              and status_a[key] in (yes, no) and status_b[key] in (yes, no)]
    return [(status_a[k] == yes, status_b[k] == yes) for k in shared]


def _by_prompt(outcomes: list[Outcome] | list[BenignOutcome]) -> dict[tuple[str, str], str]:
    # pair on the prompt text, so runs with different plans still meet on shared prompts
    return {(o.policy_id, o.prompt): o.status for o in outcomes}


def _own(results: Results, policy_id: str) -> OwnFigures:
    policy = results.policy(policy_id)
    estimate = policy.deciding
    refusal = policy.over_refusal
    return OwnFigures(score=estimate.score, low=estimate.low, high=estimate.high,
                      verdict=policy.verdict, decided_on=policy.decided_on,
                      over_refusal=None if refusal is None else OwnRefusal(
                          rate=refusal.rate, low=refusal.low, high=refusal.high,
                          verdict=refusal.verdict, decided_on=refusal.decided_on))


def _side(larger_is_a: bool | None, a_if_larger: bool = True) -> Better:
    if larger_is_a is None:
        return None
    return "A" if larger_is_a == a_if_larger else "B"


def compare_runs(run_a: RunRecord, run_b: RunRecord, confidence: float = 0.95,
                 mismatches: list[str] | None = None) -> Comparison:
    """Both axes per policy: safety on ALERT prompts and, where both runs measured it,
    over-refusal on the benign prompts both answered."""
    results_a, results_b = run_a.results, run_b.results
    status_a, status_b = _by_prompt(run_a.outcomes), _by_prompt(run_b.outcomes)
    refusal_a, refusal_b = _by_prompt(run_a.benign), _by_prompt(run_b.benign)
    in_b = {p.id for p in results_b.policies}
    rows = []
    for policy in [p for p in results_a.policies if p.id in in_b]:
        safety = paired_difference(_pairs(status_a, status_b, policy.id, "safe", "unsafe"),
                                   confidence)
        over_refusal = None
        refusal_pairs = _pairs(refusal_a, refusal_b, policy.id, "refused", "answered")
        if refusal_pairs:
            paired = paired_difference(refusal_pairs, confidence)
            # fewer refusals of benign prompts is better
            over_refusal = OverRefusalDifference(
                **paired.model_dump(), larger_is_a=paired.larger_is_a,
                better=_side(paired.larger_is_a, a_if_larger=False))
        rows.append(ComparisonRow(
            policy_id=policy.id, title=policy.title, n_shared=safety.n_shared,
            score_a=safety.rate_a, score_b=safety.rate_b, difference=safety.difference,
            low=safety.low, high=safety.high, mcnemar_p=safety.mcnemar_p,
            both_safe=safety.both, only_a_safe=safety.only_a, only_b_safe=safety.only_b,
            neither_safe=safety.neither, better=_side(safety.larger_is_a),
            verdict_a=policy.verdict, verdict_b=results_b.policy(policy.id).verdict,
            over_refusal=over_refusal, own_a=_own(results_a, policy.id),
            own_b=_own(results_b, policy.id)))
    return Comparison(
        confidence=confidence,
        a=RunRef(run_id=results_a.run_id, model=results_a.target.model,
                 fingerprint=results_a.target.id),
        b=RunRef(run_id=results_b.run_id, model=results_b.target.model,
                 fingerprint=results_b.target.id),
        organisation=results_a.organisation.name, dataset_licence=results_a.dataset.licence,
        policies=rows, mismatches=mismatches or [])
