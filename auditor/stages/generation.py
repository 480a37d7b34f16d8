"""The generation stage: one request per unique planned prompt, answered by the model under
test and committed to the store batch by batch. A rerun asks only for what the store lacks."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from auditor.config.policy import PolicyFile
from auditor.core.errors import AuditorError
from auditor.core.identity import Record, TargetFingerprint
from auditor.core.progress import ProgressFn, no_progress
from auditor.data.plan import Audit
from auditor.stages.store import RunStore, generation_key
from auditor.targets import ChatRequest, DecodingConfig, Target


class GenerateCounts(Record):
    """The generation stage's counts: unique prompts, found in the store, generated now, and
    requests that ended in an error (stored, retried on a rerun, never scored)."""

    total: int
    cached: int
    generated: int
    errors: int


@dataclass
class Generated:
    """What the generation stage did, and where to find its answers."""

    prompt_keys: dict[str, str]  # prompt uid → generation key in the store
    counts: GenerateCounts
    seconds: float
    completion_tokens: int  # tokens generated now (benchmarks divide by `seconds`)


@contextmanager
def signals_held() -> Iterator[None]:
    """Ctrl-C or SIGTERM during a store write takes effect just after it, so a batch of
    answers that arrived is stored whole rather than rolled back."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def decoding_of(policy_file: PolicyFile) -> DecodingConfig:
    target = policy_file.target
    return DecodingConfig(max_tokens=target.max_tokens, temperature=target.temperature)


def generation_requests(audit: Audit, target_id: str) -> dict[str, ChatRequest]:
    """One request per unique prompt, keyed by prompt uid."""
    system = audit.policy_file.target.system_prompt
    params = decoding_of(audit.policy_file).as_dict()
    texts = {uid: prompt.text for uid, prompt in audit.plan.prompts.items()}
    texts.update((uid, prompt.text) for uid, prompt in audit.plan.benign_prompts().items())
    return {uid: ChatRequest(generation_key(target_id, params, system, text), text, system)
            for uid, text in sorted(texts.items())}


def error_count(store: RunStore, prompt_keys: dict[str, str]) -> int:
    """Planned prompts whose stored generation is an error."""
    return sum(g.error is not None for g in store.generations(set(prompt_keys.values())).values())


def stored_counts(store: RunStore, prompt_keys: dict[str, str]) -> GenerateCounts:
    """The counts of a run generated earlier (rejudge): everything came from the store."""
    stored = len(set(prompt_keys.values()))
    return GenerateCounts(total=stored, cached=stored, generated=0,
                          errors=error_count(store, prompt_keys))


def refuse_another_model(store: RunStore, fingerprint: TargetFingerprint) -> None:
    """A folder whose answers people reviewed holds labels for that model's answers: checking
    another model into it would score that model on them (an identical refusal gets the same
    answer id). Refused before anything is generated; the labels stay as they were."""
    if not store.review_sample():
        return
    before = store.target()
    reviewed = store.get_meta("review_target") or (before.id if before else None)
    if reviewed is None or reviewed == fingerprint.id:
        return
    name = before.name or before.model if before is not None and before.id == reviewed \
        else f"fingerprint {reviewed[:12]}"
    raise AuditorError(
        f"{store.folder} holds a human review of {name}'s answers; this check is of "
        f"{fingerprint.name or fingerprint.model} (fingerprint {fingerprint.id[:12]}), which "
        "those labels do not describe",
        hint="audit the other model into a new --out folder (its answers get a review of "
             "their own)")


def run_generation(audit: Audit, target: Target, store: RunStore,
                   progress: ProgressFn = no_progress) -> Generated:
    """Generate every planned prompt not already in the store."""
    started = time.perf_counter()
    if target.needs_build():  # the fingerprint hashes the built model, so this comes first
        progress("build", 0, 1)
        target.build()
        progress("build", 1, 1)
    fingerprint = target.fingerprint()
    name = audit.policy_file.target.name
    if name:  # a label, not an identity: the same model under two names shares its cache
        fingerprint = fingerprint.model_copy(update={"name": name})
    refuse_another_model(store, fingerprint)
    requests = generation_requests(audit, fingerprint.id)
    prompt_keys = {uid: r.key for uid, r in requests.items()}
    store.set_target(fingerprint)
    store.set_meta("prompt_keys", prompt_keys)
    unique = {r.key: r for r in requests.values()}
    finished = store.finished_keys(unique)
    todo = [r for key, r in unique.items() if key not in finished]
    generated = tokens = 0
    if todo:  # the loading line comes first, so it shows above the generation bar
        progress(target.start_stage, 0, 1)
        target.start()
        progress(target.start_stage, 1, 1)
    progress("generate", len(finished), len(unique))
    if todo:
        decoding = decoding_of(audit.policy_file)
        try:
            for batch in target.generate(todo, decoding):
                with signals_held():
                    store.put_generations(batch, unique, fingerprint.id, decoding.as_dict())
                generated += len(batch)
                tokens += sum(g.completion_tokens or 0 for g in batch)
                progress("generate", len(finished) + generated, len(unique))
        finally:  # which server of a fleet failed is worth keeping even when the run stops
            if target.servers():
                store.set_meta("target_servers",
                               [s.model_dump() for s in target.servers()])
    counts = GenerateCounts(total=len(unique), cached=len(finished), generated=generated,
                            errors=error_count(store, prompt_keys))
    return Generated(prompt_keys, counts, time.perf_counter() - started, tokens)
