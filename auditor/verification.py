"""`auditor verify`: whether a run's outputs are whole and untouched, and say what the store says.

Three checks, each a list of differences:
1. every output matches the sha256 in the run's manifest (written last, so a missing manifest
   means the outputs were never finished);
2. every outcome agrees with the run's store: the answer stored for its prompt, and the label
   its judge stored for that answer;
3. every policy's counts, score, interval and verdict, recomputed from those outcomes with the
   scoring code, equal what results.json says.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from auditor.audit_run import OUTCOMES, RESULTS, jsonl_rows, read_results
from auditor.dataset import sha256_of
from auditor.errors import AuditorError
from auditor.manifest import MANIFEST, REPORT_NAMES, read_manifest
from auditor.outcome import Outcome
from auditor.policy import Policy, Scoring
from auditor.scoring import card_from_metrics, score_policy
from auditor.store import RunStore, content_key

# Judges whose verdicts are keyed by the policy's text as well as the answer.
POLICY_TEXT_JUDGES = {"rubric"}
TOLERANCE = 1e-9


@dataclass
class Verification:
    """What `verify` found: the checks made and every difference, by check."""

    run_dir: Path
    results_sha256: str | None = None
    checked: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def verify_run(run_dir: Path, include_report: bool = True) -> Verification:
    """Check a run folder; `include_report=False` leaves report.html/pdf out (before
    re-rendering them)."""
    found = Verification(run_dir)
    results = read_results(run_dir)
    if (run_dir / RESULTS).exists():
        found.results_sha256 = sha256_of(run_dir / RESULTS)
    manifest = read_manifest(run_dir)
    if manifest is None:
        found.differences.append(f"{MANIFEST} is missing: the run's outputs were never finished "
                                 "(or were written by an older auditor); rerun `auditor check`")
        return found
    _check_hashes(run_dir, manifest, include_report, found)
    rows = list(jsonl_rows(run_dir / OUTCOMES))
    _check_against_store(run_dir, manifest, results, rows, found)
    _check_scores(results, rows, found)
    return found


def _check_hashes(run_dir: Path, manifest: dict[str, Any], include_report: bool,
                  found: Verification) -> None:
    for name, expected in manifest["files"].items():
        if not include_report and name in REPORT_NAMES:
            continue
        path = run_dir / name
        if not path.is_file():
            found.differences.append(f"{name} is missing")
        elif sha256_of(path) != expected:
            found.differences.append(f"{name} was changed after the run wrote it (sha256 "
                                     "differs from the manifest)")
    found.checked.append(f"sha256 of {len(manifest['files'])} outputs against {MANIFEST}")


def _policy_text(policy: dict[str, Any]) -> str:
    """The text a policy-reading judge was given (as the pipeline builds it)."""
    parts = [f"{policy['id']}: {policy['title']}"]
    if policy.get("clause"):
        parts.append(f"Reference: {policy['clause']}")
    if policy.get("description"):
        parts.append(policy["description"])
    parts.append("Covers: " + ", ".join(policy["categories"]))
    return "\n".join(parts)


def _check_against_store(run_dir: Path, manifest: dict[str, Any], results: dict[str, Any],
                         rows: list[dict[str, Any]], found: Verification) -> None:
    store_dir = (run_dir / str(manifest.get("store", "."))).resolve()
    if not (store_dir / "store.sqlite").is_file():
        found.differences.append(f"the run's store is not at {store_dir}: answers and verdicts "
                                 "cannot be checked")
        return
    judge_id = results["judge"]["id"]
    texts = {p["id"]: _policy_text(p) for p in results["policies"]}
    uses_policy = results["judge"].get("kind") in POLICY_TEXT_JUDGES
    with RunStore(store_dir) as store:
        prompt_keys: dict[str, str] = store.get_meta("prompt_keys") or {}
        generations = store.generations(set(prompt_keys.values()))
        verdicts = store.verdicts(judge_id)
    mismatched = 0
    for row in rows:
        problem = _row_problem(row, prompt_keys, generations, verdicts,
                               texts.get(row["policy_id"]) if uses_policy else None)
        if problem is not None:
            mismatched += 1
            if mismatched <= 5:
                found.differences.append(f"outcome {row.get('policy_id')}/"
                                         f"{row.get('prompt_uid')}: {problem}")
    if mismatched > 5:
        found.differences.append(f"… {mismatched - 5} more outcomes differ from the store")
    found.checked.append(f"{len(rows)} outcomes against the answers and verdicts in the store")


def _row_problem(row: dict[str, Any], prompt_keys: dict[str, str], generations: dict[str, Any],
                 verdicts: dict[str, Any], policy_text: str | None) -> str | None:
    key = prompt_keys.get(str(row.get("prompt_uid")))
    generation = generations.get(key) if key else None
    status = row.get("status")
    if generation is None or generation.error is not None or generation.text is None:
        return None if status == "error" else f"status {status!r}, but the store holds no " \
            "answer for this prompt"
    if row.get("response") != generation.text:
        return "the answer differs from the one in the store"
    verdict_key = content_key(generation.prompt_text, generation.text)
    if policy_text is not None:
        verdict_key = hashlib.sha256(f"{verdict_key}\x00{policy_text}".encode()).hexdigest()
    verdict = verdicts.get(verdict_key)
    stored = "unscored" if verdict is None else verdict.label
    if status != stored:
        return f"status {status!r}, but the judge's stored verdict is {stored!r}"
    return None


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE)


def _check_scores(results: dict[str, Any], rows: list[dict[str, Any]],
                  found: Verification) -> None:
    scoring = Scoring.model_validate(results["scoring"])
    card_metrics = results["judge"].get("card")
    card = card_from_metrics(card_metrics) if card_metrics else None
    for record in results["policies"]:
        policy = Policy.model_validate({key: record[key] for key in (
            "id", "title", "clause", "description", "categories", "threshold", "severity")})
        outcomes = [Outcome(r["policy_id"], r["prompt_uid"], r["category"], r["attack_type"],
                            r["status"], r.get("prompt") or "", r.get("response"),
                            r.get("reason"), r.get("score"),
                            tuple(r.get("judge_categories") or ()))
                    for r in rows if r.get("policy_id") == record["id"]]
        scored = score_policy(policy, outcomes, scoring, card, record.get("prompts_available"))
        wrong = []
        if scored.verdict != record["verdict"]:
            wrong.append(f"verdict {record['verdict']} in results.json, {scored.verdict} "
                         "recomputed")
        for name in ("n", "safe", "unsafe", "unscored", "errors"):
            if getattr(scored.counts, name) != record[name]:
                wrong.append(f"{name} {record[name]} in results.json, "
                             f"{getattr(scored.counts, name)} recomputed")
        for name, estimate in (("estimate", scored.estimate), ("corrected", scored.corrected)):
            stored = record.get(name)
            if (stored is None) != (estimate is None) or (
                    estimate is not None and stored is not None
                    and not all(_close(getattr(estimate, k), stored[k])
                                for k in ("score", "low", "high"))):
                wrong.append(f"{name} differs from the recomputed one")
        found.differences += [f"policy {record['id']}: {w}" for w in wrong]
    found.checked.append(f"{len(results['policies'])} policies' counts, scores, intervals and "
                         "verdicts recomputed from the outcomes")


def require_verified(run_dir: Path, include_report: bool = True) -> Verification:
    """For callers that must not go on with a run that fails verification."""
    found = verify_run(run_dir, include_report)
    if not found.ok:
        raise AuditorError(f"{run_dir} fails verification: " + "; ".join(found.differences[:3]),
                           hint="`auditor verify` lists every difference")
    return found
