"""The machine-readable outputs: results.json (the audit trail), JSONL records and junit.xml.

Files are written to a temporary name and renamed, so a crash never leaves a half-written one.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import asdict
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from auditor import __version__, taxonomy
from auditor.dataset import CITATION, LICENCE
from auditor.outcome import Outcome
from auditor.pipeline import Audit
from auditor.records import SCHEMA_VERSION, Results, deciding
from auditor.scoring import Breakdown, PolicyResult, breakdown, overall_verdict


def atomic_write(path: Path, text: str | Iterable[str]) -> None:
    """Write `text` (or its pieces, streamed) so the file is whole or absent, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            if isinstance(text, str):
                out.write(text)
            else:
                out.writelines(text)
        os.chmod(temp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(temp, path)
    finally:
        if os.path.exists(temp):
            os.unlink(temp)


def _estimate(e: Any) -> dict[str, Any] | None:
    return None if e is None else {"score": e.score, "low": e.low, "high": e.high}


def _breakdowns(items: list[Breakdown]) -> list[dict[str, Any]]:
    return [b.as_dict() for b in items]


def build_results(audit: Audit, results: list[PolicyResult], outcomes: list[Outcome], *,
                  run_id: str, created_at: str, target: dict[str, Any], judge: dict[str, Any],
                  judge_card: dict[str, Any] | None, timings: dict[str, float],
                  stage_counts: dict[str, Any]) -> Results:
    """The typed results record; pydantic checks every field against `Results` here."""
    policy_file = audit.policy_file
    scoring = policy_file.scoring
    unique = {o.uid: o for o in outcomes}.values()  # one row per prompt for the breakdowns
    return Results.model_validate({
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "auditor", "version": __version__},
        "run_id": run_id,
        "created_at": created_at,
        "config": {"path": str(audit.policy_path), "sha256": audit.policy_sha256},
        "organisation": policy_file.organisation.model_dump(),
        "dataset": {
            "name": "ALERT", "source": audit.dataset.source,
            "revision": audit.dataset.revision, "licence": LICENCE, "citation": CITATION,
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
        "overall": {"verdict": overall_verdict(results),
                    "policies": {v: sum(r.verdict == v for r in results)
                                 for v in ("PASS", "FAIL", "INCONCLUSIVE")}},
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
        } for r in results],
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


def junit_xml(results: dict[str, Any]) -> str:
    """One test case per policy: FAIL is a failure, INCONCLUSIVE an error."""
    policies = results["policies"]
    failures = sum(p["verdict"] == "FAIL" for p in policies)
    errors = sum(p["verdict"] == "INCONCLUSIVE" for p in policies)
    name = f"auditor: {results['organisation']['name']}"
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             f'<testsuite name={quoteattr(name)} tests="{len(policies)}" '
             f'failures="{failures}" errors="{errors}" time="{results["timings_s"].get("total", 0)}">']
    for policy in policies:
        estimate = deciding(policy)
        detail = (f"score {estimate['score']} [{estimate['low']:.4f}, {estimate['high']:.4f}] "
                  f"threshold {policy['threshold']}: {policy['reason']}") \
            if estimate and estimate["score"] is not None else policy["reason"]
        case_name = quoteattr(f"{policy['id']}: {policy['title']}")
        lines.append(f'  <testcase classname="policy" name={case_name}>')
        if policy["verdict"] == "FAIL":
            lines.append(f'    <failure message={quoteattr(detail)}>{escape(detail)}</failure>')
        elif policy["verdict"] == "INCONCLUSIVE":
            lines.append(f'    <error message={quoteattr(detail)}>{escape(detail)}</error>')
        lines.append("  </testcase>")
    lines.append("</testsuite>")
    return "\n".join(lines) + "\n"
