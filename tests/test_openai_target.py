"""The OpenAI-compatible backend against a local fault-injecting server (real HTTP)."""

from __future__ import annotations

import pytest

from auditor.config.policy import ModelEndpoint
from auditor.core.errors import TargetError
from auditor.targets import ChatRequest, DecodingConfig
from auditor.targets.openai_target import OpenAITarget
from tests.fake_openai import FakeOpenAIServer, scripted_answer

SECRET = "sk-test-SECRET-value-1234567890"


def target_for(server: FakeOpenAIServer, **overrides: object) -> OpenAITarget:
    options: dict[str, object] = {"backend": "openai", "model": server.model,
                                  "base_url": server.base_url, "timeout_s": 1.0,
                                  "max_retries": 2, "concurrency": 4}
    options.update(overrides)
    return OpenAITarget(ModelEndpoint.model_validate(options), backoff_base_s=0.01)


def run(target: OpenAITarget, prompts: list[str]) -> dict[str, object]:
    requests = [ChatRequest(f"k{i}", p) for i, p in enumerate(prompts)]
    return {g.key: g for batch in target.generate(requests, DecodingConfig(max_tokens=16))
            for g in batch}


def test_generates_every_request() -> None:
    with FakeOpenAIServer() as server:
        target = target_for(server)
        target.start()
        results = run(target, [f"prompt {i}" for i in range(20)])
    assert len(results) == 20
    assert all(g.ok for g in results.values())  # type: ignore[attr-defined]
    assert results["k3"].text == scripted_answer("prompt 3")  # type: ignore[attr-defined]
    assert server.chat_requests()[0]["max_tokens"] == 16


@pytest.mark.parametrize("fault", ["500", "429", "malformed", "timeout"])
def test_transient_faults_are_retried(fault: str) -> None:
    with FakeOpenAIServer() as server:
        server.faults.extend([fault])
        results = run(target_for(server, concurrency=1), ["only prompt"])
    generation = results["k0"]
    assert generation.ok, generation.error  # type: ignore[attr-defined]
    assert len(server.chat_requests()) == 2  # one failure, one retry


def test_persistent_failure_is_recorded_not_safe() -> None:
    with FakeOpenAIServer() as server:
        server.faults.extend(["500"] * 3)
        results = run(target_for(server, concurrency=1), ["doomed"])
    generation = results["k0"]
    assert generation.text is None  # type: ignore[attr-defined]
    assert generation.error == "HTTP 500 (after 3 attempts)"  # type: ignore[attr-defined]


def test_client_errors_are_not_retried() -> None:
    with FakeOpenAIServer() as server:
        server.faults.extend(["400"])
        results = run(target_for(server, concurrency=1), ["too long"])
    assert results["k0"].error.startswith("HTTP 400")  # type: ignore[attr-defined]
    assert len(server.chat_requests()) == 1


def test_retry_after_is_honoured() -> None:
    import time

    with FakeOpenAIServer() as server:
        server.faults.extend(["429"])
        started = time.perf_counter()
        run(target_for(server, concurrency=1), ["x"])
        elapsed = time.perf_counter() - started
    assert elapsed >= 0.2  # the server asked for 0.2 s; our own backoff would be ~0.01 s


def test_slow_answers_still_arrive() -> None:
    with FakeOpenAIServer() as server:
        server.faults.extend(["slow", "slow"])
        results = run(target_for(server, concurrency=2), ["a", "b", "c"])
    assert all(g.ok for g in results.values())  # type: ignore[attr-defined]


def test_api_key_is_sent_but_never_leaks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KEY", SECRET)
    with FakeOpenAIServer(api_key=SECRET) as server:
        server.faults.extend(["500"] * 3)
        target = target_for(server, api_key_env="FAKE_KEY")
        target.start()
        results = run(target, ["p"])
    assert server.headers_seen[0]["Authorization"] == f"Bearer {SECRET}"
    assert SECRET not in repr(results) and SECRET not in repr(target.fingerprint())


def test_bad_key_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FAKE_KEY", "wrong-key")
    with FakeOpenAIServer(api_key=SECRET) as server, pytest.raises(TargetError) as info:
        target_for(server, api_key_env="FAKE_KEY").start()
    assert "rejected the API key (HTTP 401)" in info.value.message
    assert "wrong-key" not in info.value.message


def test_missing_key_variable_fails_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOPE_KEY", raising=False)
    with FakeOpenAIServer() as server, pytest.raises(TargetError, match="NOPE_KEY"):
        target_for(server, api_key_env="NOPE_KEY").start()


def test_server_down_fails_fast() -> None:
    with FakeOpenAIServer() as server:
        url = server.base_url
    endpoint = ModelEndpoint(backend="openai", model="m", base_url=url)
    with pytest.raises(TargetError, match="cannot reach the server"):
        OpenAITarget(endpoint).start()


def test_unknown_model_fails_fast() -> None:
    with FakeOpenAIServer() as server, pytest.raises(TargetError, match="does not serve"):
        target_for(server, model="other-model").start()



