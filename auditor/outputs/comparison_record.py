"""A comparison folder's own record: a manifest of its files and of the runs it compared
(each run's results.json sha256 and signer), optionally signed, and its verification.

A procurement decision is kept as long as a compliance PDF: `auditor compare --sign KEY`
signs the comparison's manifest as `check --sign` signs a run's, and `auditor verify CMP`
checks the files against it and the signature against the keys the reader trusts.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from auditor import __version__
from auditor.core.clock import utc_now_text
from auditor.core.errors import AuditorError
from auditor.outputs.compare import Comparison
from auditor.outputs.files import atomic_write, read_run_bytes, sha256_of_run_file
from auditor.outputs.manifest import MANIFEST, MAX_MANIFEST_BYTES
from auditor.outputs.signing import (
    Ed25519PublicKey,
    SignatureCheck,
    Signer,
    check_signature,
    signed_files,
)
from auditor.outputs.trust import trusted_name

COMPARISON_FILES = ("comparison.json", "comparison.html", "comparison.pdf")


class ComparedRun(BaseModel):
    model_config = ConfigDict(extra="forbid")

    folder: str
    run_id: str
    results_sha256: str | None
    signed_by: str | None
    signer: str | None
    trusted_as: str | None


class ComparisonManifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["auditor-comparison-manifest"] = "auditor-comparison-manifest"
    format_version: Literal[1] = 1
    auditor_version: str
    created_at: str
    files: dict[str, str]
    runs: list[ComparedRun]


def write_comparison_record(folder: Path, comparison: Comparison, signer: Signer | None
                            ) -> ComparisonManifest:
    """The manifest (and with `signer`, its signature) of a comparison just written."""
    manifest = ComparisonManifest(
        auditor_version=__version__, created_at=utc_now_text(),
        files={name: sha256_of_run_file(folder / name) for name in COMPARISON_FILES},
        runs=[ComparedRun(folder=m.folder, run_id=m.run_id, results_sha256=m.results_sha256,
                          signed_by=m.signed_by, signer=m.signer, trusted_as=m.trusted_as)
              for m in comparison.models])
    text = manifest.model_dump_json(indent=2) + "\n"
    atomic_write(folder / MANIFEST, text)
    if signer is not None:
        for name, signed in signed_files(text.encode("utf-8"), signer)[1].items():
            atomic_write(folder / name, signed)
    return manifest


def is_comparison(folder: Path) -> bool:
    return (folder / "comparison.json").is_file() and not (folder / "results.json").exists()


def verify_comparison(folder: Path, trusted: Ed25519PublicKey | None = None
                      ) -> tuple[list[str], list[str], SignatureCheck]:
    """(differences, what was checked, the signature) of a comparison folder; `trusted`: a
    public key given with --key (else the reader's trust file decides)."""
    differences: list[str] = []
    checked: list[str] = []
    try:
        raw = read_run_bytes(folder / MANIFEST, MAX_MANIFEST_BYTES)
        manifest = ComparisonManifest.model_validate(json.loads(raw))
    except FileNotFoundError:
        raise AuditorError(f"{folder} has no {MANIFEST}: it was written by an earlier "
                           "version, or not by `auditor compare`",
                           hint="compare the runs again to write one") from None
    except (ValueError, ValidationError):
        raise AuditorError(f"{folder / MANIFEST} is damaged or not a comparison's "
                           "manifest") from None
    for name in COMPARISON_FILES:
        digest = manifest.files.get(name)
        try:
            actual = sha256_of_run_file(folder / name)
        except FileNotFoundError:
            differences.append(f"{name} is missing")
            continue
        except AuditorError as exc:
            differences.append(exc.message)
            continue
        if digest != actual:
            differences.append(f"{name} was changed after the comparison wrote it (sha256 "
                               f"{actual}, the manifest says {digest})")
    checked.append(f"sha256 of {len(COMPARISON_FILES)} files against {MANIFEST}")
    try:
        models = json.loads(read_run_bytes(folder / "comparison.json", 64 * 1024 * 1024)
                            )["models"]
        named = [(m["run_id"], m.get("results_sha256"), m.get("signed_by")) for m in models]
    except (FileNotFoundError, AuditorError, ValueError, KeyError, TypeError):
        named = []
    if named and named != [(r.run_id, r.results_sha256, r.signed_by) for r in manifest.runs]:
        differences.append("comparison.json and the manifest name different runs")
    signature = check_signature(folder, trusted)
    if signature.problem is not None and signature.present:
        differences.append(f"signature: {signature.problem}")
    if signature.valid and trusted is None:
        signature.trusted_as = trusted_name(signature.key_fingerprint)
        signature.trusted = signature.trusted_as is not None
    return differences, checked, signature
