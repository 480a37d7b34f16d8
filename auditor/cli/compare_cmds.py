"""The `compare` command: two or more models audited on the same policies, and one decision,
for vendor model procurement."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from auditor.audit.verification import verify_run
from auditor.cli.output import console, err_console, inert, print_table_or_list, user_errors
from auditor.core.errors import AuditorError
from auditor.core.numbers import percent
from auditor.outputs.comparability import RunRecord, differences
from auditor.outputs.compare import Comparison, OwnFigures, compare_runs
from auditor.outputs.files import atomic_write, read_benign_outcomes, read_outcomes, read_results
from auditor.outputs.report.compare_context import comparison_context
from auditor.outputs.report.render import render_html, render_pdf
from auditor.outputs.signing import (
    Ed25519PublicKey,
    check_signature,
    fingerprint,
    load_public_key,
)


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)


@user_errors
def compare_cmd(
    runs: list[Path] = typer.Argument(..., file_okay=False, help="Two or more run folders "
                                      "(`auditor check --out`, or each folder `check "
                                      "--all-targets` wrote)."),
    out: Path = typer.Option(Path("comparison"), "--out", "-o", help="Output folder."),
    unverified: bool = typer.Option(False, "--unverified", help="Compare runs that fail "
                                    "`auditor verify` anyway; every page of the PDF says so."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", help="Compare runs that "
                                        "differ in policies, prompts, judge, card, system "
                                        "prompt or decoding anyway; every page of the PDF and "
                                        "comparison.json list the differences."),
    require_signed: bool = typer.Option(False, "--require-signed", help="Refuse a run that is "
                                        "not signed (`auditor check --sign`), or whose "
                                        "signature does not sign its manifest."),
    keys: list[Path] = typer.Option([], "--key", "-k", dir_okay=False, help="A public key "
                                    "the runs may be signed with (repeatable); implies "
                                    "--require-signed."),
) -> None:
    """Compare models audited on the same policies; writes comparison.json and a PDF.

    Per policy: every model's own score, interval and verdict (safety and over-refusal), the
    paired differences between every two models with McNemar's test, Holm-corrected across
    all of them, and one decision: which models pass every policy and which are best on both
    axes. Runs are verified first (`auditor verify`) and must be comparable: the same policy
    ids and thresholds, prompts, judge and card, system prompt, max_tokens, temperature and
    over-refusal prompts; any difference is exit 2 naming it, unless --allow-mismatch.
    """
    if len(runs) < 2:
        raise AuditorError("compare needs two or more run folders",
                           hint="auditor compare RUN_A RUN_B [RUN_C …] --out DIR")
    if len(set(map(str, runs))) < len(runs):
        raise AuditorError("a run folder is named twice", hint="name each run once")
    if out.exists() and not out.is_dir():
        raise AuditorError(f"--out {out} is a file, not a folder",
                           hint="name a folder for comparison.json and its PDF")
    results = [read_results(run) for run in runs]
    if require_signed or keys:
        _require_signatures(runs, [load_public_key(key) for key in keys])
    problems = [f"{run}: {difference}" for run in runs
                for difference in verify_run(run).differences]
    if problems and not unverified:
        raise AuditorError("a run fails verification: " + "; ".join(problems[:3]),
                           hint="`auditor verify RUN` lists every difference; rerun `auditor "
                                "check` to rewrite the outputs, or pass --unverified")
    records = [RunRecord(folder, result, read_outcomes(folder), read_benign_outcomes(folder))
               for folder, result in zip(runs, results, strict=True)]
    mismatches = differences(records)
    if mismatches and not allow_mismatch:
        raise AuditorError("the runs are not comparable: " + "; ".join(mismatches[:4])
                           + (f"; and {len(mismatches) - 4} more" if len(mismatches) > 4 else ""),
                           hint="audit every model with the same policy file, judge and card "
                                "(`auditor check POLICY --all-targets`); or pass "
                                "--allow-mismatch to compare them anyway (every page will list "
                                "the differences)")
    comparison = compare_runs(records, results[0].scoring.confidence, mismatches)
    html = render_html("compare.html.j2", comparison_context(comparison, not problems))
    for mismatch in mismatches:
        err_console.print(f"[yellow]not comparable:[/] {inert(mismatch)}")
    with replaced_folder(out) as staging:  # the old comparison stays whole until the new is
        atomic_write(staging / "comparison.json", comparison.model_dump_json(indent=2) + "\n")
        atomic_write(staging / "comparison.html", html)
        render_pdf(html, staging / "comparison.pdf")
    for table in comparison_tables(comparison):
        print_table_or_list(console, table)
    standings = Table(title="Decision")
    for column in ("model", "standing", "why"):
        standings.add_column(column)
    for model in comparison.decision.standings:
        standings.add_row(escape(model.name), model.standing, escape(model.why))
    print_table_or_list(console, standings)
    console.print(f"[bold]Decision:[/] {escape(comparison.decision.statement)}")
    for question in comparison.decision.open_questions[:5]:
        console.print(f"  open: {escape(question)}")
    console.print(f"Wrote {escape(str(out / 'comparison.pdf'))}")


def _require_signatures(runs: list[Path], trusted: list[Ed25519PublicKey]) -> None:
    fingerprints = {fingerprint(key) for key in trusted}
    problems = []
    for run in runs:
        found = check_signature(run)
        if not found.valid:
            problems.append(f"{run}: {found.problem or 'not signed'}")
        elif fingerprints and found.key_fingerprint not in fingerprints:
            problems.append(f"{run}: signed by {found.key_fingerprint}, not by a key given")
    if problems:
        raise AuditorError("a run is not signed as required: " + "; ".join(problems[:4]),
                           hint="sign each run with `auditor sign RUN --key KEY` (or `check "
                                "--sign KEY`), and pass the public keys with --key")


@contextmanager
def replaced_folder(out: Path) -> Iterator[Path]:
    """A fresh folder beside `out` to write into; on success it takes `out`'s place whole
    (the old one is removed only after), on any failure or interrupt it is removed and `out`
    is left as it was."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
    except OSError as exc:
        raise AuditorError(f"cannot write beside {out}: {exc.strerror}",
                           hint="choose an --out folder you can write to") from None
    try:
        yield staging
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _cell(figures: OwnFigures | None) -> str:
    if figures is None:
        return "—"
    return f"{percent(figures.score)} {figures.verdict}"


