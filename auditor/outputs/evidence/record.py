"""evidence.json: what a run records for a compliance reviewer beyond its scores.

Built from results.json, the run's outcomes and three facts from its store (when the
acceptance criteria were first used, when the first answer was made, the reviewers'
instructions), so that
`auditor evidence RUN` rebuilds it and `auditor verify` recomputes it:
- five answers per policy picked at random (seeded by the run's id and sampling seed), with a
  content warning, their text withheld on request (the picks stay, so they can be checked);
- the instructions the reviewers were given (the shipped text, or the organisation's own)
  and who the reviewers were;
- the risks the run did not measure: ALERT categories no policy covers, attack types not
  run, languages;
- the acceptance criteria and when they were fixed, against when the first answer was made;
- the report's version and what changed in it.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Literal, get_args

from pydantic import Field

from auditor.config.policy import AttackType
from auditor.core import taxonomy
from auditor.core.errors import AuditorError
from auditor.core.identity import Record
from auditor.core.outcome import Outcome
from auditor.outputs.records import Results, ReviewerRecord

EVIDENCE = "evidence.json"
SAMPLES_PER_POLICY = 5
INSTRUCTIONS_FILE = Path(__file__).with_name("reviewer-instructions.md")
DEFAULT_INSTRUCTIONS = "auditor's default reviewer instructions"
MAX_INSTRUCTIONS_BYTES = 64_000
CONTENT_WARNING = ("Content warning: these are a model's answers to harmful requests, picked "
                   "at random, and may contain offensive, dangerous or distressing text.")
WITHHELD = "[withheld by the organisation]"
ATTACK_TYPES: tuple[str, ...] = get_args(AttackType)
LANGUAGES = ("Every prompt is in English (ALERT is an English benchmark); the model's "
             "behaviour in other languages was not measured.")
LOCAL_LANGUAGES = ("The prompts are the organisation's own files, in whatever languages they "
                   "are written; auditor does not check which.")
ALSO_NOT_MEASURED = (
    "conversations of more than one turn",
    "tool use, retrieval and agentic actions",
    "harms outside ALERT's taxonomy (e.g. privacy leaks of training data, copyright)",
)
# What changed in the report, by version: an auditor comparing two reports of one model
# made by different versions reads why they differ.
REPORT_CHANGES: dict[str, tuple[str, ...]] = {
    "0.4.0": (
        "Every score says what it rests on (labels, or the judge's flags, corrected).",
        "Runs signed as a named signer; page 1 says whether the key is trusted.",
        "Evidence pack: sample answers, reviewer instructions, risks not measured, acceptance "
        "criteria, and one appendix page per framework (EU GPAI Code of Practice, NIST AI "
        "600-1, ISO/IEC 42001, ISO/IEC 42005).",
    ),
    "0.3.0": (
        "Human review scored per policy, with its label history kept.",
        "Over-refusal measured on benign look-alike prompts.",
    ),
    "0.2.0": ("Judge error carried into the scores; the manifest and signatures.",),
}


class SamplePair(Record):
    uid: str
    category: str
    attack_type: str
    judged: str = Field(description="The judge's label (safe, unsafe, unscored) or error.")
    prompt: str
    answer: str | None


class PolicySamples(Record):
    policy_id: str
    answered: int = Field(description="Answers the picks were drawn from.")
    pairs: list[SamplePair]


class Instructions(Record):
    source: str = Field(description="auditor's default, or the file the organisation gave.")
    sha256: str
    text: str


class ReviewEvidence(Record):
    instructions: Instructions
    reviewers: list[ReviewerRecord] = Field(description="Who labelled the review sample; empty "
                                            "when no person reviewed the run.")


class NotMeasured(Record):
    categories: list[str] = Field(description="ALERT micro categories no policy covers.")
    attack_types: list[str] = Field(description="ALERT attack types not run.")
    languages: str
    other: list[str]


class Circumvention(Record):
    attack_types_run: list[str] = Field(description="The adversarial attack types run (those "
                                        "that try to circumvent the model's safeguards).")


class PolicyCriteria(Record):
    policy_id: str
    threshold: float
    severity: str
    categories: list[str]


class Acceptance(Record):
    policy_file: str
    policy_file_sha256: str
    criteria_sha256: str = Field(description="sha256 of the criteria alone: each policy's "
                                 "categories, threshold and severity, and the confidence.")
    confidence: float
    policies: list[PolicyCriteria]
    fixed_at: str | None = Field(description="When this run folder first saw these criteria "
                                 "(UTC); null for runs made before auditor 0.4.0.")
    first_answer_at: str | None = Field(description="When the run's first answer was made.")
    fixed_before_answers: bool | None = Field(description="Whether the criteria were fixed "
                                              "before any answer was seen; null if unknown.")


class RecordFiles(Record):
    files: list[str] = Field(description="The run's output files, each hashed in manifest.json.")
    store: str = Field(description="What the store keeps and the manifest digests.")


class ReportVersion(Record):
    auditor_version: str
    format: int = Field(description="The report's layout version.")
    changes: list[str]


class Evidence(Record):
    format: Literal["auditor-evidence"] = "auditor-evidence"
    format_version: Literal[1] = 1
    run_id: str
    content_warning: str
    samples_withheld: bool
    samples: list[PolicySamples]
    review: ReviewEvidence
    not_measured: NotMeasured
    circumvention: Circumvention
    acceptance: Acceptance
    record: RecordFiles
    report: ReportVersion


REPORT_FORMAT = 4


def criteria_sha256(confidence: float,
                    policies: Iterable[tuple[str, Iterable[str], float, str]]) -> str:
    """The acceptance criteria's own hash, from each policy's (id, micro categories,
    threshold, severity): a change of sampling or model leaves it alone, a change of
    threshold, severity, scope or confidence does not."""
    criteria = {"confidence": confidence,
                "policies": [[pid, sorted(categories), threshold, severity]
                             for pid, categories, threshold, severity in policies]}
    return hashlib.sha256(json.dumps(criteria, sort_keys=True).encode()).hexdigest()


def results_criteria_sha256(results: Results) -> str:
    return criteria_sha256(results.scoring.confidence,
                           ((p.id, p.categories, p.threshold, p.severity)
                            for p in results.policies))


def load_instructions(path: Path | None) -> Instructions:
    """The organisation's reviewer instructions from `path`, else the shipped ones."""
    source = DEFAULT_INSTRUCTIONS if path is None else path.name
    target = INSTRUCTIONS_FILE if path is None else path
    try:
        data = target.read_bytes()[:MAX_INSTRUCTIONS_BYTES + 1]
    except OSError as exc:
        raise AuditorError(f"cannot read reviewer instructions {target}: {exc.strerror}",
                           hint="give a plain text or Markdown file") from None
    if len(data) > MAX_INSTRUCTIONS_BYTES:
        raise AuditorError(f"{target}: reviewer instructions over {MAX_INSTRUCTIONS_BYTES:,} "
                           "bytes", hint="give the instructions themselves, not an archive")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AuditorError(f"{target}: byte {exc.start} is not UTF-8",
                           hint="save the instructions as UTF-8 text") from None
    if not text.strip():
        raise AuditorError(f"{target} is empty", hint="write the instructions in it")
    return Instructions(source=source, sha256=hashlib.sha256(data).hexdigest(), text=text)


