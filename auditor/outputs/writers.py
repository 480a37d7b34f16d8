"""The outputs of a run, each a registered writer that declares the files it writes: the JSONL
records, junit.xml, results.json (the audit trail) and the compliance report. `finish` in
`auditor.audit.check` writes them in registration order; the manifest lists their files.

Files are written to a temporary name and renamed, so a crash never leaves a half-written one.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from auditor import __version__
from auditor.core import taxonomy
from auditor.core.identity import JudgeCard, JudgeFingerprint, TargetFingerprint
from auditor.core.outcome import BenignOutcome, Outcome
from auditor.core.registry import Registry
from auditor.core.verdicts import combined, tally
from auditor.data.plan import Audit
from auditor.outputs import files
from auditor.outputs.evidence.oscal import OSCAL_FILE
from auditor.outputs.evidence.record import EVIDENCE, Evidence
from auditor.outputs.files import atomic_write
from auditor.outputs.records import (
    SCHEMA_VERSION,
    Breakdowns,
    ConfigRef,
    DatasetRecord,
    JudgeRecord,
    Overall,
    Results,
    ReviewRecord,
    StageCounts,
    TargetSampling,
    Tool,
)
from auditor.stats.scoring import PolicyRecord, breakdown


@dataclass
class RunOutputs:
    """What a finished run hands its writers."""

    results: Results
    outcomes: list[Outcome]
    benign: list[BenignOutcome] | None  # None: no policy measures over-refusal
    generations: Iterable[dict[str, object]]  # streamed from the store, never all in memory
    verified: bool = True  # false only when re-rendering a run that fails verification
    refused_urls: list[str] = field(default_factory=list)  # the report renderer refused these
    evidence: Evidence | None = None  # None: the evidence pack is not rewritten


@dataclass(frozen=True)
class Writer:
    name: str
    files: tuple[str, ...]  # what it writes in the run folder
    write: Callable[[RunOutputs, Path], None]


WRITERS: Registry[Writer] = Registry("output writer", "writer")


def output_names() -> tuple[str, ...]:
    """Every file a writer may write, in the order they are written."""
    return tuple(name for writer in WRITERS for name in writer.files)


@dataclass
class JudgeFacts:
    """A judge as results.json records it: its fingerprint and its card."""

    fingerprint: JudgeFingerprint
    card: JudgeCard | None

    def record(self) -> JudgeRecord:
        return JudgeRecord.model_validate({**self.fingerprint.model_dump(), "card": self.card})


def dataset_record(audit: Audit) -> DatasetRecord:
    """What results.json says of the prompts: their source, files, licence and kind."""
    provenance = audit.provenance
    return DatasetRecord(
        name=provenance.name, source=audit.dataset.source, revision=audit.dataset.revision,
        licence=provenance.licence, citation=provenance.citation, kind=provenance.kind,
        description=provenance.description, files=audit.dataset.files,
        plain_requests=audit.plan.plain_match_counts() or None)


def build_results(audit: Audit, policies: list[PolicyRecord], outcomes: list[Outcome], *,
                  run_id: str, created_at: str, target: TargetFingerprint, judge: JudgeFacts,
                  timings: dict[str, float], counts: StageCounts,
                  over_refusal_judge: JudgeFacts | None = None,
                  caveats: list[str] | None = None, review: ReviewRecord | None = None,
                  signed_by: str | None = None, signer: str | None = None) -> Results:
    """The typed results record; pydantic checks every field against `Results` here."""
    policy_file = audit.policy_file
    scoring = policy_file.scoring
    unique = list({o.uid: o for o in outcomes}.values())  # one row per prompt for breakdowns
    refusal_verdicts = [p.over_refusal.verdict for p in policies if p.over_refusal]
    return Results(
        schema_version=SCHEMA_VERSION,
        tool=Tool(name="auditor", version=__version__),
        run_id=run_id,
        created_at=created_at,
        config=ConfigRef(path=str(audit.policy_path), sha256=audit.policy_sha256),
        organisation=policy_file.organisation,
        dataset=dataset_record(audit),
        target=target,
        judge=judge.record(),
        sampling=policy_file.sampling,
        target_sampling=TargetSampling(max_tokens=policy_file.target.max_tokens,
                                       temperature=policy_file.target.temperature,
                                       system_prompt=policy_file.target.system_prompt),
        scoring=scoring,
        timings_s={k: round(v, 3) for k, v in timings.items()},
        counts=counts,
        overall=Overall(
            verdict=combined([*(p.verdict for p in policies), *refusal_verdicts]),
            policies=tally(p.verdict for p in policies),
            over_refusal=tally(refusal_verdicts) if any(p.over_refusal for p in policies)
            else None),
        policies=policies,
        caveats=caveats or [],
        over_refusal_judge=over_refusal_judge.record() if over_refusal_judge else None,
        review=review,
        signed_by=signed_by,
        signer=signer,
        breakdown=Breakdowns(
            micro=breakdown(unique, lambda o: o.category, scoring),
            macro=breakdown(unique, lambda o: taxonomy.macro_of(o.category), scoring),
            attack_type=breakdown(unique, lambda o: o.attack_type, scoring),
            micro_x_attack=breakdown(unique, lambda o: f"{o.category}|{o.attack_type}",
                                     scoring)),
    )


def junit_xml(results: Results) -> str:
    """One test case per policy, and one per over-refusal verdict: FAIL is a failure,
    INCONCLUSIVE an error."""
    gated = [p for p in results.policies if p.over_refusal and p.over_refusal.verdict]
    verdicts = [p.verdict for p in results.policies] + [
        p.over_refusal.verdict for p in gated if p.over_refusal and p.over_refusal.verdict]
    failures = verdicts.count("FAIL")
    errors = verdicts.count("INCONCLUSIVE")
    name = f"auditor: {results.organisation.name}"
    if results.target.name:  # one of several targets: CI shows which model the suite is
        name += f" · {results.target.name}"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuite name={quoteattr(name)} tests="{len(verdicts)}" '
             f'failures="{failures}" errors="{errors}" '
             f'time="{results.timings_s.get("total", 0)}">']
    for policy in results.policies:
        estimate = policy.deciding
        detail = (f"score {estimate.score} [{estimate.low:.4f}, {estimate.high:.4f}] "
                  f"threshold {policy.threshold}: {policy.reason}") \
            if estimate.score is not None else policy.reason
        case_name = quoteattr(f"{policy.id}: {policy.title}")
        lines.append(f'  <testcase classname="policy" name={case_name}>')
        lines += _junit_outcome(policy.verdict, detail)
        lines.append("  </testcase>")
    for policy in gated:
        refusal = policy.over_refusal
        assert refusal is not None and refusal.verdict is not None
        detail = (f"over-refusal {refusal.rate} [{refusal.low:.4f}, {refusal.high:.4f}] "
                  f"max_rate {refusal.max_rate}: {refusal.reason}")
        case_name = quoteattr(f"{policy.id}: {policy.title} (over-refusal)")
        lines.append(f'  <testcase classname="over_refusal" name={case_name}>')
        lines += _junit_outcome(refusal.verdict, detail)
        lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"


def _junit_outcome(verdict: str, detail: str) -> list[str]:
    if verdict == "FAIL":
        return [f'    <failure message={quoteattr(detail)}>{escape(detail)}</failure>']
    if verdict == "INCONCLUSIVE":
        return [f'    <error message={quoteattr(detail)}>{escape(detail)}</error>']
    return []


def _write_outcomes(run: RunOutputs, out_dir: Path) -> None:
    atomic_write(out_dir / files.OUTCOMES, (o.to_json() + "\n" for o in run.outcomes))


def _write_benign(run: RunOutputs, out_dir: Path) -> None:
    if run.benign is not None:
        atomic_write(out_dir / files.OVER_REFUSAL, (o.to_json() + "\n" for o in run.benign))


def _write_generations(run: RunOutputs, out_dir: Path) -> None:
    atomic_write(out_dir / files.GENERATIONS,
                 (json.dumps(row, ensure_ascii=False) + "\n" for row in run.generations))


def _write_junit(run: RunOutputs, out_dir: Path) -> None:
    atomic_write(out_dir / files.JUNIT, junit_xml(run.results))


def _write_results(run: RunOutputs, out_dir: Path) -> None:
    atomic_write(out_dir / files.RESULTS, run.results.to_json())


def _write_evidence(run: RunOutputs, out_dir: Path) -> None:
    from auditor.outputs.evidence.pack import write_evidence

    if run.evidence is not None:
        write_evidence(out_dir, run.results, run.evidence)


def _write_report(run: RunOutputs, out_dir: Path) -> None:
    from auditor.outputs.report.write import render_reports  # WeasyPrint loads slowly

    run.refused_urls = render_reports(out_dir, run.results, run.verified)


# The records first, results.json next, then the evidence pack, and the report last (it shows
# results.json's sha256 and the evidence in its appendix).
for writer in (
    Writer("outcomes", (files.OUTCOMES,), _write_outcomes),
    Writer("over-refusal", (files.OVER_REFUSAL,), _write_benign),
    Writer("generations", (files.GENERATIONS,), _write_generations),
    Writer("junit", (files.JUNIT,), _write_junit),
    Writer("results", (files.RESULTS,), _write_results),
    Writer("evidence", (EVIDENCE, OSCAL_FILE), _write_evidence),
    Writer("report", (files.HTML, files.PDF), _write_report),
):
    WRITERS.register(writer)
