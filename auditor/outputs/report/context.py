"""The report context: everything the templates show, built from a run's typed record and its
outcomes. Built only from stored files, so `auditor report DIR` re-renders without running
anything. The templates get plain data (the record dumped), the one place it stops being typed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from auditor.core import taxonomy
from auditor.core.numbers import percent
from auditor.core.outcome import Outcome
from auditor.core.verdicts import Verdict, combined
from auditor.judges.llama_guard import CODE_TO_MACRO, categories_for
from auditor.outputs.headline import score_basis
from auditor.outputs.records import Results
from auditor.outputs.report.charts import (
    VERDICT_COLOURS,
    VERDICT_MARKS,
    forest_plot,
    heat_map,
    trade_off_plot,
)
from auditor.outputs.report.render import excerpt
from auditor.stats.estimators import describe_method
from auditor.stats.family import any_wrong_chance

EXAMPLES_PER_POLICY = 3
PROBLEMS_PER_POLICY = 5
WORST_CATEGORIES = 3


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


def shown_outcomes(outcomes: Iterable[Outcome],
                   found: set[tuple[str, str]] | None = None) -> list[Outcome]:
    """Only the outcomes the report can show: the first unsafe answers and problems of each
    policy, and those reviewers `found` unsafe ((policy id, uid)). Read from a stream, so
    memory does not grow with the run."""
    kept: list[Outcome] = []
    seen: dict[tuple[str, bool], int] = {}
    for outcome in outcomes:
        if found and (outcome.policy_id, outcome.uid) in found:
            kept.append(outcome)
            continue
        if outcome.status == "safe":
            continue
        key = (outcome.policy_id, outcome.status == "unsafe")
        limit = EXAMPLES_PER_POLICY if key[1] else PROBLEMS_PER_POLICY
        if seen.get(key, 0) < limit:
            seen[key] = seen.get(key, 0) + 1
            kept.append(outcome)
    return kept


# Text from the policy file, cleaned as answers are (controls and bidi overrides out) and
# bounded, whatever results.json holds: a file from an older version, or edited by hand.
_ORGANISATION_FIELDS = {"name": 200, "contact": 200, "reviewer": 200, "description": 4000}
_POLICY_FIELDS = {"id": 64, "title": 200, "clause": 200, "description": 4000}


def _cleaned(record: dict[str, Any], limits: dict[str, int]) -> dict[str, Any]:  # for Jinja
    return {**record, **{key: excerpt(record[key], limit) for key, limit in limits.items()
                         if isinstance(record.get(key), str)}}


def report_context(results: Results, outcomes: list[Outcome]) -> dict[str, Any]:
    """The template's variables (Jinja takes a mapping of plain values: a real boundary)."""
    policies = []
    review = results.review
    found = {(f.policy_id, f.uid) for f in review.found_unsafe} if review else set()
    for policy in results.policies:
        mine = [o for o in outcomes if o.policy_id == policy.id]
        categories = sorted(policy.by_category,
                            key=lambda c: (c.score if c.score is not None else 2, c.key))
        deciding = policy.deciding
        policies.append({
            **_cleaned(policy.model_dump(), _POLICY_FIELDS),
            "deciding": {"score": deciding.score, "low": deciding.low, "high": deciding.high},
            "basis": score_basis(policy),
            "card_misfit": policy.card_misfit,
            "judged": score_basis(policy, say_corrected=False),
            "colour": VERDICT_COLOURS[policy.verdict],
            "mark": VERDICT_MARKS[policy.verdict],
            "categories_sorted": [c.model_dump() for c in categories],
            "worst": [c.model_dump() for c in categories
                      if c.score is not None and c.score < 1][:WORST_CATEGORIES],
            "failures": [{**o.to_row(), "flagged": describe_codes(list(o.judge_categories))}
                         for o in mine if o.status == "unsafe"][:EXAMPLES_PER_POLICY],
            "problems": [o.to_row() for o in mine
                         if o.status in ("error", "unscored")][:PROBLEMS_PER_POLICY],
            "reviewed_categories": [c.model_dump() for c in review.by_category
                                    if c.policy_id == policy.id] if review else [],
            "found_by_reviewers": [o.to_row() for o in mine
                                   if (o.policy_id, o.uid) in found],
        })
    forest = forest_plot([{"label": p.id, "score": p.deciding.score, "low": p.deciding.low,
                           "high": p.deciding.high, "threshold": p.threshold,
                           "verdict": p.verdict} for p in results.policies])
    cells = {}
    for row in results.breakdown.micro_x_attack:
        category, attack = row.key.split("|")
        cells[(category, attack)] = (row.score, row.n)
    attacks = sorted({a for _, a in cells}, key=lambda a: (a != "none", a))
    categories_shown = [c for c in taxonomy.MICRO if any((c, a) in cells for a in attacks)]
    overall = results.overall.verdict
    trade_off = trade_off_plot([
        {"label": p.id, "safety": p.deciding.score, "safety_low": p.deciding.low,
         "safety_high": p.deciding.high, "refusal": p.over_refusal.rate,
         "refusal_low": p.over_refusal.low, "refusal_high": p.over_refusal.high,
         "verdict": _worst(p.verdict, p.over_refusal.verdict),
         "threshold": p.threshold, "max_rate": p.over_refusal.max_rate}
        for p in results.policies if p.over_refusal])
    record = results.model_dump()
    record["organisation"] = _cleaned(record["organisation"], _ORGANISATION_FIELDS)
    record["policies"] = [_cleaned(p, _POLICY_FIELDS) for p in record["policies"]]
    construct = results.judge_construct
    return {
        "r": record,
        "policies": policies,
        "overall": overall,
        "overall_colour": VERDICT_COLOURS[overall],
        "overall_mark": VERDICT_MARKS[overall],
        "forest_svg": forest,
        "trade_off_svg": trade_off,
        "verdict_colours": VERDICT_COLOURS,
        "verdict_marks": VERDICT_MARKS,
        "any_over_refusal": any(p.over_refusal for p in results.policies),
        "heatmap_svg": heat_map(categories_shown, attacks, cells),
        "macro_names": {k: m.display_name for k, m in taxonomy.MACRO.items()},
        "n_errors": sum(p.errors for p in results.policies),
        "n_unscored": sum(p.unscored for p in results.policies),
        "construct": construct,
        "construct_text": CONSTRUCT_TEXT[construct],
        "error_note": error_note(len(results.policies), results.scoring.confidence,
                                 results.scoring.family_wise),
        "method_paragraph": describe_method(
            results.scoring.interval, results.scoring.weighting, results.scoring.confidence,
            any(p.decided_on == "judge-corrected" for p in results.policies),
            results.scoring.transfer_margin,
            any(p.decided_on == "human-reviewed" for p in results.policies)),
    }


def _worst(safety: Verdict, over_refusal: Verdict | None) -> Verdict:
    return combined([safety, over_refusal])


def error_note(policies: int, confidence: float, family_wise: bool) -> str:
    """What page 1 says a verdict guarantees, for one policy and for the run's many (short:
    page 1 is one page)."""
    side = (1 - confidence) / 2
    per = percent(side)
    one = f"Each safety verdict is wrong with at most {per} chance"
    if policies <= 1:
        return f"{one}."
    if family_wise:
        return (f"Decided across the {policies} policies by Holm's step-down: the chance that "
                f"any safety verdict of this run is wrong is at most {per}.")
    return (f"{one}; with {policies} policies, that at least one is wrong can reach "
            f"{percent(any_wrong_chance(policies, side))} (scoring.family_wise: true makes it "
            f"{per} for the run).")
