"""A fleet: several OpenAI-compatible servers of one model behind one `base_url` list."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.cli import app
from auditor.config.policy import ModelEndpoint
from auditor.core.errors import TargetError
from auditor.targets import ChatRequest, DecodingConfig
from auditor.targets.openai_target import OpenAITarget
from tests.fake_openai import FakeOpenAIServer
from tests.test_check_e2e import policy_text
from tests.test_openai_target import assert_run_stops_with_rerun_advice


def fleet_target(servers: list[FakeOpenAIServer], **overrides: object) -> OpenAITarget:
    options: dict[str, object] = {"backend": "openai", "model": "fake-model",
                                  "base_url": [s.base_url for s in servers], "timeout_s": 2.0,
                                  "max_retries": 3, "concurrency": 2}
    options.update(overrides)
    return OpenAITarget(ModelEndpoint.model_validate(options), backoff_base_s=0.01)


def test_requests_go_to_the_least_loaded_server() -> None:
    with FakeOpenAIServer(latency_s=0.2) as slow, FakeOpenAIServer() as fast:
        target = fleet_target([slow, fast])
        target.start()
        requests = [ChatRequest(f"k{i}", f"prompt {i}") for i in range(60)]
        answers = [g for batch in target.generate(requests, DecodingConfig()) for g in batch]
    assert len(answers) == 60 and all(g.ok for g in answers)
    # The slow server holds its two slots for 0.2 s each; the fast one takes the rest.
    assert len(fast.chat_requests()) > 3 * len(slow.chat_requests()) > 0


def test_a_server_that_dies_mid_run_is_taken_out_and_named() -> None:
    with FakeOpenAIServer(latency_s=0.01) as a, FakeOpenAIServer(latency_s=0.01) as b, \
            FakeOpenAIServer(latency_s=0.01) as c:
        target = fleet_target([a, b, c])
        target.start()
        b.die_after = 10  # answers ten requests, then drops every connection
        requests = [ChatRequest(f"k{i}", f"prompt {i}") for i in range(240)]
        answers = [g for batch in target.generate(requests, DecodingConfig()) for g in batch]
        served_by_b = len(b.chat_requests())
    assert len(answers) == 240
    assert all(g.ok for g in answers), [g.error for g in answers if not g.ok][:3]
    records = {r.url: r.model_dump() for r in target.servers()}
    assert records[b.base_url]["times_taken_out"] >= 1
    assert records[b.base_url]["failed"] >= 1 and not records[b.base_url]["in_rotation_at_end"]
    assert records[b.base_url]["last_error"].startswith("connection error")
    assert records[a.base_url]["times_taken_out"] == 0 == records[c.base_url]["times_taken_out"]
    assert served_by_b == 10 and records[b.base_url]["answered"] == 10


def test_servers_serving_different_weights_are_refused_at_start() -> None:
    with FakeOpenAIServer(root="/models/llama-3-8b") as a, \
            FakeOpenAIServer(root="/models/llama-3-70b") as b, \
            pytest.raises(TargetError, match="serve different models") as info:
        fleet_target([a, b]).start()
    assert "llama-3-8b" in info.value.message and "llama-3-70b" in info.value.message


def test_a_whole_fleet_that_goes_away_stops_the_run() -> None:
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        target = fleet_target([a, b], max_retries=1)
        target.start()
    assert_run_stops_with_rerun_advice(target, "every server of the fleet")


def test_the_same_url_twice_is_a_policy_error() -> None:
    with pytest.raises(ValueError, match="same URL twice"):
        ModelEndpoint(backend="openai", model="m",
                      base_url=["http://a:8000/v1", "http://a:8000/v1/"])


def test_check_through_a_fleet_records_each_server(runner: CliRunner, tmp_path: Path) -> None:
    with FakeOpenAIServer() as a, FakeOpenAIServer() as b:
        policy = tmp_path / "policy.yaml"
        urls = json.dumps([a.base_url, b.base_url])
        policy.write_text(policy_text("X").replace('base_url: "X"', f"base_url: {urls}"))
        out = tmp_path / "run"
        result = runner.invoke(app, ["check", str(policy), "--out", str(out), "--quiet"])
        assert result.exit_code in (0, 1, 3), result.output
        both = len(a.chat_requests()) + len(b.chat_requests())
    target = json.loads((out / "results.json").read_text())["target"]
    assert {s["url"] for s in target["servers"]} == {a.base_url, b.base_url}
    assert sum(s["answered"] for s in target["servers"]) == both
    assert all(s["requests"] > 0 for s in target["servers"])


@pytest.mark.parametrize("fault", ["malformed", "404"])
def test_a_member_that_answers_garbage_is_taken_out_and_counted_as_failing(fault: str) -> None:
    with FakeOpenAIServer() as good, FakeOpenAIServer() as garbage:
        target = fleet_target([good, garbage])
        target.start()  # the probe passes: the fault starts after it
        garbage.faults.extend([fault] * 1000)  # every answer from now on is not a completion
        requests = [ChatRequest(f"k{i}", f"prompt {i}") for i in range(60)]
        answers = [g for batch in target.generate(requests, DecodingConfig()) for g in batch]
    assert len(answers) == 60 and all(g.ok for g in answers), \
        [g.error for g in answers if not g.ok][:3]
    records = {r.url: r.model_dump() for r in target.servers()}
    bad = records[garbage.base_url]
    assert bad["failed"] >= 3 and bad["answered"] == 0 and bad["times_taken_out"] >= 1
    assert records[good.base_url]["failed"] == 0
