"""The OpenAI-compatible backend: async `/v1/chat/completions` with bounded concurrency.

Retries 429, 5xx, timeouts and dropped connections with exponential backoff and jitter,
honouring `Retry-After`. The API key is read from the environment variable the policy names
and is never put in any message, log or stored record.
"""

from __future__ import annotations

import asyncio
import os
import queue
import random
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx

from auditor.errors import TargetError
from auditor.policy import ModelEndpoint
from auditor.targets.interface import ChatRequest, DecodingConfig, Generation, Target

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
BATCH_YIELD = 16  # results handed to the store per commit
AUTH_STATUS = {401, 403}
# Connection failures in a row (across all requests) after which the server is taken as gone.
DOWN_AFTER = 12


class OpenAITarget(Target):
    def __init__(self, endpoint: ModelEndpoint, backoff_base_s: float = BACKOFF_BASE_S) -> None:
        assert endpoint.base_url, "validated by the policy model"
        self.endpoint = endpoint
        self.base_url = endpoint.base_url.rstrip("/")
        self.backoff_base_s = backoff_base_s
        self._server_model: dict[str, Any] = {}
        self._failures_in_a_row = 0

    # The key lives only in request headers, built fresh for each client.
    def _headers(self) -> dict[str, str]:
        env = self.endpoint.api_key_env
        if not env:
            return {}
        key = os.environ.get(env)
        if not key:
            raise TargetError(f"the environment variable {env} (target api_key_env) is not set",
                              hint=f"export {env}=... before running")
        return {"Authorization": f"Bearer {key}"}

    def start(self) -> None:
        headers = self._headers()
        try:
            response = httpx.get(f"{self.base_url}/models", headers=headers, timeout=15.0)
        except httpx.HTTPError as exc:
            raise TargetError(f"cannot reach the server at {self.base_url}: "
                              f"{type(exc).__name__}",
                              hint="is the server running, and is base_url right "
                              "(it usually ends in /v1)?") from None
        if response.status_code in (401, 403):
            raise TargetError(f"the server at {self.base_url} rejected the API key "
                              f"(HTTP {response.status_code})",
                              hint=self._auth_hint())
        if response.status_code == 200:
            try:
                models = response.json().get("data", [])
            except ValueError:
                models = []
            names = [m.get("id") for m in models if isinstance(m, dict)]
            if names and self.endpoint.model not in names:
                raise TargetError(f"the server at {self.base_url} does not serve model "
                                  f"{self.endpoint.model!r}",
                                  hint=f"it serves: {', '.join(map(str, names[:10]))}")
            self._server_model = next((m for m in models if isinstance(m, dict)
                                       and m.get("id") == self.endpoint.model), {})

    def fingerprint(self) -> dict[str, Any]:
        info: dict[str, Any] = {"backend": "openai", "base_url": self.base_url,
                                "model": self.endpoint.model,
                                "id": f"openai:{self.endpoint.model}@{self.base_url}"}
        for field in ("root", "owned_by", "created"):
            if field in self._server_model:
                info[f"server_{field}"] = self._server_model[field]
        return info

    def generate(self, requests: list[ChatRequest], sampling: DecodingConfig
                 ) -> Iterator[list[Generation]]:
        results: queue.Queue[Generation | BaseException | None] = queue.Queue()
        headers = self._headers()
        worker = threading.Thread(target=lambda: self._run_loop(requests, sampling, headers,
                                                                results), daemon=True)
        worker.start()
        batch: list[Generation] = []
        while True:
            item = results.get()
            if item is None:
                break
            if isinstance(item, BaseException):
                if batch:
                    yield batch  # finished answers are stored before the run stops
                raise item
            batch.append(item)
            if len(batch) >= BATCH_YIELD or results.empty():
                yield batch
                batch = []
        if batch:
            yield batch
        worker.join()

    def _run_loop(self, requests: list[ChatRequest], sampling: DecodingConfig,
                  headers: dict[str, str], results: queue.Queue[Any]) -> None:
        try:
            asyncio.run(self._run_all(requests, sampling, headers, results))
        except BaseException as exc:  # surfaced in the consuming thread
            results.put(exc)
        finally:
            results.put(None)

    async def _run_all(self, requests: list[ChatRequest], sampling: DecodingConfig,
                       headers: dict[str, str], results: queue.Queue[Any]) -> None:
        limit = asyncio.Semaphore(self.endpoint.concurrency)
        limits = httpx.Limits(max_connections=self.endpoint.concurrency,
                              max_keepalive_connections=self.endpoint.concurrency)
        async with httpx.AsyncClient(headers=headers, limits=limits,
                                     timeout=self.endpoint.timeout_s) as client:

            async def one(request: ChatRequest) -> None:
                async with limit:
                    results.put(await self._call(client, request, sampling))

            await asyncio.gather(*(one(r) for r in requests))

    def _body(self, request: ChatRequest, sampling: DecodingConfig) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.endpoint.model, "max_tokens": sampling.max_tokens,
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

    async def _call(self, client: httpx.AsyncClient, request: ChatRequest,
                    sampling: DecodingConfig) -> Generation:
        url = f"{self.base_url}/{'completions' if request.raw else 'chat/completions'}"
        body = self._body(request, sampling)
        reason = "no attempt made"
        for attempt in range(self.endpoint.max_retries + 1):
            started = time.perf_counter()
            retry_after: float | None = None
            try:
                # httpx's timeout bounds each read; a server that drips its answer one byte at a
                # time would never trip it. The deadline bounds the request as a whole.
                response = await asyncio.wait_for(client.post(url, json=body),
                                                  timeout=self.endpoint.timeout_s)
            except (httpx.TimeoutException, TimeoutError):
                reason = f"timed out after {self.endpoint.timeout_s:g} s"
            except httpx.TransportError as exc:
                reason = f"connection error: {type(exc).__name__}"
                self._failures_in_a_row += 1
                if self._failures_in_a_row >= DOWN_AFTER:
                    raise TargetError(
                        f"the server at {self.base_url} stopped answering: {DOWN_AFTER} "
                        f"connection failures in a row ({type(exc).__name__})",
                        hint="finished answers are saved; restart the server and rerun the "
                             "same command to resume") from None
            else:
                self._failures_in_a_row = 0
                if response.status_code in AUTH_STATUS:
                    raise TargetError(self._auth_message(response.status_code),
                                      hint=self._auth_hint()) from None
                if response.status_code == 200:
                    parsed = _parse_completion(request.key, response, started, request.raw)
                    if parsed.error is None:
                        return parsed
                    reason = parsed.error
                elif response.status_code in RETRY_STATUS:
                    reason = f"HTTP {response.status_code}"
                    retry_after = _retry_after(response)
                else:
                    # 400, 401, 404…: retrying will not help
                    return Generation(request.key, None, error=f"HTTP {response.status_code}: "
                                      f"{_short_body(response)}")
            if attempt < self.endpoint.max_retries:
                await asyncio.sleep(self._backoff(attempt, retry_after))
        return Generation(request.key, None,
                          error=f"{reason} (after {self.endpoint.max_retries + 1} attempts)")

    def _auth_message(self, status: int) -> str:
        return (f"the server rejected the request's credentials (HTTP {status}) on "
                f"{self.base_url}; stopped at once so no prompt is spent")

    def _auth_hint(self) -> str:
        env = self.endpoint.api_key_env
        if env:
            return f"check the key in the environment variable {env} (its value is not shown)"
        return "the server needs an API key: set api_key_env to the NAME of a variable holding it"

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, BACKOFF_CAP_S * 4)
        ceiling = min(BACKOFF_CAP_S, self.backoff_base_s * 2 ** attempt)
        return random.uniform(ceiling / 2, ceiling)  # jitter spreads retries of many clients


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date; fall back to our own backoff


def _short_body(response: httpx.Response) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:200]


def _parse_completion(key: str, response: httpx.Response, started: float, raw: bool
                      ) -> Generation:
    try:
        data = response.json()
        choice = data["choices"][0]
        text = choice["text"] if raw else choice["message"]["content"]
        if not isinstance(text, str):
            raise TypeError("content is not a string")
        logprobs = _first_token_logprobs(choice.get("logprobs"), raw)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        return Generation(key, None, error=f"malformed response: {type(exc).__name__}")
    usage = data.get("usage") or {}
    return Generation(key, text, finish_reason=choice.get("finish_reason"),
                      prompt_tokens=usage.get("prompt_tokens"),
                      completion_tokens=usage.get("completion_tokens"),
                      latency_s=time.perf_counter() - started, first_token_logprobs=logprobs)


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
