"""Signed runs: an Ed25519 signature over a run's manifest, so that whoever holds the public key
can tell the outputs are the ones the key's holder produced.

The manifest holds the sha256 of every output and of the store's content, so signing it signs
the whole record. The signature goes to `signature.json` beside it, with the signer's key
fingerprint (sha256 of the raw public key), the public key itself and the name the signer
gives. Since format 2 the signature covers every field of signature.json (the manifest's
sha256, the key, the name, the time), written as canonical JSON; format 1 signed the
manifest's bytes alone and is still checked as such. A signature proves nothing by itself,
since anyone can make a key: `verify` trusts a key only when the reader has (`auditor trust
add`, `auditor.outputs.trust`, or `--key PUB`). results.json and the report name the signer and
the fingerprint, so a reader of the PDF knows which key to ask for. The same key also signs
`attestation.intoto.jsonl` (`auditor.outputs.attestation`): the outputs' digests as an in-toto
Statement in a DSSE envelope, for verifiers other than auditor.

Keys are PEM files (`auditor keygen`): the private key PKCS#8, written readable by its owner
only; the public key SubjectPublicKeyInfo, safe to hand out.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import Field, ValidationError

from auditor.core.clock import utc_now_text
from auditor.core.errors import AuditorError
from auditor.core.identity import Record
from auditor.outputs.attestation import attestation_problem, envelope_line
from auditor.outputs.files import atomic_write, read_run_bytes
from auditor.outputs.manifest import ATTESTATION, MANIFEST, MAX_MANIFEST_BYTES, SIGNATURE

__all__ = [
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "SignatureCheck",
    "SignatureRecord",
    "Signer",
    "check_signature",
    "fingerprint",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
    "sign_run",
    "signed_files",
]

MAX_KEY_BYTES = 16 * 1024
MAX_SIGNATURE_BYTES = 64 * 1024


class SignatureRecord(Record):
    format: Literal["auditor-signature"]
    format_version: Literal[1, 2]
    algorithm: Literal["ed25519"]
    signed_file: Literal["manifest.json"]
    manifest_sha256: str
    key_fingerprint: str = Field(description="sha256 of the raw 32-byte public key.")
    public_key: str = Field(description="The raw public key, base64.")
    signer: str | None = Field(None, description="The name the signer gave (format 2).")
    signature: str = Field(description="Ed25519 signature, base64: format 2 of every other "
                           "field as canonical JSON (`signed_payload`), format 1 of "
                           "manifest.json's bytes.")
    signed_at: str


def signed_payload(record: SignatureRecord) -> bytes:
    """What a format 2 signature signs: every field but the signature, as canonical JSON
    (keys sorted, no spaces), so no field can change without voiding it."""
    fields = record.model_dump(mode="json", exclude={"signature"})
    return json.dumps(fields, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def fingerprint(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "ed25519:" + hashlib.sha256(raw).hexdigest()


def _read_key_file(path: Path) -> bytes:
    try:
        if not path.is_file():
            raise AuditorError(f"{path} is not a key file", hint="make one with `auditor keygen`")
        data = path.read_bytes()[:MAX_KEY_BYTES + 1]
    except OSError as exc:
        raise AuditorError(f"cannot read {path}: {exc.strerror}") from None
    if len(data) > MAX_KEY_BYTES:
        raise AuditorError(f"{path} is too large to be a key file")
    return data


def load_private_key(path: Path) -> Ed25519PrivateKey:
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError):
        raise AuditorError(f"{path} is not an unencrypted PEM private key",
                           hint="pass the private key `auditor keygen` wrote (not the .pub)"
                           ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise AuditorError(f"{path} is not an Ed25519 key", hint="make one with `auditor keygen`")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    data = _read_key_file(path)
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise AuditorError(f"{path} is not a PEM public key",
                           hint="pass the .pub file `auditor keygen` wrote") from None
    if not isinstance(key, Ed25519PublicKey):
        raise AuditorError(f"{path} is not an Ed25519 public key")
    return key


def generate_key_pair(path: Path) -> tuple[Path, str]:
    """Write a new private key to `path` (mode 0600) and its public key to `path`.pub;
    returns the public key's path and fingerprint. Never overwrites a file."""
    public_path = path.with_name(path.name + ".pub")
    for target in (path, public_path):
        if target.exists() or target.is_symlink():
            raise AuditorError(f"{target} already exists", hint="choose another path; a key is "
                               "never overwritten")
    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
    public_pem = key.public_key().public_bytes(serialization.Encoding.PEM,
                                               serialization.PublicFormat.SubjectPublicKeyInfo)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(handle, "wb") as out:
            out.write(private_pem)
        public_path.write_bytes(public_pem)
    except OSError as exc:
        raise AuditorError(f"cannot write {path}: {exc.strerror}") from None
    return public_path, fingerprint(key.public_key())


