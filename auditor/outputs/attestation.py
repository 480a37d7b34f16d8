"""A signed run's in-toto attestation: the same outputs, vouched for in a form that signature
tooling outside auditor reads.

signature.json is auditor's own format. Beside it a signed run gets `attestation.intoto.jsonl`:
one DSSE envelope (https://github.com/secure-systems-lab/dsse) on one line, whose payload is an
in-toto Statement v1 (https://github.com/in-toto/attestation). Its subjects are every file
the manifest lists and the manifest itself, each with its sha256, so any DSSE verifier that
holds the run's public key can check a file it was handed against the signer's word. The
predicate repeats what the signature binds (the manifest's sha256, the store's, the signer's
name and key) and names the record (`auditor-manifest` for a run); the verdicts are in
results.json (comparison.json), one of the subjects.

The envelope is signed with the run's own Ed25519 key over DSSE's pre-authentication encoding
(PAE), and its key id is the key's fingerprint as auditor writes it everywhere else. `verify`
checks it with signature.json: same key, a valid signature, and subjects that are exactly the
manifest's files. A run signed before this version has none and verifies as it did.
"""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from auditor.core.errors import AuditorError
from auditor.outputs.files import read_run_bytes
from auditor.outputs.manifest import ATTESTATION, MANIFEST

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
# A URN rather than a web address: the type names auditor's predicate and resolves nowhere.
PREDICATE_TYPE = "urn:auditor:predicate:audit-run:v1"
MAX_ATTESTATION_BYTES = 4 * 1024 * 1024  # a manifest of every output, twice over, fits


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE's pre-authentication encoding: what the signature covers, so that neither the
    payload's type nor its length can be changed without voiding it."""
    kind = payload_type.encode("utf-8")
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def _digests(manifest_bytes: bytes) -> tuple[dict[str, Any], dict[str, str]]:
    """The manifest's fields, and what the attestation names: every file it lists and the
    manifest itself, each with its sha256. A run's and a comparison's manifests both list
    their files under `files`."""
    fields = json.loads(manifest_bytes)
    files = fields["files"]
    if not isinstance(files, dict) or not all(
            isinstance(n, str) and isinstance(d, str) for n, d in files.items()):
        raise ValueError("the manifest's files are not names and digests")
    return fields, {**files, MANIFEST: hashlib.sha256(manifest_bytes).hexdigest()}


def statement(manifest_bytes: bytes, signer: str, key_fingerprint: str) -> dict[str, Any]:
    """The in-toto Statement: each file the manifest lists and the manifest, with its
    sha256; the predicate says what kind of record it is and who signed it."""
    fields, digests = _digests(manifest_bytes)
    return {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": name, "digest": {"sha256": digest}}
                    for name, digest in sorted(digests.items())],
        "predicateType": PREDICATE_TYPE,
        "predicate": {"record": fields.get("format"),
                      "auditor_version": fields.get("auditor_version"),
                      "manifest_sha256": digests[MANIFEST],
                      "store_sha256": fields.get("store_sha256"),
                      "signer": signer, "key_fingerprint": key_fingerprint},
    }


def envelope_line(manifest_bytes: bytes, key: Ed25519PrivateKey, signer: str,
                  key_fingerprint: str) -> str:
    """The attestation file's text: the signed envelope as one JSON line."""
    payload = json.dumps(statement(manifest_bytes, signer, key_fingerprint),
                         sort_keys=True, separators=(",", ":")).encode("utf-8")
    signature = key.sign(pae(PAYLOAD_TYPE, payload))
    envelope = {"payloadType": PAYLOAD_TYPE,
                "payload": base64.b64encode(payload).decode("ascii"),
                "signatures": [{"keyid": key_fingerprint,
                                "sig": base64.b64encode(signature).decode("ascii")}]}
    return json.dumps(envelope, sort_keys=True) + "\n"


def attestation_problem(run_dir: Path, manifest_bytes: bytes, public: Ed25519PublicKey,
                        key_fingerprint: str) -> str | None:
    """Why the run's attestation cannot be relied on, or None when it is sound or absent
    (runs signed before 0.4.0 have none)."""
    try:
        raw = read_run_bytes(run_dir / ATTESTATION, MAX_ATTESTATION_BYTES)
    except FileNotFoundError:
        return None
    except AuditorError as exc:
        return exc.message
    try:
        _, expected = _digests(manifest_bytes)
        envelope = json.loads(raw)
        payload = base64.b64decode(envelope["payload"], validate=True)
        signatures = [(s["keyid"], base64.b64decode(s["sig"], validate=True))
                      for s in envelope["signatures"]]
        payload_type = envelope["payloadType"]
        claims = json.loads(payload)
        subjects = {s["name"]: s["digest"]["sha256"] for s in claims["subject"]}
    except (ValueError, KeyError, TypeError):
        return f"{ATTESTATION} is damaged or not a DSSE envelope"
    if not isinstance(payload_type, str):
        return f"{ATTESTATION} is damaged or not a DSSE envelope"
    by_run_key = [sig for keyid, sig in signatures if keyid == key_fingerprint]
    if not by_run_key:
        return f"{ATTESTATION} is not signed by the run's key ({key_fingerprint})"
    try:
        public.verify(by_run_key[0], pae(payload_type, payload))
    except InvalidSignature:
        return f"{ATTESTATION}'s signature does not match its payload: it was changed"
    if payload_type != PAYLOAD_TYPE or claims.get("_type") != STATEMENT_TYPE \
            or subjects != expected:
        return (f"{ATTESTATION} does not vouch for this run's outputs: its subjects are not "
                f"the files {MANIFEST} lists")
    return None