def pick_samples(results: Results, outcomes: list[Outcome], withheld: bool
                 ) -> list[PolicySamples]:
    """Five answers per policy, drawn by a generator seeded with the run's id, its sampling
    seed and the policy's id: anyone can redraw them from the run's outcomes."""
    samples = []
    for policy in results.policies:
        answered = sorted((o for o in outcomes
                           if o.policy_id == policy.id and o.response is not None),
                          key=lambda o: (o.uid, o.attack_type))
        rng = random.Random(f"{results.run_id}:{results.sampling.seed}:{policy.id}")
        picked = rng.sample(answered, min(SAMPLES_PER_POLICY, len(answered)))
        samples.append(PolicySamples(policy_id=policy.id, answered=len(answered), pairs=[
            SamplePair(uid=o.uid, category=o.category, attack_type=o.attack_type,
                       judged=o.status, prompt=WITHHELD if withheld else o.prompt,
                       answer=WITHHELD if withheld else o.response)
            for o in picked]))
    return samples


STORE_RECORD = ("store.sqlite: every request, answer, verdict and review label with its time; "
                "its content digest is in manifest.json")


def build_evidence(results: Results, outcomes: list[Outcome], instructions: Instructions,
                   criteria_first_seen: dict[str, str], first_answer_at: str | None,
                   files: list[str], withheld: bool = False) -> Evidence:
    covered = {c for p in results.policies for c in p.categories}
    run_types = set(results.sampling.attack_types)
    digest = results_criteria_sha256(results)
    fixed_at = criteria_first_seen.get(digest)
    return Evidence(
        run_id=results.run_id, content_warning=CONTENT_WARNING, samples_withheld=withheld,
        samples=pick_samples(results, outcomes, withheld),
        review=ReviewEvidence(instructions=instructions,
                              reviewers=results.review.reviewers if results.review else []),
        not_measured=NotMeasured(
            categories=[m for m in taxonomy.MICRO if m not in covered],
            attack_types=[a for a in ATTACK_TYPES if a not in run_types],
            languages=LOCAL_LANGUAGES if results.dataset.kind == "local" else LANGUAGES,
            other=list(ALSO_NOT_MEASURED)),
        circumvention=Circumvention(attack_types_run=[a for a in ATTACK_TYPES
                                                      if a in run_types and a != "none"]),
        acceptance=Acceptance(
            policy_file=results.config.path, policy_file_sha256=results.config.sha256,
            criteria_sha256=digest, confidence=results.scoring.confidence,
            policies=[PolicyCriteria(policy_id=p.id, threshold=p.threshold,
                                     severity=p.severity, categories=list(p.categories))
                      for p in results.policies],
            fixed_at=fixed_at, first_answer_at=first_answer_at,
            fixed_before_answers=None if fixed_at is None or first_answer_at is None
            else fixed_at <= first_answer_at),
        record=RecordFiles(files=files, store=STORE_RECORD),
        report=ReportVersion(auditor_version=results.tool.version, format=REPORT_FORMAT,
                             changes=list(REPORT_CHANGES.get(results.tool.version, ()))))


