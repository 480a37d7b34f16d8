"""Reading answers back from response bytes: caps, salvage of cut bodies, Retry-After."""

from __future__ import annotations

import json
import time
from email.utils import formatdate

from auditor.targets.interface import DecodingConfig
from auditor.targets.openai_wire import body_limit, cap_text, parse_completion, retry_after_s


def chat_body(content: str) -> bytes:
    return json.dumps({"choices": [{"message": {"content": content},
                                    "finish_reason": "stop"}]}).encode()


def test_cap_text_cuts_on_a_character_boundary() -> None:
    assert cap_text("abc", 10) == ("abc", False)
    assert cap_text("€" * 4, 7) == ("€€", True)  # 3 bytes each: 7 bytes hold two
    assert cap_text("a" * 2000, 1024) == ("a" * 1024, True)


def test_a_body_cut_inside_an_escape_keeps_the_decoded_start() -> None:
    content = 'He said "hi"\n\u00e9' + "z" * 500
    body = chat_body(content)
    cut_inside = body[: body.index(b"\\u00e9") + 3]  # ends in the middle of \u00e9
    generation = parse_completion("k", cut_inside, time.perf_counter(), False, 1024, True)
    assert generation.text == 'He said "hi"\n'
    assert generation.finish_reason == "cut at 1024 bytes (max_answer_bytes)"


def test_a_cut_body_whose_answer_ended_keeps_exactly_the_answer() -> None:
    body = chat_body("short answer") + b" " * 10  # the flood is after the answer
    generation = parse_completion("k", body, time.perf_counter(), False, 1024, True)
    assert generation.text == "short answer"


def test_a_cut_body_with_no_answer_is_an_error_not_an_empty_answer() -> None:
    generation = parse_completion("k", b'{"id": "' + b"x" * 5000, time.perf_counter(), False,
                                  1024, True)
    assert generation.text is None and "no answer" in (generation.error or "")


def test_the_body_limit_allows_escapes_and_logprobs() -> None:
    plain = body_limit(1024, DecodingConfig(max_tokens=8))
    assert plain >= 6 * 1024
    assert body_limit(1024, DecodingConfig(max_tokens=8, logprobs=5)) > plain


def test_retry_after_in_seconds_or_as_a_date() -> None:
    assert retry_after_s("3") == 3.0
    assert retry_after_s("-1") == 0.0
    assert retry_after_s(None) is None and retry_after_s("soon") is None
    ahead = retry_after_s(formatdate(time.time() + 30, usegmt=True))
    assert ahead is not None and 28 <= ahead <= 30
    assert retry_after_s(formatdate(time.time() - 30, usegmt=True)) == 0.0


def test_the_environment_proxy_is_looked_up_once_per_server(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from auditor.targets.openai_target import proxy_for

    monkeypatch.setenv("HTTP_PROXY", "http://proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", "internal.example")
    assert proxy_for("http://gpu-1.example:8000/v1") == "http://proxy.corp:3128"
    assert proxy_for("http://internal.example:8000/v1") is None
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.delenv("http_proxy", raising=False)
    assert proxy_for("http://gpu-1.example:8000/v1") is None
