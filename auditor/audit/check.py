"""One audit end to end, the order `check` runs in: plan → generate → judge → score → write.
`rejudge` runs the same from judging on, over a run's stored answers.

Reads the plan from `auditor.data.plan` and the judges from `auditor.judges.build`, each built
once; the stages store as they go, so a killed run resumes where it stopped.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from auditor import __version__
from auditor.core.clock import utc_now_text
from auditor.core.errors import AuditorError
from auditor.core.identity import TargetFingerprint
from auditor.core.outcome import BenignOutcome, Outcome
from auditor.core.progress import ProgressFn
from auditor.data.plan import Audit
from auditor.judges import JudgeWithCard, build_judge, build_refusal_judge
from auditor.outputs import files
from auditor.outputs.caveats import run_caveats
from auditor.outputs.evidence.pack import StoreFacts, evidence_for_run, store_facts
from auditor.outputs.evidence.record import criteria_sha256
from auditor.outputs.manifest import remove_manifest, remove_stale_temporaries, write_manifest
from auditor.outputs.records import Results, StageCounts
from auditor.outputs.signing import Signer, sign_run
from auditor.outputs.writers import (
    WRITERS,
    JudgeFacts,
    RunOutputs,
    build_results,
    dataset_record,
    output_names,
)
from auditor.review.state import Review, certifying_miss, load_review, review_cells
from auditor.stages.generation import GenerateCounts, run_generation, stored_counts
from auditor.stages.judging import judge_outcomes, run_over_refusal
from auditor.stages.store import RunStore
from auditor.stats.family import scored_family
from auditor.stats.over_refusal import OverRefusalRecord, assess_over_refusal
from auditor.stats.review_cells import planned
from auditor.stats.scoring import PolicyRecord, score_policy
from auditor.targets import make_target


@dataclass
class RunSummary:
    results: Results
    refused_urls: list[str]  # URLs the PDF renderer refused (listed in the audit trail too)


@dataclass
class Judges:
    """The run's judges, built once before any model is called: the safety judge with its
    card, and the refusal judge of the benign prompts (None when no policy asks)."""

    safety: JudgeWithCard
    over_refusal: JudgeWithCard | None
    started: float
    timings: dict[str, float] = field(default_factory=dict)

    @classmethod
    def for_audit(cls, audit: Audit, safety: JudgeWithCard | None = None) -> Judges:
        config = audit.policy_file.judge
        return cls(safety or build_judge(config, audit.base_dir),
                   build_refusal_judge(config, audit.base_dir) if audit.plan.benign else None,
                   time.perf_counter())


def run_check(policy_path: Path, out_dir: Path, progress: ProgressFn,
              target: str | None = None, signer: Signer | None = None
              ) -> RunSummary:
    """The whole audit of one target: generate what the store lacks, then judge, score and
    write (and sign, with `signer`). `target` names one of the policy file's `targets`."""
    audit = Audit.load(policy_path, target)
    judges = Judges.for_audit(audit)  # a bad judge or card fails before any model call
    model = make_target(audit.policy_file.target)  # built, not loaded: that is a stage
    with RunStore(out_dir) as store:
        run_id = store.run_id() or uuid.uuid4().hex
        store.set_meta("run_id", run_id)
        store.note_criteria(audit_criteria_sha256(audit),
                            utc_now_text())
        try:
            generated = run_generation(audit, model, store, progress)
        finally:
            model.close()  # free the GPU before a judge model loads
        judges.timings["generate"] = generated.seconds
        # A cached rerun generates nothing in no time: keep the run that did beside it.
        if generated.counts.generated:
            store.set_meta("generate_s_when_generated", generated.seconds)
        elif (earlier := store.get_meta("generate_s_when_generated")) is not None:
            judges.timings["generate, when the answers were made"] = float(earlier)
        refuse_if_nothing_answered(store, generated.prompt_keys, generated.counts)
        return judge_and_write(audit, store, out_dir, generated.prompt_keys, judges,
                               generated.counts, progress, signer)


