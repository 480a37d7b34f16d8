"""Target backends: the model under test. `make_target` imports a backend only when chosen."""

from __future__ import annotations

from auditor.policy import ModelEndpoint
from auditor.targets.interface import ChatRequest, DecodingConfig, Generation, Target


def make_target(endpoint: ModelEndpoint) -> Target:
    if endpoint.backend == "vllm":
        from auditor.targets.vllm_target import VllmTarget

        return VllmTarget(endpoint)
    from auditor.targets.openai_target import OpenAITarget

    return OpenAITarget(endpoint)


__all__ = ["ChatRequest", "DecodingConfig", "Generation", "Target", "make_target"]
