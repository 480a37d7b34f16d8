"""`auditor evidence RUN`: rebuild a run's evidence pack (evidence.json, the OSCAL
assessment-results.json and the report's appendix), with the organisation's own reviewer
instructions or with the sample answers' text withheld."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from auditor.audit.evidence_rebuild import rebuild_evidence
from auditor.audit.verification import require_verified
from auditor.cli.output import console, inert, user_errors
from auditor.core.errors import AuditorError
from auditor.outputs.evidence.crosswalk import load_crosswalk
from auditor.outputs.evidence.oscal import OSCAL_FILE
from auditor.outputs.evidence.pack import clause_statuses
from auditor.outputs.evidence.record import EVIDENCE
from auditor.outputs.files import read_results
from auditor.outputs.manifest import SIGNATURE
from auditor.outputs.staged import finish_staged
from auditor.outputs.trust import load_signer


def register(app: typer.Typer) -> None:
    app.command("evidence")(evidence_cmd)


@user_errors
def evidence_cmd(
    run_dir: Path = typer.Argument(..., file_okay=False, help="The --out folder of a run."),
    instructions: Path = typer.Option(
        None, "--reviewer-instructions", dir_okay=False, metavar="FILE",
        help="The instructions your reviewers are given (UTF-8 text or Markdown), in place "
             "of auditor's default ones. Kept in the run: `review export` writes them beside "
             "the sheet, `review label` shows them, and later reruns of `check` record them."),
    withhold: bool = typer.Option(
        None, "--withhold-samples/--show-samples", show_default=False, metavar="",
        help="Withhold the text of the five sample answers per policy (the picks and the "
             "judge's labels stay, so they can still be checked), or show it again. "
             "Default: as before."),
    sign: Path = typer.Option(None, "--sign", dir_okay=False, metavar="KEY",
                              help="Sign the run again with this private key: a signed "
                                   "run's rebuilt evidence needs it."),
    signer_name: str = typer.Option(None, "--signer", metavar="NAME",
                                    help="The name to sign as (default: the name your trust "
                                         "file gives the key, else the key file's name)."),
) -> None:
    """Rebuild a run's evidence pack for compliance review.

    `auditor check` writes it with every run: evidence.json (five random answers per
    policy, the reviewers and their instructions, the risks not measured, the acceptance
    criteria and when they were fixed, the report's version), assessment-results.json (the
    same as OSCAL Assessment Results, for a GRC tool) and the report's appendix, one page per
    framework (EU GPAI Code of Practice, NIST AI 600-1, ISO/IEC 42001 and 42005). The run
    must verify first; a signed run is rebuilt only with --sign KEY.
    """
    finish_staged(run_dir)
    signer = load_signer(sign, signer_name) if sign is not None else None
    if signer is None and (run_dir / SIGNATURE).exists():
        raise AuditorError(f"{run_dir} is signed: rebuilt evidence would void its signature",
                           hint="pass --sign KEY with the signing key to sign it again")
    require_verified(run_dir, refused="its evidence is not rebuilt")
    evidence = rebuild_evidence(run_dir, instructions, withhold, signer)
    statuses = clause_statuses(read_results(run_dir), evidence)
    answered = sum(s.state == "answered" for s in statuses)
    console.print(f"Wrote {escape(str(run_dir / EVIDENCE))}, "
                  f"{escape(str(run_dir / OSCAL_FILE))} and the report's appendix"
                  + (f", signed as {inert(signer.name)}" if signer else ""))
    console.print(f"Clauses: {answered} of {len(statuses)} answered by this run, "
                  f"{sum(s.state == 'empty' for s in statuses)} not in it, "
                  f"{sum(s.state == 'not addressed' for s in statuses)} not addressed by any "
                  f"run ({len(load_crosswalk().frameworks)} frameworks). Reviewer "
                  f"instructions: {inert(evidence.review.instructions.source)}; sample text "
                  f"{'withheld' if evidence.samples_withheld else 'shown'}.")
