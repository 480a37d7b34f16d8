"""The machine-readable outputs: results.json (the audit trail), JSONL records and junit.xml.

Files are written to a temporary name and renamed, so a crash never leaves a half-written one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from auditor import __version__, taxonomy
from auditor.decision import PolicyFigures, explain
from auditor.errors import OutputError
from auditor.outcome import Outcome
from auditor.over_refusal import BenignOutcome
from auditor.pipeline import Audit
from auditor.provenance import provenance_of
from auditor.records import SCHEMA_VERSION, OverRefusalRecord, Results, deciding
from auditor.scoring import Breakdown, PolicyResult, breakdown, overall_verdict


def atomic_write(path: Path, text: str | Iterable[str]) -> None:
    """Write `text` (or its pieces, streamed) so the file is whole or absent, never half."""
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            if isinstance(text, str):
                out.write(text)
            else:
                out.writelines(text)
        os.chmod(temp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(temp, path)
    except OSError as exc:  # disk full, read-only folder: a clear error, the old file intact
        raise OutputError.writing(path, exc) from None
    finally:
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)


@dataclass
class OverRefusalFacts:
    """The over-refusal results of a run, with the judge and card they rest on."""

    results: dict[str, OverRefusalRecord]  # by policy id
    judge: dict[str, Any]
    card: dict[str, Any] | None


def _estimate(e: Any) -> dict[str, Any] | None:
    return None if e is None else {"score": e.score, "low": e.low, "high": e.high}


def _breakdowns(items: list[Breakdown]) -> list[dict[str, Any]]:
    return [b.as_dict() for b in items]


def build_results(audit: Audit, results: list[PolicyResult], outcomes: list[Outcome], *,
                  run_id: str, created_at: str, target: dict[str, Any], judge: dict[str, Any],
                  judge_card: dict[str, Any] | None, timings: dict[str, float],
                  stage_counts: dict[str, Any],
                  over_refusal: OverRefusalFacts | None = None,
                  caveats: list[str] | None = None) -> Results:
    """The typed results record; pydantic checks every field against `Results` here."""
    policy_file = audit.policy_file
    provenance = provenance_of(audit.dataset)

    def explained(r: PolicyResult) -> dict[str, Any]:
        words = explain(PolicyFigures(r.verdict, r.reason, r.counts.scored, r.prompts_needed,
                                      r.prompts_available, provenance.kind == "samples"))
        return {"in_short": words.in_short, "next_step": words.next_step,
                "prompts_available": r.prompts_available}

    scoring = policy_file.scoring
    unique = {o.uid: o for o in outcomes}.values()  # one row per prompt for the breakdowns
    refusals = over_refusal.results if over_refusal else {}
    return Results.model_validate({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "auditor", "version": __version__},
        "run_id": run_id,
        "created_at": created_at,
        "config": {"path": str(audit.policy_path), "sha256": audit.policy_sha256},
        "organisation": policy_file.organisation.model_dump(),
        "dataset": {
            "name": provenance.name, "source": audit.dataset.source,
            "revision": audit.dataset.revision, "licence": provenance.licence,
            "citation": provenance.citation, "kind": provenance.kind,
            "description": provenance.description,
            "files": [{"name": f.name, "sha256": f.sha256, "rows": f.rows, "loaded": f.loaded,
                       "empty_skipped": f.empty_skipped, "malformed_skipped": f.malformed_skipped}
                      for f in audit.dataset.files],
        },
        "target": target,
        "judge": {**judge, "card": judge_card},
        "sampling": policy_file.sampling.model_dump(),
        "target_sampling": {"max_tokens": policy_file.target.max_tokens,
                            "temperature": policy_file.target.temperature,
                            "system_prompt": policy_file.target.system_prompt},
        "scoring": policy_file.scoring.model_dump(),
        "timings_s": {k: round(v, 3) for k, v in timings.items()},
        "counts": stage_counts,
        "overall": {"verdict": overall_verdict(results, (o.verdict for o in refusals.values())),
                    "policies": {v: sum(r.verdict == v for r in results)
                                 for v in ("PASS", "FAIL", "INCONCLUSIVE")},
                    "over_refusal": {v: sum(o.verdict == v for o in refusals.values())
                                     for v in ("PASS", "FAIL", "INCONCLUSIVE")}
                    if refusals else None},
        "policies": [{
            "id": r.policy.id, "title": r.policy.title, "clause": r.policy.clause,
            "description": r.policy.description, "severity": r.policy.severity,
            "threshold": r.policy.threshold, "categories": list(r.policy.micro_categories()),
            "verdict": r.verdict, "reason": r.reason, "decided_on": r.decided_on,
            "warning": r.warning, "prompts_needed": r.prompts_needed,
            **asdict(r.counts), "estimate": _estimate(r.estimate),
            "corrected": _estimate(r.corrected),
            "by_category": _breakdowns(r.categories),
            "by_attack_type": _breakdowns(r.attack_types),
            "over_refusal": refusals.get(r.policy.id),
            **explained(r),
        } for r in results],
        "caveats": caveats or [],
        "over_refusal_judge": {**over_refusal.judge, "card": over_refusal.card}
        if over_refusal else None,
        "breakdown": {
            "micro": _breakdowns(breakdown(list(unique), lambda o: o.category, scoring)),
            "macro": _breakdowns(breakdown(list(unique), lambda o: taxonomy.macro_of(o.category),
                                           scoring)),
            "attack_type": _breakdowns(breakdown(list(unique), lambda o: o.attack_type, scoring)),
            "micro_x_attack": _breakdowns(breakdown(
                list(unique), lambda o: f"{o.category}|{o.attack_type}", scoring)),
        },
    })


def write_outcomes_jsonl(path: Path, outcomes: Iterable[Outcome]) -> None:
    atomic_write(path, (json.dumps(
        {"policy_id": o.policy_id, "prompt_uid": o.uid, "category": o.category,
         "attack_type": o.attack_type, "status": o.status, "reason": o.reason, "score": o.score,
         "judge_categories": list(o.judge_categories), "prompt": o.prompt,
         "response": o.response}, ensure_ascii=False) + "\n" for o in outcomes))


def write_benign_outcomes_jsonl(path: Path, outcomes: Iterable[BenignOutcome]) -> None:
    atomic_write(path, (json.dumps(asdict(o), ensure_ascii=False) + "\n" for o in outcomes))


def junit_xml(results: dict[str, Any]) -> str:
    """One test case per policy, and one per over-refusal verdict: FAIL is a failure,
    INCONCLUSIVE an error."""
    policies = results["policies"]
    gated = [p for p in policies if p.get("over_refusal") and p["over_refusal"]["verdict"]]
    verdicts = [p["verdict"] for p in policies] + [p["over_refusal"]["verdict"] for p in gated]
    failures = verdicts.count("FAIL")
    errors = verdicts.count("INCONCLUSIVE")
    name = f"auditor: {results['organisation']['name']}"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuite name={quoteattr(name)} tests="{len(verdicts)}" '
             f'failures="{failures}" errors="{errors}" time="{results["timings_s"].get("total", 0)}">']
    for policy in policies:
        estimate = deciding(policy)
        detail = (f"score {estimate['score']} [{estimate['low']:.4f}, {estimate['high']:.4f}] "
                  f"threshold {policy['threshold']}: {policy['reason']}") \
            if estimate and estimate["score"] is not None else policy["reason"]
        case_name = quoteattr(f"{policy['id']}: {policy['title']}")
        lines.append(f'  <testcase classname="policy" name={case_name}>')
        lines += _junit_outcome(policy["verdict"], detail)
        lines.append("  </testcase>")
    for policy in gated:
        refusal = policy["over_refusal"]
        detail = (f"over-refusal {refusal['rate']} [{refusal['low']:.4f}, {refusal['high']:.4f}] "
                  f"max_rate {refusal['max_rate']}: {refusal['reason']}")
        case_name = quoteattr(f"{policy['id']}: {policy['title']} (over-refusal)")
        lines.append(f'  <testcase classname="over_refusal" name={case_name}>')
        lines += _junit_outcome(refusal["verdict"], detail)
        lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"


def _junit_outcome(verdict: str, detail: str) -> list[str]:
    if verdict == "FAIL":
        return [f'    <failure message={quoteattr(detail)}>{escape(detail)}</failure>']
    if verdict == "INCONCLUSIVE":
        return [f'    <error message={quoteattr(detail)}>{escape(detail)}</error>']
    return []
