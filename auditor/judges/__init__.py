"""Judges: label each answer safe, unsafe or unscored, and how well each judge is known.

Owns the judge interface, the judges themselves (packaged classifiers, and models reached
through a target backend), their cards, and measuring a judge against human labels.

May import: core, config, data, targets.
"""

from __future__ import annotations

from auditor.judges.build import JudgeWithCard, build_judge, build_refusal_judge, make_judge
from auditor.judges.interface import Judge, JudgeItem, Judgement

__all__ = ["Judge", "JudgeItem", "JudgeWithCard", "Judgement", "build_judge",
           "build_refusal_judge", "make_judge"]
