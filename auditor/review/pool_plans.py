"""Each policy's pooled review, planned when its sample is first drawn: the design (simple, or
the judge's flagged answers first) and the aim of its test, both chosen from what the judge's
verdicts suggest and fixed before any label (`auditor.stats.pooled`). Planned again for a
policy only if it had no plan; a recorded plan never moves once labels arrive."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.core.outcome import Outcome
from auditor.stages.review_labels import PolicyPlan
from auditor.stats.pooled import cheapest_design
from auditor.stats.review_cells import pool_template


@dataclass(frozen=True)
class Planned:
    plan: PolicyPlan
    labels_needed: int | None  # at the run's suggestion, for the plan's design and scoring


def plan_policy(outcomes: list[Outcome], threshold: float, card: tuple[float, float] | None,
                sequential: bool, confidence: float) -> Planned:
    """The design that likely decides the policy on the fewest labels, and its aim."""
    template = pool_template(outcomes, card, sequential)
    planned, needed = cheapest_design(template, threshold, confidence)
    assert planned.design is not None and planned.aim is not None
    return Planned(PolicyPlan(planned.design, planned.aim.aim, planned.aim.aimed_at,
                              planned.flagged_labels, planned.aim.flagged_aim,
                              planned.aim.prior), needed)


def plans_meta(plans: dict[str, PolicyPlan]) -> dict[str, dict[str, object]]:
    return {policy: plan.to_meta() for policy, plan in sorted(plans.items())}
