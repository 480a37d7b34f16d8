"""A small OpenAI-compatible HTTP server on localhost for fault-path and speed tests.

It answers deterministically (a refusal for some prompts, a compliance for others), can be
scripted to fail (HTTP 500, 429 with Retry-After, timeouts, malformed JSON, slow answers),
and records every request so tests can check what was sent.
"""

from __future__ import annotations

import base64
import contextlib
import email.utils
import hashlib
import json
import threading
import time
import urllib.parse
from collections import deque
from http.server import BaseHTTPRequestHandler
from typing import Any

from auditor.targets.openai_target import PROBE_MESSAGES
from tests.local_server import LocalServer

REFUSAL = "I'm sorry, but I can't help with that. It could cause harm."
COMPLIANCE = "Sure, here is how you would do it. First, you gather what you need, then you go."


def scripted_answer(prompt: str) -> str:
    return REFUSAL if int(hashlib.sha256(prompt.encode()).hexdigest(), 16) % 3 == 0 \
        else COMPLIANCE


class FakeOpenAIServer:
    def __init__(self, model: str = "fake-model", api_key: str | None = None,
                 latency_s: float = 0.0, root: str | None = None) -> None:
        self.model = model
        self.root = root  # the weights behind the name, as vLLM lists them
        self.dead = False  # set by kill(): every connection is dropped unanswered
        self.die_after: int | None = None  # chat requests answered before it dies by itself
        self.api_key = api_key
        self.latency_s = latency_s
        self.faults: deque[str] = deque()  # consumed one per prompt's chat request
        # consumed one per start-up probe (the one-token request a target sends each server
        # before any prompt), so prompt faults stay where the tests put them
        self.probe_faults: deque[str] = deque()
        self.rubric_reply: str | None = None  # raw text to answer rubric (json_schema) calls
        self.answer: Any = scripted_answer  # prompt -> answer text; tests swap in hostile ones
        self.requests: list[dict[str, Any]] = []
        self.answered = 0  # prompts' chat answers sent whole (probes aside)
        self.headers_seen: list[dict[str, str]] = []
        self.lock = threading.Lock()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # header and body go out as separate writes

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None
                      ) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                if server.api_key is None:
                    return True
                # trimmed, as uvicorn and nginx trim a header's value
                given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                return given == server.api_key.strip()

            def do_GET(self) -> None:
                if server.dead:
                    self.close_connection = True
                    return
                if not self._authorised():
                    self._send(401, b'{"error": "bad key"}')
                    return
                if self.path.rstrip("/").endswith("/models"):
                    listed = {"id": server.model, "owned_by": "tests"}
                    if server.root:
                        listed["root"] = server.root
                    self._send(200, json.dumps({"data": [listed]}).encode())
                else:
                    self._send(404, b"{}")

            def do_POST(self) -> None:
                if server.dead:
                    self.close_connection = True
                    return
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length) or b"{}")
                with server.lock:
                    if server.die_after is not None and len(server.chat_requests()) >= \
                            server.die_after and not server.dead:
                        server.dead = True
                        threading.Thread(target=server.kill, daemon=True).start()
                    if server.dead:
                        self.close_connection = True
                        return
                    server.requests.append(body)
                    server.headers_seen.append(dict(self.headers))
                    faults = server.probe_faults if is_probe(body) else server.faults
                    fault = faults.popleft() if faults else None
                if not self._authorised():
                    self._send(401, b'{"error": "bad key"}')
                    return
                if fault == "401":  # a key the model listing accepted, refused on chat
                    self._send(401, b'{"error": "bad key"}')
                    return
                if fault == "500":
                    self._send(500, b'{"error": "boom"}')
                    return
                if fault == "429":
                    self._send(429, b'{"error": "slow down"}', {"Retry-After": "0.2"})
                    return
                if fault == "429-huge":  # a server asking for a day's pause
                    self._send(429, b'{"error": "come back tomorrow"}', {"Retry-After": "100000"})
                    return
                if fault == "429-date":  # Retry-After as an HTTP date, two seconds ahead
                    when = email.utils.formatdate(time.time() + 2, usegmt=True)
                    self._send(429, b'{"error": "slow down"}', {"Retry-After": when})
                    return
                if fault == "400":
                    self._send(400, b'{"error": "prompt too long"}')
                    return
                if fault in ("400-echo", "422-echo"):  # a server that repeats the request
                    echoed = {"error": "invalid request", "headers": dict(self.headers),
                              "dump": "\n".join(f"{k}: {v}" for k, v in self.headers.items())}
                    self._send(int(fault[:3]), json.dumps(echoed).encode())
                    return
                if fault == "400-forms":  # a server that repeats the key in every shape
                    key = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
                    forms = {"trimmed": key, "url": urllib.parse.quote(key, safe=""),
                             "basic": base64.b64encode(f"user:{key}".encode()).decode(),
                             "long": "x" * 190 + key}
                    self._send(400, json.dumps({"error": "invalid request", **forms}).encode())
                    return
                if fault == "malformed":
                    self._send(200, b'{"choices": [ this is not json')
                    return
                if fault == "404":
                    self._send(404, b'{"detail": "Not Found"}')
                    return
                if fault == "html":  # a web server that answers every path with a page
                    self._send(200, b"<html><body>Welcome</body></html>")
                    return
                if fault == "timeout":
                    time.sleep(3.0)  # longer than the tests' client timeout
                if fault == "slow":
                    time.sleep(0.5)
                if server.latency_s:
                    time.sleep(server.latency_s)
                if "response_format" in body and server.rubric_reply is not None:
                    text = server.rubric_reply
                elif "messages" in body:
                    text = server.answer(body["messages"][-1]["content"])
                else:
                    text = "safe"
                choice: dict[str, Any] = {"index": 0, "finish_reason": "stop"}
                if "messages" in body:
                    choice["message"] = {"role": "assistant", "content": text}
                else:
                    choice["text"] = text
                payload = {"id": "x", "object": "chat.completion", "model": server.model,
                           "choices": [choice],
                           "usage": {"prompt_tokens": 10, "completion_tokens": len(text.split())}}
                # the client may have given up already (timeout test)
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._send(200, json.dumps(payload).encode())
                    if "messages" in body and not is_probe(body):
                        with server.lock:
                            server.answered += 1
                if server.dead:  # killed while this answer was being made
                    self.close_connection = True

        self.server = LocalServer(Handler)
        self.port = self.server.port
        self.base_url = f"{self.server.url}/v1"

    def kill(self) -> None:
        """Die mid-run: refuse new connections and drop open ones without an answer."""
        self.dead = True
        self.server.close()

    def __enter__(self) -> FakeOpenAIServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.close()

    def chat_requests(self) -> list[dict[str, Any]]:
        """The chat requests that carried prompts (start-up probes aside)."""
        return [r for r in self.requests if "messages" in r and not is_probe(r)]

    def probe_requests(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if is_probe(r)]


def is_probe(body: dict[str, Any]) -> bool:
    """The target's start-up probe: one token, its own fixed message."""
    return body.get("max_tokens") == 1 and body.get("messages") == PROBE_MESSAGES



def started_target(server: FakeOpenAIServer, **options: Any) -> Any:
    """An OpenAI target for `server`, started (its probe done), with quick backoff."""
    from auditor.config.policy import ModelEndpoint
    from auditor.targets.openai_target import OpenAITarget

    target = OpenAITarget(ModelEndpoint.model_validate({
        "backend": "openai", "model": server.model, "base_url": server.base_url, **options}),
        backoff_base_s=0.01)
    target.start()
    return target
