"""Benchmark: the auditor's vLLM backend (with the run store) against raw `vllm.LLM.chat`.

One engine serves both, in the same process, on the same prompts (the 192 plain sample
prompts, max_tokens 64, greedy). Prefix caching is off so neither side reuses the other's
work, and the two are run alternately, best of two each. The auditor side is the whole
generation stage: keys, store writes in committed batches, and the chunked `LLM.chat` calls.
Prints one JSON line with tokens/s of each and their ratio (aim: at least 0.95).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

MAX_TOKENS = 64


def main() -> None:
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
    from vllm import LLM, SamplingParams

    from auditor.demo_model import ensure_demo_model
    from auditor.pipeline import Audit, run_generation
    from auditor.policy_loader import parse_policy_text
    from auditor.selection import select
    from auditor.store import RunStore
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
    from auditor.dataset_for_policy import load_for_policy

    dataset = load_for_policy(policy_file, ROOT)
    audit = Audit(policy_file, ROOT / "bench.yaml", "bench", dataset, select(policy_file, dataset))
    prompts = [p.text for p in audit.plan.prompts.values()]

    load_started = time.perf_counter()
    llm = LLM(model=model, enforce_eager=True, max_model_len=1024, seed=0,
              enable_prefix_caching=False)
    load_s = time.perf_counter() - load_started
    params = SamplingParams(max_tokens=MAX_TOKENS, temperature=0.0, seed=0)

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
            _, stats = run_generation(audit, target, store)
            return time.perf_counter() - started, stats.completion_tokens

    raw()  # warm-up: first calls pay one-off costs
    results: dict[str, list[tuple[float, int]]] = {"raw": [], "auditor": []}
    for _ in range(2):
        results["raw"].append(raw())
        results["auditor"].append(auditor())
    best = {k: min(v) for k, v in results.items()}
    rate = {k: tokens / seconds for k, (seconds, tokens) in best.items()}
    print(json.dumps({"bench": "vllm_backend", "prompts": len(prompts), "max_tokens": MAX_TOKENS,
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
