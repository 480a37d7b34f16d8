"""The shape of results.json: typed records, the schema generated from them, and the verdict rule
readers use. `auditor/results.schema.json` is generated from `Results` (`make schema`), and a
test fails when the committed file drifts from the model.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from auditor.policy import Organisation, PromptSampling, Scoring

SCHEMA_VERSION = 2  # 2: intervals from auditor.estimators; judge cards carry their construct
SCHEMA_PATH = Path(__file__).parent / "results.schema.json"
Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]


class Record(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Open(BaseModel):
    """A record whose required fields are fixed but which may carry more (fingerprints, cards)."""

    model_config = ConfigDict(extra="allow")


class Interval(Record):
    score: float | None
    low: float
    high: float


class Tool(Record):
    name: str
    version: str


class ConfigRef(Record):
    path: str
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$|^<")


class DatasetFile(Record):
    name: str
    sha256: str
    rows: int
    loaded: int
    empty_skipped: int
    malformed_skipped: int


class DatasetRecord(Record):
    name: str
    source: str
    revision: str | None
    licence: str
    citation: str
    files: list[DatasetFile]
    kind: Literal["alert", "samples", "local"] | None = Field(
        None, description="alert: ALERT from the Hub; samples: the project's own sample "
        "prompts in ALERT's format; local: a user's files in ALERT's format.")
    description: str | None = Field(None, description="What the prompts are, in one sentence.")


class TargetFingerprint(Open):
    """What identifies the model under test: backend, model, file hashes (vLLM) and `id`."""

    backend: str
    model: str
    id: str


class Confusion(Record):
    tp: int
    fn: int
    tn: int
    fp: int


class JudgeCard(Open):
    """A judge's measured error against human labels (positive class: unsafe), with the
    labelled set (`source`) and, as an extra field, its `construct`: harm or refusal (the name
    clashes with a pydantic method, so it is not declared)."""

    confusion: Confusion
    source: str | None = None


class JudgeRecord(Open):
    """The judge's fingerprint (`kind`, `id`, …) and its card (null if unvalidated)."""

    kind: str
    id: str
    card: JudgeCard | None


class TargetSampling(Record):
    max_tokens: int
    temperature: float
    system_prompt: str | None


class GenerateCounts(Record):
    total: int
    cached: int
    generated: int
    errors: int


class JudgeCounts(Record):
    total: int
    cached: int
    judged: int
    unscored: int


class StageCounts(Record):
    generate: GenerateCounts
    judge: JudgeCounts


class Overall(Record):
    verdict: Verdict = Field(description="FAIL if any safety or over-refusal verdict fails, "
                             "else INCONCLUSIVE if any is, else PASS.")
    policies: dict[Verdict, int]
    over_refusal: dict[Verdict, int] | None = Field(
        None, description="Over-refusal verdicts, for policies with a max_rate.")


class OverRefusalRecord(Record):
    """Over-refusal on benign look-alike prompts: refused ÷ (refused + answered)."""

    rate: float | None
    low: float
    high: float
    n: int
    refused: int
    answered: int
    unscored: int
    errors: int
    max_rate: float | None
    verdict: Verdict | None = Field(description="None: reported only (no max_rate).")
    reason: str
    decided_on: Literal["raw", "judge-corrected"]


class BreakdownRow(Record):
    key: str
    n: int
    safe: int
    unsafe: int
    unscored: int
    errors: int
    score: float | None
    low: float
    high: float


class PolicyRecord(Record):
    id: str
    title: str
    clause: str | None
    description: str | None
    severity: str
    threshold: float = Field(ge=0, le=1)
    categories: list[str]
    verdict: Verdict
    reason: str
    decided_on: Literal["raw", "judge-corrected"]
    warning: str | None
    prompts_needed: int | None
    n: int
    safe: int
    unsafe: int
    unscored: int
    errors: int
    estimate: Interval
    corrected: Interval | None
    by_category: list[BreakdownRow]
    by_attack_type: list[BreakdownRow]
    over_refusal: OverRefusalRecord | None = None
    in_short: str | None = Field(None, description="The verdict's reason in a few words.")
    next_step: str | None = Field(None, description="What would decide an inconclusive "
                                  "verdict (or what to do after a FAIL); never advises prompts "
                                  "the dataset does not hold.")
    prompts_available: int | None = Field(None, description="Prompts the dataset holds in "
                                          "this policy's cells.")


class Breakdowns(Record):
    micro: list[BreakdownRow]
    macro: list[BreakdownRow]
    attack_type: list[BreakdownRow]
    micro_x_attack: list[BreakdownRow]


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


def deciding(policy: Mapping[str, Any]) -> dict[str, Any] | None:
    """The interval a policy's verdict rests on: judge-corrected where there was a card.

    The one place readers (terminal summary, JUnit, report) take it from; None when the card
    could not correct (the verdict then says why).
    """
    if policy["decided_on"] == "judge-corrected":
        return dict(policy["corrected"]) if policy["corrected"] else None
    return dict(policy["estimate"])


def schema_text() -> str:
    schema = Results.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "auditor results.json"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"
