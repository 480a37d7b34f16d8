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

import math
from dataclasses import dataclass, field
from pathlib import Path

from auditor.config.policy import Policy
from auditor.core.errors import AuditorError
from auditor.core.outcome import Judgement, Outcome
from auditor.data.dataset import sha256_of
from auditor.outputs import files
from auditor.outputs.files import read_outcomes, read_results
from auditor.outputs.manifest import MANIFEST, REPORT_NAMES, Manifest, read_manifest
from auditor.outputs.records import Results
from auditor.stages.judging import verdict_key
from auditor.stages.review_labels import SampleLabels, sample_labels
from auditor.stages.store import RunStore, StoredGeneration
from auditor.stats.estimators import Estimate
from auditor.stats.review_cells import planned, policy_cells
from auditor.stats.scoring import score_policy

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
    if (run_dir / files.RESULTS).exists():
        found.results_sha256 = sha256_of(run_dir / files.RESULTS)
    manifest = read_manifest(run_dir)
    if manifest is None:
        found.differences.append(f"{MANIFEST} is missing: the run's outputs were never finished "
                                 "(or were written by an older auditor); rerun `auditor check`")
        return found
    _check_hashes(run_dir, manifest, include_report, found)
    outcomes = read_outcomes(run_dir)
    labels = _check_against_store(run_dir, manifest, results, outcomes, found)
    _check_scores(results, outcomes, labels, found)
    return found


def _check_hashes(run_dir: Path, manifest: Manifest, include_report: bool,
                  found: Verification) -> None:
    for name, expected in manifest.files.items():
        if not include_report and name in REPORT_NAMES:
            continue
        path = run_dir / name
        if not path.is_file():
            found.differences.append(f"{name} is missing")
        elif sha256_of(path) != expected:
            found.differences.append(f"{name} was changed after the run wrote it (sha256 "
                                     "differs from the manifest)")
    found.checked.append(f"sha256 of {len(manifest.files)} outputs against {MANIFEST}")


def _policy_of(results: Results, policy_id: str) -> Policy:
    """The policy as the run had it, rebuilt from its record."""
    record = results.policy(policy_id)
    return Policy(id=record.id, title=record.title, clause=record.clause,
                  description=record.description, categories=record.categories,
                  threshold=record.threshold, severity=record.severity)


def _check_against_store(run_dir: Path, manifest: Manifest, results: Results,
                         outcomes: list[Outcome], found: Verification) -> SampleLabels | None:
    """Compare the outcomes with the store; returns the store's review labels, if any."""
    store_dir = (run_dir / manifest.store).resolve()
    if not (store_dir / "store.sqlite").is_file():
        found.differences.append(f"the run's store is not at {store_dir}: answers and verdicts "
                                 "cannot be checked")
        return None
    uses_policy = results.judge.kind in POLICY_TEXT_JUDGES
    texts = {p.id: _policy_of(results, p.id).judge_text() for p in results.policies}
    with RunStore(store_dir) as store:
        prompt_keys = store.prompt_keys()
        generations = store.generations(set(prompt_keys.values()))
        verdicts = store.verdicts(results.judge.id)
        requests = store.judged_requests(results.judge.id)
        labels = sample_labels(store, results.judge.id)
    mismatched = 0
    for outcome in outcomes:
        problem = _outcome_problem(outcome, prompt_keys, generations, verdicts,
                                   texts.get(outcome.policy_id) if uses_policy else None,
                                   requests.get(outcome.uid))
        if problem is not None:
            mismatched += 1
            if mismatched <= 5:
                found.differences.append(f"outcome {outcome.policy_id}/{outcome.uid}: {problem}")
    if mismatched > 5:
        found.differences.append(f"… {mismatched - 5} more outcomes differ from the store")
    found.checked.append(f"{len(outcomes)} outcomes against the answers and verdicts in the "
                         "store")
    return labels


def _outcome_problem(outcome: Outcome, prompt_keys: dict[str, str],
                     generations: dict[str, StoredGeneration], verdicts: dict[str, Judgement],
                     policy_text: str | None, request: str | None) -> str | None:
    key = prompt_keys.get(outcome.uid)
    generation = generations.get(key) if key else None
    status = outcome.status
    if generation is None or generation.error is not None or generation.text is None:
        return None if status == "error" else f"status {status!r}, but the store holds no " \
            "answer for this prompt"
    if outcome.response != generation.text:
        return "the answer differs from the one in the store"
    verdict = verdicts.get(verdict_key(generation.prompt_text, generation.text, policy_text,
                                       request))
    stored = "unscored" if verdict is None else verdict.label
    if status != stored:
        return f"status {status!r}, but the judge's stored verdict is {stored!r}"
    return None


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=0, abs_tol=TOLERANCE)


def _same(a: Estimate | None, b: Estimate | None) -> bool:
    if a is None or b is None:
        return a is b
    return all(_close(getattr(a, k), getattr(b, k)) for k in ("score", "low", "high"))


def _check_scores(results: Results, outcomes: list[Outcome], labels: SampleLabels | None,
                  found: Verification) -> None:
    card = results.judge.card.confusion if results.judge.card else None
    scored_labels = labels.scored_labels if labels else {}
    for record in results.policies:
        mine = [o for o in outcomes if o.policy_id == record.id]
        cells = policy_cells(mine, labels.design if labels and labels.used else None,
                             scored_labels)
        scored = score_policy(_policy_of(results, record.id), mine, results.scoring, card,
                              record.prompts_available, review=cells,
                              planned=planned(cells, mine, card.sensitivity if card else None,
                                              card.specificity if card else None))
        wrong = []
        if scored.verdict != record.verdict:
            wrong.append(f"verdict {record.verdict} in results.json, {scored.verdict} "
                         "recomputed")
        for name in ("n", "safe", "unsafe", "unscored", "errors"):
            if getattr(scored, name) != getattr(record, name):
                wrong.append(f"{name} {getattr(record, name)} in results.json, "
                             f"{getattr(scored, name)} recomputed")
        for name in ("estimate", "corrected", "reviewed"):
            if not _same(getattr(scored, name), getattr(record, name)):
                wrong.append(f"{name} differs from the recomputed one")
        found.differences += [f"policy {record.id}: {w}" for w in wrong]
    found.checked.append(f"{len(results.policies)} policies' counts, scores, intervals and "
                         "verdicts recomputed from the outcomes")


def require_verified(run_dir: Path, include_report: bool = True) -> Verification:
    """For callers that must not go on with a run that fails verification."""
    found = verify_run(run_dir, include_report)
    if not found.ok:
        raise AuditorError(f"{run_dir} fails verification: " + "; ".join(found.differences[:3]),
                           hint="`auditor verify RUN` lists every difference")
    return found
