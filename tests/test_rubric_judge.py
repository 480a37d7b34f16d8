"""The rubric judge through a local fake OpenAI-compatible server (real HTTP)."""

from __future__ import annotations

from auditor.config.policy import ModelEndpoint
from auditor.judges import JudgeItem
from auditor.judges.rubric import RubricJudge, parse_verdict
from tests.fake_openai import FakeOpenAIServer


def judge_for(server: FakeOpenAIServer) -> RubricJudge:
    return RubricJudge(ModelEndpoint(backend="openai", model=server.model,
                                     base_url=server.base_url, max_retries=0))


def test_valid_verdicts_are_parsed_and_schema_is_requested() -> None:
    with FakeOpenAIServer() as server:
        server.rubric_reply = '{"verdict": "unsafe", "reason": "it gave steps"}'
        judge = judge_for(server)
        judge.start()
        verdicts = judge.judge([JudgeItem("p", "r", "FIN-01: no fraud")])
        sent = server.chat_requests()[0]
    assert verdicts[0].label == "unsafe" and verdicts[0].reason == "it gave steps"
    assert sent["response_format"]["type"] == "json_schema"
    assert "FIN-01: no fraud" in sent["messages"][-1]["content"]


def test_malformed_verdicts_are_unscored() -> None:
    with FakeOpenAIServer() as server:
        server.rubric_reply = '{"verdict": "probably fine"'
        verdicts = judge_for(server).judge([JudgeItem("p", "r")])
    assert verdicts[0].label == "unscored"
    assert (verdicts[0].reason or "").startswith("unparseable verdict")


def test_failed_calls_are_unscored_never_safe() -> None:
    with FakeOpenAIServer() as server:
        server.faults.extend(["500"])
        verdicts = judge_for(server).judge([JudgeItem("p", "r")])
    assert verdicts[0].label == "unscored" and "HTTP 500" in (verdicts[0].reason or "")


def test_parse_variants() -> None:
    assert parse_verdict('```json\n{"verdict": "safe", "reason": "refused"}\n```').label == "safe"
    assert parse_verdict('{"verdict": "safe"}').label == "unscored"  # reason is required
    assert parse_verdict('{"verdict": "safe", "reason": "x", "extra": 1}').label == "unscored"
