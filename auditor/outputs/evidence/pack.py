"""Writing a run's evidence pack: evidence.json and assessment-results.json, built from the
run's results, outcomes and store (where the organisation's reviewer instructions are kept),
keeping the organisation's earlier choice of withholding the sample text unless told
otherwise. `check` writes them before the
report (whose appendix shows them); `auditor evidence RUN` rebuilds them; `verify`
recomputes them."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from auditor.core.clock import utc_text
from auditor.core.errors import AuditorError
from auditor.core.outcome import Outcome
from auditor.outputs.evidence.crosswalk import ClauseStatus, assess, load_crosswalk
from auditor.outputs.evidence.oscal import OSCAL_FILE, assessment_results
from auditor.outputs.evidence.record import (
    EVIDENCE,
    Evidence,
    Instructions,
    build_evidence,
    load_instructions,
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


INSTRUCTIONS_META = "review_instructions"


@dataclass(frozen=True)
class StoreFacts:
    """What the evidence takes from the run's store: when each set of acceptance criteria was
    first used, when the first answer was made, and the reviewers' instructions."""

    criteria_first_seen: dict[str, str]
    first_answer_at: str | None
    instructions: Instructions


def run_instructions(store: RunStore) -> Instructions:
    """The instructions this run's reviewers are given: the organisation's, once set
    (`auditor evidence --reviewer-instructions`), else auditor's default ones."""
    value = store.get_meta(INSTRUCTIONS_META)
    if value is not None:
        try:
            return Instructions.model_validate(value)
        except ValidationError:
            raise AuditorError(f"the reviewer instructions in {store.folder}'s store are "
                               "damaged", hint="set them again with `auditor evidence RUN "
                                               "--reviewer-instructions FILE`") from None
    return load_instructions(None)


def set_run_instructions(store_dir: Path, instructions: Instructions) -> None:
    """Record the organisation's reviewer instructions in the run's store: `review export`
    hands them out beside the sheet, `review label` shows them, the evidence records them."""
    with RunStore(store_dir) as store:
        store.set_meta(INSTRUCTIONS_META, instructions.model_dump(mode="json"))


def store_facts(store: RunStore) -> StoreFacts:
    first = store.first_answer_at()
    return StoreFacts(store.criteria_first_seen(), None if first is None else utc_text(first),
                      run_instructions(store))


def evidence_for_run(out_dir: Path, results: Results, outcomes: list[Outcome],
                     facts: StoreFacts, files: list[str], withheld: bool | None = None
                     ) -> Evidence:
    """The run's evidence; whether the sample text is withheld is kept from the run's earlier
    evidence.json unless `withheld` says otherwise (withheld when that file is damaged)."""
    if withheld is None:
        try:
            earlier = read_evidence(out_dir)
            withheld = bool(earlier and earlier.samples_withheld)
        except AuditorError:  # damaged: whether its text was withheld is unknown, so it is
            withheld = True  # (`auditor evidence RUN --show-samples` shows it again)
    return build_evidence(results, outcomes, facts.instructions, facts.criteria_first_seen,
                          facts.first_answer_at, files, withheld)


def documents(results: Results, evidence: Evidence) -> dict[str, Any]:
    return {"results": results.model_dump(mode="json"),
            "evidence": evidence.model_dump(mode="json")}


def clause_statuses(results: Results, evidence: Evidence) -> list[ClauseStatus]:
    return assess(load_crosswalk(), documents(results, evidence))


def oscal_document(results: Results, evidence: Evidence) -> dict[str, Any]:
    return assessment_results(results, load_crosswalk(), clause_statuses(results, evidence))


def evidence_files(results: Results, evidence: Evidence) -> dict[str, str]:
    """The evidence pack's two files, name → text, as a run folder holds them."""
    oscal = json.dumps(oscal_document(results, evidence), indent=2, ensure_ascii=False)
    return {EVIDENCE: evidence.model_dump_json(indent=2) + "\n", OSCAL_FILE: oscal + "\n"}


def write_evidence(out_dir: Path, results: Results, evidence: Evidence) -> None:
    for name, text in evidence_files(results, evidence).items():
        atomic_write(out_dir / name, text)
