"""One audit run end to end: stages → scores → results.json → JSONL → junit.xml → HTML → PDF.

`results.json` is written first; the report is rendered from it, so `auditor report DIR`
re-renders exactly what a run would, and `rejudge` reuses stored generations.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.caveats import run_caveats
from auditor.dataset import sha256_of
from auditor.errors import AuditorError
from auditor.judge_cards import checked_card, read_card, resolve_card_path
from auditor.judges import Judge
from auditor.judges.refusal import RefusalJudge
from auditor.manifest import (
    remove_manifest,
    remove_stale_temporaries,
    write_manifest,
)
from auditor.outcome import Outcome
from auditor.over_refusal import BenignOutcome, assess_over_refusal
from auditor.pipeline import (
    Audit,
    ProgressFn,
    build_judge,
    build_target,
    collect_outcomes,
    run_generation,
    run_judging,
    run_over_refusal,
)
from auditor.records import GenerateCounts, JudgeCounts, Results, StageCounts
from auditor.report.context import report_context, shown_outcomes
from auditor.report.render import render_html, render_pdf
from auditor.results import (
    OverRefusalFacts,
    atomic_write,
    build_results,
    junit_xml,
    write_benign_outcomes_jsonl,
    write_outcomes_jsonl,
)
from auditor.scoring import card_from_metrics, score_policy
from auditor.store import RunStore

RESULTS = "results.json"
OUTCOMES = "outcomes.jsonl"
GENERATIONS = "generations.jsonl"
OVER_REFUSAL = "over_refusal.jsonl"
JUNIT = "junit.xml"
HTML = "report.html"
PDF = "report.pdf"


@dataclass
class RunSummary:
    results: dict[str, Any]
    refused_urls: list[str]  # URLs the PDF renderer refused (listed in the audit trail too)


def load_judge_card(audit: Audit, judge: Judge) -> dict[str, Any] | None:
    """The judge's validation metrics: the policy's `judge.card` file, else the packaged one."""
    config = audit.policy_file.judge
    if config.card:
        path = resolve_card_path(config.card, audit.policy_path.parent)
        return checked_card(read_card(path), judge, config.force_card)
    return judge.card()


@dataclass
class Judging:
    """What the judging stage needs beyond the store: the judge, its card and the clock."""

    judge: Judge
    card: dict[str, Any] | None
    started: float
    timings: dict[str, float] = field(default_factory=dict)


def run_check(policy_path: Path, out_dir: Path, progress: ProgressFn) -> RunSummary:
    """The whole audit: generate what the store lacks, then judge, score and write."""
    started = time.perf_counter()
    audit = Audit.load(policy_path)
    with RunStore(out_dir) as store:
        run_id = store.get_meta("run_id") or uuid.uuid4().hex
        store.set_meta("run_id", run_id)
        judge = build_judge(audit)
        judging = Judging(judge, load_judge_card(audit, judge), started)  # fails before calls
        target = build_target(audit)
        try:
            prompt_keys, gen_stats = run_generation(audit, target, store, progress)
        finally:
            target.close()  # free the GPU before a judge model loads
        judging.timings["generate"] = gen_stats.seconds
        generated = GenerateCounts(total=gen_stats.total, cached=gen_stats.cached,
                                   generated=gen_stats.done,
                                   errors=store_error_count(store, prompt_keys))
        refuse_if_nothing_answered(store, prompt_keys, generated)
        return judge_and_write(audit, store, out_dir, prompt_keys, judging, generated, progress)


def rejudge(run_dir: Path, policy_path: Path, judge: Judge, progress: ProgressFn,
            card: dict[str, Any] | None, out_dir: Path) -> RunSummary:
    """Judge a run's stored generations again with another judge; never generates.

    The store in `run_dir` is read (and gains the new verdicts); the outputs go to `out_dir`,
    so the run's own results are never replaced.
    """
    started = time.perf_counter()
    audit = Audit.load(policy_path)
    with RunStore(run_dir) as store:
        prompt_keys = store.get_meta("prompt_keys")
        if not prompt_keys:
            raise AuditorError(f"{run_dir} holds no generations",
                               hint="run `auditor check` first")
        missing = set(audit.plan.prompts) - set(prompt_keys)
        if missing:
            raise AuditorError(f"the policy file selects {len(missing)} prompts that this run "
                               "did not generate", hint="rejudge with the run's own policy file")
        stored = len(set(prompt_keys.values()))
        generated = GenerateCounts(total=stored, cached=stored, generated=0,
                                   errors=store_error_count(store, prompt_keys))
        out_dir.mkdir(parents=True, exist_ok=True)
        return judge_and_write(audit, store, out_dir, prompt_keys,
                               Judging(judge, card, started), generated, progress)


def judge_and_write(audit: Audit, store: RunStore, out_dir: Path, prompt_keys: dict[str, str],
                    judging: Judging, generated: GenerateCounts, progress: ProgressFn
                    ) -> RunSummary:
    """The stages `check` and `rejudge` share: judge, collect outcomes, score, write."""
    judge = judging.judge
    try:
        judge_stats = run_judging(audit, judge, store, prompt_keys, progress)
        outcomes = collect_outcomes(audit, store, prompt_keys, judge)
    finally:
        judge.close()
    refusals = run_over_refusal(audit, store, prompt_keys, progress)
    judging.timings["judge"] = judge_stats.seconds
    counts = StageCounts(generate=generated, judge=JudgeCounts(
        total=judge_stats.total, cached=judge_stats.cached, judged=judge_stats.done,
        unscored=sum(o.status == "unscored" for o in outcomes)))
    return finish(audit, outcomes, out_dir, RunFacts(
        run_id=store.get_meta("run_id"), target=target_record(store),
        judge=judge.fingerprint(), card=judging.card, counts=counts,
        generations=store.iter_generation_rows(), over_refusal=refusals,
        store_dir=store.folder), judging)


def target_record(store: RunStore) -> dict[str, Any]:
    """The target's fingerprint, with each server's record when it was a fleet."""
    target = dict(store.get_meta("target_fingerprint"))
    servers = store.get_meta("target_servers")
    if servers:
        target["servers"] = servers
    return target


def refuse_if_nothing_answered(store: RunStore, prompt_keys: dict[str, str],
                               generated: GenerateCounts) -> None:
    """A run in which every request failed measured nothing about the model: it gets no
    compliance report, only an error that says what failed (the failures stay in the store and
    are retried by a rerun)."""
    if generated.total == 0 or generated.errors < generated.total:
        return
    errors = Counter(g.error for g in store.generations(set(prompt_keys.values())).values()
                     if g.error is not None)
    common, times = errors.most_common(1)[0]
    raise AuditorError(
        f"every one of the {generated.total} requests to the model failed (most often, "
        f"{times} times: {common}); no report was written, since nothing about the model was "
        "measured",
        hint="fix the target (for a server: is it running, and does base_url end in /v1?), "
             "then rerun the same command: the failed prompts are retried")


def store_error_count(store: RunStore, prompt_keys: dict[str, str]) -> int:
    return sum(g.error is not None for g in store.generations(set(prompt_keys.values())).values())


@dataclass
class RunFacts:
    """What the store knows of a run, for its outputs."""

    run_id: str
    target: dict[str, Any]
    judge: dict[str, Any]
    card: dict[str, Any] | None
    counts: StageCounts
    generations: Iterable[dict[str, Any]]  # streamed from the store, never all in memory
    over_refusal: tuple[RefusalJudge, list[BenignOutcome]] | None = None
    store_dir: Path | None = None  # where the store is, if not beside the outputs (rejudge)


def finish(audit: Audit, outcomes: list[Outcome], out_dir: Path, facts: RunFacts,
           judging: Judging) -> RunSummary:
    """Score every policy and write every output: results.json first, the report last."""
    scoring = audit.policy_file.scoring
    judge_card = card_from_metrics(facts.card) if facts.card else None
    results = [score_policy(policy, [o for o in outcomes if o.policy_id == policy.id], scoring,
                            judge_card, audit.plan.available_for(policy.id))
               for policy in audit.policy_file.policies]
    refusals = score_over_refusal(audit, facts.over_refusal)
    judging.timings["total"] = time.perf_counter() - judging.started
    record = build_results(audit, results, outcomes, run_id=facts.run_id,
                           created_at=datetime.now(UTC).isoformat(timespec="seconds"),
                           target=facts.target, judge=facts.judge, judge_card=facts.card,
                           timings=judging.timings, stage_counts=facts.counts.model_dump(),
                           over_refusal=refusals,
                           caveats=run_caveats(audit, outcomes, facts.card))
    data = record.model_dump()
    # The records first, results.json next, the report after it and the manifest last: until
    # the manifest is written again the set counts as unfinished (`auditor verify`).
    remove_stale_temporaries(out_dir)
    remove_manifest(out_dir)
    write_outcomes_jsonl(out_dir / OUTCOMES, outcomes)
    if facts.over_refusal is not None:
        write_benign_outcomes_jsonl(out_dir / OVER_REFUSAL, facts.over_refusal[1])
    atomic_write(out_dir / GENERATIONS, "".join(
        json.dumps({k: g[k] for k in ("key", "prompt_text", "system_prompt", "text",
                                      "finish_reason", "completion_tokens", "latency_s",
                                      "error", "attempts")}, ensure_ascii=False) + "\n"
        for g in facts.generations))
    atomic_write(out_dir / JUNIT, junit_xml(data))
    atomic_write(out_dir / RESULTS, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    refused = render_reports(out_dir, data)
    write_manifest(out_dir, facts.store_dir or out_dir)
    return RunSummary(data, refused)


def score_over_refusal(audit: Audit, judged: tuple[RefusalJudge, list[BenignOutcome]] | None
                       ) -> OverRefusalFacts | None:
    """Each policy's over-refusal, corrected with the refusal judge's safe-prompt card."""
    if judged is None:
        return None
    judge, benign_outcomes = judged
    policy_file = audit.policy_file
    scoring = policy_file.scoring
    card = judge.over_refusal_card()
    card_counts = card_from_metrics(card) if card else None
    results = {}
    for policy in policy_file.policies:
        config = policy_file.over_refusal_of(policy)
        if config is not None:
            results[policy.id] = assess_over_refusal(
                [o for o in benign_outcomes if o.policy_id == policy.id], config,
                scoring.weighting, scoring.interval, scoring.confidence,
                scoring.max_unscored_rate, card_counts)
    return OverRefusalFacts(results, judge.fingerprint(), card)


def render_reports(out_dir: Path, results: dict[str, Any], verified: bool = True) -> list[str]:
    """report.html and report.pdf from results.json; an unverified run's pages say so.

    Returns the URLs the renderer refused to fetch. Escaped text never asks for one, so there
    are none unless a template goes wrong; if there are, the report is rendered again with
    them listed in its audit trail.
    """
    outcomes = shown_outcomes(jsonl_rows(out_dir / OUTCOMES))
    context = report_context(results, outcomes)
    context.update(results_sha256=sha256_of(out_dir / RESULTS), verified=verified,
                   refused_urls=[])
    html = render_html("report.html.j2", context)
    atomic_write(out_dir / HTML, html)
    refused = render_pdf(html, out_dir / PDF)
    if refused:
        context["refused_urls"] = refused
        html = render_html("report.html.j2", context)
        atomic_write(out_dir / HTML, html)
        render_pdf(html, out_dir / PDF)
    return refused


# An outcome line holds a prompt and an answer (at most 16 MiB, max_answer_bytes' ceiling).
MAX_LINE_CHARS = 40 * 1024 * 1024
DAMAGED_HINT = ("rerun `auditor check` with the same policy and --out: every output is "
                "rewritten from the run's store, with no model call")


def jsonl_rows(path: Path) -> Iterator[dict[str, Any]]:
    """The JSON objects of a run's JSONL output, one per line, streamed. A missing file or a
    damaged line is a clear error naming the file and line, never a traceback."""
    try:
        handle = path.open(encoding="utf-8")
    except FileNotFoundError:
        raise AuditorError(f"{path} is missing", hint=DAMAGED_HINT) from None
    except OSError as exc:
        raise AuditorError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        try:
            for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_CHARS + 1), ""),
                                          start=1):
                if len(line) > MAX_LINE_CHARS:
                    raise AuditorError(f"{path}:{number}: damaged line, longer than any "
                                       "outcome record", hint=DAMAGED_HINT)
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise AuditorError(f"{path}:{number}: damaged line, not valid JSON "
                                       f"({type(exc).__name__})", hint=DAMAGED_HINT) from None
                if not isinstance(row, dict) or not isinstance(row.get("status"), str):
                    raise AuditorError(f"{path}:{number}: damaged line, not an outcome record",
                                       hint=DAMAGED_HINT)
                yield row
        except UnicodeDecodeError:
            raise AuditorError(f"{path}: damaged, not UTF-8 text", hint=DAMAGED_HINT) from None


def read_outcomes(out_dir: Path) -> list[dict[str, Any]]:
    return list(jsonl_rows(out_dir / OUTCOMES))


def read_benign_outcomes(out_dir: Path) -> list[dict[str, Any]]:
    """The run's answers to benign prompts (empty when it measured no over-refusal)."""
    path = out_dir / OVER_REFUSAL
    if not path.exists():
        return []
    return list(jsonl_rows(path))


# results.json holds counts and short texts; far past this it is not one (and reading it whole
# would take the memory it claims).
MAX_RESULTS_BYTES = 64 * 1024 * 1024


def read_results(out_dir: Path) -> dict[str, Any]:
    path = out_dir / RESULTS
    try:
        if path.stat().st_size > MAX_RESULTS_BYTES:
            raise AuditorError(f"{path} is {path.stat().st_size // (1024 * 1024)} MiB, larger "
                               f"than any results.json ({MAX_RESULTS_BYTES // (1024 * 1024)} "
                               "MiB at most): it is damaged or not one", hint=DAMAGED_HINT)
        data: dict[str, Any] = Results.model_validate(
            json.loads(path.read_text(encoding="utf-8"))).model_dump()
    except FileNotFoundError:
        raise AuditorError(f"{path} not found",
                           hint="pass the --out folder of a finished `auditor check`") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors()[:5])
        raise AuditorError(f"{path} is not a results.json of this version ({problems})",
                           hint="re-run `auditor check`, or use the auditor version that "
                                "wrote it") from None
    except ValueError as exc:
        raise AuditorError(f"{path} is not valid JSON: {exc}") from None
    return data
