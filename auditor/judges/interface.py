"""The judge interface: (prompt, response) pairs in, one Judgement per pair out.

A verdict the judge's output does not clearly give is `unscored`, with the reason and the raw
output kept. It is never guessed, and never counted as safe.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

from auditor.core.identity import Construct, JudgeCard, JudgeFingerprint
from auditor.core.outcome import Judgement


@dataclass(frozen=True, slots=True)
class JudgeItem:
    prompt: str
    response: str
    policy_text: str | None = None  # the rubric judge grades against the policy's own words
    # Material the request refers to (HarmBench's contextual behaviours: "given this
    # article, …"); only judges built for it read it.
    context: str | None = None
    # The plain request behind an adversarial prompt (ALERT's plain row it was built from),
    # when one was found: judges that compare the answer with what was asked read this rather
    # than the wrapper. `prompt` stays what the model saw.
    request: str | None = None

    @property
    def asked(self) -> str:
        """What was asked: the plain request if known, else the prompt as the model saw it."""
        return self.request or self.prompt


class Judge(abc.ABC):
    name: str
    # What a verdict measures: "harm" (does the answer carry out the harmful request?) or
    # "refusal" (did the model refuse?). Judge cards carry it, and the report names it.
    construct: Construct = "harm"
    # Whether the judge grades against the policy's own text (the rubric judge does).
    uses_policy_text: bool = False
    # Whether the judge reads the plain request behind an adversarial prompt (JudgeItem.request).
    reads_request: bool = False
    # Answers judged per call, each call's verdicts committed to the store before the next.
    batch_size: int = 64
    # Built-in labelled sets (`builtin:NAME`) this judge's model was trained on: measuring it
    # there is in-sample, and would overstate its accuracy.
    trained_on: frozenset[str] = frozenset()

    @abc.abstractmethod
    def fingerprint(self) -> JudgeFingerprint:
        """Identity of the judge: kind, model, version; `id` is used in store keys."""

    def card(self) -> JudgeCard | None:
        """The validation figures the judge ships with, if any (a judge card's metrics)."""
        return None

    def start(self) -> None:  # noqa: B027 - optional hook
        """Load or reach the judge model; raise JudgeError at once if impossible."""

    @abc.abstractmethod
    def judge(self, items: list[JudgeItem]) -> list[Judgement]:
        """One verdict per item, in order."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the judge model."""


__all__ = ["Construct", "Judge", "JudgeItem", "Judgement"]
