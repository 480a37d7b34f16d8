"""The judge kinds and target backends a policy file may name, each registered once with what
it declares: its description (the policy schema's), what a judge measures and which options it
reads, a backend's time estimate, and where the implementation is.

Implementations are named by "module:attribute" and imported only when used: validating a
policy file or printing `--help` never imports vLLM. An unknown name is an error when the
policy file is read (see `auditor.config.policy`), and `auditor.judges.make_judge` and
`auditor.targets.make_target` raise for a name nobody registered. Tests register their
in-memory fakes the same way (`tests/fakes.py`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from auditor.core.registry import Registry

# A factory is called with the policy's config block (and, for judges, the policy file's
# folder); its result is checked where it is used.
Factory = str | Callable[..., object]


@dataclass(frozen=True)
class JudgeKind:
    name: str
    description: str
    construct: Literal["harm", "refusal"]  # what its labels measure
    factory: Factory  # (JudgeConfig, base_dir: Path | None) -> Judge
    needs_endpoint: bool = False  # the judge is a model reached through `endpoint`
    reads: frozenset[str] = frozenset()  # judge block fields it reads besides kind and card


@dataclass(frozen=True)
class Backend:
    name: str
    description: str
    factory: Factory  # (ModelEndpoint) -> Target
    # (TargetConfig, unique prompts, tokens/s, s/answer, demo needs build) -> RunEstimate
    estimate: Factory


JUDGES: Registry[JudgeKind] = Registry("judge kind", "judge.kind")
BACKENDS: Registry[Backend] = Registry("target backend", "backend")

for judge in (
    JudgeKind("harm", "the packaged classifier of whether an answer carries out the harmful "
              "request", "harm", "auditor.judges.harm:HarmJudge.from_config",
              reads=frozenset({"model_file"})),
    JudgeKind("refusal", "the packaged refusal detector (did the model refuse?)", "refusal",
              "auditor.judges.refusal:RefusalJudge.from_config",
              reads=frozenset({"model_file"})),
    JudgeKind("harmbench", "HarmBench's classifier model", "harm",
              "auditor.judges.harmbench:HarmBenchJudge.from_config", needs_endpoint=True,
              reads=frozenset({"endpoint"})),
    JudgeKind("llama-guard", "a Llama Guard model", "harm",
              "auditor.judges.llama_guard:LlamaGuardJudge.from_config", needs_endpoint=True,
              reads=frozenset({"endpoint", "llama_guard_version"})),
    JudgeKind("rubric", "any chat model grading against the policy text", "harm",
              "auditor.judges.rubric:RubricJudge.from_config", needs_endpoint=True,
              reads=frozenset({"endpoint"})),
):
    JUDGES.register(judge)

for backend in (
    Backend("vllm", "runs the model in-process", "auditor.targets.vllm_target:VllmTarget",
            "auditor.targets.run_estimate:vllm_estimate"),
    Backend("ray", "runs vLLM as a Ray Data batch job, on a local instance or a cluster",
            "auditor.targets.ray_target:RayTarget", "auditor.targets.run_estimate:ray_estimate"),
    Backend("openai", "calls an OpenAI-compatible /v1/chat/completions server",
            "auditor.targets.openai_target:OpenAITarget",
            "auditor.targets.run_estimate:server_estimate"),
):
    BACKENDS.register(backend)


def described(registry: Registry[JudgeKind] | Registry[Backend]) -> str:
    """The registered names with their descriptions, for the policy schema."""
    return "; ".join(f"'{entry.name}': {entry.description}" for entry in registry)
