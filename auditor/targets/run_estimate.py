"""How long a run will roughly take, for the backend the policy file uses. Pure.

The estimate covers what a user waits for: building the demo model on its first run, loading
the model, one probe request per server, and generation itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.config.policy import TargetConfig

# vLLM on this project's 2-core CI machine with the demo model in float32, counted as the
# estimate counts (every answer at max_tokens): the demo's 80 prompts x 48 tokens took 33 s.
VLLM_CPU_TOKENS_PER_SECOND = 120.0
# Loading a model into vLLM on 2 CPU cores (import, engine start, weights, KV cache): 54-68 s
# measured for the demo model; a larger model on a GPU takes longer, so this is a floor there.
VLLM_LOAD_SECONDS = 60.0
# Building the demo model from its GGUF file, first run only (46 s measured on 2 cores).
DEMO_BUILD_SECONDS = 60.0
DEMO_BUILD_MINUTES = "1 min"
# A typical single-stream decode speed of a GPU-served 7-8B model; the server's real pace is
# unknown before the run, so the HTTP estimate is rough by construction.
SERVER_TOKENS_PER_SECOND_PER_STREAM = 40.0


@dataclass(frozen=True)
class RunEstimate:
    seconds: float  # everything: set-up and generation
    basis: str  # one sentence a user reads: what the figure assumes
    setup_seconds: float = 0.0  # of which: building and loading the model, probes
    setup: str = ""  # what that set-up is


def server_estimate(target: TargetConfig, unique_prompts: int, tokens_per_second: float | None,
                    seconds_per_answer: float | None, demo_needs_build: bool) -> RunEstimate:
    """An OpenAI-compatible server: bound by requests in flight."""
    per_answer = seconds_per_answer if seconds_per_answer is not None else \
        target.max_tokens / SERVER_TOKENS_PER_SECOND_PER_STREAM
    servers = len(target.base_urls or [])
    seconds = unique_prompts * per_answer / target.concurrency
    probe = per_answer / max(target.max_tokens, 1)  # a probe asks for one token
    return RunEstimate(seconds + probe, (
        f"rough estimate for an OpenAI-compatible server: {target.concurrency} requests in "
        f"flight at ~{per_answer:.1f} s per answer (set --seconds-per-answer from your "
        "server's real latency)"), probe,
        f"one one-token probe request to each of {servers} server"
        f"{'s' if servers != 1 else ''} before any prompt")


def vllm_estimate(target: TargetConfig, unique_prompts: int, tokens_per_second: float | None,
                  seconds_per_answer: float | None, demo_needs_build: bool) -> RunEstimate:
    """In-process vLLM, worst case: every answer runs to max_tokens."""
    rate = tokens_per_second if tokens_per_second is not None else VLLM_CPU_TOKENS_PER_SECOND
    seconds = unique_prompts * target.max_tokens / rate
    setup_seconds = VLLM_LOAD_SECONDS + (DEMO_BUILD_SECONDS if demo_needs_build else 0.0)
    setup = f"loading the model (~{VLLM_LOAD_SECONDS:.0f} s on 2 CPU cores)"
    if demo_needs_build:
        setup = f"building the demo model, first run only (~{DEMO_BUILD_SECONDS:.0f} s), and " \
            + setup
    return RunEstimate(seconds + setup_seconds, (
        f"at {rate:g} tokens/s and up to {target.max_tokens} tokens per answer (in-process vLLM; "
        "set --tokens-per-second for your hardware)"), setup_seconds, setup)


# Starting a local Ray instance and its engine actor, on top of vLLM's own load (measured by
# bench/ray_backend.py on 2 CPU cores; a cluster's start-up is its own).
RAY_START_SECONDS = 25.0


def ray_estimate(target: TargetConfig, unique_prompts: int, tokens_per_second: float | None,
                 seconds_per_answer: float | None, demo_needs_build: bool) -> RunEstimate:
    """vLLM under Ray Data: in-process vLLM's rate times the replicas, plus Ray's start-up."""
    single = vllm_estimate(target, unique_prompts, tokens_per_second, seconds_per_answer,
                           demo_needs_build)
    replicas = target.ray.replicas
    generation = (single.seconds - single.setup_seconds) / replicas
    setup_seconds = single.setup_seconds + RAY_START_SECONDS
    return RunEstimate(generation + setup_seconds,
                       f"{single.basis}, over {replicas} replica{'s' if replicas > 1 else ''}",
                       setup_seconds, f"{single.setup}, and starting Ray "
                       f"(~{RAY_START_SECONDS:.0f} s)")
