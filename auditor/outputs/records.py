"""The shape of results.json: the typed record of one run, read and written by every output
(report, JUnit, the terminal summary, compare, verify), and the schema generated from it.

`auditor/outputs/results.schema.json` is generated from `Results` (`make schema`), and a test
fails when the committed file drifts from the model. Its parts are the types of the stages that
produce them: a policy's record is `auditor.stats.scoring.PolicyRecord`, a judge card
`auditor.core.identity.JudgeCard`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import Field

from auditor.config.policy import Organisation, PromptSampling, Scoring
from auditor.config.registry import JUDGES
from auditor.core.identity import (
    JudgeCard,
    JudgeFingerprint,
    JudgeMetrics,
    Record,
    TargetFingerprint,
)
from auditor.core.verdicts import Verdict
from auditor.data.dataset import FileInfo
from auditor.stages.generation import GenerateCounts
from auditor.stages.judging import JudgeCounts
from auditor.stats.scoring import BreakdownRow, PolicyRecord

SCHEMA_VERSION = 2  # 2: intervals from auditor.stats.estimators; judge cards carry their construct
SCHEMA_PATH = Path(__file__).parent / "results.schema.json"


class Tool(Record):
    name: str
    version: str


class ConfigRef(Record):
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$|^<")


class PlainMatchCounts(Record):
    """Adversarial prompts of one attack type, and how many were matched to a plain request."""

    rows: int
    exact: int
    nearest: int
    unmatched: int


class DatasetRecord(Record):
    name: str
    source: str
    revision: str | None
    licence: str
    citation: str
    files: list[FileInfo]
    kind: Literal["alert", "samples", "local"] | None = Field(
        None, description="alert: ALERT from the Hub; samples: the project's own sample "
        "prompts in ALERT's format; local: a user's files in ALERT's format.")
    description: str | None = Field(None, description="What the prompts are, in one sentence.")
    plain_requests: dict[str, PlainMatchCounts] | None = Field(
        None, description="Per adversarial attack type: how many of the run's prompts were "
        "matched to the plain ALERT request they were built from (exactly, or by nearest "
        "match), which judges that read the request compare the answer with.")


class JudgeRecord(JudgeFingerprint):
    """The judge's fingerprint (`kind`, `id`, …) and its card (null if unvalidated)."""

    card: JudgeCard | None


class TargetSampling(Record):
    max_tokens: int
    temperature: float
    system_prompt: str | None


class StageCounts(Record):
    generate: GenerateCounts
    judge: JudgeCounts


class Overall(Record):
    verdict: Verdict = Field(description="FAIL if any safety or over-refusal verdict fails, "
                             "else INCONCLUSIVE if any is, else PASS.")
    policies: dict[Verdict, int]
    over_refusal: dict[Verdict, int] | None = Field(
        None, description="Over-refusal verdicts, for policies with a max_rate.")


class Breakdowns(Record):
    micro: list[BreakdownRow]
    macro: list[BreakdownRow]
    attack_type: list[BreakdownRow]
    micro_x_attack: list[BreakdownRow]


class ReviewerRecord(Record):
    name: str
    labels: int = Field(description="Answers of the review sample this reviewer labelled "
                        "safe or unsafe (skips aside).")
    first: str = Field(description="When the first of them was given (UTC).")
    last: str = Field(description="When the last was given (UTC).")


class ReviewerChecks(Record):
    """One reviewer's labels on the known-unsafe answers mixed blind into the review."""

    name: str
    checks: int = Field(description="Known-unsafe answers this reviewer labelled safe or "
                        "unsafe.")
    missed: int = Field(description="Of them, labelled safe.")
    miss_rate: float | None = Field(description="missed ÷ checks; null with no check labelled.")
    miss_high: float = Field(description="The miss rate's upper bound at the run's confidence "
                             "(Clopper–Pearson); 1 with no check labelled.")


class ReviewedCategory(Record):
    """One policy's sampled answers in one category, as people labelled them (settled)."""

    policy_id: str
    category: str
    safe: int
    unsafe: int
    skip: int


class FoundUnsafe(Record):
    """An answer reviewers labelled unsafe (the report quotes it from outcomes.jsonl)."""

    policy_id: str
    uid: str
    category: str


class ReviewPlanRecord(Record):
    """One policy's pooled review plan, as `review sample` fixed it."""

    design: Literal["simple", "flagged-first", "stratified"]
    aim: float = Field(description="The safe share the run suggested for the tested part "
                       "(every answer, or the answers after the census).")
    aimed_at: float = Field(description="The safe share that part must show for the policy "
                            "to PASS, as planned.")
    flagged_labels: float | None = Field(None, description="Stratified: the flagged answers' "
                                         "share of the labels.")
    flagged_aim: float | None = Field(None, description="Anytime stratified: the safe share "
                                      "the run suggested for the flagged answers (`aim` is "
                                      "the rest's).")
    prior: Literal["aimed", "spread"] = Field(
        "aimed", description="Anytime: the test's prior, aimed at `aim` (the run suggested a "
        "safety) or spread evenly over the shares that meet `aimed_at` (a judge card showed "
        "the judge cannot tell safe from unsafe, so the run suggested none).")


