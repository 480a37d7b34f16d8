"""Vendor comparison: two runs, per policy, on the prompts both runs scored, on both axes:
safety (ALERT prompts) and over-refusal (benign look-alike prompts), each paired.

The difference in safety score gets a paired interval (Newcombe's method 10, built on Wilson
intervals, with the continuity-corrected correlation term), and McNemar's exact test on the
discordant pairs. One run is called better only when the interval excludes 0 and McNemar's
test agrees at the same level.
"""

from __future__ import annotations

import math
from typing import Any

from auditor.intervals import wilson
from auditor.records import deciding


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


def paired_difference(pairs: list[tuple[bool, bool]], confidence: float) -> dict[str, Any]:
    """A − B in the share of True, on paired answers, with Newcombe's interval and McNemar's
    exact p. `larger_is_a` says whether A's share is significantly larger (None: neither)."""
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
    return {"n_shared": len(pairs),
            "rate_a": (both + only_a) / len(pairs) if pairs else None,
            "rate_b": (both + only_b) / len(pairs) if pairs else None,
            "difference": delta, "low": low, "high": high, "mcnemar_p": p_value,
            "both": both, "only_a": only_a, "only_b": only_b, "neither": neither,
            "larger_is_a": larger}


def _pairs(status_a: dict[tuple[str, str], str], status_b: dict[tuple[str, str], str],
           policy_id: str, yes: str, no: str) -> list[tuple[bool, bool]]:
    shared = [key for key in status_a if key[0] == policy_id and key in status_b
              and status_a[key] in (yes, no) and status_b[key] in (yes, no)]
    return [(status_a[k] == yes, status_b[k] == yes) for k in shared]


def _by_prompt(outcomes: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
    # pair on the prompt text, so runs with different plans still meet on shared prompts
    return {(o["policy_id"], o["prompt"]): o["status"] for o in outcomes}


def _own(results: dict[str, Any], policy_id: str) -> dict[str, Any]:
    """A policy's figures as its own audit reports them (judge-corrected where it was), so a
    comparison never shows a vendor a different number than its report does."""
    policy = next(p for p in results["policies"] if p["id"] == policy_id)
    estimate = deciding(policy) or {"score": None, "low": 0.0, "high": 1.0}
    refusal = policy.get("over_refusal")
    return {"score": estimate["score"], "low": estimate["low"], "high": estimate["high"],
            "verdict": policy["verdict"], "decided_on": policy["decided_on"],
            "over_refusal": None if not refusal else {
                key: refusal[key] for key in ("rate", "low", "high", "verdict", "decided_on")}}


def compare_runs(results_a: dict[str, Any], outcomes_a: list[dict[str, Any]],
                 results_b: dict[str, Any], outcomes_b: list[dict[str, Any]],
                 confidence: float = 0.95, benign_a: list[dict[str, Any]] | None = None,
                 benign_b: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """Both axes per policy: safety on ALERT prompts and, where both runs measured it,
    over-refusal on the benign prompts both answered."""
    status_a, status_b = _by_prompt(outcomes_a), _by_prompt(outcomes_b)
    refusal_a, refusal_b = _by_prompt(benign_a or []), _by_prompt(benign_b or [])
    titles = {p["id"]: p for p in results_a["policies"]}
    rows = []
    for policy_id in [p["id"] for p in results_a["policies"]
                      if p["id"] in {q["id"] for q in results_b["policies"]}]:
        safety = paired_difference(_pairs(status_a, status_b, policy_id, "safe", "unsafe"),
                                   confidence)
        over_refusal = None
        refusal_pairs = _pairs(refusal_a, refusal_b, policy_id, "refused", "answered")
        if refusal_pairs:
            over_refusal = paired_difference(refusal_pairs, confidence)
            # fewer refusals of benign prompts is better
            larger_is_a = over_refusal.pop("larger_is_a")
            over_refusal["better"] = None if larger_is_a is None else ("B" if larger_is_a else "A")
        larger_is_a = safety.pop("larger_is_a")
        rows.append({
            "policy_id": policy_id, "title": titles[policy_id]["title"],
            "n_shared": safety["n_shared"], "score_a": safety["rate_a"],
            "score_b": safety["rate_b"], "difference": safety["difference"],
            "low": safety["low"], "high": safety["high"], "mcnemar_p": safety["mcnemar_p"],
            "both_safe": safety["both"], "only_a_safe": safety["only_a"],
            "only_b_safe": safety["only_b"], "neither_safe": safety["neither"],
            "better": None if larger_is_a is None else ("A" if larger_is_a else "B"),
            "verdict_a": titles[policy_id]["verdict"],
            "verdict_b": next(p["verdict"] for p in results_b["policies"] if p["id"] == policy_id),
            "over_refusal": over_refusal,
            "own_a": _own(results_a, policy_id), "own_b": _own(results_b, policy_id),
        })
    return {
        "confidence": confidence,
        "a": {"run_id": results_a["run_id"], "model": results_a["target"].get("model"),
              "fingerprint": results_a["target"].get("id")},
        "b": {"run_id": results_b["run_id"], "model": results_b["target"].get("model"),
              "fingerprint": results_b["target"].get("id")},
        "organisation": results_a["organisation"]["name"],
        "dataset_licence": results_a["dataset"]["licence"],
        "policies": rows,
    }
