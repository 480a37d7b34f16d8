"""Writing report.html and report.pdf from a run's results.json and outcomes, so `auditor
report DIR` re-renders exactly what the run wrote, without running anything."""

from __future__ import annotations

from pathlib import Path

from auditor.data.dataset import sha256_of
from auditor.outputs import files
from auditor.outputs.evidence.appendix import appendix_context
from auditor.outputs.evidence.pack import read_evidence
from auditor.outputs.evidence.record import Evidence
from auditor.outputs.files import atomic_write, iter_outcomes
from auditor.outputs.records import Results
from auditor.outputs.report.context import report_context, shown_outcomes
from auditor.outputs.report.render import render_html, render_pdf


def render_reports(out_dir: Path, results: Results, verified: bool = True,
                   into: tuple[Path, Path] | None = None,
                   results_sha256: str | None = None, evidence: Evidence | None = None
                   ) -> list[str]:
    """report.html and report.pdf (or the two paths `into`, for a replacement staged
    beside them, with the sha256 of the results.json that will stand beside them); an
    unverified run's pages say so. The appendix shows `evidence`, else the run's
    evidence.json (a run made before 0.4.0 has none, and no appendix).

    Returns the URLs the renderer refused to fetch. Escaped text never asks for one, so there
    are none unless a template goes wrong; if there are, the report is rendered again with
    them listed in its audit trail.
    """
    html_path, pdf_path = into or (out_dir / files.HTML, out_dir / files.PDF)
    found = {(f.policy_id, f.uid) for f in results.review.found_unsafe} \
        if results.review else set()
    outcomes = shown_outcomes(iter_outcomes(out_dir), found)
    context = report_context(results, outcomes)
    context.update(appendix_context(results, evidence or read_evidence(out_dir)))
    context.update(results_sha256=results_sha256 or sha256_of(out_dir / files.RESULTS),
                   verified=verified, refused_urls=[])
    html = render_html("report.html.j2", context)
    atomic_write(html_path, html)
    refused = render_pdf(html, pdf_path)
    if refused:
        context["refused_urls"] = refused
        html = render_html("report.html.j2", context)
        atomic_write(html_path, html)
        render_pdf(html, pdf_path)
    return refused
