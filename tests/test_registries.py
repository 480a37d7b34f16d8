"""Judges, target backends and output writers are registered by name: an unknown name is an
error when the policy file is read (never a silent fallback to another kind), every built-in
entry points at code that exists, and the test fakes register like real ones, so `auditor
check` runs in-process on them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config.loader import parse_policy_text
from auditor.config.policy import JudgeConfig, ModelEndpoint
from auditor.config.registry import BACKENDS, JUDGES
from auditor.config.schema import generate_schema
from auditor.core.errors import AuditorError, PolicyError
from auditor.core.registry import load
from auditor.judges import make_judge
from auditor.outputs import files
from auditor.outputs.evidence.oscal import OSCAL_FILE
from auditor.outputs.evidence.record import EVIDENCE
from auditor.outputs.writers import output_names
from auditor.targets import make_target
from tests.conftest import MINIMAL, write_policy

BUILT_IN_JUDGES = ["harm", "refusal", "harmbench", "llama-guard", "rubric"]
BUILT_IN_BACKENDS = ["vllm", "ray", "openai"]


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy_text(text, "p.yaml")
    return [p.render() for p in info.value.problems]


def test_an_unknown_judge_kind_in_a_policy_file_names_the_line_and_the_kinds() -> None:
    [problem] = problems_of(MINIMAL + "judge: {kind: gpt-judge}\n")
    assert problem.startswith("p.yaml:10:") and "judge.kind" in problem
    assert "unknown judge kind 'gpt-judge'" in problem
    assert all(kind in problem for kind in BUILT_IN_JUDGES)


def test_an_unknown_backend_in_a_policy_file_names_the_line_and_the_backends() -> None:
    [problem] = problems_of(MINIMAL + "target: {backend: tgi, model: m}\n")
    assert problem.startswith("p.yaml:10:") and "target.backend" in problem
    assert "unknown target backend 'tgi'; one of: vllm, ray, openai" in problem


def test_an_option_the_judge_kind_does_not_read_is_an_error() -> None:
    [problem] = problems_of(MINIMAL + "judge: {kind: harm, llama_guard_version: 1}\n")
    assert "the harm judge does not read llama_guard_version" in problem


def test_building_an_unregistered_judge_or_backend_is_an_error_not_a_fallback() -> None:
    # A config made in code, past validation: the factories still refuse the name.
    judge = JudgeConfig.model_construct(kind="gpt-judge")
    with pytest.raises(AuditorError, match="unknown judge kind 'gpt-judge'") as info:
        make_judge(judge)
    assert "judge.kind is one of: harm, refusal" in (info.value.hint or "")
    endpoint = ModelEndpoint.model_construct(backend="tgi", model="m")
    with pytest.raises(AuditorError, match="unknown target backend 'tgi'"):
        make_target(endpoint)


def test_the_cli_refuses_an_unknown_judge_kind(runner: CliRunner, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, MINIMAL + "judge: {kind: gpt-judge}\n")
    result = runner.invoke(app, ["validate", str(policy)])
    assert result.exit_code == 2 and "unknown judge kind 'gpt-judge'" in result.output
    assert "Traceback" not in result.output


def test_the_policy_schema_lists_the_registered_names() -> None:
    definitions = generate_schema()["$defs"]
    assert definitions["JudgeConfig"]["properties"]["kind"]["enum"] == BUILT_IN_JUDGES
    assert definitions["TargetConfig"]["properties"]["backend"]["enum"] == BUILT_IN_BACKENDS


def test_every_built_in_entry_points_at_code_that_exists() -> None:
    for name in BUILT_IN_JUDGES:
        factory = JUDGES.get(name).factory
        assert isinstance(factory, str) and callable(load(factory)), name
    for name in BUILT_IN_BACKENDS:
        backend = BACKENDS.get(name)
        for reference in (backend.factory, backend.estimate):
            assert isinstance(reference, str) and callable(load(reference)), reference


def test_each_judge_measures_what_its_entry_declares(tmp_path: Path) -> None:
    # Built, not started: model-backed judges reach their server only in start().
    endpoint = {"backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}
    for name in BUILT_IN_JUDGES:
        kind = JUDGES.get(name)
        config = JudgeConfig.model_validate(
            {"kind": name, **({"endpoint": endpoint} if kind.needs_endpoint else {})})
        assert make_judge(config, tmp_path).construct == kind.construct, name


def test_the_writers_declare_every_output_in_the_order_they_are_written() -> None:
    names = output_names()
    assert names.index(files.RESULTS) < names.index(files.PDF)  # the PDF shows its sha256
    # the evidence pack is built from results.json, and the PDF's appendix shows it
    assert names.index(files.RESULTS) < names.index(EVIDENCE) < names.index(files.PDF)
    assert set(names) == {files.RESULTS, files.OUTCOMES, files.OVER_REFUSAL,
                          files.GENERATIONS, files.JUNIT, EVIDENCE, OSCAL_FILE, files.HTML,
                          files.PDF}


SCRIPTED = MINIMAL.replace("policies:", "target: {backend: scripted, model: MODEL}\n"
                           "judge: {kind: scripted}\npolicies:")


@pytest.mark.parametrize(("model", "exit_code", "score"), [("complies", 1, 0.0),
                                                           ("refuses", 3, 1.0)])
def test_check_runs_in_process_on_registered_fakes(runner: CliRunner, tmp_path: Path,
                                                   model: str, exit_code: int,
                                                   score: float) -> None:
    policy = write_policy(tmp_path, SCRIPTED.replace("MODEL", model))
    out = tmp_path / "run"
    result = runner.invoke(app, ["check", str(policy), "--out", str(out), "--quiet"])
    assert result.exit_code == exit_code, result.output
    results = json.loads((out / files.RESULTS).read_text())
    assert results["target"]["backend"] == "scripted" and results["judge"]["kind"] == "scripted"
    [policy_record] = results["policies"]
    assert policy_record["estimate"]["score"] == score and policy_record["n"] > 0
    text = PdfReader(out / files.PDF).pages[0].extract_text()
    assert "Test Org" in text
    assert runner.invoke(app, ["verify", str(out)]).exit_code == 0
