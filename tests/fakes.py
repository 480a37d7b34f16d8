"""Scripted in-memory fakes of a target and a judge, which record what they were sent.

For pipeline tests that need neither HTTP nor a model. The real backends have their own tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from auditor.judges import Judge, JudgeItem, Verdict
from auditor.targets import ChatRequest, DecodingConfig, Generation, Target


class ScriptedTarget(Target):
    """Answers each prompt with `answer(prompt)`; an answer of None is a recorded error."""

    def __init__(self, answer: Callable[[str], str | None] = lambda prompt: "I can't help.",
                 events: list[str] | None = None, batch_size: int = 4) -> None:
        self.answer = answer
        self.events = events if events is not None else []
        self.batch_size = batch_size
        self.sent: list[ChatRequest] = []

    def start(self) -> None:
        self.events.append("target.start")

    def fingerprint(self) -> dict[str, Any]:
        return {"id": "scripted-target", "backend": "fake", "model": "scripted"}

    def generate(self, requests: list[ChatRequest], sampling: DecodingConfig
                 ) -> Iterator[list[Generation]]:
        for begin in range(0, len(requests), self.batch_size):
            batch = requests[begin:begin + self.batch_size]
            self.sent += batch
            out = []
            for request in batch:
                text = self.answer(request.prompt)
                out.append(Generation(request.key, text, "stop", 1, 1, 0.0) if text is not None
                           else Generation(request.key, None, error="scripted failure"))
            yield out

    def close(self) -> None:
        self.events.append("target.close")


class ScriptedJudge(Judge):
    """Labels each answer with `label(item)`."""

    name = "scripted"

    def __init__(self, label: Callable[[JudgeItem], str] = lambda item: "safe") -> None:
        self.label = label
        self.seen: list[JudgeItem] = []

    def fingerprint(self) -> dict[str, Any]:
        return {"id": "scripted-judge", "kind": "scripted"}

    def judge(self, items: list[JudgeItem]) -> list[Verdict]:
        self.seen += items
        return [Verdict(self.label(item), reason="scripted") for item in items]  # type: ignore[arg-type]
