"""The `ray` backend against in-process vLLM on the same prompts, on this machine. Seeded inputs.

    python bench/ray_backend.py [--prompts 96] [--max-tokens 64] [--batch 16]

Both run the demo model (the dtype auditor picks) through auditor's own targets, the same
prompts (the project's samples, plain), the same batch size, greedy decoding:

- `vllm`: `VllmTarget`, in-process `LLM.chat`, one chunk of `--batch` at a time;
- `ray`: `RayTarget` on a local Ray instance with one CPU replica (Ray Data, `ray.data.llm`).

Throughput is generated tokens per second *after the first batch arrives*, the same definition
for both, so that start-up (loading the model; for Ray also starting the instance, its actors
and the engine inside one) is measured apart: `startup_s` is the time to the first batch. The
answers of the two are compared too (greedy decoding: they should match). Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.config.policy import ModelEndpoint
from auditor.data.dataset import load_folder
from auditor.targets.interface import ChatRequest, DecodingConfig, Target
from auditor.targets.ray_target import RayTarget
from auditor.targets.vllm_target import VllmTarget

SAMPLES = Path(__file__).resolve().parent.parent / "samples"


def run(target: Target, requests: list[ChatRequest], decoding: DecodingConfig
        ) -> dict[str, Any]:
    started = time.perf_counter()
    target.start()
    first_at: float | None = None
    after_first = 0
    answers: dict[str, str | None] = {}
    for batch in target.generate(requests, decoding):
        now = time.perf_counter()
        if first_at is None:
            first_at = now
        else:
            after_first += sum(g.completion_tokens or 0 for g in batch)
        answers.update((g.key, g.text) for g in batch)
    ended = time.perf_counter()
    target.close()
    assert first_at is not None
    return {"startup_s": round(first_at - started, 1), "total_s": round(ended - started, 1),
            "tokens_per_s": round(after_first / max(1e-9, ended - first_at), 1),
            "answers": answers}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=96)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--batch", type=int, default=16)
    args = parser.parse_args()
    prompts = [p for p in load_folder(SAMPLES, ["none"]).prompts][:args.prompts]
    requests = [ChatRequest(p.uid, p.text) for p in prompts]
    decoding = DecodingConfig(max_tokens=args.max_tokens)
    endpoint = {"model": "demo", "max_model_len": 1024}
    vllm = run(VllmTarget(ModelEndpoint.model_validate({**endpoint, "backend": "vllm"}),
                          chunk_size=args.batch), requests, decoding)
    ray = run(RayTarget(ModelEndpoint.model_validate(
        {**endpoint, "backend": "ray", "ray": {"batch_size": args.batch}})), requests, decoding)
    same = sum(vllm["answers"][k] == ray["answers"].get(k) for k in vllm["answers"])
    print(json.dumps({
        "benchmark": "ray_backend", "prompts": len(requests), "max_tokens": args.max_tokens,
        "batch": args.batch, "replicas": 1,
        "vllm": {k: v for k, v in vllm.items() if k != "answers"},
        "ray": {k: v for k, v in ray.items() if k != "answers"},
        "throughput_ratio_ray_over_vllm": round(ray["tokens_per_s"] / vllm["tokens_per_s"], 3),
        "ray_extra_startup_s": round(ray["startup_s"] - vllm["startup_s"], 1),
        "identical_answers": same}))


if __name__ == "__main__":
    main()
