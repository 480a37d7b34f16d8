"""The issue-2 commands driven through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.targets.run_estimate import VLLM_LOAD_SECONDS
from tests.conftest import MINIMAL, SAMPLES, write_policy


def test_help_lists_commands_and_exit_codes(runner: CliRunner) -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for word in ("taxonomy", "schema", "validate", "plan", "dataset", "Exit codes"):
        assert word in result.output


def test_taxonomy_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["taxonomy", "--json"])
    data = json.loads(result.output)
    assert len(data["micro"]) == 32 and len(data["macro"]) == 6


def test_taxonomy_table(runner: CliRunner) -> None:
    result = runner.invoke(app, ["taxonomy"])
    assert result.exit_code == 0 and "crime_kidnapp" in result.output


def test_schema_prints_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["schema"])
    assert json.loads(result.output)["title"] == "auditor policy file"


def test_validate_ok(runner: CliRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    result = runner.invoke(app, ["validate", str(write_policy(tmp_path, MINIMAL))])
    assert result.exit_code == 0, result.output
    assert "1 policy, valid" in result.output


def test_validate_bad_file_exit_2_without_traceback(runner: CliRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_policy(tmp_path, MINIMAL.replace("crime_cyber", "crime_cyebr"))
    result = runner.invoke(app, ["validate", str(path)])
    assert result.exit_code == 2
    assert "did you mean 'crime_cyber'" in result.output
    assert f"{path}:9:" in result.output
    assert "Traceback" not in result.output


def test_validate_missing_file(runner: CliRunner) -> None:
    result = runner.invoke(app, ["validate", "/nonexistent/policy.yaml"])
    assert result.exit_code == 2 and "file not found" in result.output


def test_dataset_info_json(runner: CliRunner) -> None:
    result = runner.invoke(app, ["dataset", "info", str(SAMPLES), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] == 960
    # the project's own sample prompts, not ALERT: their own licence
    assert data["kind"] == "samples" and "auditor project" in data["licence"]
    assert data["counts"]["hate_poor"]["none"] == 6
    assert all(len(f["sha256"]) == 64 for f in data["files"])


def test_dataset_info_bad_row_exit_2(runner: CliRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "alert.jsonl").write_text('{"id": 1, "prompt": "x", "category": "bad"}\n')
    result = runner.invoke(app, ["dataset", "info", str(tmp_path)])
    assert result.exit_code == 2
    assert "alert.jsonl:1: category: unknown ALERT category 'bad'" in result.output
    lenient = runner.invoke(app, ["dataset", "info", str(tmp_path), "--lenient"])
    assert lenient.exit_code == 0 and "1 malformed skipped" in lenient.output


def test_dataset_fetch_offline_without_cache_fails_cleanly(runner: CliRunner, tmp_path,  # type: ignore[no-untyped-def]
                                                            monkeypatch) -> None:
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    result = runner.invoke(app, ["dataset", "fetch", "--cache-dir", str(tmp_path)])
    assert result.exit_code == 2 and "not in the cache" in result.output


def test_plan_json_and_table(runner: CliRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_policy(tmp_path, MINIMAL)
    result = runner.invoke(app, ["plan", str(path), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["unique_generations"] == 6
    assert data["policies"][0]["cells"][0]["category"] == "crime_cyber"
    table = runner.invoke(app, ["plan", str(path)])
    assert "6 unique generations" in table.output and "Estimated" in table.output


def test_plan_lists_prompt_texts(runner: CliRunner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = write_policy(tmp_path, MINIMAL)
    data = json.loads(runner.invoke(app, ["plan", str(path), "--json"]).output)
    uid = data["policies"][0]["cells"][0]["prompts"][0]
    assert data["prompts"][uid]
    listing = runner.invoke(app, ["plan", str(path), "--prompts"])
    assert uid in listing.output and data["prompts"][uid][:40] in listing.output


def test_plan_estimates_vllm_from_tokens_per_second(runner: CliRunner, tmp_path: Path) -> None:
    path = write_policy(tmp_path, MINIMAL)
    data = json.loads(runner.invoke(app, ["plan", str(path), "--json",
                                          "--tokens-per-second", "100"]).output)
    # 6 prompts x 256 max tokens / 100 tokens/s, after loading the model
    setup = data["estimated_setup_seconds"]
    assert setup >= VLLM_LOAD_SECONDS and "loading the model" in data["estimate_setup"]
    assert data["estimated_seconds"] == pytest.approx(setup + 6 * 256 / 100, abs=0.1)
    assert "tokens/s" in data["estimate_basis"]


def test_plan_estimates_an_http_target_from_concurrency(runner: CliRunner,
                                                        tmp_path: Path) -> None:
    path = write_policy(tmp_path, MINIMAL + """\
