"""Writing a run's evidence pack: evidence.json and assessment-results.json, built from the
run's results, outcomes and store, keeping the organisation's earlier choices (its reviewer
instructions, withheld sample text) unless told otherwise. `check` writes them before the
report (whose appendix shows them); `auditor evidence RUN` rebuilds them; `verify`
recomputes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.core.errors import AuditorError
from auditor.core.outcome import Outcome
from auditor.evidence.crosswalk import ClauseStatus, assess, load_crosswalk
from auditor.evidence.oscal import OSCAL_FILE, assessment_results
from auditor.evidence.record import (
    EVIDENCE,
    Evidence,
    Instructions,
    build_evidence,
    load_instructions,
    utc_text,
)
from auditor.outputs.files import atomic_write, read_run_bytes
from auditor.outputs.records import Results
from auditor.stages.store import RunStore

MAX_EVIDENCE_BYTES = 64 * 1024 * 1024


def read_evidence(out_dir: Path) -> Evidence | None:
    """The run's evidence.json, or None when it has none (a run made before 0.4.0)."""
    path = out_dir / EVIDENCE
    try:
        raw = read_run_bytes(path, MAX_EVIDENCE_BYTES)
    except FileNotFoundError:
        return None
    try:
        return Evidence.model_validate(json.loads(raw.decode("utf-8")))
    except (ValueError, ValidationError) as exc:
        raise AuditorError(f"{path} is damaged or not an evidence record ({str(exc)[:200]})",
                           hint="rebuild it with `auditor evidence "
                                f"{out_dir}`") from None


def store_facts(store: RunStore) -> tuple[dict[str, str], str | None]:
    """When each set of acceptance criteria was first used, and when the first answer was
    made: the two facts the evidence takes from the store."""
    first = store.first_answer_at()
    return store.criteria_first_seen(), None if first is None else utc_text(first)


def evidence_for_run(out_dir: Path, results: Results, outcomes: list[Outcome],
                     facts: tuple[dict[str, str], str | None], files: list[str],
                     instructions: Path | None = None, withheld: bool | None = None
                     ) -> Evidence:
    """The run's evidence; the organisation's instructions and withholding are kept from the
    run's earlier evidence.json unless `instructions` or `withheld` say otherwise."""
    earlier = read_evidence(out_dir)
    chosen: Instructions = load_instructions(instructions) if instructions is not None else (
        earlier.review.instructions if earlier is not None else load_instructions(None))
    withhold = withheld if withheld is not None else bool(earlier and earlier.samples_withheld)
    criteria_first_seen, first_answer_at = facts
    return build_evidence(results, outcomes, chosen, criteria_first_seen, first_answer_at,
                          files, withhold)


def documents(results: Results, evidence: Evidence) -> dict[str, Any]:
    return {"results": results.model_dump(mode="json"),
            "evidence": evidence.model_dump(mode="json")}


def clause_statuses(results: Results, evidence: Evidence) -> list[ClauseStatus]:
    return assess(load_crosswalk(), documents(results, evidence))


def oscal_document(results: Results, evidence: Evidence) -> dict[str, Any]:
    return assessment_results(results, load_crosswalk(), clause_statuses(results, evidence))


def write_evidence(out_dir: Path, results: Results, evidence: Evidence) -> None:
    atomic_write(out_dir / EVIDENCE, evidence.model_dump_json(indent=2) + "\n")
    atomic_write(out_dir / OSCAL_FILE,
                 json.dumps(oscal_document(results, evidence), indent=2, ensure_ascii=False)
                 + "\n")