def comparison_tables(comparison: Comparison) -> list[Table]:
    """The models × policies matrix (safety, then over-refusal where measured), and every
    difference the corrected tests found; printed whole, or as lists where they do not fit."""
    names = [model.name for model in comparison.models]
    safety = Table(title="Safety: each model's own score and verdict")
    safety.add_column("policy", no_wrap=True)
    for name in names:
        safety.add_column(escape(name))
    for policy in comparison.policies:
        safety.add_row(escape(policy.policy_id),
                       *(_cell(policy.models.get(name)) for name in names))
    tables = [safety]
    if any(f.over_refusal for p in comparison.policies for f in p.models.values()):
        refusal = Table(title="Over-refusal: share of benign prompts refused")
        refusal.add_column("policy", no_wrap=True)
        for name in names:
            refusal.add_column(escape(name))
        for policy in comparison.policies:
            cells = []
            for name in names:
                own = policy.models.get(name)
                measured = own.over_refusal if own else None
                cells.append("—" if measured is None else
                             f"{percent(measured.rate)} {measured.verdict or 'reported'}")
            refusal.add_row(escape(policy.policy_id), *cells)
        tables.append(refusal)
    found = [t for t in comparison.pairs if t.better is not None]
    significant = Table(title=f"Differences that hold after Holm's correction "
                        f"({len(comparison.pairs)} paired tests)")
    for column in ("policy", "axis", "better", "than", "difference", "adjusted p"):
        significant.add_column(column, no_wrap=column in ("policy", "axis", "adjusted p"))
    for test in found:
        loser = test.b if test.better == test.a else test.a
        significant.add_row(escape(test.policy_id), test.axis, escape(test.better or ""),
                            escape(loser), f"{abs(test.difference) * 100:.1f} pt",
                            f"{test.p_adjusted:.3g}")
    if not found:
        significant.add_row("—", "", "none", "", "", "")
    tables.append(significant)
    return tables
