"""What the judges that call a model (Llama Guard, rubric) share: a target backend to run on."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

from auditor.config.policy import JudgeConfig, ModelEndpoint
from auditor.core.errors import JudgeError, TargetError
from auditor.judges.interface import Judge, Judgement
from auditor.targets import ChatRequest, DecodingConfig, Generation, Target, make_target

RAY_JUDGE_BATCH = 4096


class ModelBackedJudge(Judge):
    """A judge that sends prompts through the same vLLM or OpenAI-compatible backends as targets."""

    def __init__(self, endpoint: ModelEndpoint, backend: Target | None = None) -> None:
        self.endpoint = endpoint
        self.backend = backend or make_target(endpoint)
        if endpoint.backend == "ray":
            # Each call is one Ray Data job, which starts its engines afresh: make calls few.
            self.batch_size = RAY_JUDGE_BATCH

    @classmethod
    def from_config(cls, config: JudgeConfig, base_dir: Path | None = None) -> Judge:
        assert config.endpoint is not None, "the policy model requires it for this kind"
        return cls(config.endpoint)

    def start(self) -> None:
        try:
            self.backend.start()
        except TargetError as exc:
            raise JudgeError(f"the {self.name} judge cannot start: {exc.message}",
                             hint=exc.hint) from exc

    def complete(self, requests: list[ChatRequest], sampling: DecodingConfig
                 ) -> dict[str, Generation]:
        return {g.key: g for batch in self.backend.generate(requests, sampling) for g in batch}

    def judge_raw(self, prompts: list[str], sampling: DecodingConfig,
                  read: Callable[[Generation], Judgement]) -> list[Judgement]:
        """Send each judge prompt as a raw completion; `read` turns an answer into a verdict.

        A failed call is unscored with its error, never guessed.
        """
        requests = [ChatRequest(str(i), prompt, raw=True) for i, prompt in enumerate(prompts)]
        results = self.complete(requests, sampling)
        verdicts = []
        for request in requests:
            generation = results[request.key]
            verdicts.append(read(generation) if generation.ok else Judgement(
                "unscored", reason=f"judge call failed: {generation.error}"))
        return verdicts

    def close(self) -> None:
        self.backend.close()


def first_token_share(logprobs: dict[str, float], positive: set[str], negative: set[str]
                      ) -> float | None:
    """P(positive) from the first generated token's top logprobs, renormalised over the two
    answers (tokens compared lower-cased, without tokenizer space marks). None if neither."""
    best: dict[bool, float] = {}
    for token, logprob in logprobs.items():
        word = token.strip().lstrip("▁Ġ").lower()
        for side, words in ((True, positive), (False, negative)):
            if word in words:
                best[side] = max(best.get(side, -math.inf), logprob)
    if True not in best:
        return None if False not in best else 0.0
    if False not in best:
        return 1.0
    return math.exp(best[True]) / (math.exp(best[True]) + math.exp(best[False]))
