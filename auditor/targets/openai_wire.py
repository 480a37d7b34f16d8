"""The OpenAI-compatible wire format: request bodies, and answers read back from response bytes.

Pure functions, no I/O, so the transport (`openai_target.py`) can be swapped and every parsing
rule tested on bytes. Answers are capped: a server that ignores `max_tokens` gets its answer cut
at `max_answer_bytes`, recorded in `finish_reason`.
"""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from auditor.core.secrets import redact
from auditor.targets.interface import ChatRequest, DecodingConfig, Generation

# JSON may escape one byte of text as six (\u00XX); logprobs add about this much per token and
# alternative. A body longer than the bound below cannot hold an answer within the cap, so
# reading stops there and memory stays bounded per request, whatever the server sends.
_ESCAPE_FACTOR = 6
_ENVELOPE_BYTES = 64 * 1024
_BYTES_PER_LOGPROB = 160


def cut_note(cap: int) -> str:
    return f"cut at {cap} bytes (max_answer_bytes)"


def body_limit(cap: int, sampling: DecodingConfig) -> int:
    """The most bytes of a response body worth reading for an answer of at most `cap` bytes."""
    logprobs = sampling.max_tokens * (sampling.logprobs or 0) * _BYTES_PER_LOGPROB
    return cap * _ESCAPE_FACTOR + _ENVELOPE_BYTES + logprobs


# The request is the wire's JSON body, whose shape the OpenAI API sets (a real boundary).
def request_body(model: str, request: ChatRequest, sampling: DecodingConfig) -> dict[str, Any]:
    body: dict[str, Any] = {"model": model, "max_tokens": sampling.max_tokens,
                            "temperature": sampling.temperature}
    if request.raw:
        body["prompt"] = request.prompt
        if sampling.logprobs:
            body["logprobs"] = sampling.logprobs
        return body
    body["messages"] = request.messages()
    if sampling.logprobs:
        body.update(logprobs=True, top_logprobs=sampling.logprobs)
    if sampling.json_schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {
            "name": "verdict", "schema": sampling.json_schema, "strict": True}}
    return body


def cap_text(text: str, cap: int) -> tuple[str, bool]:
    """`text` cut to at most `cap` UTF-8 bytes on a character boundary, and whether it was cut."""
    if len(text) * 4 <= cap:  # fast path: cannot be over, whatever the characters
        return text, False
    encoded = text.encode("utf-8", "surrogatepass")
    if len(encoded) <= cap:
        return text, False
    return encoded[:cap].decode("utf-8", "ignore"), True


def parse_completion(key: str, body: bytes, started: float, raw: bool, cap: int,
                     truncated: bool) -> Generation:
    """A Generation from a 200 response body (maybe cut short at the body limit)."""
    if truncated:
        return _salvaged(key, body, started, raw, cap)
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        text = choice["text"] if raw else choice["message"]["content"]
        if not isinstance(text, str):
            raise TypeError("content is not a string")
        logprobs = _first_token_logprobs(choice.get("logprobs"), raw)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        return Generation(key, None, error=f"malformed response: {type(exc).__name__}")
    usage = data.get("usage") or {}
    text, cut = cap_text(text, cap)
    return Generation(key, text, finish_reason=cut_note(cap) if cut else choice.get("finish_reason"),
                      prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
                      completion_tokens=_int_or_none(usage.get("completion_tokens")),
                      latency_s=time.perf_counter() - started, first_token_logprobs=logprobs)


_ANSWER_START = re.compile(rb'"(?:content|text)"\s*:\s*"')


def _salvaged(key: str, body: bytes, started: float, raw: bool, cap: int) -> Generation:
    """The start of the answer in a body too long to read whole: its first `cap` bytes."""
    match = _ANSWER_START.search(body)
    if match is None:
        return Generation(key, None, error=f"response longer than {len(body)} bytes with no "
                          "answer near its start (max_answer_bytes)")
    rest = body[match.end():].decode("utf-8", "ignore")
    text = _decode_json_string_prefix(rest)
    text, _ = cap_text(text, cap)
    return Generation(key, text, finish_reason=cut_note(cap),
                      latency_s=time.perf_counter() - started)


