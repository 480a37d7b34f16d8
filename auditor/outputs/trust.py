"""The keys a reader trusts, by name: the one thing that turns "signed" into "signed by
someone I know".

Anyone can make a key and sign a run with it, so a valid signature alone proves only that the
files are the ones its key's holder signed. The trust file is the reader's own list of public
keys, each under the name of the person or office that holds it (`auditor trust add NAME
KEY.pub`, after checking the key's fingerprint with its holder out of band). `verify` and
`compare` accept a signature as trusted only when its key is in that list (or given with
`--key`), and print the name the *reader* gave the key beside the name the signer claimed.

The file is JSON, kept at `$AUDITOR_TRUST_FILE`, else `$XDG_CONFIG_HOME/auditor/
trusted-keys.json`, else `~/.config/auditor/trusted-keys.json`; written atomically, readable by
its owner only.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Literal

from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, ConfigDict, ValidationError

from auditor.config.policy import printable
from auditor.core.clock import utc_now_text
from auditor.core.errors import AuditorError
from auditor.outputs.files import atomic_write
from auditor.outputs.signing import Signer, fingerprint, load_private_key, load_public_key

MAX_TRUST_FILE_BYTES = 1024 * 1024
MAX_NAME_CHARS = 200


class TrustedKey(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    fingerprint: str
    public_key: str  # the raw 32-byte key, base64
    added_at: str


class TrustFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format: Literal["auditor-trusted-keys"] = "auditor-trusted-keys"
    format_version: Literal[1] = 1
    keys: list[TrustedKey] = []


def trust_file_path() -> Path:
    if explicit := os.environ.get("AUDITOR_TRUST_FILE"):
        return Path(explicit).expanduser()
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "auditor" / "trusted-keys.json"


def read_trust_file(path: Path | None = None) -> TrustFile:
    """The reader's trusted keys (none when the file does not exist yet)."""
    path = path or trust_file_path()
    try:
        if not path.exists():
            return TrustFile()
        if not path.is_file():
            raise AuditorError(f"the trust file {path} is not a regular file",
                               hint="point AUDITOR_TRUST_FILE at a JSON file")
        with path.open("rb") as handle:
            raw = handle.read(MAX_TRUST_FILE_BYTES + 1)
    except OSError as exc:
        raise AuditorError(f"cannot read the trust file {path}: {exc.strerror}") from None
    if len(raw) > MAX_TRUST_FILE_BYTES:
        raise AuditorError(f"the trust file {path} is too large to be a list of keys")
    try:
        return TrustFile.model_validate(json.loads(raw))
    except (ValueError, ValidationError):
        raise AuditorError(f"the trust file {path} is damaged or not a trust file",
                           hint="`auditor trust add` writes it; move the damaged file aside "
                                "and add the keys again") from None


def _write(trust: TrustFile, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AuditorError(f"cannot write the trust file {path}: {exc.strerror}") from None
    atomic_write(path, trust.model_dump_json(indent=2) + "\n")
    path.chmod(0o600)


def checked_name(raw: str, what: str = "the name") -> str:
    """A key holder's name as the report prints it: no control or bidirectional-override
    characters, at most 200 characters."""
    name = raw.strip()
    if not name:
        raise AuditorError(f"{what} is empty", hint="name the person or office that holds the key")
    if len(name) > MAX_NAME_CHARS:
        raise AuditorError(f"{what} is {len(name):,} characters long; at most "
                           f"{MAX_NAME_CHARS}", hint="give the key holder's name")
    try:
        printable(name)
    except ValueError as exc:
        raise AuditorError(f"{what} {exc}", hint="type the name again without it") from None
    return name


def add_trusted(name: str, public_key_path: Path, path: Path | None = None) -> TrustedKey:
    """Trust the key in `public_key_path` under `name`. A name or key already trusted is an
    error: a reader who means to change whom a key stands for removes it first."""
    path = path or trust_file_path()
    name = checked_name(name)
    public = load_public_key(public_key_path)
    trust = read_trust_file(path)
    print_id = fingerprint(public)
    for known in trust.keys:
        if known.name == name:
            raise AuditorError(f"the name {name!r} already stands for {known.fingerprint}",
                               hint=f"`auditor trust remove {name!r}` first to replace it")
        if known.fingerprint == print_id:
            raise AuditorError(f"this key is already trusted as {known.name!r}",
                               hint=f"`auditor trust remove {known.name!r}` first to rename it")
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    added = TrustedKey(name=name, fingerprint=print_id,
                       public_key=base64.b64encode(raw).decode(),
                       added_at=utc_now_text())
    _write(trust.model_copy(update={"keys": [*trust.keys, added]}), path)
    return added


def remove_trusted(name: str, path: Path | None = None) -> TrustedKey:
    path = path or trust_file_path()
    trust = read_trust_file(path)
    kept = [k for k in trust.keys if k.name != name]
    if len(kept) == len(trust.keys):
        raise AuditorError(f"no key is trusted under the name {name!r}",
                           hint="`auditor trust list` shows the names")
    removed = next(k for k in trust.keys if k.name == name)
    _write(trust.model_copy(update={"keys": kept}), path)
    return removed


def trusted_name(key_fingerprint: str | None, path: Path | None = None) -> str | None:
    """The name the reader trusts this key under, or None when it is not trusted."""
    if key_fingerprint is None:
        return None
    for known in read_trust_file(path).keys:
        if known.fingerprint == key_fingerprint:
            return known.name
    return None


def load_signer(key_path: Path, name: str | None) -> Signer:
    """The private key at `key_path` and the name to sign as: `name` when given, else the
    name this machine's trust file gives the key, else the key file's name."""
    key = load_private_key(key_path)
    if name is not None:
        return Signer(key, checked_name(name, "--signer"))
    trusted = trusted_name(fingerprint(key.public_key()))
    return Signer(key, trusted or checked_name(key_path.name, "the key file's name"))
