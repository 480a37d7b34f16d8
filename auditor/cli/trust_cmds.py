"""`auditor trust`: the keys you trust to sign runs, each under the name of its holder.

`verify` and `compare` call a signature trusted only when its key is in this list (or given
with `--key`): anyone can make a key and sign, so "signed" alone says nothing about who.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from auditor.cli.output import console, inert, print_table_or_list, user_errors
from auditor.outputs.trust import add_trusted, read_trust_file, remove_trusted, trust_file_path

trust_app = typer.Typer(help="The public keys you trust to sign runs, by their holders' names "
                        "(kept in your own trust file).", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(trust_app, name="trust")


@trust_app.command("add")
@user_errors
def add_cmd(
    name: str = typer.Argument(..., help="Who holds the key, as verify should name them "
                               "(e.g. \"Compliance office\")."),
    public_key: Path = typer.Argument(..., dir_okay=False, help="Their public key (the .pub "
                                      "file `auditor keygen` wrote)."),
) -> None:
    """Trust a public key to sign runs, under its holder's name.

    Check the fingerprint printed here with the key's holder by another channel (in person,
    by phone) before you rely on it: whoever gave you the file could have made it.
    """
    added = add_trusted(name, public_key)
    console.print(f"Trusted {inert(added.name)}: key {added.fingerprint}")
    console.print(f"[dim]in {inert(str(trust_file_path()))}; confirm this fingerprint with "
                  "the key's holder[/]")


@trust_app.command("list")
@user_errors
def list_cmd() -> None:
    """The keys you trust, with their names, fingerprints and when they were added."""
    trust = read_trust_file()
    if not trust.keys:
        console.print(f"No key is trusted yet ({inert(str(trust_file_path()))}): `auditor "
                      "trust add NAME KEY.pub`")
        return
    table = Table(title=f"Trusted keys ({inert(str(trust_file_path()))})")
    for column in ("name", "fingerprint", "added"):
        table.add_column(column)
    for key in trust.keys:
        table.add_row(inert(key.name), key.fingerprint, key.added_at)
    print_table_or_list(console, table)


@trust_app.command("remove")
@user_errors
def remove_cmd(
    name: str = typer.Argument(..., help="The name the key is trusted under."),
) -> None:
    """Stop trusting a key: runs it signed then verify as signed by an untrusted key."""
    removed = remove_trusted(name)
    console.print(f"No longer trusted: {inert(removed.name)} ({removed.fingerprint})")
