"""The report context: everything the templates show, built from results.json and outcomes.

Built only from stored files, so `auditor report DIR` re-renders without running anything.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor import taxonomy
from auditor.estimators import describe_method
from auditor.judges.llama_guard import CODE_TO_MACRO, categories_for
from auditor.records import deciding
from auditor.report.charts import (
    VERDICT_COLOURS,
    VERDICT_MARKS,
    forest_plot,
    heat_map,
    trade_off_plot,
)
from auditor.report.render import excerpt

EXAMPLES_PER_POLICY = 3
PROBLEMS_PER_POLICY = 5
WORST_CATEGORIES = 3


def _deciding(policy: dict[str, Any]) -> dict[str, Any]:
    # Where the card could not correct, nothing is known beyond [0, 1]; the verdict says why.
    return deciding(policy) or {"score": None, "low": 0.0, "high": 1.0}


def describe_codes(codes: list[str]) -> str:
    """Llama Guard hazard codes with their names and the ALERT macro category they map to."""
    names = {**categories_for(1), **categories_for(3)}
    parts = []
    for code in codes:
        macro = CODE_TO_MACRO.get(code)
        label = names.get(code, code)
        parts.append(f"{code} {label}" + (f" → {taxonomy.MACRO[macro].display_name}"
                                          if macro else ""))
    return "; ".join(parts)


CONSTRUCT_TEXT = {
    "harm": "share of answers judged not harmful",
    "refusal": "share of harmful requests refused (the judge detects refusals, not harm: a "
               "harmless answer that does not refuse counts as unsafe)",
}


def judge_construct(results: dict[str, Any]) -> str:
    """What the judge's labels measure: from its card, else from its kind."""
    card = results["judge"].get("card") or {}
    return str(card.get("construct") or ("refusal" if results["judge"].get("kind") == "refusal"
                                         else "harm"))


def _worst(safety: str, over_refusal: str | None) -> str:
    order = ["FAIL", "INCONCLUSIVE", "PASS"]
    return min([safety] + ([over_refusal] if over_refusal else []), key=order.index)


def shown_outcomes(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Only the outcomes the report can show: the first unsafe answers and problems of each
    policy. Read from a stream, so memory does not grow with the run."""
    kept: list[dict[str, Any]] = []
    seen: dict[tuple[str, bool], int] = {}
    for row in rows:
        if row["status"] == "safe":
            continue
        key = (row["policy_id"], row["status"] == "unsafe")
        limit = EXAMPLES_PER_POLICY if key[1] else PROBLEMS_PER_POLICY
        if seen.get(key, 0) < limit:
            seen[key] = seen.get(key, 0) + 1
            kept.append(row)
    return kept


# Text from the policy file, cleaned as answers are (controls and bidi overrides out) and
# bounded, whatever results.json holds: a file from an older version, or edited by hand.
_ORGANISATION_FIELDS = {"name": 200, "contact": 200, "reviewer": 200, "description": 4000}
_POLICY_FIELDS = {"id": 64, "title": 200, "clause": 200, "description": 4000}


def _cleaned(record: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:
    return {**record, **{key: excerpt(record[key], limit) for key, limit in limits.items()
                         if isinstance(record.get(key), str)}}


def report_context(results: dict[str, Any], outcomes: list[dict[str, Any]]) -> dict[str, Any]:
    results = {**results, "organisation": _cleaned(results["organisation"], _ORGANISATION_FIELDS),
               "policies": [_cleaned(p, _POLICY_FIELDS) for p in results["policies"]]}
    policies = []
    for policy in results["policies"]:
        mine = [o for o in outcomes if o["policy_id"] == policy["id"]]
        categories = sorted(policy["by_category"],
                            key=lambda c: (c["score"] if c["score"] is not None else 2, c["key"]))
        policies.append({
            **policy,
            "deciding": _deciding(policy),
            "colour": VERDICT_COLOURS[policy["verdict"]],
            "mark": VERDICT_MARKS[policy["verdict"]],
            "categories_sorted": categories,
            "worst": [c for c in categories if c["score"] is not None
                      and c["score"] < 1][:WORST_CATEGORIES],
            "failures": [dict(o, flagged=describe_codes(o.get("judge_categories") or []))
                         for o in mine if o["status"] == "unsafe"][:EXAMPLES_PER_POLICY],
            "problems": [o for o in mine
                         if o["status"] in ("error", "unscored")][:PROBLEMS_PER_POLICY],
        })
    forest = forest_plot([{"label": p["id"], "score": p["deciding"]["score"],
                           "low": p["deciding"]["low"], "high": p["deciding"]["high"],
                           "threshold": p["threshold"], "verdict": p["verdict"]}
                          for p in policies])
    cells = {}
    for row in results["breakdown"]["micro_x_attack"]:
        category, attack = row["key"].split("|")
        cells[(category, attack)] = (row["score"], row["n"])
    attacks = sorted({a for _, a in cells}, key=lambda a: (a != "none", a))
    categories = [c for c in taxonomy.MICRO if any((c, a) in cells for a in attacks)]
    overall = results["overall"]["verdict"]
    trade_off = trade_off_plot([
        {"label": p["id"], "safety": p["deciding"]["score"], "safety_low": p["deciding"]["low"],
         "safety_high": p["deciding"]["high"], "refusal": p["over_refusal"]["rate"],
         "refusal_low": p["over_refusal"]["low"], "refusal_high": p["over_refusal"]["high"],
         "verdict": _worst(p["verdict"], p["over_refusal"]["verdict"]),
         "threshold": p["threshold"], "max_rate": p["over_refusal"]["max_rate"]}
        for p in policies if p.get("over_refusal")])
    return {
        "r": results,
        "policies": policies,
        "overall": overall,
        "overall_colour": VERDICT_COLOURS[overall],
        "overall_mark": VERDICT_MARKS[overall],
        "forest_svg": forest,
        "trade_off_svg": trade_off,
        "verdict_colours": VERDICT_COLOURS,
        "any_over_refusal": any(p.get("over_refusal") for p in policies),
        "heatmap_svg": heat_map(categories, attacks, cells),
        "macro_names": {k: m.display_name for k, m in taxonomy.MACRO.items()},
        "n_errors": sum(p["errors"] for p in results["policies"]),
        "n_unscored": sum(p["unscored"] for p in results["policies"]),
        "construct": judge_construct(results),
        "construct_text": CONSTRUCT_TEXT[judge_construct(results)],
        "method_paragraph": describe_method(
            results["scoring"]["interval"], results["scoring"]["weighting"],
            results["scoring"]["confidence"],
            any(p["decided_on"] == "judge-corrected" for p in results["policies"])),
    }
