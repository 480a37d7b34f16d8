"""The audit's stages in order: load → plan → generate → judge → outcomes. No console here.

Each stage reads what the previous one stored, so any stage can be re-run alone: rejudging or
re-rendering never generates again. Progress goes to an optional callback.
"""

from __future__ import annotations

import hashlib
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from auditor.dataset import AlertDataset
from auditor.dataset_for_policy import load_for_policy
from auditor.errors import AuditorError
from auditor.judges import Judge, JudgeItem, Verdict, make_judge
from auditor.judges.refusal import RefusalJudge
from auditor.outcome import Outcome, Status
from auditor.over_refusal import ANSWERED, REFUSED, BenignOutcome, select_benign
from auditor.policy import PolicyFile
from auditor.policy_loader import load_policy_file
from auditor.selection import Plan, select
from auditor.store import RunStore, StoredGeneration, StoredVerdict, content_key, generation_key
from auditor.targets import ChatRequest, DecodingConfig, Target, make_target

ProgressFn = Callable[[str, int, int], None]  # (stage, done so far, total)


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
JUDGE_BATCH = 64


def _no_progress(stage: str, done: int, total: int) -> None:
    pass


@dataclass
class Audit:
    """A loaded policy file with its dataset and prompt plan."""

    policy_file: PolicyFile
    policy_path: Path
    policy_sha256: str
    dataset: AlertDataset
    plan: Plan

    @classmethod
    def load(cls, policy_path: Path) -> Audit:
        policy_file = load_policy_file(policy_path)
        dataset = load_for_policy(policy_file, policy_path.parent)
        plan = select(policy_file, dataset)
        require_prompts(plan)
        plan.benign = select_benign(policy_file, policy_path.parent)
        return cls(policy_file, policy_path,
                   hashlib.sha256(policy_path.read_bytes()).hexdigest(), dataset, plan)

    def decoding(self) -> DecodingConfig:
        target = self.policy_file.target
        return DecodingConfig(max_tokens=target.max_tokens, temperature=target.temperature)


def require_prompts(plan: Plan) -> None:
    """A policy with no prompts in this dataset would be INCONCLUSIVE at n = 0: say so now."""
    empty = [p.policy_id for p in plan.policies if not p.uids()]
    if empty:
        raise AuditorError(f"polic{'y' if len(empty) == 1 else 'ies'} {', '.join(empty)} "
                           "select no prompts from this dataset",
                           hint="compare their categories and attack_types with "
                                "`auditor dataset info`, or check that the dataset is not empty")


@dataclass
class StageStats:
    """What one stage did: items in all, found in the store, done now, and how long it took."""

    total: int = 0
    cached: int = 0
    done: int = 0
    failed: int = 0  # generation: requests that failed; judging: answers left unscored
    seconds: float = 0.0
    completion_tokens: int = 0


def generation_requests(audit: Audit, target_id: str) -> dict[str, ChatRequest]:
    """One request per unique prompt, keyed by prompt uid."""
    system = audit.policy_file.target.system_prompt
    params = audit.decoding().as_dict()
    texts = {uid: prompt.text for uid, prompt in audit.plan.prompts.items()}
    texts.update((uid, prompt.text) for uid, prompt in audit.plan.benign_prompts().items())
    return {uid: ChatRequest(generation_key(target_id, params, system, text), text, system)
            for uid, text in sorted(texts.items())}