def audit_criteria_sha256(audit: Audit) -> str:
    policy_file = audit.policy_file
    return criteria_sha256(policy_file.scoring.confidence,
                           ((p.id, p.micro_categories(), p.threshold, p.severity)
                            for p in policy_file.policies))


def rejudge(run_dir: Path, policy_path: Path, judge: JudgeWithCard, progress: ProgressFn,
            out_dir: Path, target: str | None = None) -> RunSummary:
    """Judge a run's stored generations again with another judge; never generates.

    The store in `run_dir` is read (and gains the new verdicts); the outputs go to `out_dir`,
    so the run's own results are never replaced.
    """
    audit = Audit.load(policy_path, target)
    judges = Judges.for_audit(audit, judge)
    with RunStore(run_dir) as store:
        prompt_keys = store.prompt_keys()
        if not prompt_keys:
            raise AuditorError(f"{run_dir} holds no generations",
                               hint="run `auditor check` first")
        missing = set(audit.plan.prompts) - set(prompt_keys)
        if missing:
            raise AuditorError(f"the policy file selects {len(missing)} prompts that this run "
                               "did not generate", hint="rejudge with the run's own policy file")
        out_dir.mkdir(parents=True, exist_ok=True)
        return judge_and_write(audit, store, out_dir, prompt_keys, judges,
                               stored_counts(store, prompt_keys), progress)


def judge_and_write(audit: Audit, store: RunStore, out_dir: Path, prompt_keys: dict[str, str],
                    judges: Judges, generated: GenerateCounts, progress: ProgressFn,
                    signer: Signer | None = None) -> RunSummary:
    """The stages `check` and `rejudge` share: judge, collect outcomes, score, write."""
    judged, outcomes = judge_outcomes(audit, judges.safety.judge, store, prompt_keys, progress)
    benign = None
    if judges.over_refusal is not None:
        benign = run_over_refusal(audit, judges.over_refusal.judge, store, prompt_keys,
                                  progress)
    judges.timings["judge"] = judged.seconds
    review = load_review(store, outcomes, judges.safety.judge.fingerprint().id,
                         audit.policy_file.scoring.confidence)
    counts = StageCounts(generate=generated, judge=judged.counts.model_copy(update={
        "unscored": sum(o.status == "unscored" for o in outcomes)}))
    target = store.target()
    assert target is not None, "the generation stage records it"
    judge_ids = [j.judge.fingerprint().id for j in (judges.safety, judges.over_refusal) if j]
    # The version that writes the outputs, kept where the manifest's digest covers it: verify
    # compares results.json's version with it before it leaves any wording uncompared.
    store.set_meta("auditor_version", __version__)
    created_at = utc_now_text()
    if store.folder.resolve() == out_dir.resolve():  # a check, not a re-judge into a subfolder
        # page 1's facts, where the manifest's digest covers them: verify compares
        # results.json's with these
        store.set_meta("run_facts", {
            "created_at": created_at, "config_sha256": audit.policy_sha256,
            "dataset": dataset_record(audit).model_dump(mode="json")})
    return finish(audit, outcomes, benign, judges, RunFacts(
        store.run_id() or "", target, counts, store.generation_rows(), store.folder,
        store.digest(judge_ids), review, created_at, store_facts(store)), out_dir, signer)


@dataclass
class RunFacts:
    """What the store knows of a run, for its outputs."""

    run_id: str
    target: TargetFingerprint
    counts: StageCounts
    generations: Iterable[dict[str, object]]  # streamed from the store, never all in memory
    store_dir: Path  # where the store is (beside the outputs, except for rejudge)
    store_sha256: str  # the store's content the outputs are computed from (the manifest's)
    review: Review | None = None  # people's labels of a sample of the answers, if any
    created_at: str | None = None  # when the outputs are written (recorded in the store)
    evidence_facts: StoreFacts | None = None  # what the evidence pack takes from the store


