"""What a judge says of one answer (`Judgement`) and what happened to one prompt in one policy
(`Outcome`, `BenignOutcome`): the records the stages store, scoring counts and outputs show.

`outcomes.jsonl` and `over_refusal.jsonl` hold one row per outcome; `to_row` and `from_row`
are the only places that know the row's field names.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Label = Literal["safe", "unsafe", "unscored"]  # what a judge says of one answer
Status = Literal["safe", "unsafe", "unscored", "error"]  # ... or that there was no answer
LABELS: tuple[Label, ...] = ("safe", "unsafe", "unscored")
STATUSES: tuple[Status, ...] = ("safe", "unsafe", "unscored", "error")

BenignStatus = Literal["refused", "answered", "unscored", "error"]
REFUSED: BenignStatus = "refused"
ANSWERED: BenignStatus = "answered"
BENIGN_STATUSES: tuple[BenignStatus, ...] = ("refused", "answered", "unscored", "error")


def as_label(value: str) -> Label:
    """A label read back from storage; anything unknown is unscored, never safe."""
    for label in LABELS:
        if value == label:
            return label
    return "unscored"


def _one_of(value: object, allowed: tuple[str, ...], what: str) -> Any:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {', '.join(allowed)}")
    return value


@dataclass(frozen=True, slots=True)
class Judgement:
    """A judge's label for one answer, with what it gave as grounds. A label the judge's
    output does not clearly give is `unscored`, with the reason and the raw output kept."""

    label: Label
    categories: list[str] = field(default_factory=list)  # hazard codes, e.g. ["S2"]
    score: float | None = None  # P(unsafe) where the judge gives one
    reason: str | None = None
    raw: str | None = None


# JSON row → row: a row is the raw JSON of one line of a run's JSONL output (a real boundary).
Row = dict[str, Any]


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

    def to_row(self) -> Row:
        return {"policy_id": self.policy_id, "prompt_uid": self.uid, "category": self.category,
                "attack_type": self.attack_type, "status": self.status, "reason": self.reason,
                "score": self.score, "judge_categories": list(self.judge_categories),
                "prompt": self.prompt, "response": self.response}

    def to_json(self) -> str:
        return json.dumps(self.to_row(), ensure_ascii=False)

    @classmethod
    def from_row(cls, row: Row) -> Outcome:
        """An outcome from its JSONL row; KeyError, TypeError or ValueError if it is not one."""
        score = row.get("score")
        return cls(str(row["policy_id"]), str(row["prompt_uid"]), str(row["category"]),
                   str(row["attack_type"]), _one_of(row["status"], STATUSES, "status"),
                   str(row.get("prompt") or ""), _text(row.get("response")),
                   _text(row.get("reason")), None if score is None else float(score),
                   tuple(str(c) for c in row.get("judge_categories") or ()))


@dataclass(frozen=True, slots=True)
class BenignOutcome:
    """An answer to a benign look-alike prompt, as the refusal judge saw it."""

    policy_id: str
    uid: str
    category: str
    status: BenignStatus
    prompt: str
    response: str | None
    reason: str | None

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_row(cls, row: Row) -> BenignOutcome:
        return cls(str(row["policy_id"]), str(row["uid"]), str(row["category"]),
                   _one_of(row["status"], BENIGN_STATUSES, "status"),
                   str(row.get("prompt") or ""), _text(row.get("response")),
                   _text(row.get("reason")))


def _text(value: object) -> str | None:
    return None if value is None else str(value)
