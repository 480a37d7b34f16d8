"""Benchmark: the OpenAI-compatible backend against its theoretical limit.

A local asyncio server (bench/helpers/latency_server.py, its own process) answers every request
after a fixed latency. With concurrency C and latency L the ceiling is C / L requests per
second; the aim is at least 0.9 of it. Two settings run in the same process: a fast one
(C=16, L=0.1 s), where the client's CPU per request starts to show on two cores, and one
shaped like a real LLM server (C=32, L=0.5 s). Prints one JSON line.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "bench" / "helpers" / "latency_server.py"
sys.path.insert(0, str(ROOT))

from auditor.config.policy import ModelEndpoint  # noqa: E402
from auditor.targets import ChatRequest, DecodingConfig  # noqa: E402
from auditor.targets.openai_target import OpenAITarget  # noqa: E402

SETTINGS = ((16, 0.1, 480), (32, 0.5, 640))  # (concurrency, latency s, requests)


def measure(concurrency: int, latency_s: float, requests_n: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        port_file = Path(tmp) / "port"
        server = subprocess.Popen([sys.executable, str(SERVER),
                                   "--port-file", str(port_file), "--latency", str(latency_s)],
                                  cwd=ROOT)
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)
            url = f"http://127.0.0.1:{port_file.read_text()}/v1"
            target = OpenAITarget(ModelEndpoint(backend="openai", model="fake-model",
                                                base_url=url, concurrency=concurrency))
            target.start()
            requests = [ChatRequest(str(i), f"prompt {i}") for i in range(requests_n)]
            started = time.perf_counter()
            done = sum(len(b) for b in target.generate(requests, DecodingConfig(max_tokens=16)))
            elapsed = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait()
    achieved = done / elapsed
    ceiling = concurrency / latency_s
    return {"concurrency": concurrency, "latency_s": latency_s, "requests": done,
            "seconds": round(elapsed, 2), "requests_per_s": round(achieved, 1),
            "ceiling_per_s": ceiling, "ratio_to_ceiling": round(achieved / ceiling, 3)}


def main() -> None:
    runs = [measure(*setting) for setting in SETTINGS]
    print(json.dumps({"bench": "http_backend", "runs": runs}))


if __name__ == "__main__":
    main()