class ReviewRecord(Record):
    """The run's human review, as results.json records it (the labels are in the store:
    `auditor review export --labelled`)."""

    design: Literal["simple", "stratified", "flagged-first"] = Field(
        description="simple: each policy's answers in a seeded random order; flagged-first: "
        "for at least one policy, every answer the judge flagged or left unscored first, then "
        "the rest in a seeded random order (`plans` says which); stratified: by category "
        "and verdict (equal weighting, and samples drawn before 0.4.0).")
    plans: dict[str, ReviewPlanRecord] | None = Field(
        None, description="Each policy's pooled review (samples drawn since 0.4.0): its "
        "design and what its test's prior was aimed at, fixed before any label.")
    sample: int = Field(description="Answers in the review sample.")
    labelled: int = Field(description="Of them, labelled safe or unsafe (settled).")
    disagreements: int = Field(description="Answers reviewers labelled both safe and unsafe; "
                               "they count as unsafe (any reviewer's unsafe stands).")
    reviewers: list[ReviewerRecord]
    used: bool = Field(description="Whether the labels are scored. A stratified sample is "
                       "scored only under the judge whose verdicts it was stratified by.")
    scoring: Literal["anytime", "fixed"] = Field(
        "fixed", description="anytime: a confidence sequence, valid however many times the "
        "labels are scored as they arrive; fixed: Clopper–Pearson, scored once every sampled "
        "answer is labelled. Chosen at `auditor review sample`.")
    complete: bool = Field(True, description="Every sampled answer has been seen by a "
                           "reviewer (a fixed review is scored only then).")
    reviewers_per_answer: int = Field(1, description="How many people must label an answer "
                                      "before it counts (`review sample --reviewers`).")
    by_category: list[ReviewedCategory] = Field(
        default_factory=list, description="Per policy and category: the sampled answers "
        "labelled safe, unsafe and skipped.")
    found_unsafe: list[FoundUnsafe] = Field(
        default_factory=list, description="Answers reviewers labelled unsafe, up to 10 per "
        "policy.")
    between_reviewers: JudgeMetrics | None = Field(
        None, description="The two reviewers with the most answers in common, against each "
        "other (the first as truth): κ with its interval, on the answers both labelled.")
    agreement: JudgeMetrics | None = Field(None, description="The judge's verdicts against "
                                           "the settled labels of the sample (this model's "
                                           "own answers; positive class unsafe).")
    checks: list[ReviewerChecks] = Field(
        default_factory=list, description="Each reviewer's misses on known-unsafe answers "
        "mixed blind into their sheets and the terminal labeller.")
    miss_bound: float | None = Field(
        None, description="The highest miss-rate bound among the reviewers who labelled: with "
        "one label per answer, a PASS must hold with this share of unsafe answers missed, "
        "or it needs a second reviewer. Null with no reviewer yet.")


class Results(Record):
    """The machine-readable result and audit trail of one run. Scores are safe ÷ (safe +
    unsafe); errors and unscored answers are counted separately and never scored as safe."""

    schema_version: Literal[2]
    tool: Tool
    run_id: str = Field(description="Stable across resumes of the same --out folder.")
    created_at: str
    config: ConfigRef
    organisation: Organisation
    dataset: DatasetRecord
    target: TargetFingerprint
    judge: JudgeRecord
    sampling: PromptSampling
    target_sampling: TargetSampling
    scoring: Scoring
    timings_s: dict[str, float]
    counts: StageCounts
    overall: Overall
    policies: list[PolicyRecord]
    breakdown: Breakdowns
    caveats: list[str] = Field(default_factory=list, description="Run-level warnings a "
                               "reviewer must read: fewer prompts than asked, answers shorter "
                               "than the judge was measured on.")
    over_refusal_judge: JudgeRecord | None = Field(
        None, description="The refusal judge of the benign prompts, with its card (measured "
        "on answers to safe prompts); null when no policy measures over-refusal.")
    review: ReviewRecord | None = Field(None, description="The human review of the run's "
                                        "answers; null before `auditor review sample`.")
    signed_by: str | None = Field(
        None, description="Fingerprint of the Ed25519 key that signs this run's manifest "
        "(signature.json); `auditor verify` checks it against the keys the reader trusts. "
        "Null when unsigned.")
    signer: str | None = Field(
        None, description="The name the signer signs as (bound into signature.json's "
        "signature); a claim until `auditor verify` finds the key trusted.")

    def policy(self, policy_id: str) -> PolicyRecord:
        return next(p for p in self.policies if p.id == policy_id)

    @property
    def judge_construct(self) -> Literal["harm", "refusal"]:
        """What the judge's labels measure: from its card, else from its kind."""
        if self.judge.card is not None and self.judge.card.measures:
            return self.judge.card.measures
        return JUDGES.get(self.judge.kind).construct if self.judge.kind in JUDGES else "harm"

    def to_json(self) -> str:
        return json.dumps(self.model_dump(mode="json"), indent=2, ensure_ascii=False) + "\n"


def schema_text() -> str:
    schema = Results.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "auditor results.json"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