def run_generation(audit: Audit, target: Target, store: RunStore,
                   progress: ProgressFn = _no_progress) -> tuple[dict[str, str], StageStats]:
    """Generate every planned prompt not already in the store. Returns uid → generation key."""
    started = time.perf_counter()
    if target.needs_build():  # the fingerprint hashes the built model, so this comes first
        progress("build", 0, 1)
        target.build()
        progress("build", 1, 1)
    fingerprint = target.fingerprint()
    requests = generation_requests(audit, fingerprint["id"])
    prompt_keys = {uid: r.key for uid, r in requests.items()}
    store.set_meta("target_fingerprint", fingerprint)
    store.set_meta("prompt_keys", prompt_keys)
    unique = {r.key: r for r in requests.values()}
    finished = store.finished_keys(unique)
    todo = [r for key, r in unique.items() if key not in finished]
    stats = StageStats(total=len(unique), cached=len(finished))
    if todo:  # the loading line comes first, so it shows above the generation bar
        progress("load", 0, 1)
        target.start()
        progress("load", 1, 1)
    progress("generate", stats.cached, stats.total)
    if todo:
        params = audit.decoding().as_dict()
        done = stats.cached
        try:
            for batch in target.generate(todo, audit.decoding()):
                with signals_held():
                    store.put_generations(batch, unique, fingerprint["id"], params)
                done += len(batch)
                stats.done += len(batch)
                stats.failed += sum(not g.ok for g in batch)
                stats.completion_tokens += sum(g.completion_tokens or 0 for g in batch)
                progress("generate", done, stats.total)
        finally:  # which server of a fleet failed is worth keeping even when the run stops
            if target.servers():
                store.set_meta("target_servers", target.servers())
    stats.seconds = time.perf_counter() - started
    return prompt_keys, stats


def policy_text(audit: Audit, policy_id: str) -> str:
    policy = next(p for p in audit.policy_file.policies if p.id == policy_id)
    parts = [f"{policy.id}: {policy.title}"]
    if policy.clause:
        parts.append(f"Reference: {policy.clause}")
    if policy.description:
        parts.append(policy.description)
    parts.append("Covers: " + ", ".join(policy.micro_categories()))
    return "\n".join(parts)


def judge_items(audit: Audit, judge: Judge, store: RunStore, prompt_keys: dict[str, str],
                generations: dict[str, StoredGeneration] | None = None
                ) -> dict[tuple[str, str], tuple[str, JudgeItem]]:
    """(policy id, uid) → (verdict content key, item), for every successful generation."""
    if generations is None:
        generations = store.generations(set(prompt_keys.values()))
    uses_policy = judge.uses_policy_text
    items: dict[tuple[str, str], tuple[str, JudgeItem]] = {}
    for policy_plan in audit.plan.policies:
        text = policy_text(audit, policy_plan.policy_id) if uses_policy else None
        for uid in policy_plan.uids():
            gen = generations.get(prompt_keys[uid])
            if gen is None or gen.error is not None or gen.text is None:
                continue
            key = content_key(gen.prompt_text, gen.text)
            if text is not None:
                key = hashlib.sha256(f"{key}\x00{text}".encode()).hexdigest()
            items[(policy_plan.policy_id, uid)] = (key, JudgeItem(gen.prompt_text, gen.text, text))
    return items


def judge_and_store(judge: Judge, judge_id: str, store: RunStore,
                    todo: list[tuple[str, JudgeItem]]) -> Iterator[list[Verdict]]:
    """Judge `todo` (content key, item) in batches, committing each batch's verdicts before
    yielding them, so an interrupted stage keeps what it judged."""
    for begin in range(0, len(todo), JUDGE_BATCH):
        batch = todo[begin:begin + JUDGE_BATCH]
        verdicts = judge.judge([item for _, item in batch])
        store.put_verdicts(judge_id, [
            (key, StoredVerdict(v.label, v.categories, v.score, v.reason, v.raw))
            for (key, _), v in zip(batch, verdicts, strict=True)])
        yield verdicts


def run_judging(audit: Audit, judge: Judge, store: RunStore, prompt_keys: dict[str, str],
                progress: ProgressFn = _no_progress) -> StageStats:
    started = time.perf_counter()
    fingerprint = judge.fingerprint()
    judge_id = fingerprint["id"]
    items = judge_items(audit, judge, store, prompt_keys)
    unique = {key: item for key, item in items.values()}
    existing = store.verdicts(judge_id)
    todo = [(key, item) for key, item in unique.items() if key not in existing]
    stats = StageStats(total=len(unique), cached=len(unique) - len(todo))
    progress("judge", stats.cached, stats.total)
    if todo:
        judge.start()
        for batch in judge_and_store(judge, judge_id, store, todo):
            stats.done += len(batch)
            stats.failed += sum(v.label == "unscored" for v in batch)
            progress("judge", stats.cached + stats.done, stats.total)
    stats.seconds = time.perf_counter() - started
    return stats


