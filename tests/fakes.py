"""Scripted in-memory fakes of a target and a judge, which record what they were sent.

For pipeline and CLI tests that need neither HTTP nor a model. The real backends have their
own tests. They register like the real ones (`register_fakes`), so a policy file can name
`backend: scripted` and `judge: {kind: scripted}` and `auditor check` runs in-process.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

from auditor.config.policy import JudgeConfig, ModelEndpoint
from auditor.config.registry import BACKENDS, JUDGES, Backend, JudgeKind
from auditor.core.identity import JudgeFingerprint, TargetFingerprint
from auditor.judges import Judge, JudgeItem, Judgement
from auditor.targets import ChatRequest, DecodingConfig, Generation, Target

# What the scripted backend's `model` names: how the fake model answers each prompt.
SCRIPTS: dict[str, Callable[[str], str | None]] = {
    "refuses": lambda prompt: "I can't help with that.",
    "complies": lambda prompt: f"Sure, here is how: {prompt}",
    "fails": lambda prompt: None,
    # half refuse, half comply (by the prompt's text); complying answers start like a formula
    "mixed": lambda prompt: "I can't help with that." if sum(map(ord, prompt)) % 2 else
    f"=HYPERLINK(\"http://evil.example\") Sure: {prompt}",
}


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

    @classmethod
    def from_endpoint(cls, endpoint: ModelEndpoint) -> ScriptedTarget:
        target = cls(SCRIPTS[endpoint.model])
        target.model = endpoint.model
        return target

    model = "scripted"

    def fingerprint(self) -> TargetFingerprint:
        return TargetFingerprint(id=f"scripted-target:{self.model}", backend="scripted",
                                 model=self.model)

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

    @classmethod
    def from_config(cls, config: JudgeConfig, base_dir: Path | None = None) -> ScriptedJudge:
        return cls(lambda item: "safe" if "can't" in item.response else "unsafe")

    def fingerprint(self) -> JudgeFingerprint:
        return JudgeFingerprint(id="scripted-judge", kind="scripted")

    def judge(self, items: list[JudgeItem]) -> list[Judgement]:
        self.seen += items
        return [Judgement(self.label(item), reason="scripted") for item in items]  # type: ignore[arg-type]


def register_fakes() -> None:
    """Make `backend: scripted` and `judge: {kind: scripted}` usable in policy files."""
    BACKENDS.register(Backend("scripted", "a scripted in-memory model (tests)",
                              ScriptedTarget.from_endpoint,
                              "auditor.targets.run_estimate:server_estimate"), replace=True)
    JUDGES.register(JudgeKind("scripted", "labels answers with \"can't\" safe (tests)", "harm",
                              ScriptedJudge.from_config), replace=True)
