"""Benchmark: the auditor's vLLM backend (with the run store) against raw `vllm.LLM.chat`.

One engine serves both, in the same process, on the same prompts (plain sample prompts,
max_tokens 64, greedy), in the dtype auditor chooses for the demo model on this CPU. Prefix
caching is off so neither side reuses the other's work, and the two are run alternately, best
of two each. The auditor side is the whole generation stage: keys, store writes in committed
batches, and the chunked `LLM.chat` calls.

The work scales to the machine: a first pass of 16 prompts measures the speed, and the prompt
count is chosen so that each measured pass takes about --seconds-per-pass (default 45 s; at
least 16 prompts, at most the 192 samples). So it finishes in a few minutes on any CPU.
Prints one JSON line with tokens/s of each and their ratio (aim: at least 0.95).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAX_TOKENS = 64
CALIBRATION_PROMPTS = 16


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds-per-pass", type=float, default=45.0)
    seconds_per_pass = parser.parse_args().seconds_per_pass
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    from vllm import LLM, SamplingParams

    from auditor.config.loader import parse_policy_text
    from auditor.data.plan import Audit
    from auditor.data.provenance import provenance_of
    from auditor.data.selection import select
    from auditor.stages.generation import run_generation
    from auditor.stages.store import RunStore
    from auditor.targets.demo_model import ensure_demo_model
    from auditor.targets.vllm_target import VllmTarget

    model = str(ensure_demo_model())
    policy_file = parse_policy_text(f"""
version: 1
organisation: {{name: bench}}
dataset: {{path: {ROOT / 'samples'}}}
target: {{model: demo, max_tokens: {MAX_TOKENS}, max_model_len: 1024}}
sampling: {{per_category: all}}
policies: [{{id: ALL, title: all, categories: [hate, crime, substance, sex, self_harm, weapon]}}]
""")
    from auditor.data.for_policy import load_for_policy

    dataset = load_for_policy(policy_file, ROOT)
    audit = Audit(policy_file, ROOT / "bench.yaml", "bench", dataset, select(policy_file, dataset),
                  provenance_of(dataset))
    target_proto = VllmTarget(policy_file.target)
    dtype = target_proto.dtype.dtype

    load_started = time.perf_counter()
    llm = LLM(model=model, dtype=cast(Any, dtype), enforce_eager=True, max_model_len=1024, seed=0,
              enable_prefix_caching=False)
    load_s = time.perf_counter() - load_started
    params = SamplingParams(max_tokens=MAX_TOKENS, temperature=0.0, seed=0)

    # Calibrate: how many prompts make one pass last about --seconds-per-pass here.
    every = sorted(audit.plan.prompts)
    sample: Any = [[{"role": "user", "content": audit.plan.prompts[uid].text}]
                   for uid in every[:CALIBRATION_PROMPTS]]
    llm.chat(sample[:4], params, use_tqdm=False)  # warm-up: first calls pay one-off costs
    begun = time.perf_counter()
    tokens = sum(len(o.outputs[0].token_ids) for o in llm.chat(sample, params, use_tqdm=False))
    calibration_rate = tokens / (time.perf_counter() - begun)
    count = int(calibration_rate * seconds_per_pass / MAX_TOKENS)
    count = max(CALIBRATION_PROMPTS, min(len(every), count))
    keep = set(every[:count])
    audit.plan.prompts = {uid: p for uid, p in audit.plan.prompts.items() if uid in keep}
    for policy_plan in audit.plan.policies:
        policy_plan.cells = {cell: [u for u in uids if u in keep]
                             for cell, uids in policy_plan.cells.items()}
    prompts = [p.text for p in audit.plan.prompts.values()]

    def raw() -> tuple[float, int]:
        started = time.perf_counter()
        conversations: Any = [[{"role": "user", "content": p}] for p in prompts]
        outputs = llm.chat(conversations, params, use_tqdm=False)
        return time.perf_counter() - started, sum(len(o.outputs[0].token_ids) for o in outputs)

    def auditor() -> tuple[float, int]:
        target = VllmTarget(policy_file.target)
        target._llm, target._model_path = llm, model  # share the loaded engine
        with tempfile.TemporaryDirectory() as tmp, RunStore(Path(tmp)) as store:
            started = time.perf_counter()
            generated = run_generation(audit, target, store)
            return time.perf_counter() - started, generated.completion_tokens

    results: dict[str, list[tuple[float, int]]] = {"raw": [], "auditor": []}
    for _ in range(2):
        results["raw"].append(raw())
        results["auditor"].append(auditor())
    best = {k: min(v) for k, v in results.items()}
    rate = {k: tokens / seconds for k, (seconds, tokens) in best.items()}
    print(json.dumps({"bench": "vllm_backend", "prompts": len(prompts), "max_tokens": MAX_TOKENS,
                      "dtype": dtype, "calibration_tokens_per_s": round(calibration_rate, 1),
                      "engine_load_s": round(load_s, 1),
                      "raw_seconds": round(best["raw"][0], 2), "raw_tokens": best["raw"][1],
                      "auditor_seconds": round(best["auditor"][0], 2),
                      "auditor_tokens": best["auditor"][1],
                      "raw_tokens_per_s": round(rate["raw"], 1),
                      "auditor_tokens_per_s": round(rate["auditor"], 1),
                      "ratio": round(rate["auditor"] / rate["raw"], 3)}))
    llm.llm_engine.engine_core.shutdown()


if __name__ == "__main__":
    main()