def collect_outcomes(audit: Audit, store: RunStore, prompt_keys: dict[str, str],
                     judge: Judge) -> list[Outcome]:
    judge_id = judge.fingerprint()["id"]
    verdicts = store.verdicts(judge_id)
    # One copy of the answers, shared by the items and the outcomes.
    generations = store.generations(set(prompt_keys.values()))
    items = judge_items(audit, judge, store, prompt_keys, generations)
    outcomes = []
    for policy_plan in audit.plan.policies:
        for cell, uids in policy_plan.cells.items():
            for uid in uids:
                prompt = audit.plan.prompts[uid]
                gen = generations.get(prompt_keys[uid])
                status: Status = "error"
                reason: str | None = "not generated"
                score: float | None = None
                response: str | None = None
                flagged: tuple[str, ...] = ()
                if gen is not None and gen.error is not None:
                    reason = gen.error
                elif gen is not None:
                    response = gen.text
                    key, _ = items[(policy_plan.policy_id, uid)]
                    verdict = verdicts.get(key)
                    if verdict is None:
                        status, reason = "unscored", "not judged"
                    else:
                        status, score = verdict.label, verdict.score
                        reason = verdict.reason or ""
                        flagged = tuple(verdict.categories)
                outcomes.append(Outcome(policy_plan.policy_id, uid, cell.category,
                                        cell.attack_type, status, prompt.text, response, reason,
                                        score, flagged))
    return outcomes


def run_over_refusal(audit: Audit, store: RunStore, prompt_keys: dict[str, str],
                     progress: ProgressFn = _no_progress
                     ) -> tuple[RefusalJudge, list[BenignOutcome]] | None:
    """Judge the answers to benign prompts with the refusal judge; None if no policy asks."""
    if not audit.plan.benign:
        return None
    config = audit.policy_file.judge
    # A policy judged by its own refusal model uses it here too (its card, if it has a
    # safe-prompt one, corrects the rate; otherwise the rate is raw and says so).
    judge = build_judge(audit) if config.kind == "refusal" and config.model_file \
        else RefusalJudge()
    assert isinstance(judge, RefusalJudge)
    judge_id = judge.fingerprint()["id"]
    benign_prompts = audit.plan.benign_prompts()
    generations = store.generations({prompt_keys[uid] for uid in benign_prompts})
    keyed: dict[str, tuple[str, JudgeItem]] = {}
    for uid in benign_prompts:
        gen = generations.get(prompt_keys[uid])
        if gen is not None and gen.error is None and gen.text is not None:
            keyed[uid] = (content_key(gen.prompt_text, gen.text),
                          JudgeItem(gen.prompt_text, gen.text))
    existing = store.verdicts(judge_id)
    todo = list({key: item for key, item in keyed.values() if key not in existing}.items())
    progress("over-refusal", 0, len(todo))
    if todo:
        judge.start()
        done = 0
        for batch in judge_and_store(judge, judge_id, store, todo):
            done += len(batch)
            progress("over-refusal", done, len(todo))
    verdicts = store.verdicts(judge_id)
    outcomes = []
    for policy_id, prompts in audit.plan.benign.items():
        for prompt in prompts:
            gen = generations.get(prompt_keys[prompt.uid])
            status, response = "error", None
            reason: str | None = "not generated"
            if gen is not None and gen.error is not None:
                reason = gen.error
            elif gen is not None:
                response = gen.text
                verdict = verdicts.get(keyed[prompt.uid][0]) if prompt.uid in keyed else None
                if verdict is None or verdict.label == "unscored":
                    status = "unscored"
                    reason = verdict.reason if verdict else "not judged"
                else:  # the refusal judge's "safe" is a refusal
                    status = REFUSED if verdict.label == "safe" else ANSWERED
                    reason = verdict.reason
            outcomes.append(BenignOutcome(policy_id, prompt.uid, prompt.category, status,
                                          prompt.text, response, reason))
    return judge, outcomes


def build_target(audit: Audit) -> Target:
    return make_target(audit.policy_file.target)


def build_judge(audit: Audit) -> Judge:
    return make_judge(audit.policy_file.judge, audit.policy_path.parent)
