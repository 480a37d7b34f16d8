"""Commands about the ALERT dataset: `dataset info` and `dataset fetch`."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from auditor.cli.output import console, print_json, user_errors
from auditor.config.policy import HUB_DATASET
from auditor.core import taxonomy
from auditor.core.resources import default_cache_dir
from auditor.data.dataset import LICENCE, load_folder
from auditor.data.hub import fetch_alert
from auditor.data.provenance import provenance_of

dataset_app = typer.Typer(help="Inspect or download the ALERT dataset.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(dataset_app, name="dataset")


@dataset_app.command("info")
@user_errors
def info_cmd(
    path: Path = typer.Argument(..., help="Folder with alert.jsonl / alert_adversarial.jsonl, "
                                "or one of those files."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Machine-readable output."),
    lenient: bool = typer.Option(False, metavar="", help="Skip and count malformed rows instead of failing."),
) -> None:
    """Count ALERT prompts per category and attack type, with file checksums."""
    folder = path if path.is_dir() else path.parent
    dataset = load_folder(folder, None, lenient=lenient)
    counts = dataset.counts()
    attacks = dataset.attack_types()
    if as_json:
        print_json({
            "source": dataset.source, "licence": provenance_of(dataset).licence,
            "kind": provenance_of(dataset).kind,
            "files": [vars(f) for f in dataset.files],
            "total": len(dataset.prompts),
            "attack_types": attacks,
            "counts": counts,
        })
        return
    table = Table(title=f"Prompts in {escape(str(folder))} (ALERT's format)")
    table.add_column("category")
    for attack in attacks:
        table.add_column(attack, justify="right")
    table.add_column("total", justify="right")
    for label in taxonomy.MICRO:
        row = counts.get(label, {})
        table.add_row(escape(label), *(str(row.get(a, 0)) for a in attacks),
                      str(sum(row.values())), style="red" if not row else "")
    console.print(table)
    for info in dataset.files:
        console.print(f"{info.name}: {info.loaded} prompts loaded of {info.rows} rows; "
                      f"{info.empty_skipped} empty skipped, {info.malformed_skipped} malformed "
                      f"skipped; sha256 {info.sha256}")
    console.print(f"[dim]{escape(provenance_of(dataset).description)}; licence "
                  f"{escape(provenance_of(dataset).licence)}.[/]")


@dataset_app.command("fetch")
@user_errors
def fetch_cmd(
    repo_id: str = typer.Option(HUB_DATASET, "--repo", help="Hub dataset id."),
    revision: str = typer.Option(None, help="Commit or tag to pin (default: main)."),
    cache_dir: Path = typer.Option(None, help="Cache folder (default: $AUDITOR_CACHE or "
                                   "~/.cache/auditor)."),
) -> None:
    """Download ALERT from the Hugging Face Hub into the cache, for offline audits."""
    folder, resolved = fetch_alert(repo_id, revision, cache_dir or default_cache_dir())
    dataset = load_folder(folder, None, lenient=True)
    console.print(f"[green]✓[/] {escape(repo_id)} at revision {resolved} in {escape(str(folder))}")
    for info in dataset.files:
        console.print(f"  {info.name}: {info.loaded} prompts, sha256 {info.sha256}")
    console.print(f"[dim]ALERT is licensed {LICENCE}; reports state this.[/]")
