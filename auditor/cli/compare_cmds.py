"""The `compare` command: two runs side by side, for vendor model procurement."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from auditor.audit_run import read_benign_outcomes, read_outcomes, read_results
from auditor.cli.output import console, user_errors
from auditor.compare import compare_runs
from auditor.report.render import render_html, render_pdf
from auditor.results import atomic_write


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)


@user_errors
def compare_cmd(
    run_a: Path = typer.Argument(..., file_okay=False, help="Run folder of model A."),
    run_b: Path = typer.Argument(..., file_okay=False, help="Run folder of model B."),
    out: Path = typer.Option(Path("comparison"), "--out", "-o", help="Output folder."),
) -> None:
    """Compare two runs per policy with paired intervals; writes comparison.json and a PDF."""
    results_a, results_b = read_results(run_a), read_results(run_b)
    comparison = compare_runs(results_a, read_outcomes(run_a), results_b, read_outcomes(run_b),
                              results_a["scoring"]["confidence"], read_benign_outcomes(run_a),
                              read_benign_outcomes(run_b))
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "comparison.json", json.dumps(comparison, indent=2) + "\n")
    html = render_html("compare.html.j2", {"c": comparison})
    atomic_write(out / "comparison.html", html)
    render_pdf(html, out / "comparison.pdf")
    table = Table(title=f"A = {escape(str(comparison['a']['model']))} · "
                  f"B = {escape(str(comparison['b']['model']))}")
    refusals = any(row["over_refusal"] for row in comparison["policies"])
    columns = ["policy", "shared", "safe A", "safe B", "A − B (interval)", "safer"]
    if refusals:
        columns += ["refused A", "refused B", "A − B (interval)", "refuses less"]
    for column in columns:
        table.add_column(column)

    def pct(x: float | None) -> str:
        return "—" if x is None else f"{x:.1%}"

    def gap(row: dict[str, Any]) -> str:
        return (f"{row['difference'] * 100:+.1f} pt ({row['low'] * 100:+.1f} to "
                f"{row['high'] * 100:+.1f})")

    for row in comparison["policies"]:
        cells = [escape(row["policy_id"]), str(row["n_shared"]), pct(row["score_a"]),
                 pct(row["score_b"]), gap(row), row["better"] or "no significant difference"]
        if refusals:
            other = row["over_refusal"]
            cells += ["—", "—", "not measured in both", ""] if other is None else [
                pct(other["rate_a"]), pct(other["rate_b"]), gap(other),
                other["better"] or "no significant difference"]
        table.add_row(*cells)
    console.print(table)
    console.print(f"Wrote {escape(str(out / 'comparison.pdf'))}")