def finish(audit: Audit, outcomes: list[Outcome], benign: list[BenignOutcome] | None,
           judges: Judges, facts: RunFacts, out_dir: Path,
           signer: Signer | None = None) -> RunSummary:
    """Score every policy and write every output: results.json first, the report last, then
    the manifest, and its signature when there is a `signer`."""
    policies = score_policies(audit, outcomes, judges.safety, benign, judges.over_refusal,
                              facts.review)
    judges.timings["total"] = time.perf_counter() - judges.started
    results = build_results(
        audit, policies, outcomes, run_id=facts.run_id, target=facts.target,
        created_at=facts.created_at or utc_now_text(),
        judge=JudgeFacts(judges.safety.judge.fingerprint(), judges.safety.card),
        timings=judges.timings, counts=facts.counts,
        over_refusal_judge=JudgeFacts(judges.over_refusal.judge.fingerprint(),
                                      judges.over_refusal.card) if judges.over_refusal else None,
        caveats=run_caveats(audit.plan, outcomes, judges.safety.card),
        review=facts.review.record if facts.review else None,
        signed_by=signer.fingerprint if signer else None,
        signer=signer.name if signer else None)
    written = [name for name in output_names()
               if name != files.OVER_REFUSAL or benign is not None]
    assert facts.evidence_facts is not None, "judge_and_write reads them from the store"
    evidence = evidence_for_run(out_dir, results, outcomes, facts.evidence_facts, written)
    run = RunOutputs(results, outcomes, benign, facts.generations, evidence=evidence)
    write_outputs(run, out_dir, facts.store_dir, facts.store_sha256)
    if signer is not None:
        sign_run(out_dir, signer)
    return RunSummary(results, run.refused_urls)


def score_policies(audit: Audit, outcomes: list[Outcome], safety: JudgeWithCard,
                   benign: list[BenignOutcome] | None, refusal: JudgeWithCard | None,
                   review: Review | None = None) -> list[PolicyRecord]:
    """Every policy's record: its safety score (from people's labels where a review covers
    it, else judge-corrected with the judge's card) and, where it asks, its over-refusal
    (corrected with the refusal judge's safe-prompt card)."""
    policy_file = audit.policy_file
    scoring = policy_file.scoring
    card = safety.card.confusion if safety.card else None
    refusal_card = refusal.card.confusion if refusal and refusal.card else None
    samples = audit.provenance.kind == "samples"  # the next step then points to ALERT
    inputs = []
    for policy in policy_file.policies:
        over_refusal: OverRefusalRecord | None = None
        config = policy_file.over_refusal_of(policy)
        if config is not None and benign is not None:
            over_refusal = assess_over_refusal(
                [o for o in benign if o.policy_id == policy.id], config, scoring.weighting,
                scoring.interval, scoring.confidence, scoring.max_unscored_rate, refusal_card)
        mine = [o for o in outcomes if o.policy_id == policy.id]
        cells = review_cells(mine, review.labels if review else None, scoring.weighting,
                             (card.sensitivity, card.specificity) if card else None)
        inputs.append((policy, mine, over_refusal, cells))

    def score_at(index: int, confidence: float) -> PolicyRecord:
        policy, mine, over_refusal, cells = inputs[index]
        return score_policy(
            policy, mine, scoring.model_copy(update={"confidence": confidence}), card,
            audit.plan.available_for(policy.id), sample_data=samples,
            over_refusal=over_refusal, review=cells,
            planned=planned(cells, mine, card.sensitivity if card else None,
                            card.specificity if card else None),
            reviewer_miss=certifying_miss(review))

    return scored_family(score_at, len(inputs), scoring)


def write_outputs(run: RunOutputs, out_dir: Path, store_dir: Path, store_sha256: str) -> None:
    """Every registered writer in order, then the manifest. Until the manifest is written
    again the set counts as unfinished (`auditor verify`)."""
    remove_stale_temporaries(out_dir)
    remove_manifest(out_dir)
    for writer in WRITERS:
        writer.write(run, out_dir)
    write_manifest(out_dir, store_dir, store_sha256)


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
