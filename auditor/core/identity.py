"""What identifies what was tested and how well the judge is known: the model under test's and
the judge's fingerprints (each with its `id`, the key of the store's cache), and a judge card
(the judge's measured error against human labels, which corrects the scores).

Fingerprints carry whatever else their backend or judge knows (file hashes, model names), so
they accept extra fields; `id` is the identity every reader uses.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
)

Construct = Literal["harm", "refusal"]


class Record(BaseModel):
    """A record of fixed shape: an unknown field is an error."""

    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A record whose named fields are required but which may carry more. An optional field
    that was not given is left out when written, so a record reads as what was known."""

    model_config = ConfigDict(extra="allow")

    @model_serializer(mode="wrap")
    def _omit_unknown(self, handler: SerializerFunctionWrapHandler) -> dict[str, object]:
        data: dict[str, object] = handler(self)
        fields = type(self).model_fields
        return {key: value for key, value in data.items()
                if value is not None or key not in fields or fields[key].is_required()}


@dataclass(frozen=True)
class SourceConfusion:
    """A judge's confusion counts on one labelled source it never trained on."""

    source: str
    tp: int
    fn: int
    tn: int
    fp: int

    def confusion(self) -> Confusion:
        return Confusion(self.tp, self.fn, self.tn, self.fp)


@dataclass(frozen=True)
class Confusion:
    """A judge's confusion counts against human labels (positive class: unsafe).

    `held_out`, when a card has it, gives the counts on each labelled source measured with
    that source left out of training: how the judge does on answers unlike any it learned
    from. Scores are then corrected under each source's counts and the widest interval kept,
    so that they hold if the judge is as weak on the audited model as on its worst source."""

    tp: int
    fn: int
    tn: int
    fp: int
    held_out: tuple[SourceConfusion, ...] = ()

    @property
    def sensitivity(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else math.nan

    @property
    def specificity(self) -> float:
        return self.tn / (self.tn + self.fp) if self.tn + self.fp else math.nan

    @property
    def youden(self) -> float:
        return self.sensitivity + self.specificity - 1


class Metric(Open):
    """One agreement figure with its interval; `k` of `n` where it is a proportion."""

    value: float
    low: float
    high: float
    k: int | None = None
    n: int | None = None


def _finite_metric_or_none(value: object) -> object:
    """A figure that earlier versions wrote as NaN (read back as null) is absent."""
    if isinstance(value, dict):
        numbers = [value.get(k) for k in ("value", "low", "high")]
        if any(x is None or (isinstance(x, float) and math.isnan(x)) for x in numbers):
            return None
    if isinstance(value, Metric) and any(math.isnan(x) for x in (value.value, value.low,
                                                                    value.high)):
        return None
    return value


class JudgeMetrics(Open):
    """A judge's agreement with human labels (`auditor.judges.metrics.binary_metrics`).

    A figure that the labels cannot define (sensitivity with no unsafe label, specificity with
    no safe one, kappa when either side uses one label only) is absent, and `undefined` says
    why: never NaN, which JSON cannot carry."""

    n: int | None = None
    unscored: int | None = None
    confusion: Confusion
    accuracy: Metric | None = None
    sensitivity: Metric | None = None
    specificity: Metric | None = None
    precision: Metric | None = None
    recall: Metric | None = None
    f1: Metric | None = None
    kappa: Metric | None = None
    undefined: dict[str, str] | None = Field(
        None, description="Figures the labels cannot define, each with the reason.")
    confidence: float | None = None
    answer_words_median: float | None = Field(
        None, description="Median length, in words, of the labelled answers: a card does not "
        "carry over to answers much shorter than these.")

    @field_validator("accuracy", "sensitivity", "specificity", "precision", "recall", "f1",
                     "kappa", mode="before")
    @classmethod
    def _absent_when_undefined(cls, value: object) -> object:
        return _finite_metric_or_none(value)


class JudgeCard(JudgeMetrics):
    """The figures a run corrects its scores with, and where they come from."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    # "construct" in the JSON; named otherwise here, as pydantic models own `construct`.
    measures: Construct | None = Field(None, alias="construct",
                                       description="What the judge's labels measure.")
    source: str | None = Field(None, description="The labelled set: builtin:NAME or a file.")
    method: str | None = None
    path: str | None = Field(None, description="The card file, when one was given.")
    judge_id: str | None = Field(None, description="The judge the card was measured on.")
    warning: str | None = None


class JudgeFingerprint(Open):
    """Identity of a judge: its kind and `id` (model, file hash, version…)."""

    kind: str
    id: str


class ServerRecord(Record):
    """One server of a fleet: what it was sent, what it answered, and whether it was taken
    out of rotation."""

    url: str
    requests: int
    answered: int
    failed: int
    times_taken_out: int
    in_rotation_at_end: bool
    last_error: str | None


class TargetFingerprint(Open):
    """What identifies the model under test: backend, model, file hashes (vLLM) and `id`."""

    backend: str
    model: str
    id: str
    name: str | None = Field(None, description="The target's name from the policy file (one "
                             "of its `targets`), e.g. a vendor and model.")
    servers: list[ServerRecord] | None = Field(None, description="Each server's record, when "
                                               "the target was a fleet of servers.")
