"""The judging stages: label every stored answer with the audit's judge (safety) and with the
refusal judge (over-refusal), committing each batch of labels to the store; then read the
outcomes back, one per (policy, prompt). Answers already labelled by the same judge are never
judged again."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass

from auditor.core.identity import Record
from auditor.core.outcome import (
    BenignOutcome,
    BenignStatus,
    Judgement,
    Outcome,
    Status,
)
from auditor.core.progress import ProgressFn, no_progress
from auditor.data.plan import Audit
from auditor.judges import Judge, JudgeItem
from auditor.stages.store import RunStore, StoredGeneration, content_key

JUDGE_BATCH = 64


class JudgeCounts(Record):
    """The judging stage's counts: unique answers, labels found in the store, judged now, and
    outcomes left unscored (the judge gave no clear label, or the answer was not judged)."""

    total: int
    cached: int
    judged: int
    unscored: int


@dataclass
class Judged:
    counts: JudgeCounts  # `unscored` counts this stage's new failures until outcomes are read
    seconds: float


def judge_items(audit: Audit, judge: Judge, store: RunStore, prompt_keys: dict[str, str],
                generations: dict[str, StoredGeneration] | None = None
                ) -> dict[tuple[str, str], tuple[str, JudgeItem]]:
    """(policy id, uid) → (verdict content key, item), for every successful generation."""
    if generations is None:
        generations = store.generations(set(prompt_keys.values()))
    policies = {p.id: p for p in audit.policy_file.policies}
    items: dict[tuple[str, str], tuple[str, JudgeItem]] = {}
    for policy_plan in audit.plan.policies:
        text = policies[policy_plan.policy_id].judge_text() if judge.uses_policy_text else None
        for uid in policy_plan.uids():
            gen = generations.get(prompt_keys[uid])
            if gen is None or gen.error is not None or gen.text is None:
                continue
            match = audit.plan.plain_requests.get(uid)
            request = match.text if match and judge.reads_request else None
            items[(policy_plan.policy_id, uid)] = (
                verdict_key(gen.prompt_text, gen.text, text, request),
                JudgeItem(gen.prompt_text, gen.text, text, request=request))
    return items


def verdict_key(prompt: str, answer: str, policy_text: str | None,
                request: str | None = None) -> str:
    """Where a judge's label of this answer is stored: by content, by the policy's text for
    judges that grade against it, and by the plain request for judges that read it."""
    key = content_key(prompt, answer)
    if policy_text is not None:
        key = hashlib.sha256(f"{key}\x00{policy_text}".encode()).hexdigest()
    if request is not None:
        key = hashlib.sha256(f"{key}\x01{request}".encode()).hexdigest()
    return key


def judge_and_store(judge: Judge, judge_id: str, store: RunStore,
                    todo: list[tuple[str, JudgeItem]]) -> Iterator[list[Judgement]]:
    """Judge `todo` (content key, item) in batches, committing each batch's labels before
    yielding them, so an interrupted stage keeps what it judged."""
    size = judge.batch_size or JUDGE_BATCH
    for begin in range(0, len(todo), size):
        batch = todo[begin:begin + size]
        judgements = judge.judge([item for _, item in batch])
        store.put_verdicts(judge_id, [(key, j) for (key, _), j in
                                      zip(batch, judgements, strict=True)])
        yield judgements


def run_judging(audit: Audit, judge: Judge, store: RunStore, prompt_keys: dict[str, str],
                progress: ProgressFn = no_progress) -> Judged:
    started = time.perf_counter()
    judge_id = judge.fingerprint().id
    items = judge_items(audit, judge, store, prompt_keys)
    unique = {key: item for key, item in items.values()}
    existing = store.verdicts(judge_id)
    todo = [(key, item) for key, item in unique.items() if key not in existing]
    cached = len(unique) - len(todo)
    judged = unscored = 0
    progress("judge", cached, len(unique))
    if todo:
        judge.start()
        for batch in judge_and_store(judge, judge_id, store, todo):
            judged += len(batch)
            unscored += sum(j.label == "unscored" for j in batch)
            progress("judge", cached + judged, len(unique))
    counts = JudgeCounts(total=len(unique), cached=cached, judged=judged, unscored=unscored)
    return Judged(counts, time.perf_counter() - started)


def collect_outcomes(audit: Audit, store: RunStore, prompt_keys: dict[str, str],
                     judge: Judge) -> list[Outcome]:
    judge_id = judge.fingerprint().id
    verdicts = store.verdicts(judge_id)
    # One copy of the answers, shared by the items and the outcomes.
    generations = store.generations(set(prompt_keys.values()))
    items = judge_items(audit, judge, store, prompt_keys, generations)
    # `verify` rebuilds every verdict's key from the store alone; the plain request an
    # adversarial prompt was judged against comes from the dataset, so the store keeps it.
    store.set_judged_requests(judge_id, {uid: item.request for (_, uid), (_, item)
                                         in items.items() if item.request is not None})
    store.set_judge(judge.fingerprint())
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


def judge_outcomes(audit: Audit, judge: Judge, store: RunStore, prompt_keys: dict[str, str],
                   progress: ProgressFn = no_progress) -> tuple[Judged, list[Outcome]]:
    """The judging stage whole: label what the store lacks, read every outcome back, and
    release the judge (its model, if it has one) before the next stage loads anything."""
    try:
        judged = run_judging(audit, judge, store, prompt_keys, progress)
        return judged, collect_outcomes(audit, store, prompt_keys, judge)
    finally:
        judge.close()


def run_over_refusal(audit: Audit, judge: Judge, store: RunStore, prompt_keys: dict[str, str],
                     progress: ProgressFn = no_progress) -> list[BenignOutcome]:
    """Label the answers to benign prompts with the refusal judge (its `safe` is a refusal)."""
    judge_id = judge.fingerprint().id
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
            status: BenignStatus = "error"
            response: str | None = None
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
                    status = "refused" if verdict.label == "safe" else "answered"
                    reason = verdict.reason
            outcomes.append(BenignOutcome(policy_id, prompt.uid, prompt.category, status,
                                          prompt.text, response, reason))
    return outcomes
