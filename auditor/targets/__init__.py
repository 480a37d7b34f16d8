"""Targets: the model under test (and the models judges run on), reached in-process through
vLLM or over HTTP through any OpenAI-compatible server; the demo model and run-time estimates.

May import: core, config, data.
"""

from __future__ import annotations

from auditor.config.policy import ModelEndpoint, TargetConfig
from auditor.config.registry import BACKENDS
from auditor.core.errors import TargetError
from auditor.core.registry import load
from auditor.targets.interface import ChatRequest, DecodingConfig, Generation, Target
from auditor.targets.run_estimate import RunEstimate


def make_target(endpoint: ModelEndpoint) -> Target:
    """The backend `endpoint.backend` names, imported only now (an unknown name is an error,
    never a fallback)."""
    backend = BACKENDS.get(endpoint.backend)
    factory = load(backend.factory) if isinstance(backend.factory, str) else backend.factory
    assert callable(factory)
    target = factory(endpoint)
    if not isinstance(target, Target):
        raise TargetError(f"the {backend.name} backend's factory made a "
                          f"{type(target).__name__}, not a Target")
    return target


def estimate_run(target: TargetConfig, unique_prompts: int, tokens_per_second: float | None,
                 seconds_per_answer: float | None, demo_needs_build: bool) -> RunEstimate:
    """How long the run will roughly take, as the policy's backend declares it."""
    backend = BACKENDS.get(target.backend)
    estimate = load(backend.estimate) if isinstance(backend.estimate, str) else backend.estimate
    assert callable(estimate)
    result = estimate(target, unique_prompts, tokens_per_second, seconds_per_answer,
                      demo_needs_build)
    assert isinstance(result, RunEstimate)
    return result


__all__ = ["ChatRequest", "DecodingConfig", "Generation", "Target", "estimate_run",
           "make_target"]
