"""The `compare` command: two runs side by side, for vendor model procurement."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from auditor.cli.output import console, err_console, inert, print_table_or_list, user_errors
from auditor.core.errors import AuditorError
from auditor.outputs.comparability import RunRecord, differences
from auditor.outputs.compare import Comparison, compare_runs
from auditor.outputs.files import atomic_write, read_benign_outcomes, read_outcomes, read_results
from auditor.outputs.report.render import render_html, render_pdf
from auditor.outputs.verification import verify_run


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)


@user_errors
def compare_cmd(
    run_a: Path = typer.Argument(..., file_okay=False, help="Run folder of model A."),
    run_b: Path = typer.Argument(..., file_okay=False, help="Run folder of model B."),
    out: Path = typer.Option(Path("comparison"), "--out", "-o", help="Output folder."),
    unverified: bool = typer.Option(False, "--unverified", help="Compare runs that fail "
                                    "`auditor verify` anyway; every page of the PDF says so."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", help="Compare runs that "
                                        "differ in policies, prompts, judge, card, system "
                                        "prompt or decoding anyway; every page of the PDF and "
                                        "comparison.json list the differences."),
) -> None:
    """Compare two runs per policy with paired intervals; writes comparison.json and a PDF.

    Both runs are verified first (`auditor verify`): a run whose outputs were edited or left
    unfinished is refused, unless --unverified. Then they must be comparable: the same policy
    ids and thresholds, the same prompts, judge and card, system prompt, max_tokens and
    temperature, and over-refusal prompts; any difference is exit 2 naming it, unless
    --allow-mismatch.
    """
    results_a, results_b = read_results(run_a), read_results(run_b)
    problems = [f"{run}: {difference}" for run in (run_a, run_b)
                for difference in verify_run(run).differences]
    if problems and not unverified:
        raise AuditorError("a run fails verification: " + "; ".join(problems[:3]),
                           hint="`auditor verify RUN` lists every difference; rerun `auditor "
                                "check` to rewrite the outputs, or pass --unverified")
    runs = [RunRecord(folder, results, read_outcomes(folder), read_benign_outcomes(folder))
            for folder, results in ((run_a, results_a), (run_b, results_b))]
    mismatches = differences(runs)
    if mismatches and not allow_mismatch:
        raise AuditorError("the runs are not comparable: " + "; ".join(mismatches[:4])
                           + (f"; and {len(mismatches) - 4} more" if len(mismatches) > 4 else ""),
                           hint="audit both models with the same policy file, judge and card; "
                                "or pass --allow-mismatch to compare them anyway (every page "
                                "will list the differences)")
    comparison = compare_runs(runs[0], runs[1], results_a.scoring.confidence, mismatches)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "comparison.json", comparison.model_dump_json(indent=2) + "\n")
    html = render_html("compare.html.j2", {"c": comparison.model_dump(),
                                           "verified": not problems})
    for mismatch in mismatches:
        err_console.print(f"[yellow]not comparable:[/] {inert(mismatch)}")
    atomic_write(out / "comparison.html", html)
    render_pdf(html, out / "comparison.pdf")
    console.print(f"A = {escape(comparison.a.model)} · B = {escape(comparison.b.model)}")
    for table in comparison_tables(comparison):
        print_table_or_list(console, table)
    console.print(f"Wrote {escape(str(out / 'comparison.pdf'))}")


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:.1%}"


def _gap(difference: float, low: float, high: float) -> str:
    return f"{difference * 100:+.1f} pt ({low * 100:+.1f} to {high * 100:+.1f})"


def comparison_tables(comparison: Comparison) -> list[Table]:
    """Safety, then over-refusal, as two tables (printed whole, or as lists where they do not
    fit the terminal: nothing is cut)."""
    safety = Table(title="Safety: share of safe answers on the prompts both runs scored")
    for column in ("policy", "shared", "A", "B", "A − B (interval)"):
        safety.add_column(column, no_wrap=True)
    safety.add_column("safer")
    for row in comparison.policies:
        safety.add_row(escape(row.policy_id), str(row.n_shared), _pct(row.score_a),
                       _pct(row.score_b), _gap(row.difference, row.low, row.high),
                       row.better or "no significant difference")
    tables = [safety]
    if any(row.over_refusal for row in comparison.policies):
        refusal = Table(title="Over-refusal: share of benign prompts refused")
        for column in ("policy", "A", "B", "A − B (interval)"):
            refusal.add_column(column, no_wrap=True)
        refusal.add_column("refuses less")
        for row in comparison.policies:
            other = row.over_refusal
            refusal.add_row(escape(row.policy_id), *(
                ["—", "—", "not measured in both", ""] if other is None else
                [_pct(other.rate_a), _pct(other.rate_b),
                 _gap(other.difference, other.low, other.high),
                 other.better or "no significant difference"]))
        tables.append(refusal)
    return tables
