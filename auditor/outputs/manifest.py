"""The run's manifest: the sha256 of every output, written last, so that a set of outputs is
whole and untouched exactly when it matches its manifest (`auditor verify` checks it).

Outputs are written in this order: the JSONL records and junit.xml, then results.json, then the
report, then the manifest. The old manifest is removed before the first of them is replaced,
so a run killed half-way leaves no manifest, and verification says the set is unfinished.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationError

from auditor import __version__
from auditor.core.clock import utc_now_text
from auditor.core.errors import AuditorError
from auditor.core.identity import Record
from auditor.data.dataset import sha256_of
from auditor.outputs import files
from auditor.outputs.files import atomic_write, read_run_bytes
from auditor.outputs.staged import finish_staged
from auditor.outputs.writers import output_names

MANIFEST = "manifest.json"
SIGNATURE = "signature.json"  # auditor.outputs.signing: the manifest's signature
ATTESTATION = "attestation.intoto.jsonl"  # auditor.outputs.attestation: the same, as in-toto
FORMAT = "auditor-manifest"
# Report files are listed too, and re-listed when re-rendered.
REPORT_NAMES = (files.HTML, files.PDF)


class Manifest(Record):
    format: Literal["auditor-manifest"]
    format_version: Literal[1]
    auditor_version: str
    created_at: str
    store: str = Field(description="The run's store folder, relative to the outputs.")
    files: dict[str, str] = Field(description="Output file name → sha256.")
    store_sha256: str | None = Field(
        None, description="sha256 of the store's content these outputs were computed from "
        "(answers, verdicts, review labels): `RunStore.digest`. Absent in older manifests.")


def remove_manifest(out_dir: Path) -> None:
    """Before outputs are replaced: until the new manifest is written the set is unfinished,
    and a signature of the old one signs nothing any more."""
    try:
        (out_dir / SIGNATURE).unlink(missing_ok=True)
        (out_dir / ATTESTATION).unlink(missing_ok=True)
        (out_dir / MANIFEST).unlink(missing_ok=True)
    except OSError as exc:
        raise AuditorError(f"cannot replace {out_dir / MANIFEST}: {exc.strerror}") from None


def remove_stale_temporaries(out_dir: Path) -> None:
    """Temporary files a killed run left beside its outputs (`.results.json.x1y2`, …)."""
    if not out_dir.is_dir():
        return
    finish_staged(out_dir)  # a signing a kill interrupted: completed before it is rewritten
    prefixes = tuple(f".{name}." for name in (*output_names(), MANIFEST, SIGNATURE,
                                                          ATTESTATION))
    for path in out_dir.iterdir():
        if path.name.startswith(prefixes) and path.is_file():
            with contextlib.suppress(OSError):  # not worth failing a run; a later one retries
                path.unlink()


def write_manifest(out_dir: Path, store_dir: Path, store_sha256: str | None) -> Manifest:
    """Hash every output present and write the manifest (last of all the outputs)."""
    hashes = {name: sha256_of(out_dir / name) for name in output_names()
              if (out_dir / name).is_file()}
    try:
        store = os.path.relpath(store_dir.resolve(), out_dir.resolve())
    except ValueError:  # another drive: keep the absolute path
        store = str(store_dir.resolve())
    manifest = Manifest(format=FORMAT, format_version=1, auditor_version=__version__,
                        created_at=utc_now_text(),
                        store=store, files=hashes, store_sha256=store_sha256)
    atomic_write(out_dir / MANIFEST, manifest.model_dump_json(indent=2) + "\n")
    return manifest


MAX_MANIFEST_BYTES = 1 << 20


def read_manifest(out_dir: Path) -> Manifest | None:
    path = out_dir / MANIFEST
    try:
        raw = read_run_bytes(path, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
    except ValueError:
        raise AuditorError(f"{path} is damaged: not valid JSON",
                           hint="rerun `auditor check` with the same --out") from None
    try:
        return Manifest.model_validate(data)
    except ValidationError:
        raise AuditorError(f"{path} is not an auditor manifest") from None