def _decode_json_string_prefix(rest: str) -> str:
    """Decode a JSON string body that may lack its closing quote or end inside an escape."""
    end = _closing_quote(rest)
    if end is not None:
        rest = rest[:end]
    for trim in range(7):  # an escape is at most 6 characters: drop a partial one at the end
        candidate = rest[:len(rest) - trim] if trim else rest
        try:
            decoded = json.loads(f'"{candidate}"')
        except ValueError:
            continue
        return str(decoded)
    return ""


def _closing_quote(rest: str) -> int | None:
    index = 0
    while True:
        quote = rest.find('"', index)
        if quote < 0:
            return None
        before = quote - 1
        while before >= 0 and rest[before] == "\\":
            before -= 1
        if (quote - 1 - before) % 2 == 0:  # an even run of backslashes escapes nothing
            return quote
        index = quote + 1


def retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header: a number of seconds, or an HTTP date."""
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# Statuses that mean "there is no chat endpoint here": the URL is wrong, not the request.
WRONG_ENDPOINT_STATUS = {404, 405, 501}
BASE_URL_HINT = ("check base_url: it is the API root that /chat/completions hangs off, and "
                 "for most servers it ends in /v1 (e.g. http://localhost:8000/v1)")


def speaks_openai(body: bytes) -> bool:
    """Whether a 200 body is shaped like an OpenAI chat or text completion."""
    try:
        data = json.loads(body)
        choice = data["choices"][0]
        return isinstance(choice, dict) and (isinstance(choice.get("message"), dict)
                                             or "text" in choice)
    except (ValueError, KeyError, IndexError, TypeError):
        return False


def is_openai_error(body: bytes) -> bool:
    """Whether a 4xx body is an OpenAI-style error object (the server understood the route)."""
    try:
        data = json.loads(body)
    except ValueError:
        return False
    return isinstance(data, dict) and ("error" in data or data.get("object") == "error")


def probe_problem(status: int, body: bytes) -> str | None:
    """What is wrong with a start-up probe's answer, or None when it came from an
    OpenAI-compatible chat endpoint. A 400 with an OpenAI error object counts as such: the
    server understood the route and refused this request (a model without a chat template,
    for one), which the run's own requests will show one by one."""
    if status in WRONG_ENDPOINT_STATUS:
        return f"HTTP {status}: no chat completions endpoint at this URL"
    if status == 200:
        return None if speaks_openai(body) else \
            "HTTP 200 but the answer is not an OpenAI-style completion " \
            f"({short_body(body)[:80] or 'empty body'!r})"
    if status in (400, 422) and is_openai_error(body):
        return None
    return f"HTTP {status}: {short_body(body)[:120]}"


def short_body(body: bytes) -> str:
    """The start of an error body, for a message: redacted whole before it is cut, so that
    no piece of a key the body echoed survives at the cut."""
    text = redact(body[:BODY_READ_FOR_MESSAGE].decode("utf-8", "replace"))
    return text.strip().replace("\n", " ")[:200]


BODY_READ_FOR_MESSAGE = 65536  # bytes of an error body read to redact before cutting


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _first_token_logprobs(logprobs: Any, raw: bool) -> dict[str, float]:
    if not logprobs:
        return {}
    if raw:  # completions API: {"top_logprobs": [{token: logprob, ...}, ...]}
        tops = logprobs.get("top_logprobs") or []
        return {str(k): float(v) for k, v in (tops[0] or {}).items()} if tops else {}
    content = logprobs.get("content") or []
    if not content:
        return {}
    return {str(e.get("token")): float(e.get("logprob", float("-inf")))
            for e in content[0].get("top_logprobs") or []}
