"""`auditor evidence RUN`: rebuild a verified run's evidence pack (evidence.json,
assessment-results.json and the report whose appendix shows them), with the organisation's
reviewer instructions or with the sample answers' text withheld, and sign it again when
asked. The files are replaced together (`auditor.outputs.staged`): a kill or a full disk
leaves the run as it was or wholly rebuilt."""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from pathlib import Path

from auditor.outputs import files
from auditor.outputs.evidence.oscal import OSCAL_FILE
from auditor.outputs.evidence.pack import (
    evidence_for_run,
    oscal_document,
    set_run_instructions,
    store_facts,
)
from auditor.outputs.evidence.record import EVIDENCE, Evidence, load_instructions
from auditor.outputs.files import read_outcomes, read_results, sha256_of_run_file
from auditor.outputs.manifest import MANIFEST, SIGNATURE, read_manifest
from auditor.outputs.report.write import render_reports
from auditor.outputs.signing import Signer, signature_record
from auditor.outputs.staged import StagedReplacement
from auditor.outputs.writers import output_names
from auditor.stages.store import RunStore


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rebuild_evidence(run_dir: Path, instructions: Path | None, withheld: bool | None,
                     signer: Signer | None) -> Evidence:
    """Rebuild a verified run's evidence pack; `instructions` (recorded in the run's store,
    for the reviewers and later reruns) and `withheld` replace the organisation's earlier
    choices (None keeps them)."""
    manifest = read_manifest(run_dir)
    assert manifest is not None, "the run was verified"
    results = read_results(run_dir)
    if signer is not None:
        results = results.model_copy(update={"signed_by": signer.fingerprint,
                                             "signer": signer.name})
    with RunStore(run_dir / manifest.store, read_only=True) as store:
        facts = store_facts(store)
    chosen = load_instructions(instructions) if instructions is not None else None
    if chosen is not None:
        facts = replace(facts, instructions=chosen)
    names = [name for name in output_names()
             if name in manifest.files or name in (EVIDENCE, OSCAL_FILE)]
    evidence = evidence_for_run(run_dir, results, read_outcomes(run_dir), facts, names,
                                withheld)
    staged = StagedReplacement(run_dir)
    try:
        hashes = dict(manifest.files)
        evidence_text = evidence.model_dump_json(indent=2) + "\n"
        staged.write(EVIDENCE, evidence_text)
        oscal_text = json.dumps(oscal_document(results, evidence), indent=2,
                                ensure_ascii=False) + "\n"
        staged.write(OSCAL_FILE, oscal_text)
        hashes.update({EVIDENCE: _sha256(evidence_text), OSCAL_FILE: _sha256(oscal_text)})
        if signer is not None:
            results_text = results.to_json()
            staged.write(files.RESULTS, results_text)
            hashes[files.RESULTS] = _sha256(results_text)
        html, pdf = staged.path(files.HTML), staged.path(files.PDF)
        render_reports(run_dir, results, into=(html, pdf),
                       results_sha256=hashes.get(files.RESULTS), evidence=evidence)
        hashes.update({files.HTML: sha256_of_run_file(html), files.PDF: sha256_of_run_file(pdf)})
        manifest_text = manifest.model_copy(update={"files": hashes}).model_dump_json(
            indent=2) + "\n"
        staged.write(MANIFEST, manifest_text)
        if signer is not None:
            record = signature_record(manifest_text.encode("utf-8"), signer.key, signer.name)
            staged.write(SIGNATURE, record.model_dump_json(indent=2) + "\n")
    except BaseException:
        staged.discard()
        raise
    staged.commit()
    if chosen is not None:  # kept for the reviewers' sheets and later reruns of `check`
        set_run_instructions(run_dir / manifest.store, chosen)
    return evidence
