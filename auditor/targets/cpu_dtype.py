"""Which dtype the embedded demo model runs in on a CPU, and why.

The demo model is stored in bfloat16. On a CPU with native bf16 arithmetic (x86's AVX512-BF16
or AMX, Arm's BF16 extension) vLLM runs it fastest as stored; elsewhere every bf16 operation is
emulated, and float32 is about twice as fast (measured on a 2-core AVX-512 machine without
bf16: 54 against 115 tokens/s; `bench/vllm_backend.py` measures both). The model is tiny, so
float32's doubled memory (about 540 MB) does not matter. On a GPU build of vLLM the stored
dtype is kept.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

# /proc/cpuinfo flags that mean native bf16 arithmetic.
X86_BF16_FLAGS = frozenset({"avx512_bf16", "amx_bf16"})
ARM_BF16_FEATURES = frozenset({"bf16"})


@dataclass(frozen=True)
class DtypeChoice:
    dtype: str  # what vLLM is given
    reason: str  # one sentence for `plan` and the report's audit trail


def cpu_flags(cpuinfo: Path = Path("/proc/cpuinfo")) -> frozenset[str]:
    """The CPU's feature flags (x86 `flags`, Arm `Features`); empty where unreadable."""
    try:
        text = cpuinfo.read_text(errors="replace")
    except OSError:
        return frozenset()
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip().lower() in ("flags", "features"):
            return frozenset(value.split())
    return frozenset()


def has_native_bf16(flags: frozenset[str]) -> bool:
    return bool(flags & (X86_BF16_FLAGS | ARM_BF16_FEATURES))


def demo_dtype(cpu_build: bool, flags: frozenset[str] | None = None) -> DtypeChoice:
    """The dtype for the demo model: bf16 on a GPU or a bf16-capable CPU, float32 elsewhere."""
    if not cpu_build:
        return DtypeChoice("bfloat16", "the model's stored dtype (GPU build of vLLM)")
    flags = cpu_flags() if flags is None else flags
    machine = platform.machine() or "this CPU"
    if has_native_bf16(flags):
        return DtypeChoice("bfloat16", f"the model's stored dtype: {machine} has native bf16 "
                           "arithmetic")
    return DtypeChoice("float32", f"{machine} has no native bf16 arithmetic (no avx512_bf16 "
                       "or amx_bf16), where float32 runs several times faster than emulated bf16 "
                       "(measured 4.2x, bench/demo_dtype.py)")
