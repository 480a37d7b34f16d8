"""The `ray` backend: a real local Ray instance running vLLM (CPU build) on the demo model, killed
mid-run and resumed; its cache shared with in-process vLLM; an unreachable cluster is exit 2."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLES


def policy(ray_block: str, backend: str = "ray") -> str:
    return f"""\
version: 1
organisation: {{name: Ray Test}}
dataset: {{path: {SAMPLES}}}
target:
  backend: {backend}
  model: demo
  max_tokens: 8
  max_model_len: 512
  ray: {ray_block}
sampling: {{per_category: 2}}
judge: {{kind: refusal}}
policies:
  - {{id: CYBER, title: No cyber-crime, categories: [crime_cyber, crime_theft, weapon_other]}}
"""


def check(policy_path: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "auditor", "check", str(policy_path),
                             "--out", str(out), "--quiet"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)


def stored(out: Path) -> int:
    try:
        db = sqlite3.connect(out / "store.sqlite")
        try:
            return int(db.execute("SELECT count(*) FROM generations").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


@pytest.mark.vllm
def test_check_on_ray_killed_resumed_and_cache_shared_with_vllm(tmp_path: Path) -> None:
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(policy("{batch_size: 2}"))
    out = tmp_path / "run"
    first = check(policy_path, out)
    deadline = time.monotonic() + 420
    while stored(out) < 2 and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()[1][-3000:]
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGKILL)  # the driver and the local Ray instance it started
    first.wait()
    kept = stored(out)
    assert kept >= 2, "no batch reached the store before the kill"
    assert not (out / "results.json").exists()

    second = check(policy_path, out)
    _, err = second.communicate(timeout=600)
    assert second.returncode in (0, 1, 3), err.decode()[-3000:]
    results = json.loads((out / "results.json").read_text())
    generate = results["counts"]["generate"]
    assert results["target"]["backend"] == "ray" and results["target"]["ray_replicas"] == 1
    assert generate["cached"] >= kept and generate["cached"] + generate["generated"] == \
        generate["total"] == stored(out)  # nothing asked twice, nothing lost
    assert generate["errors"] == 0
    assert (out / "report.pdf").stat().st_size > 10_000

    # The same weights in-process: the same fingerprint, so nothing is generated again.
    policy_path.write_text(policy("{batch_size: 2}", backend="vllm"))
    third = subprocess.run([sys.executable, "-m", "auditor", "check", str(policy_path),
                            "--out", str(out), "--quiet"], capture_output=True, timeout=300)
    assert third.returncode in (0, 1, 3), third.stderr.decode()[-3000:]
    moved = json.loads((out / "results.json").read_text())
    assert moved["target"]["id"] == results["target"]["id"]
    assert moved["counts"]["generate"]["generated"] == 0


@pytest.mark.parametrize("address", ["127.0.0.1:1", "ray://127.0.0.1:1"])
def test_an_unreachable_cluster_is_exit_2(tmp_path: Path, address: str) -> None:
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(policy(f"{{address: '{address}'}}"))
    started = time.monotonic()
    run = subprocess.run([sys.executable, "-m", "auditor", "check", str(policy_path),
                          "--out", str(tmp_path / "run")], capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 2, run.stderr[-3000:]
    text = " ".join((run.stdout + run.stderr).split())
    assert f"cannot reach the Ray cluster at {address}" in text
    assert "Traceback" not in text and "ray start --head" in text
    assert time.monotonic() - started < 120
    assert not (tmp_path / "run" / "report.pdf").exists()


@pytest.mark.parametrize("kind", ["web server", "silent listener"])
def test_an_address_that_answers_but_is_not_ray_is_exit_2(tmp_path: Path, kind: str) -> None:
    """A web server's port, or one that accepts and never answers: `ray.init` would wait on
    either past SIGINT and SIGTERM; the probe ends it with exit 2 and no traceback."""
    import http.server
    import socket
    import threading

    if kind == "web server":
        server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_port
    else:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(policy(f"{{address: '127.0.0.1:{port}'}}"))
    run = subprocess.run([sys.executable, "-m", "auditor", "check", str(policy_path),
                          "--out", str(tmp_path / "run")], capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 2, run.stderr[-3000:]
    text = " ".join((run.stdout + run.stderr).split())
    assert "Traceback" not in text
    assert ("not a Ray cluster" in text) if kind == "web server" else \
        ("cannot reach the Ray cluster" in text)


def test_a_malformed_address_names_the_field(tmp_path: Path) -> None:
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text(policy("{address: 'http://head:10001'}"))
    run = subprocess.run([sys.executable, "-m", "auditor", "validate", str(policy_path)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 2
    text = " ".join((run.stdout + run.stderr).split())
    assert "ray.address" in text and "ray://HOST:PORT" in text


def test_a_failed_row_is_an_error_and_logprobs_are_read() -> None:
    from auditor.targets.ray_target import _to_generation

    failed = _to_generation({"key": "k1", "__inference_error__": "prompt too long",
                             "generated_text": ""}, 0.1)
    assert failed.error == "prompt too long" and failed.text is None and not failed.ok
    answered = _to_generation({"key": "k2", "__inference_error__": "", "generated_text": "safe",
                               "num_generated_tokens": 1, "num_input_tokens": 40,
                               "logprobs": [{"7": {"logprob": -0.1, "decoded_token": "safe"},
                                             "9": {"logprob": -2.5, "decoded_token": "unsafe"}}]},
                              0.1)
    assert answered.ok and answered.text == "safe" and answered.completion_tokens == 1
    assert answered.first_token_logprobs == {"safe": -0.1, "unsafe": -2.5}


def test_same_fingerprint_as_in_process_vllm_and_cpu_engines(tmp_path: Path) -> None:
    from auditor.config.policy import ModelEndpoint
    from auditor.judges.llama_guard import LlamaGuardJudge
    from auditor.targets.ray_target import RayTarget
    from auditor.targets.vllm_target import VllmTarget, is_cpu_build

    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "config.json").write_text("{}")
    (folder / "weights.safetensors").write_bytes(b"\0" * 64)
    endpoint = {"model": str(folder), "dtype": "float32", "ray": {"replicas": 3}}
    on_ray = RayTarget(ModelEndpoint.model_validate({**endpoint, "backend": "ray"}))
    in_process = VllmTarget(ModelEndpoint.model_validate({**endpoint, "backend": "vllm"}))
    assert on_ray.fingerprint().id == in_process.fingerprint().id
    record = on_ray.fingerprint().model_dump()
    assert record["backend"] == "ray" and record["ray_replicas"] == 3
    kwargs = on_ray.engine_kwargs()
    assert kwargs["dtype"] == "float32"
    if is_cpu_build():  # engines on CPUs: vLLM's multiprocessing executor, no GPU asked for
        assert kwargs["distributed_executor_backend"] == "mp"
    judge = LlamaGuardJudge(ModelEndpoint.model_validate({**endpoint, "backend": "ray"}))
    assert judge.batch_size == 4096  # one Ray job (one engine start) per 4,096 answers
