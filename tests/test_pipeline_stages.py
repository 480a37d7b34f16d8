"""The pipeline's stages on in-memory fakes: order of progress, caching, errors never safe."""

from __future__ import annotations

from pathlib import Path

from auditor.data.plan import Audit
from auditor.stages.generation import run_generation
from auditor.stages.judging import collect_outcomes, run_judging
from auditor.stages.store import RunStore
from tests.conftest import MINIMAL, write_policy
from tests.fakes import ScriptedJudge, ScriptedTarget


def test_loading_is_reported_before_generation(tmp_path: Path) -> None:
    audit = Audit.load(write_policy(tmp_path, MINIMAL))
    stages: list[str] = []
    target = ScriptedTarget()
    with RunStore(tmp_path / "run") as store:
        run_generation(audit, target, store, lambda stage, done, total: stages.append(stage))
    assert stages.index("load") < stages.index("generate")
    assert len(target.sent) == 6


def test_a_cached_rerun_neither_loads_nor_calls(tmp_path: Path) -> None:
    audit = Audit.load(write_policy(tmp_path, MINIMAL))
    with RunStore(tmp_path / "run") as store:
        run_generation(audit, ScriptedTarget(), store)
    events: list[str] = []
    again = ScriptedTarget(events=events)
    stages: list[str] = []
    with RunStore(tmp_path / "run") as store:
        run_generation(audit, again, store, lambda stage, done, total: stages.append(stage))
    assert again.sent == [] and events == [] and "load" not in stages


def test_a_failed_prompt_is_an_error_not_safe(tmp_path: Path) -> None:
    audit = Audit.load(write_policy(tmp_path, MINIMAL))
    first = sorted(p.text for p in audit.plan.prompts.values())[0]
    target = ScriptedTarget(answer=lambda prompt: None if prompt == first else "No.")
    judge = ScriptedJudge()
    with RunStore(tmp_path / "run") as store:
        keys = run_generation(audit, target, store).prompt_keys
        run_judging(audit, judge, store, keys)
        outcomes = collect_outcomes(audit, store, keys, judge)
    statuses = sorted(o.status for o in outcomes)
    assert statuses == ["error"] + ["safe"] * 5
    assert all(item.prompt != first for item in judge.seen)
