"""The OpenAI-compatible backend: `/v1/chat/completions` over aiohttp, one server or a fleet.

aiohttp was chosen by measurement (bench/openai_scale.py): httpx's connection pool stops
scaling above about 16 requests in flight (encode/httpx#3215); aiohttp reaches ~0.9 of C/L at
C = 256 on two cores.
A fixed pool of workers (one per request slot) pulls prompts in order, so the work in flight does
not grow with the dataset. Retries 429, 5xx, timeouts and dropped connections with exponential backoff
and jitter, honouring `Retry-After` (seconds or an HTTP date). Every request has one deadline
for connect, send and receive together, and every answer is capped at `max_answer_bytes`.
The API key is read from the variable the policy names and never put in a message or record.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import random
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit
from urllib.request import getproxies, proxy_bypass

import aiohttp

from auditor.config.policy import ModelEndpoint
from auditor.core import secrets
from auditor.core.errors import TargetError
from auditor.core.identity import ServerRecord, TargetFingerprint
from auditor.targets.fleet import Fleet, Server
from auditor.targets.interface import ChatRequest, DecodingConfig, Generation, Target
from auditor.targets.openai_wire import (
    BASE_URL_HINT,
    WRONG_ENDPOINT_STATUS,
    body_limit,
    parse_completion,
    probe_problem,
    request_body,
    retry_after_s,
    short_body,
)

RETRY_STATUS = {408, 409, 425, 429, 500, 502, 503, 504}
AUTH_STATUS = {401, 403}
BACKOFF_BASE_S = 0.5
BACKOFF_CAP_S = 30.0
# The most one prompt spends waiting between its retries, Retry-After included: a server asking
# for 100000 s must not hold the run; the prompt is recorded as failed and retried on a rerun.
MAX_RETRY_WAIT_S = 120.0
# Answers are handed to the store at least this often: a SIGKILL loses at most this much work.
COMMIT_EVERY_S = 0.5
COMMIT_MAX_ROWS = 4096
# After Ctrl-C or SIGTERM, how long answers of requests already in flight are awaited (and
# stored) before the run stops.
STOP_GRACE_S = 5.0
# Connection failures in a row (across all requests and servers) after which the server, or
# the whole fleet, is taken as gone.
DOWN_AFTER = 12
START_TIMEOUT_S = 15.0
# The start-up probe: one real chat request of one token to every server before any prompt.
PROBE_MESSAGES = [{"role": "user", "content": "Reply with the word OK."}]
PROBE_BODY_LIMIT = 1024 * 1024
_TICK = object()
JSON_HEADERS = {"Content-Type": "application/json"}  # "time to hand over what has arrived"


class OpenAITarget(Target):
    start_stage = "connect"  # nothing is loaded here: the servers are reached and probed
    def __init__(self, endpoint: ModelEndpoint, backoff_base_s: float = BACKOFF_BASE_S) -> None:
        assert endpoint.base_urls, "validated by the policy model"
        self.endpoint = endpoint
        self.urls = endpoint.base_urls
        self.backoff_base_s = backoff_base_s
        self._server_model: dict[str, Any] = {}  # the server's JSON entry for the model
        self._failures_in_a_row = 0
        # Answers in a row that came from no chat endpoint (404/405/501, or a 200 that is not
        # a completion): a wrong base_url, or a server that changed under the run.
        self._wrong_endpoint_in_a_row = 0
        self._fleet_records: list[ServerRecord] = []

    # The key lives only in request headers, built fresh for each session.
    def _headers(self) -> dict[str, str]:
        env = self.endpoint.api_key_env
        if not env:
            return {}
        key = os.environ.get(env)
        if not key:
            raise TargetError(f"the environment variable {env} (target api_key_env) is not set",
                              hint=f"export {env}=... before running")
        secrets.remember(key)  # a server that echoes it back never gets it into an output
        if bad := secrets.control_characters(key):
            raise TargetError(f"the API key in {env} (target api_key_env) holds control "
                              f"characters ({', '.join(bad)}), which no HTTP header may carry",
                              hint=f"set {env} again without them: a newline at the end often "
                                   "comes from `echo` or a copied line")
        return {"Authorization": f"Bearer {key}"}

    # --- start: every server reachable, accepting the key, serving the same model ----------
    def start(self) -> None:
        headers = self._headers()
        listings = asyncio.run(self._list_models(headers))
        identities: dict[str, str] = {}
        for url, (status, data) in zip(self.urls, listings, strict=True):
            if status in AUTH_STATUS:
                raise TargetError(f"the server at {url} rejected the API key (HTTP {status})",
                                  hint=self._auth_hint())
            if status != 200 or not isinstance(data, dict):
                continue  # a server without a usable listing: nothing to check there
            models = [m for m in data.get("data") or [] if isinstance(m, dict)]
            names = [str(m.get("id")) for m in models]
            if names and self.endpoint.model not in names:
                raise TargetError(f"the server at {url} does not serve model "
                                  f"{self.endpoint.model!r}",
                                  hint=f"it serves: {', '.join(names[:10])}")
            served = next((m for m in models if m.get("id") == self.endpoint.model), {})
            if served:
                self._server_model = self._server_model or served
                identities[url] = str(served.get("root") or served.get("id"))
        if len(set(identities.values())) > 1:
            listing = "; ".join(f"{url}: {root}" for url, root in identities.items())
            raise TargetError(f"the servers of this fleet serve different models under the name "
                              f"{self.endpoint.model!r} ({listing})",
                              hint="every URL in base_url must serve the same model weights")
        self._check_probes(asyncio.run(self._probe_all(headers)))

    # --- the probe: a listing can succeed on a server that is not the model (or on the wrong
    # path), so one real one-token chat request must succeed on every server first ----------
    def _check_probes(self, problems: list[str | None]) -> None:
        failed = [(url, problem) for url, problem in zip(self.urls, problems, strict=True)
                  if problem is not None]
        if not failed:
            return
        listing = "; ".join(f"{url}: {problem}" for url, problem in failed)
        wrong_place = any("endpoint" in p or "OpenAI" in p for _, p in failed)
        raise TargetError(
            f"{'a server' if len(failed) == 1 else f'{len(failed)} servers'} did not answer "
            f"a one-token test chat request as an OpenAI-compatible server ({listing}); "
            "no prompt was sent",
            hint=BASE_URL_HINT if wrong_place else
            "the server is reachable but failing: check its log, then rerun")

    async def _probe_all(self, headers: dict[str, str]) -> list[str | None]:
        timeout = aiohttp.ClientTimeout(total=self.endpoint.timeout_s)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
            return list(await asyncio.gather(*(self._probe(session, url) for url in self.urls)))

    async def _probe(self, session: aiohttp.ClientSession, url: str) -> str | None:
        """None when `url` answered a one-token chat request like an OpenAI server, else why not."""
        body = json.dumps({"model": self.endpoint.model, "messages": PROBE_MESSAGES,
                           "max_tokens": 1, "temperature": 0.0}).encode()
        problem = "no attempt made"
        attempts = self.endpoint.max_retries + 1
        for attempt in range(attempts):
            retry_after = None
            try:
                async with session.post(f"{url}/chat/completions", data=body,
                                        headers=JSON_HEADERS, proxy=proxy_for(url)) as response:
                    status = response.status
                    retry_after = retry_after_s(response.headers.get("Retry-After"))
                    payload, _ = await _read_capped(response, PROBE_BODY_LIMIT)
            except TimeoutError:
                problem = f"timed out after {self.endpoint.timeout_s:g} s"
            except aiohttp.ClientError as exc:
                problem = f"connection error: {type(exc).__name__}"
            else:
                if status in AUTH_STATUS:
                    raise TargetError(self._auth_message(status, url), hint=self._auth_hint())
                if status not in RETRY_STATUS:
                    return probe_problem(status, payload)
                problem = f"HTTP {status}"
            if attempt < attempts - 1:
                await asyncio.sleep(min(self._backoff(attempt, retry_after), START_TIMEOUT_S))
        return f"{problem} (after {attempts} attempts)"

    async def _list_models(self, headers: dict[str, str]) -> list[tuple[int, Any]]:
        timeout = aiohttp.ClientTimeout(total=START_TIMEOUT_S)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout,
                                         trust_env=True) as session:
            return list(await asyncio.gather(*(self._listing(session, url)
                                               for url in self.urls)))

    async def _listing(self, session: aiohttp.ClientSession, url: str) -> tuple[int, Any]:
        try:
            async with session.get(f"{url}/models") as response:
                body = await response.content.read(1024 * 1024)
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise TargetError(f"cannot reach the server at {url}: {type(exc).__name__}",
                              hint="is the server running, and is base_url right "
                              "(it usually ends in /v1)?") from None
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, None

    def fingerprint(self) -> TargetFingerprint:
        where = self.urls[0] if len(self.urls) == 1 else ",".join(sorted(self.urls))
        server = {f"server_{field}": self._server_model[field]
                  for field in ("root", "owned_by", "created") if field in self._server_model}
        return TargetFingerprint(backend="openai", model=self.endpoint.model,
                                 id=f"openai:{self.endpoint.model}@{where}", base_url=where,
                                 **server)

    def servers(self) -> list[ServerRecord]:
        """Each server's record from the last `generate`: requests, failures, rotation."""
        return self._fleet_records if len(self.urls) > 1 else []

    # --- generate: an asyncio loop in a thread, answers handed over in timed batches ---------
    def generate(self, requests: list[ChatRequest], sampling: DecodingConfig
                 ) -> Iterator[list[Generation]]:
        results: queue.Queue[Any] = queue.Queue()
        headers = self._headers()
        stopping = threading.Event()  # set on Ctrl-C or SIGTERM: take no new prompt
        worker = threading.Thread(target=self._run_loop, args=(requests, sampling, headers,
                                                               results, stopping), daemon=True)
        worker.start()
        batch: list[Generation] = []
        flush_at: float | None = None
        try:
            while True:
                wait = None if flush_at is None else max(0.0, flush_at - time.monotonic())
                try:
                    item = results.get(timeout=wait)
                except queue.Empty:
                    item = _TICK
                if item is None:
                    break
                if isinstance(item, BaseException):
                    if batch:
                        yield batch  # finished answers are stored before the run stops
                    raise item
                if item is not _TICK:
                    batch.append(item)
                    flush_at = flush_at or time.monotonic() + COMMIT_EVERY_S
                if batch and (item is _TICK or len(batch) >= COMMIT_MAX_ROWS
                              or time.monotonic() >= (flush_at or 0.0)):
                    yield batch
                    batch, flush_at = [], None
        except KeyboardInterrupt:  # Ctrl-C or SIGTERM: keep what arrived and is arriving
            stopping.set()
            batch += _finish_in_flight(results, time.monotonic() + STOP_GRACE_S)
            if batch:
                yield batch
            raise
        if batch:
            yield batch
        worker.join()

    def _run_loop(self, requests: list[ChatRequest], sampling: DecodingConfig,
                  headers: dict[str, str], results: queue.Queue[Any],
                  stopping: threading.Event) -> None:
        try:
            asyncio.run(self._run_all(requests, sampling, headers, results, stopping))
        except BaseException as exc:  # surfaced in the consuming thread
            results.put(exc)
        finally:
            results.put(None)

    async def _run_all(self, requests: list[ChatRequest], sampling: DecodingConfig,
                       headers: dict[str, str], results: queue.Queue[Any],
                       stopping: threading.Event) -> None:
        fleet = Fleet.of(self.urls, self.endpoint.concurrency)
        connector = aiohttp.TCPConnector(limit=fleet.capacity, limit_per_host=0,
                                         ttl_dns_cache=300)
        timeout = aiohttp.ClientTimeout(total=self.endpoint.timeout_s)
        pending = iter(requests)
        # Proxies from the environment are looked up once per server: aiohttp's trust_env
        # does it in a thread for every request, which costs a third of the throughput.
        proxies = {url: proxy_for(url) for url in self.urls}
        try:
            async with aiohttp.ClientSession(headers=headers, connector=connector,
                                             timeout=timeout) as session:

                async def worker() -> None:
                    for request in pending:  # shared: each request is taken exactly once
                        if stopping.is_set():
                            return
                        results.put(await self._call(session, fleet, proxies, request, sampling))

                workers = [asyncio.create_task(worker())
                           for _ in range(min(fleet.capacity, len(requests)))]
                try:
                    await asyncio.gather(*workers)
                finally:
                    for task in workers:
                        task.cancel()
        finally:
            self._fleet_records = fleet.records()

    async def _call(self, session: aiohttp.ClientSession, fleet: Fleet,
                    proxies: dict[str, str | None], request: ChatRequest,
                    sampling: DecodingConfig) -> Generation:
        path = "completions" if request.raw else "chat/completions"
        body = json.dumps(request_body(self.endpoint.model, request, sampling)).encode()
        limit = body_limit(self.endpoint.max_answer_bytes, sampling)
        reason = "no attempt made"
        waited = 0.0
        for attempt in range(self.endpoint.max_retries + 1):
            server = await fleet.acquire()
            outcome = await self._attempt(session, server, proxies[server.url], path, body,
                                          request, limit)
            if isinstance(outcome, Generation):
                await fleet.release(server, healthy=True)
                outcome.requests = attempt + 1
                return outcome
            await fleet.release(server, outcome.healthy, outcome.reason)
            reason = outcome.reason
            if outcome.final:
                return Generation(request.key, None, error=reason, requests=attempt + 1)
            if attempt < self.endpoint.max_retries:
                pause = self._backoff(attempt, outcome.retry_after)
                asked = max(pause, outcome.retry_after or 0.0)
                if waited + asked > MAX_RETRY_WAIT_S:  # a huge Retry-After: give this one up
                    return Generation(request.key, None, requests=attempt + 1, error=(
                        f"{reason} (gave up after {attempt + 1} attempts: the next wait, "
                        f"{asked:.0f} s, would pass the {MAX_RETRY_WAIT_S:.0f} s a prompt may "
                        "spend waiting between retries; rerun to retry it)"))
                waited += pause
                await asyncio.sleep(pause)
        return Generation(request.key, None, requests=self.endpoint.max_retries + 1,
                          error=f"{reason} (after {self.endpoint.max_retries + 1} attempts)")

    async def _attempt(self, session: aiohttp.ClientSession, server: Server, proxy: str | None,
                       path: str, body: bytes, request: ChatRequest, limit: int
                       ) -> Generation | _Failure:
        started = time.perf_counter()
        try:
            async with session.post(f"{server.url}/{path}", data=body, proxy=proxy,
                                    headers=JSON_HEADERS) as response:
                status = response.status
                retry_after = retry_after_s(response.headers.get("Retry-After"))
                payload, truncated = await _read_capped(response, limit)
        except TimeoutError:  # slow is not gone: neither counted nor reset as a connection failure
            return _Failure(f"timed out after {self.endpoint.timeout_s:g} s", healthy=False)
        except aiohttp.ClientError as exc:
            self._count_connection_failure(server, exc)
            return _Failure(f"connection error: {type(exc).__name__}", healthy=False)
        self._failures_in_a_row = 0
        if status in AUTH_STATUS:
            raise TargetError(self._auth_message(status, server.url), hint=self._auth_hint())
        if status == 200:
            parsed = parse_completion(request.key, payload, started, request.raw,
                                      self.endpoint.max_answer_bytes, truncated)
            if parsed.error is None:
                self._wrong_endpoint_in_a_row = 0
                return parsed
            self._count_wrong_endpoint(server, parsed.error)
            # a 200 that is not a completion is this server's fault: it counts against it for
            # rotation and in its record, like a 5xx
            return _Failure(parsed.error, healthy=False)
        if status in WRONG_ENDPOINT_STATUS:
            self._count_wrong_endpoint(server, f"HTTP {status}")
            return _Failure(f"HTTP {status}: {short_body(payload)}", healthy=False)
        if status in RETRY_STATUS:
            return _Failure(f"HTTP {status}", healthy=status < 500, retry_after=retry_after)
        # 400, 404…: retrying will not help
        return _Failure(f"HTTP {status}: {short_body(payload)}", healthy=True, final=True)

    def _count_connection_failure(self, server: Server, exc: BaseException) -> None:
        self._failures_in_a_row += 1
        if self._failures_in_a_row >= DOWN_AFTER:
            where = f"the server at {server.url}" if len(self.urls) == 1 else \
                f"every server of the fleet (last: {server.url})"
            raise TargetError(
                f"{where} stopped answering: {DOWN_AFTER} connection failures in a row "
                f"({type(exc).__name__})",
                hint="finished answers are saved; restart the server and rerun the "
                     "same command to resume")

    def _count_wrong_endpoint(self, server: Server, what: str) -> None:
        self._wrong_endpoint_in_a_row += 1
        if self._wrong_endpoint_in_a_row >= DOWN_AFTER:
            raise TargetError(
                f"the server at {server.url} stopped answering as an OpenAI-compatible chat "
                f"endpoint: {DOWN_AFTER} answers in a row were not completions (last: {what})",
                hint=f"{BASE_URL_HINT}; finished answers are saved, so rerun to resume")

    def _auth_message(self, status: int, url: str) -> str:
        return (f"the server rejected the request's credentials (HTTP {status}) on "
                f"{url}; stopped at once so no prompt is spent")

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