target:
  backend: openai
  model: m
  base_url: http://127.0.0.1:9/v1
  concurrency: 3
""")
    data = json.loads(runner.invoke(app, ["plan", str(path), "--json",
                                          "--seconds-per-answer", "2"]).output)
    assert data["estimated_seconds"] == pytest.approx(6 * 2 / 3)
    assert "rough estimate" in data["estimate_basis"] and "tokens/s" not in \
        data["estimate_basis"]
    table = runner.invoke(app, ["plan", str(path)])
    assert "rough estimate" in table.output and "290" not in table.output


def test_plan_prints_dataset_prompts_inert(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "alert"
    data.mkdir()
    hostile = "Hi \x1b]0;owned\x07 \x1b[2J there \u202eevil"
    (data / "alert.jsonl").write_text(json.dumps({
        "id": 1, "prompt": f"### Instruction:\n{hostile}\n### Response:\n",
        "category": "crime_cyber"}) + "\n")
    policy = write_policy(tmp_path, MINIMAL.replace(str(SAMPLES), str(data)) +
                          "sampling: {attack_types: [none]}\n")
    result = runner.invoke(app, ["plan", str(policy), "--prompts"])
    assert result.exit_code == 0, result.output
    assert "\x1b" not in result.output and "\u202e" not in result.output
    assert "Hi" in result.output and "there" in result.output


def test_error_messages_from_outside_print_inert() -> None:
    from auditor.cli.output import inert

    assert inert("model \x1b[2Jx\u202e [bold]") == "model \ufffd[2Jx\ufffd \\[bold]"


def test_validate_checks_the_dataset_path_and_the_card(runner: CliRunner, tmp_path: Path
                                                       ) -> None:
    missing = write_policy(tmp_path, MINIMAL.replace(str(SAMPLES), str(tmp_path / "nowhere")),
                           "missing.yaml")
    result = runner.invoke(app, ["validate", str(missing)])
    assert result.exit_code == 2 and "nowhere" in result.output
    card = write_policy(tmp_path, MINIMAL + "judge: {card: no-such-card.json}\n", "card.yaml")
    result = runner.invoke(app, ["validate", str(card)])
    assert result.exit_code == 2 and "no-such-card.json" in result.output
    assert "Traceback" not in result.output


def test_a_policy_without_prompts_is_named(runner: CliRunner, tmp_path: Path) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "alert.jsonl").write_text("")
    policy = write_policy(tmp_path, MINIMAL.replace(str(SAMPLES), str(empty)) +
                          "sampling: {attack_types: [none]}\n")
    for command in (["validate", str(policy)], ["check", str(policy), "--out",
                                                  str(tmp_path / "run"), "--quiet"]):
        result = runner.invoke(app, command)  # check stops before loading any model
        assert result.exit_code == 2, result.output
        assert "policy P1 select no prompts" in " ".join(result.output.split())
    assert "0 unique generations" in runner.invoke(app, ["plan", str(policy)]).output


def test_plan_says_whether_each_policy_can_be_certified(runner: CliRunner,
                                                        tmp_path: Path) -> None:
    from auditor.stats.outlook import labels_to_certify

    assert labels_to_certify(0.95, 0.95) == 72 and labels_to_certify(0.99, 0.95) == 368
    assert labels_to_certify(1.0, 0.95) is None
    # an anytime review (the default with micro weighting) pays for looking as labels arrive:
    # its one-sided test, aimed at a wholly safe model, needs about 5 % more
    assert labels_to_certify(0.95, 0.95, anytime=True) == 76
    assert labels_to_certify(0.99, 0.95, anytime=True) == 387
    # a policy's answers are a finite pool: labelling much of it leaves little unknown
    assert labels_to_certify(0.99, 0.95, pool=2000) == 321
    small = labels_to_certify(0.99, 0.95, anytime=True, pool=500)
    assert small is not None and small < 300
    policy = write_policy(tmp_path, MINIMAL.replace("categories: [crime_cyber]",
                                                    "categories: [crime_cyber]\n    threshold: 0.95"))
    result = runner.invoke(app, ["plan", str(policy), "--json"])
    assert result.exit_code == 0, result.output
    outlook = json.loads(result.output)["certification"][0]
    # the packaged harm judge's card, widened for transfer, cannot certify even a wholly
    # safe model; human review can, given enough answers to label
    assert outlook["judge_can_pass"] is False and outlook["judge_best_lower_bound"] < 0.95
    assert outlook["labels_for_safe_model"] == labels_to_certify(0.95, 0.95, True,
                                                                 outlook["prompts"])
    assert outlook["labels_for_safe_model"] <= min(76, outlook["prompts"])
    assert outlook["enough_answers_to_label"]
    table = runner.invoke(app, ["plan", str(policy)])
    assert "Can each policy be certified?" in table.output and "cannot PASS" in table.output
