"""`keygen` and `sign`: make an Ed25519 key pair, and sign a finished run's manifest.

`auditor check --sign KEY` signs as it writes; `auditor sign RUN --key KEY` signs a run made
without it (after verifying it, and re-rendering results.json and the report so they name the
key). `auditor verify RUN --key PUB` and `auditor compare --require-signed` check signatures.
"""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape

from auditor.audit.verification import require_verified, resign
from auditor.cli.output import console, inert, user_errors
from auditor.outputs.signing import generate_key_pair
from auditor.outputs.staged import finish_staged
from auditor.outputs.trust import load_signer

KEY_HELP = "Ed25519 private key (PEM) from `auditor keygen`."


def register(app: typer.Typer) -> None:
    app.command("keygen")(keygen_cmd)
    app.command("sign")(sign_cmd)


@user_errors
def keygen_cmd(
    path: Path = typer.Argument(..., dir_okay=False, help="Where to write the private key; "
                                "the public key goes beside it as PATH.pub."),
) -> None:
    """Make a key pair for signing runs.

    The private key (PATH, readable by you only) signs: keep it where your audits are made.
    Hand out the public key (PATH.pub): whoever checks a run uses it with `auditor verify RUN
    --key PATH.pub`. An existing file is never overwritten.
    """
    public_path, fingerprint = generate_key_pair(path)
    console.print(f"Wrote the private key {escape(str(path))} and the public key "
                  f"{escape(str(public_path))}")
    console.print(f"Key fingerprint: {fingerprint}")


@user_errors
def sign_cmd(
    run_dir: Path = typer.Argument(..., file_okay=False, help="The --out folder of a run."),
    key: Path = typer.Option(..., "--key", "-k", dir_okay=False, help=KEY_HELP),
    signer_name: str = typer.Option(None, "--signer", help="The name to sign as (page 1 "
                                    "prints it, and the signature binds it; default: the "
                                    "name your trust file gives the key, else the key "
                                    "file's name)."),
) -> None:
    """Sign a finished run: results.json and the report are rewritten to name the key, then
    the manifest is signed (signature.json).

    The run must verify first: a signature vouches for outputs that agree with their store.
    """
    signer = load_signer(key, signer_name)
    finish_staged(run_dir)
    require_verified(run_dir, refused="it is not signed")
    record = resign(run_dir, signer)
    console.print(f"[green]✓[/] signed {escape(str(run_dir))} as {inert(signer.name)} with key "
                  f"{record.key_fingerprint}")
