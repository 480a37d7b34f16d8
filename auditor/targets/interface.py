"""The target interface: a batch of chat requests in, one Generation (text or error) per request out."""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from auditor.core.identity import ServerRecord, TargetFingerprint


@dataclass(frozen=True)
class DecodingConfig:
    max_tokens: int = 256
    temperature: float = 0.0  # greedy
    logprobs: int | None = None  # top-k logprobs of each generated token (judges use the first)
    # Constrain the answer (guided decoding); a JSON Schema, passed on as it is.
    json_schema: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, float]:
        """The settings that change answers: part of every generation's cache key."""
        return {"max_tokens": self.max_tokens, "temperature": self.temperature}


@dataclass(frozen=True, slots=True)
class ChatRequest:
    key: str  # the store key; echoed back on the Generation
    prompt: str
    system_prompt: str | None = None
    # raw: send `prompt` verbatim as a completion, without the chat template. Judges such as
    # Llama Guard build their own exact prompt, special tokens included.
    raw: bool = False

    def messages(self) -> list[dict[str, str]]:
        out = [{"role": "system", "content": self.system_prompt}] if self.system_prompt else []
        return [*out, {"role": "user", "content": self.prompt}]


@dataclass(slots=True)
class Generation:
    key: str
    text: str | None
    finish_reason: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_s: float | None = None
    error: str | None = None  # set when the request failed after its retries
    first_token_logprobs: dict[str, float] = field(default_factory=dict)
    requests: int = 1  # the requests it took, retries included (the store's `attempts`)

    @property
    def ok(self) -> bool:
        return self.error is None and self.text is not None


class Target(abc.ABC):
    """A model under test (or a judge model). Subclasses must never log API keys."""

    # The progress stage `start` is shown as: "load" (a model loaded here) or "connect" (a
    # server reached and probed).
    start_stage = "load"

    def needs_build(self) -> bool:
        """Whether `build` has one-off work to do first (the demo model on its first run)."""
        return False

    def build(self) -> None:  # noqa: B027 - optional hook
        """One-off preparation before the first `start`, shown as its own progress stage."""

    @abc.abstractmethod
    def start(self) -> None:
        """Load or reach the model. Raise TargetError at once if that is impossible."""

    @abc.abstractmethod
    def fingerprint(self) -> TargetFingerprint:
        """What identifies the model: name/path/revision and hashes of its files."""

    @abc.abstractmethod
    def generate(self, requests: list[ChatRequest], sampling: DecodingConfig
                 ) -> Iterator[list[Generation]]:
        """Yield results in batches as they finish, so the caller can commit each batch."""

    def servers(self) -> list[ServerRecord]:
        """Per-server records of the last `generate` (a fleet's rotation); empty if one model."""
        return []

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release the model (GPU memory, connections)."""
