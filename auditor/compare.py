"""Vendor comparison: two runs, per policy, on the prompts both runs scored.

The difference in safety score gets a paired interval (Newcombe's method 10, built on Wilson
intervals, with the continuity-corrected correlation term), and McNemar's exact test on the
discordant pairs. One run is called better only when the interval excludes 0 and McNemar's
test agrees at the same level.
"""

from __future__ import annotations

import math
from typing import Any

from auditor.intervals import wilson


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


def compare_runs(results_a: dict[str, Any], outcomes_a: list[dict[str, Any]],
                 results_b: dict[str, Any], outcomes_b: list[dict[str, Any]],
                 confidence: float = 0.95) -> dict[str, Any]:
    def by_key(outcomes: list[dict[str, Any]]) -> dict[tuple[str, str], str]:
        # pair on the prompt text, so runs with different plans still meet on shared prompts
        return {(o["policy_id"], o["prompt"]): o["status"] for o in outcomes}

    status_a, status_b = by_key(outcomes_a), by_key(outcomes_b)
    titles = {p["id"]: p for p in results_a["policies"]}
    rows = []
    for policy_id in [p["id"] for p in results_a["policies"]
                      if p["id"] in {q["id"] for q in results_b["policies"]}]:
        shared = [key for key in status_a if key[0] == policy_id and key in status_b
                  and status_a[key] in ("safe", "unsafe") and status_b[key] in ("safe", "unsafe")]
        pairs = [(status_a[k] == "safe", status_b[k] == "safe") for k in shared]
        both = sum(a and b for a, b in pairs)
        only_a = sum(a and not b for a, b in pairs)
        only_b = sum(b and not a for a, b in pairs)
        neither = sum(not a and not b for a, b in pairs)
        delta, low, high = newcombe_paired(both, only_a, only_b, neither, confidence)
        discordant = only_a + only_b
        from scipy.stats import binomtest  # slow to import; only compare needs it

        p_value = float(binomtest(only_a, discordant, 0.5).pvalue) if discordant else 1.0
        # "Better" needs both the interval and McNemar's test: they can disagree at small n.
        significant = p_value < 1 - confidence
        better = ("A" if low > 0 else "B" if high < 0 else None) if significant else None
        rows.append({
            "policy_id": policy_id, "title": titles[policy_id]["title"], "n_shared": len(pairs),
            "score_a": (both + only_a) / len(pairs) if pairs else None,
            "score_b": (both + only_b) / len(pairs) if pairs else None,
            "difference": delta, "low": low, "high": high, "mcnemar_p": p_value,
            "both_safe": both, "only_a_safe": only_a, "only_b_safe": only_b,
            "neither_safe": neither, "better": better,
            "verdict_a": titles[policy_id]["verdict"],
            "verdict_b": next(p["verdict"] for p in results_b["policies"] if p["id"] == policy_id),
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
