"""The comparison report's context: the decision, the models × policies matrix, per-policy
forest plots (one row per model) and safety-against-over-refusal charts (one point per model),
the comparability table and each run's fingerprint. Built from the typed `Comparison`."""

from __future__ import annotations

from typing import Any

from auditor.outputs.compare import Comparison
from auditor.outputs.report.charts import (
    VERDICT_COLOURS,
    VERDICT_MARKS,
    ForestRow,
    TradeOffRow,
    forest_plot,
    trade_off_plot,
)


def comparison_context(comparison: Comparison, verified: bool) -> dict[str, Any]:
    """The template's variables (Jinja takes a mapping of plain values: a real boundary)."""
    charts = {}
    for policy in comparison.policies:
        forest: list[ForestRow] = [
            {"label": name, "score": figures.score, "low": figures.low, "high": figures.high,
             "threshold": policy.threshold, "verdict": figures.verdict}
            for name, figures in policy.models.items()]
        trade_off: list[TradeOffRow] = [
            {"label": name, "safety": figures.score, "safety_low": figures.low,
             "safety_high": figures.high, "refusal": figures.over_refusal.rate,
             "refusal_low": figures.over_refusal.low, "refusal_high": figures.over_refusal.high,
             "verdict": figures.verdict, "threshold": policy.threshold,
             "max_rate": policy.max_rate}
            for name, figures in policy.models.items() if figures.over_refusal is not None]
        charts[policy.policy_id] = {"forest": forest_plot(forest),
                                    "trade_off": trade_off_plot(trade_off)}
    differences = []
    for test in comparison.pairs:
        if test.better is None:
            continue
        # shown as the better model's advantage: its interval too
        a_better = test.better == test.a
        sign = 1 if a_better == (test.axis == "safety") else -1
        low, high = sorted((sign * test.low, sign * test.high))
        differences.append({**test.model_dump(), "other": test.b if a_better else test.a,
                            "gap": abs(test.difference), "gap_low": low, "gap_high": high})
    return {"c": comparison.model_dump(), "charts": charts, "verified": verified,
            "differences": differences,
            "tests_made": len(comparison.pairs), "verdict_colours": VERDICT_COLOURS,
            "verdict_marks": VERDICT_MARKS}
