"""How long generation will roughly take, for the backend the policy file uses. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from auditor.policy import TargetConfig

# vLLM on this project's 2-core CI machine with the demo model (bench/vllm_backend.py).
VLLM_CPU_TOKENS_PER_SECOND = 290.0
# A typical single-stream decode speed of a GPU-served 7-8B model; the server's real pace is
# unknown before the run, so the HTTP estimate is rough by construction.
SERVER_TOKENS_PER_SECOND_PER_STREAM = 40.0


@dataclass(frozen=True)
class RunEstimate:
    seconds: float
    basis: str  # one sentence a user reads: what the figure assumes


def estimate_generation(target: TargetConfig, unique_prompts: int,
                        tokens_per_second: float | None = None,
                        seconds_per_answer: float | None = None) -> RunEstimate:
    """Worst case (every answer runs to max_tokens) for vLLM; concurrency-bound for a server."""
    if target.backend == "openai":
        per_answer = seconds_per_answer if seconds_per_answer is not None else \
            target.max_tokens / SERVER_TOKENS_PER_SECOND_PER_STREAM
        seconds = unique_prompts * per_answer / target.concurrency
        return RunEstimate(seconds, (
            f"rough estimate for an OpenAI-compatible server: {target.concurrency} requests in "
            f"flight at ~{per_answer:.1f} s per answer (set --seconds-per-answer from your "
            "server's real latency)"))
    rate = tokens_per_second if tokens_per_second is not None else VLLM_CPU_TOKENS_PER_SECOND
    seconds = unique_prompts * target.max_tokens / rate
    return RunEstimate(seconds, (
        f"at {rate:g} tokens/s and up to {target.max_tokens} tokens per answer (in-process vLLM; "
        "set --tokens-per-second for your hardware)"))
