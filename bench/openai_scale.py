"""Benchmark: a whole ALERT-sized `auditor check` against an OpenAI-compatible server at its limit.

An ALERT-sized synthetic dataset (45,731 prompts, 6 macro policies, all 5 attack types; see
bench/helpers/synthetic_alert.py) is audited end to end: key, store, default judge, results and
PDF. The server (bench/helpers/latency_server.py, its own process) answers every request after
L = 0.1 s, so with C requests in flight the ceiling is C / L per second. For C = 64 and 256 it
prints the generation stage's requests per second, its ratio to C / L, the whole run's time and
the peak RSS of the `auditor check` process. A raw aiohttp client against the same server, in the
same run, is the reference (and a bare httpx client, the transport it replaced, where
installed), and a run on a quarter of the dataset shows how memory grows.
Prints one JSON line. About 3 minutes on 2 cores.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.helpers.synthetic_alert import (  # noqa: E402
    ADVERSARIAL_ROWS,
    PLAIN_ROWS,
    write_dataset,
    write_policy,
)

SERVER = ROOT / "bench" / "helpers" / "latency_server.py"
LATENCY_S = 0.1
CONCURRENCY = (64, 256)
RAW_REQUESTS = 10_000
HTTPX_REQUESTS = 3_000


def start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = folder / "port"
    server = subprocess.Popen([sys.executable, str(SERVER), "--port-file", str(port_file),
                               "--latency", str(LATENCY_S)])
    while not port_file.exists() or not port_file.read_text():
        time.sleep(0.05)
    return server, f"http://127.0.0.1:{port_file.read_text()}/v1"


def audit(folder: Path, dataset: Path, url: str, concurrency: int) -> dict[str, Any]:
    policy = folder / f"policy-{dataset.name}-{concurrency}.yaml"
    write_policy(policy, dataset, url, concurrency)
    out = folder / f"run-{dataset.name}-{concurrency}"
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "auditor", "check", str(policy),
                                "--out", str(out), "--quiet"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL,
                               env={**os.environ, "BENCH_KEY": "bench-secret"})
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 3):
        raise SystemExit(f"auditor check exited {code}")
    results = json.loads((out / "results.json").read_text())
    generated = results["counts"]["generate"]["generated"]
    seconds = results["timings_s"]["generate"]
    rate = generated / seconds
    return {"concurrency": concurrency, "prompts": generated,
            "errors": results["counts"]["generate"]["errors"],
            "generate_s": round(seconds, 1), "requests_per_s": round(rate, 1),
            "ceiling_per_s": concurrency / LATENCY_S,
            "ratio_to_ceiling": round(rate / (concurrency / LATENCY_S), 3),
            "whole_check_s": round(wall, 1), "peak_rss_mb": round(usage.ru_maxrss / 1024),
            "store_mb": round((out / "store.sqlite").stat().st_size / 2**20, 1)}


async def raw_client(url: str, concurrency: int, requests_n: int) -> float:
    """Requests per second of a bare aiohttp client: no store, no judge, no parsing."""
    body = json.dumps({"model": "fake-model", "messages": [{"role": "user", "content": "x"}],
                       "max_tokens": 16}).encode()
    pending = iter(range(requests_n))
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            for _ in pending:
                async with session.post(f"{url}/chat/completions", data=body,
                                        headers={"Content-Type": "application/json"}) as r:
                    await r.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests_n / (time.perf_counter() - started)


async def raw_httpx(url: str, concurrency: int, requests_n: int) -> float | None:
    """The same bare client on httpx, the backend's previous transport (None if not installed)."""
    try:
        import httpx  # type: ignore[import-not-found, unused-ignore]
    except ImportError:
        return None
    body = json.dumps({"model": "fake-model", "messages": [{"role": "user", "content": "x"}],
                       "max_tokens": 16}).encode()
    pending = iter(range(requests_n))
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, timeout=30) as client:

        async def worker() -> None:
            for _ in pending:
                response = await client.post(f"{url}/chat/completions", content=body,
                                             headers={"Content-Type": "application/json"})
                response.read()

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return requests_n / (time.perf_counter() - started)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        dataset = folder / "alert"
        rows = write_dataset(dataset)
        quarter = folder / "alert-quarter"  # to show memory does not grow with the dataset
        write_dataset(quarter, PLAIN_ROWS // 4, ADVERSARIAL_ROWS // 4)
        server, url = start_server(folder)
        try:
            small = audit(folder, quarter, url, CONCURRENCY[-1])
            runs = []
            for concurrency in CONCURRENCY:
                run = audit(folder, dataset, url, concurrency)
                raw = asyncio.run(raw_client(url, concurrency, RAW_REQUESTS))
                run["raw_aiohttp_per_s"] = round(raw, 1)
                # why aiohttp: httpx's pool stalls above ~16 in flight (encode/httpx#3215)
                slow = asyncio.run(raw_httpx(url, concurrency, HTTPX_REQUESTS))
                run["raw_httpx_per_s"] = None if slow is None else round(slow, 1)
                run["auditor_vs_raw"] = round(run["requests_per_s"] / raw, 3)
                runs.append(run)
        finally:
            server.terminate()
            server.wait()
    print(json.dumps({"bench": "openai_scale", "dataset_rows": rows, "latency_s": LATENCY_S,
                      "runs": runs, "quarter_dataset": {
                          "prompts": small["prompts"], "peak_rss_mb": small["peak_rss_mb"],
                          "rss_growth_to_full": round(runs[-1]["peak_rss_mb"]
                                                      / small["peak_rss_mb"], 2)}}))


if __name__ == "__main__":
    main()
