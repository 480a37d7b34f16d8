"""Benchmark: the demo model in bfloat16 against float32 on this CPU, raw vLLM `LLM.chat`.

Why the demo model's dtype is chosen per CPU (auditor/targets/cpu_dtype.py): where the CPU has
no native bf16 arithmetic, vLLM emulates it. Loads one engine per dtype, one after the other,
and generates the same 32 plain sample prompts (greedy, 64 tokens), best of two passes after a
warm-up. Prints one JSON line with tokens/s in each dtype, their ratio, the CPU's bf16 flags
and the dtype auditor chooses here.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path
from typing import Any, cast

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PROMPTS = 32
MAX_TOKENS = 64


def tokens_per_second(model: str, dtype: str, prompts: list[str]) -> dict[str, float]:
    from vllm import LLM, SamplingParams

    started = time.perf_counter()
    llm = LLM(model=model, dtype=cast(Any, dtype), enforce_eager=True, max_model_len=1024, seed=0,
              enable_prefix_caching=False)
    load_s = time.perf_counter() - started
    params = SamplingParams(max_tokens=MAX_TOKENS, temperature=0.0, seed=0)
    conversations: Any = [[{"role": "user", "content": p}] for p in prompts]
    llm.chat(conversations[:4], params, use_tqdm=False)  # warm-up
    best = 0.0
    for _ in range(2):
        begun = time.perf_counter()
        outputs = llm.chat(conversations, params, use_tqdm=False)
        tokens = sum(len(o.outputs[0].token_ids) for o in outputs)
        best = max(best, tokens / (time.perf_counter() - begun))
    llm.llm_engine.engine_core.shutdown()
    return {"load_s": round(load_s, 1), "tokens_per_s": round(best, 1)}


def main() -> None:
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    from auditor.data.dataset import load_folder
    from auditor.targets.cpu_dtype import X86_BF16_FLAGS, cpu_flags, demo_dtype
    from auditor.targets.demo_model import ensure_demo_model
    from auditor.targets.vllm_target import is_cpu_build

    model = str(ensure_demo_model())
    prompts = [p.text for p in load_folder(ROOT / "samples", ["none"]).prompts[:PROMPTS]]
    bf16 = tokens_per_second(model, "bfloat16", prompts)
    fp32 = tokens_per_second(model, "float32", prompts)
    print(json.dumps({"bench": "demo_dtype", "prompts": len(prompts), "max_tokens": MAX_TOKENS,
                      "bfloat16": bf16, "float32": fp32,
                      "float32_over_bfloat16": round(fp32["tokens_per_s"]
                                                     / bf16["tokens_per_s"], 2),
                      "cpu_bf16_flags": sorted(cpu_flags() & X86_BF16_FLAGS),
                      "auditor_chooses": demo_dtype(is_cpu_build()).dtype}))


if __name__ == "__main__":
    main()
