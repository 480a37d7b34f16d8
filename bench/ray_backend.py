"""The `ray` backend against in-process vLLM on the same prompts, on this machine. Seeded inputs.

    python bench/ray_backend.py [--prompts 96] [--max-tokens 64] [--batch 16]

Both run the demo model (the dtype auditor picks) through auditor's own targets, on the same
prompts (the project's samples, plain), greedy decoding, as `auditor check` runs them:

- `vllm`: `VllmTarget`, in-process `LLM.chat`; start-up is loading the model;
- `ray`: `RayTarget` on a local Ray instance with one CPU replica (Ray Data, `ray.data.llm`),
  batches of `--batch`. Start-up is starting the instance plus the engine every Ray Data job
  starts afresh, measured by a one-token job of one prompt; generation is the full job's time
  less that engine start.

Throughput is generated tokens per second of generation; the ratio is Ray's over in-process.
The answers of the two are compared (greedy decoding: they should match). Prints one JSON line.
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


def generate(target: Target, requests: list[ChatRequest], decoding: DecodingConfig
             ) -> tuple[float, int, dict[str, str | None]]:
    """Seconds, generated tokens and answers of one `generate` call."""
    started = time.perf_counter()
    tokens = 0
    answers: dict[str, str | None] = {}
    for batch in target.generate(requests, decoding):
        tokens += sum(g.completion_tokens or 0 for g in batch)
        answers.update((g.key, g.text) for g in batch)
    return time.perf_counter() - started, tokens, answers


def in_process(requests: list[ChatRequest], decoding: DecodingConfig, endpoint: dict[str, Any]
               ) -> dict[str, Any]:
    target = VllmTarget(ModelEndpoint.model_validate({**endpoint, "backend": "vllm"}))
    started = time.perf_counter()
    target.start()  # loads the model
    load = time.perf_counter() - started
    seconds, tokens, answers = generate(target, requests, decoding)
    target.close()
    return {"startup_s": round(load, 1), "generation_s": round(seconds, 1),
            "tokens_per_s": round(tokens / seconds, 1), "answers": answers}


def on_ray(requests: list[ChatRequest], decoding: DecodingConfig, endpoint: dict[str, Any],
           batch: int) -> dict[str, Any]:
    target = RayTarget(ModelEndpoint.model_validate(
        {**endpoint, "backend": "ray", "ray": {"batch_size": batch}}))
    started = time.perf_counter()
    target.start()  # the local Ray instance
    instance = time.perf_counter() - started
    # Every Ray Data job starts its engine afresh: a one-token job measures that alone.
    engine, _, _ = generate(target, requests[:1], DecodingConfig(max_tokens=1))
    job, tokens, answers = generate(target, requests, decoding)
    target.close()
    seconds = max(1e-9, job - engine)
    return {"instance_start_s": round(instance, 1), "job_engine_start_s": round(engine, 1),
            "startup_s": round(instance + engine, 1), "job_s": round(job, 1),
            "generation_s": round(seconds, 1), "tokens_per_s": round(tokens / seconds, 1),
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
    vllm = in_process(requests, decoding, endpoint)
    ray = on_ray(requests, decoding, endpoint, args.batch)
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