def signature_record(manifest: bytes, key: Ed25519PrivateKey, signer: str
                     ) -> SignatureRecord:
    """A format 2 signature of a manifest's bytes by `key`, in the name of `signer`."""
    public = key.public_key()
    unsigned = SignatureRecord(
        format="auditor-signature", format_version=2, algorithm="ed25519",
        signed_file="manifest.json", manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        key_fingerprint=fingerprint(public),
        public_key=base64.b64encode(public.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw)).decode(),
        signer=signer, signature="", signed_at=utc_now_text())
    signature = base64.b64encode(key.sign(signed_payload(unsigned))).decode()
    return unsigned.model_copy(update={"signature": signature})


def signed_files(manifest: bytes, signer: Signer) -> tuple[SignatureRecord, dict[str, str]]:
    """The signature of a manifest's bytes and the files that carry it, name → text, in
    the order to write them: the in-toto attestation first, then signature.json (a folder is
    signed once signature.json is there)."""
    record = signature_record(manifest, signer.key, signer.name)
    return record, {ATTESTATION: envelope_line(manifest, signer.key, signer.name,
                                               record.key_fingerprint),
                    SIGNATURE: record.model_dump_json(indent=2) + "\n"}


def sign_run(run_dir: Path, signer: Signer) -> SignatureRecord:
    """Sign the run's manifest as it is now (`signed_files`)."""
    try:
        manifest = (run_dir / MANIFEST).read_bytes()
    except OSError:
        raise AuditorError(f"{run_dir} has no {MANIFEST} to sign",
                           hint="run `auditor check` to finish the run first") from None
    record, texts = signed_files(manifest, signer)
    for name, text in texts.items():
        atomic_write(run_dir / name, text)
    return record


@dataclass(frozen=True)
class Signer:
    """A private key and the name its holder signs as (printed on page 1 and bound into the
    signature; a reader trusts the key, under the name *they* gave it)."""

    key: Ed25519PrivateKey
    name: str

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.key.public_key())


@dataclass
class SignatureCheck:
    """What a run's signature says: whether there is one, whether it signs the manifest as it
    is, and whether its key is the one the reader trusts."""

    present: bool
    valid: bool = False
    key_fingerprint: str | None = None
    trusted: bool | None = None  # None: no key given to check it against
    problem: str | None = None
    signer: str | None = None  # the name the signer gave (format 2)
    format_version: int | None = None
    trusted_as: str | None = None  # the name the reader's trust file gives the key
    attested: bool = False  # an in-toto attestation by the same key vouches for the outputs


def check_signature(run_dir: Path, trusted: Ed25519PublicKey | None = None) -> SignatureCheck:
    path = run_dir / SIGNATURE
    try:
        raw = read_run_bytes(path, MAX_SIGNATURE_BYTES)
    except FileNotFoundError:
        return SignatureCheck(present=False, trusted=False if trusted else None,
                              problem="the run is not signed" if trusted else None)
    except AuditorError as exc:
        return SignatureCheck(present=True, problem=exc.message)
    try:
        record = SignatureRecord.model_validate(json.loads(raw))
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(record.public_key,
                                                                     validate=True))
        signature = base64.b64decode(record.signature, validate=True)
    except (ValueError, ValidationError):
        return SignatureCheck(present=True, problem=f"{SIGNATURE} is damaged or not a signature")
    found = SignatureCheck(present=True, key_fingerprint=record.key_fingerprint,
                           signer=record.signer, format_version=record.format_version)
    if fingerprint(public) != record.key_fingerprint:
        found.problem = f"{SIGNATURE} names a key fingerprint that is not its public key's"
        return found
    try:
        manifest = read_run_bytes(run_dir / MANIFEST, MAX_MANIFEST_BYTES)
    except FileNotFoundError:
        found.problem = f"{MANIFEST} is missing: the signature signs nothing"
        return found
    except AuditorError as exc:
        found.problem = exc.message
        return found
    if hashlib.sha256(manifest).hexdigest() != record.manifest_sha256:
        found.problem = (f"the signature does not match {MANIFEST}: the manifest was changed "
                         "after it was signed")
        return found
    try:  # format 2 signs every field; format 1 the manifest's bytes
        public.verify(signature, signed_payload(record) if record.format_version == 2
                      else manifest)
    except InvalidSignature:
        found.problem = (f"the signature does not match {SIGNATURE}'s fields or {MANIFEST}: "
                         "one of them was changed after it was signed")
        return found
    attestation = attestation_problem(run_dir, manifest, public, record.key_fingerprint)
    if attestation is not None:
        found.problem = attestation
        return found
    found.attested = (run_dir / ATTESTATION).is_file()
    found.valid = True
    if trusted is not None:
        found.trusted = fingerprint(trusted) == record.key_fingerprint
        if not found.trusted:
            found.problem = (f"signed by {record.key_fingerprint}, not by the key given "
                             f"({fingerprint(trusted)})")
    return found