def _finish_in_flight(results: queue.Queue[Any], deadline: float) -> list[Generation]:
    """After a stop: the answers in the queue and those of requests in flight, until the worker
    ends or the deadline passes (no new request is sent meanwhile)."""
    arrived = []
    while (left := deadline - time.monotonic()) > 0:
        try:
            item = results.get(timeout=left)
        except queue.Empty:
            break
        if item is None:
            break
        if isinstance(item, Generation):
            arrived.append(item)
    return arrived


def proxy_for(url: str) -> str | None:
    """The proxy the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY) sets for `url`, if any."""
    parts = urlsplit(url)
    if parts.hostname and proxy_bypass(parts.hostname):
        return None
    return getproxies().get(parts.scheme)


class _Failure:
    """One failed attempt: why, whether the server looked alive, whether to retry."""

    __slots__ = ("final", "healthy", "reason", "retry_after")

    def __init__(self, reason: str, healthy: bool, final: bool = False,
                 retry_after: float | None = None) -> None:
        self.reason = reason
        self.healthy = healthy
        self.final = final
        self.retry_after = retry_after


async def _read_capped(response: aiohttp.ClientResponse, limit: int) -> tuple[bytes, bool]:
    """The body, or its first `limit` bytes and True when it is longer (the rest is not read)."""
    if response.content_length is not None and response.content_length <= limit:
        return await response.read(), False
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size > limit:
            response.close()  # drop the connection rather than drain a flood
            return b"".join(chunks)[:limit], True
    return b"".join(chunks), False
