"""Judges: label each answer safe, unsafe or unscored. `make_judge` builds the configured one."""

from __future__ import annotations

from pathlib import Path

from auditor.judges.interface import Judge, JudgeItem, Verdict
from auditor.policy import JudgeConfig


def make_judge(config: JudgeConfig, base_dir: Path | None = None) -> Judge:
    model_file = None
    if config.model_file:
        model_file = Path(config.model_file).expanduser()
        if not model_file.is_absolute() and base_dir is not None:
            model_file = base_dir / model_file
    if config.kind == "harm":
        from auditor.judges.harm import HarmJudge

        return HarmJudge(model_file)
    if config.kind == "refusal":
        from auditor.judges.refusal import RefusalJudge

        return RefusalJudge(model_file)
    assert config.endpoint is not None, "validated by the policy model"
    if config.kind == "harmbench":
        from auditor.judges.harmbench import HarmBenchJudge

        return HarmBenchJudge(config.endpoint)
    if config.kind == "llama-guard":
        from auditor.judges.llama_guard import LlamaGuardJudge

        return LlamaGuardJudge(config.endpoint, config.llama_guard_version)
    from auditor.judges.rubric import RubricJudge

    return RubricJudge(config.endpoint)


__all__ = ["Judge", "JudgeItem", "Verdict", "make_judge"]
