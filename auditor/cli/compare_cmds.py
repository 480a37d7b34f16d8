"""The `compare` command: two or more models audited on the same policies, and one decision,
for vendor model procurement."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from auditor.cli.output import console, err_console, inert, print_table_or_list, user_errors
from auditor.core.errors import AuditorError
from auditor.outputs.comparability import RunRecord, differences
from auditor.outputs.compare import Comparison, OwnFigures, compare_runs
from auditor.outputs.files import atomic_write, read_benign_outcomes, read_outcomes, read_results
from auditor.outputs.report.compare_context import comparison_context
from auditor.outputs.report.render import render_html, render_pdf
from auditor.outputs.verification import verify_run


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
    results = [read_results(run) for run in runs]
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
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "comparison.json", comparison.model_dump_json(indent=2) + "\n")
    html = render_html("compare.html.j2", comparison_context(comparison, not problems))
    for mismatch in mismatches:
        err_console.print(f"[yellow]not comparable:[/] {inert(mismatch)}")
    atomic_write(out / "comparison.html", html)
    render_pdf(html, out / "comparison.pdf")
    for table in comparison_tables(comparison):
        print_table_or_list(console, table)
    console.print(f"[bold]Decision:[/] {escape(comparison.decision.statement)}")
    for question in comparison.decision.open_questions[:5]:
        console.print(f"  open: {escape(question)}")
    console.print(f"Wrote {escape(str(out / 'comparison.pdf'))}")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _cell(figures: OwnFigures | None) -> str:
    if figures is None:
        return "—"
    return f"{_pct(figures.score)} {figures.verdict}"


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
                             f"{_pct(measured.rate)} {measured.verdict or 'reported'}")
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
