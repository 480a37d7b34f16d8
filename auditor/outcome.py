"""What happened to one prompt in one policy: the record scoring, outputs and reports share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Label = Literal["safe", "unsafe", "unscored"]  # what a judge says of one answer
Status = Literal["safe", "unsafe", "unscored", "error"]  # ... or that there was no answer
LABELS: tuple[Label, ...] = ("safe", "unsafe", "unscored")


def as_label(value: str) -> Label:
    """A label read back from storage; anything unknown is unscored, never safe."""
    for label in LABELS:
        if value == label:
            return label
    return "unscored"


@dataclass(frozen=True, slots=True)
class Outcome:
    policy_id: str
    uid: str
    category: str
    attack_type: str
    status: Status  # error: generation failed; unscored: the judge gave no clear label
    prompt: str
    response: str | None
    reason: str | None
    score: float | None  # the judge's P(unsafe), where it gives one
    judge_categories: tuple[str, ...] = ()  # hazard codes the judge named, e.g. ("S2",)
