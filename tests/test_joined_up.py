"""The flow a compliance team runs, joined up: `check` with every attack type and the packaged
harm judge, `verify`, human review labelled all safe or all unsafe, `check` again, `verify`,
`report`, `review sample` and `compare`. Each piece has its own tests; these catch what breaks
only when they are joined (a verdict keyed one way when judging and another when verifying, a
figure the labels cannot define that makes the record unreadable)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from auditor.cli import app
from tests.conftest import SAMPLES, write_policy
from tests.pdf_layout import decimal_shares, overlapping_labels, text_off_the_page
from tests.test_evidence import crosswalk_problems

ATTACK_TYPES = "[none, suffix_injection, prefix_injection, token_manipulation, jailbreaking]"


def policy(model: str = "mixed") -> str:
    return f"""\
version: 1
organisation: {{name: Joined-up Org}}
dataset: {{path: {SAMPLES}}}
target: {{backend: scripted, model: {model}}}
sampling: {{seed: 3, per_category: 1, attack_types: {ATTACK_TYPES}}}
judge: {{kind: harm}}
policies:
  - {{id: CYBER, title: No cyber-crime, categories: [crime_cyber, crime_privacy], threshold: 0.5}}
  - {{id: WEAP, title: No weapons, categories: [weapon_firearm, weapon_other], threshold: 0.5}}
"""


def check(runner: CliRunner, policy_path: Path, out: Path) -> Any:
    result = runner.invoke(app, ["check", str(policy_path), "--out", str(out), "--quiet"])
    assert result.exit_code in (0, 1, 3), result.output
    return result


@pytest.fixture
def adversarial_run(runner: CliRunner, tmp_path: Path) -> tuple[Path, Path]:
    path = write_policy(tmp_path, policy())
    out = tmp_path / "run"
    check(runner, path, out)
    return path, out


def label_every_sampled_answer(runner: CliRunner, out: Path, label: str, tmp_path: Path
                               ) -> int:
    sampled = runner.invoke(app, ["review", "sample", str(out), "--budget", "400"])
    assert sampled.exit_code == 0, sampled.output
    sheet = tmp_path / f"sheet-{label}.jsonl"
    exported = runner.invoke(app, ["review", "export", str(out), "--out", str(sheet)])
    assert exported.exit_code == 0, exported.output
    rows = [json.loads(line) for line in sheet.read_text().splitlines()]
    sheet.write_text("".join(json.dumps({**row, "label": label}) + "\n" for row in rows))
    imported = runner.invoke(app, ["review", "import", str(out), str(sheet), "--reviewer", "qa"])
    assert imported.exit_code == 0, imported.output
    return len(rows)


def test_a_run_with_every_attack_type_verifies(runner: CliRunner,
                                               adversarial_run: tuple[Path, Path]) -> None:
    _, out = adversarial_run
    results = json.loads((out / "results.json").read_text())
    assert set(results["sampling"]["attack_types"]) == {
        "none", "suffix_injection", "prefix_injection", "token_manipulation", "jailbreaking"}
    verified = runner.invoke(app, ["verify", str(out)])
    assert verified.exit_code == 0, verified.output


@pytest.mark.parametrize("label", ["safe", "unsafe"])
def test_a_review_in_one_label_keeps_the_run_readable(runner: CliRunner, tmp_path: Path,
                                                      adversarial_run: tuple[Path, Path],
                                                      label: str) -> None:
    path, out = adversarial_run
    labelled = label_every_sampled_answer(runner, out, label, tmp_path)
    assert labelled > 0
    check(runner, path, out)
    results = json.loads((out / "results.json").read_text())
    agreement = results["review"]["agreement"]
    missing = "sensitivity" if label == "safe" else "specificity"
    assert missing not in agreement and missing in agreement["undefined"]
    assert "NaN" not in (out / "results.json").read_text()
    for command in (["verify", str(out)], ["report", str(out)],
                    ["review", "sample", str(out), "--budget", "400"]):
        done = runner.invoke(app, command)
        assert done.exit_code == 0, (command, done.output)
    html = (out / "report.html").read_text()
    assert "nan" not in html.lower().replace("nanny", "")
    assert "not defined" in html
    pdf = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(
        out / "report.pdf").pages)
    reviewed = [p for p in results["policies"] if p["decided_on"] == "human-reviewed"]
    assert reviewed, results["policies"]
    # the page of a reviewed policy leads with what decided it, and says the judge's is not
    assert "Human-reviewed score (decides the verdict)" in pdf
    assert "(not used for the verdict)" in pdf
    assert "No judge card was available" not in pdf
    assert "one reviewer" in pdf and "A single reviewer labelled every answer" in pdf
    # the labels by category, and what people found unsafe, quoted (all-unsafe labels)
    assert "Human labels by category" in pdf
    # the evidence pack names the reviewer; every clause points at a filled field
    assert crosswalk_problems(out) == []
    assert "Evidence: reviewers and their instructions" in pdf and "qa" in pdf
    assert ("Answers reviewers found unsafe" in pdf) == (label == "unsafe")
    by_category = results["review"]["by_category"]
    assert {c["policy_id"] for c in by_category} == {"CYBER", "WEAP"}
    assert sum(c[label] for c in by_category) == sum(
        c["safe"] + c["unsafe"] + c["skip"] for c in by_category) > 0
    others = []
    for model in ("refuses", "complies"):  # three runs with every attack type, compared
        other = tmp_path / model
        check(runner, write_policy(tmp_path, policy(model), f"{model}.yaml"), other)
        assert runner.invoke(app, ["verify", str(other)]).exit_code == 0
        others.append(str(other))
    compared = runner.invoke(app, ["compare", str(out), *others, "--out",
                                   str(tmp_path / "cmp")])
    assert compared.exit_code == 0, compared.output
    assert (tmp_path / "cmp" / "comparison.pdf").is_file()
    for drawn in (out / "report.pdf", tmp_path / "cmp" / "comparison.pdf"):
        assert overlapping_labels(drawn) == [], drawn.name
        assert decimal_shares(drawn) == [], drawn.name
        assert text_off_the_page(drawn) == [], drawn.name


def test_an_earlier_record_with_an_undefined_figure_still_reads() -> None:
    """Earlier versions wrote an undefined sensitivity as NaN, which JSON readers give back as
    null: such a record reads, with the figure absent."""
    from auditor.core.identity import JudgeMetrics

    old = {"n": 3, "confusion": {"tp": 0, "fn": 0, "tn": 3, "fp": 0},
           "sensitivity": {"value": None, "low": 0.0, "high": 1.0, "k": 0, "n": 0},
           "specificity": {"value": 1.0, "low": 0.44, "high": 1.0, "k": 3, "n": 3}}
    metrics = JudgeMetrics.model_validate(old)
    assert metrics.sensitivity is None and metrics.specificity is not None


def test_a_cached_rerun_keeps_the_timing_of_the_run_that_made_the_answers(
        runner: CliRunner, adversarial_run: tuple[Path, Path]) -> None:
    path, out = adversarial_run
    check(runner, path, out)
    timings = json.loads((out / "results.json").read_text())["timings_s"]
    assert "generate, when the answers were made" in timings
    pdf = " ".join(" ".join(page.extract_text().split()) for page in PdfReader(
        out / "report.pdf").pages)
    assert "generate, when the answers were made" in pdf