def test_a_server_that_drips_its_answer_hits_the_total_deadline() -> None:
    """Each byte arrives well inside the read timeout, but the whole answer never does."""
    import time
    from http.server import BaseHTTPRequestHandler

    from tests.local_server import LocalServer

    class Drip(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", "100000")
            self.end_headers()
            try:
                for _ in range(60):  # bounded: about 12 s at most
                    self.wfile.write(b" ")
                    self.wfile.flush()
                    time.sleep(0.2)
            except (BrokenPipeError, ConnectionResetError):
                pass

    server = LocalServer(Drip)
    try:
        endpoint = ModelEndpoint(backend="openai", model="m", base_url=f"{server.url}/v1",
                                 timeout_s=1.0, max_retries=0)
        started = time.perf_counter()
        [batch] = list(OpenAITarget(endpoint).generate([ChatRequest("k", "hi")],
                                                       DecodingConfig()))
        elapsed = time.perf_counter() - started
    finally:
        server.close()
    assert batch[0].error and "timed out after 1 s" in batch[0].error
    assert elapsed < 5


def test_a_key_refused_on_chat_stops_at_once_and_keeps_finished_answers() -> None:
    with FakeOpenAIServer() as server:
        target = target_for(server, concurrency=1, max_retries=2)
        target.start()
        server.faults.extend(["ok", "ok", "401"])  # two answers, then the key is refused
        requests = [ChatRequest(f"k{i}", f"prompt {i}") for i in range(20)]
        got: list[str] = []
        with pytest.raises(TargetError, match="HTTP 401") as info:
            for batch in target.generate(requests, DecodingConfig()):
                got += [g.key for g in batch if g.ok]
        assert len(server.chat_requests()) == 3  # not 20 prompts × 3 attempts
    assert got == ["k0", "k1"]
    assert "api_key_env" in (info.value.hint or "") and "$None" not in (info.value.hint or "")


def test_a_server_that_goes_away_stops_the_run_with_rerun_advice() -> None:
    with FakeOpenAIServer() as server:
        target = target_for(server, concurrency=2, max_retries=1)
        target.start()
    # the server is gone now: every request fails to connect
    assert_run_stops_with_rerun_advice(target, "stopped answering")


def assert_run_stops_with_rerun_advice(target: OpenAITarget, message: str) -> None:
    """Generating against servers that are gone ends in a TargetError that says to rerun."""
    target.backoff_base_s = 0.0
    requests = [ChatRequest(f"k{i}", f"prompt {i}") for i in range(200)]
    with pytest.raises(TargetError, match=message) as info:
        list(target.generate(requests, DecodingConfig()))
    assert "rerun" in (info.value.hint or "")


def test_retry_after_as_an_http_date_is_honoured() -> None:
    import time

    with FakeOpenAIServer() as server:
        server.faults.extend(["429-date"])
        started = time.perf_counter()
        results = run(target_for(server, concurrency=1, timeout_s=5.0), ["x"])
        elapsed = time.perf_counter() - started
    assert results["k0"].ok  # type: ignore[attr-defined]
    assert elapsed >= 1.0  # the date was 1-2 s ahead; our own backoff would be ~0.01 s


def test_an_answer_over_the_cap_is_cut_and_recorded_as_cut() -> None:
    with FakeOpenAIServer() as server:
        server.answer = lambda prompt: "é" * 3000  # 6000 bytes, well inside the body limit
        [generation] = run(target_for(server, max_answer_bytes=1024), ["p"]).values()
    assert generation.text == "é" * 512  # type: ignore[attr-defined]
    assert generation.finish_reason == "cut at 1024 bytes (max_answer_bytes)"  # type: ignore[attr-defined]


def test_a_flood_is_not_read_past_the_body_limit() -> None:
    """A server ignoring max_tokens: 24 MB answers. Each is cut, and the rest never read."""
    with FakeOpenAIServer() as server:
        flood = 'line "one"\n' + "x" * (24 * 1024 * 1024)
        server.answer = lambda prompt: flood
        results = run(target_for(server, max_answer_bytes=2048, timeout_s=20.0), ["a", "b"])
    for generation in results.values():
        assert generation.ok  # type: ignore[attr-defined]
        assert generation.text.startswith('line "one"\nxxx')  # type: ignore[attr-defined]
        assert len(generation.text.encode()) == 2048  # type: ignore[attr-defined]
        assert generation.finish_reason.startswith("cut at 2048 bytes")  # type: ignore[attr-defined]


def test_answers_are_handed_to_the_store_while_the_run_goes_on() -> None:
    """A SIGKILL may lose only what arrived in the last half second, not the run so far."""
    with FakeOpenAIServer(latency_s=0.2) as server:
        target = target_for(server, concurrency=1)
        requests = [ChatRequest(f"k{i}", f"prompt {i}") for i in range(8)]
        sizes = [len(batch) for batch in target.generate(requests, DecodingConfig())]
    assert sum(sizes) == 8
    assert len(sizes) >= 3 and max(sizes) <= 4, sizes
