"""The run as an OSCAL Assessment Results document (assessment-results.json) a GRC tool
imports: one result whose observations are the policies' verdicts and whose findings are the
crosswalk's clauses, each marked satisfied when the run holds the evidence the clause asks
for. Identifiers are UUIDv5 of the run id, so rebuilding a run's document gives the same one.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from auditor import __version__
from auditor.outputs.evidence.crosswalk import ClauseStatus, Crosswalk
from auditor.outputs.records import Results

OSCAL_FILE = "assessment-results.json"
OSCAL_VERSION = "1.1.2"
# UUIDv5 namespace for this tool's OSCAL objects (itself uuid5 of the DNS namespace).
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_DNS, "auditor.oscal")
STATE_NOTE = ("Each finding's state says whether this run holds the evidence the clause asks "
              "for (satisfied) or not (not-satisfied: empty, or not addressed by a run of this "
              "tool). Whether the model keeps each policy is in the observations.")


def _uuid(run_id: str, *parts: str) -> str:
    return str(uuid.uuid5(NAMESPACE, ":".join((run_id, *parts))))


def control_id(framework: str, clause: str) -> str:
    """An OSCAL token for a clause: `nist-ai-600-1_ms-2.6-007`, `eu-gpai-cop_measure-3.2`."""
    return f"{framework}_{re.sub(r'[^a-z0-9.-]+', '-', clause.lower()).strip('-')}"


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "-"


def assessment_results(results: Results, crosswalk: Crosswalk,
                       statuses: list[ClauseStatus]) -> dict[str, Any]:
    run = results.run_id
    model = results.target.name or results.target.model
    observations = []
    for policy in results.policies:
        estimate = policy.deciding
        interval = "no interval" if estimate.score is None else (
            f"score {estimate.score:.4f}, interval [{estimate.low:.4f}, {estimate.high:.4f}]")
        observations.append({
            "uuid": _uuid(run, "policy", policy.id),
            "title": _one_line(f"{policy.id}: {policy.title}"),
            "description": _one_line(
                f"{policy.verdict}: {interval} at {policy.confidence:.0%} confidence, "
                f"threshold {policy.threshold:.4f}, decided on {policy.decided_on}; "
                f"{policy.reason}."),
            "props": [{"name": "verdict", "value": policy.verdict},
                      {"name": "threshold", "value": f"{policy.threshold}"},
                      {"name": "severity", "value": policy.severity}],
            "methods": ["TEST"],
            "types": ["finding"],
            "collected": results.created_at,
            "relevant-evidence": [{"href": "results.json", "description": _one_line(
                f"results.json, policies[id={policy.id}]")}],
        })
    frameworks = {f.id: f for f in crosswalk.frameworks}
    findings = []
    for status in statuses:
        clause = status.clause
        framework = frameworks[clause.framework]
        findings.append({
            "uuid": _uuid(run, "clause", clause.framework, clause.id),
            "title": _one_line(f"{framework.name} {clause.id}: {clause.title}"),
            "description": _one_line(clause.asks),
            "target": {
                "type": "objective-id",
                "target-id": control_id(clause.framework, clause.id),
                "status": {"state": "satisfied" if status.state == "answered"
                           else "not-satisfied",
                           "reason": "pass" if status.state == "answered" else "other"},
            },
            "related-observations": [{"observation-uuid": o["uuid"]} for o in observations],
            "remarks": _one_line(f"{status.state}: {status.says}"),
        })
    return {"assessment-results": {
        "uuid": _uuid(run, "assessment-results"),
        "metadata": {
            "title": _one_line(f"Safety policy audit of {model} for "
                               f"{results.organisation.name}"),
            "last-modified": results.created_at,
            "version": run,
            "oscal-version": OSCAL_VERSION,
            "props": [{"name": "tool", "value": f"auditor {results.tool.version}"},
                      {"name": "written-by", "value": f"auditor {__version__}"}],
        },
        "import-ap": {"href": "#policy-file", "remarks": _one_line(
            f"No separate assessment plan: the plan is the policy file "
            f"{results.config.path} (sha256 {results.config.sha256}).")},
        "results": [{
            "uuid": _uuid(run, "result"),
            "title": _one_line(f"Overall {results.overall.verdict}"),
            "description": _one_line(
                f"{len(results.policies)} policies audited on {results.dataset.name}; "
                f"overall verdict {results.overall.verdict}."),
            "start": results.created_at,
            "props": [{"name": "overall-verdict", "value": results.overall.verdict}],
            "reviewed-controls": {
                "description": _one_line(
                    "Clauses of " + "; ".join(f"{f.name} ({f.edition})"
                                              for f in crosswalk.frameworks)),
                "control-selections": [{"include-controls": [
                    {"control-id": control_id(s.clause.framework, s.clause.id)}
                    for s in statuses]}],
            },
            "observations": observations,
            "findings": findings,
            "remarks": STATE_NOTE,
        }],
    }}
