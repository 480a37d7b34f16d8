"""`auditor evidence RUN`: rebuild a verified run's evidence pack (evidence.json,
assessment-results.json and the report whose appendix shows them), with the organisation's
reviewer instructions or with the sample answers' text withheld, and sign it again when
asked. The files are replaced together (`auditor.audit.verification.restage`, which `sign`
uses too): a kill or a full disk leaves the run as it was or wholly rebuilt."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from auditor.audit.verification import restage
from auditor.outputs.evidence.oscal import OSCAL_FILE
from auditor.outputs.evidence.pack import (
    evidence_files,
    evidence_for_run,
    set_run_instructions,
    store_facts,
)
from auditor.outputs.evidence.record import EVIDENCE, Evidence, load_instructions
from auditor.outputs.files import read_outcomes, read_results
from auditor.outputs.manifest import read_manifest
from auditor.outputs.signing import Signer
from auditor.outputs.writers import output_names
from auditor.stages.store import RunStore


def rebuild_evidence(run_dir: Path, instructions: Path | None, withheld: bool | None,
                     signer: Signer | None) -> Evidence:
    """Rebuild a verified run's evidence pack; `instructions` (recorded in the run's store,
    for the reviewers and later reruns) and `withheld` replace the organisation's earlier
    choices (None keeps them)."""
    manifest = read_manifest(run_dir)
    assert manifest is not None, "the run was verified"
    results = read_results(run_dir)  # the evidence does not depend on who signs
    with RunStore(run_dir / manifest.store, read_only=True) as store:
        facts = store_facts(store)
    chosen = load_instructions(instructions) if instructions is not None else None
    if chosen is not None:
        facts = replace(facts, instructions=chosen)
    names = [name for name in output_names()
             if name in manifest.files or name in (EVIDENCE, OSCAL_FILE)]
    evidence = evidence_for_run(run_dir, results, read_outcomes(run_dir), facts, names,
                                withheld)
    restage(run_dir, signer, evidence_files(results, evidence), evidence)
    if chosen is not None:  # kept for the reviewers' sheets and later reruns of `check`
        set_run_instructions(run_dir / manifest.store, chosen)
    return evidence
