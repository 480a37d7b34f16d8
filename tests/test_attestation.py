"""A signed run's in-toto attestation is checked by a DSSE verifier that is not auditor's
(securesystemslib's), names every output with the sha256 it has on disk, follows the run
through `auditor sign` and `report --sign`, and `verify` fails when it is forged."""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from securesystemslib.dsse import Envelope
from securesystemslib.exceptions import VerificationError
from securesystemslib.signer import SSlibKey  # type: ignore[attr-defined]  # no __all__
from typer.testing import CliRunner

from auditor.cli import app
from auditor.outputs.attestation import PAYLOAD_TYPE, pae
from tests.conftest import signed_check, write_policy
from tests.test_record_trust import POLICY

ATTESTATION = "attestation.intoto.jsonl"


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    return signed_check(tmp_path_factory.mktemp("attested"), POLICY, keys[0],
                        "--signer", "Audit Team")


def outside_key(public_pem: Path, keyid: str) -> SSlibKey:
    """The run's public key as securesystemslib holds it."""
    public = serialization.load_pem_public_key(public_pem.read_bytes())
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return SSlibKey(keyid, "ed25519", "ed25519", {"public": raw.hex()})


def envelope_of(run: Path) -> dict[str, Any]:
    lines = (run / ATTESTATION).read_text().splitlines()
    assert len(lines) == 1
    envelope: dict[str, Any] = json.loads(lines[0])
    return envelope


def statement_of(envelope: dict[str, Any]) -> dict[str, Any]:
    statement: dict[str, Any] = json.loads(base64.b64decode(envelope["payload"]))
    return statement


def check_outside_auditor(run: Path, public_pem: Path) -> dict[str, Any]:
    """What a verifier without auditor does: the envelope's signature by the key it was
    given, then each subject's digest against the file it names."""
    envelope = envelope_of(run)
    keyid = envelope["signatures"][0]["keyid"]
    Envelope.from_dict(envelope).verify([outside_key(public_pem, keyid)], 1)
    statement = statement_of(envelope)
    assert statement["_type"] == "https://in-toto.io/Statement/v1"
    for subject in statement["subject"]:
        on_disk = hashlib.sha256((run / subject["name"]).read_bytes()).hexdigest()
        assert subject["digest"]["sha256"] == on_disk, subject["name"]
    return statement


def verify(run: Path, key: Path) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["verify", str(run), "--key", str(key)])
    return result.exit_code, result.output


def test_an_outside_verifier_checks_every_output(signed_run: Path,
                                                 keys: tuple[Path, Path]) -> None:
    statement = check_outside_auditor(signed_run, keys[1])
    manifest = json.loads((signed_run / "manifest.json").read_text())
    named = {s["name"] for s in statement["subject"]}
    assert named == {*manifest["files"], "manifest.json"}
    assert {"results.json", "report.pdf", "evidence.json"} <= named
    results = json.loads((signed_run / "results.json").read_text())
    assert statement["predicate"]["key_fingerprint"] == results["signed_by"]
    assert statement["predicate"]["signer"] == results["signer"] == "Audit Team"
    code, output = verify(signed_run, keys[1])
    assert code == 0, output
    assert ATTESTATION in output


def test_a_forged_subject_is_caught_inside_and_outside(signed_run: Path, tmp_path: Path,
                                                       keys: tuple[Path, Path]) -> None:
    run = tmp_path / "run"
    shutil.copytree(signed_run, run, ignore=shutil.ignore_patterns("store.lock"))
    envelope = envelope_of(run)
    statement = statement_of(envelope)
    statement["subject"][0]["digest"]["sha256"] = "0" * 64
    envelope["payload"] = base64.b64encode(json.dumps(statement).encode()).decode()
    (run / ATTESTATION).write_text(json.dumps(envelope) + "\n")
    with pytest.raises(VerificationError):
        check_outside_auditor(run, keys[1])
    code, output = verify(run, keys[1])
    assert code == 1 and ATTESTATION in output and "changed" in output


def test_an_attestation_signed_by_another_key_is_caught(signed_run: Path, tmp_path: Path,
                                                        keys: tuple[Path, Path]) -> None:
    run = tmp_path / "run"
    shutil.copytree(signed_run, run, ignore=shutil.ignore_patterns("store.lock"))
    envelope = envelope_of(run)
    payload = base64.b64decode(envelope["payload"])
    forger = Ed25519PrivateKey.generate()
    envelope["signatures"] = [{"keyid": "ed25519:" + "f" * 64, "sig": base64.b64encode(
        forger.sign(pae(PAYLOAD_TYPE, payload))).decode()}]
    (run / ATTESTATION).write_text(json.dumps(envelope) + "\n")
    code, output = verify(run, keys[1])
    assert code == 1 and "not signed by the run's key" in output


def test_a_run_signed_without_one_still_verifies(signed_run: Path, tmp_path: Path,
                                                 keys: tuple[Path, Path]) -> None:
    run = tmp_path / "run"  # as a run signed before 0.4.0 is
    shutil.copytree(signed_run, run, ignore=shutil.ignore_patterns("store.lock"))
    (run / ATTESTATION).unlink()
    code, output = verify(run, keys[1])
    assert code == 0, output
    assert ATTESTATION not in output


def test_signing_later_and_re_rendering_keep_it_true(tmp_path: Path,
                                                     keys: tuple[Path, Path]) -> None:
    runner = CliRunner()
    out = tmp_path / "run"
    assert runner.invoke(app, ["check", str(write_policy(tmp_path, POLICY)), "--out", str(out),
                               "--quiet"]).exit_code in (0, 1, 3)
    assert not (out / ATTESTATION).exists()
    signed = runner.invoke(app, ["sign", str(out), "--key", str(keys[0])])
    assert signed.exit_code == 0, signed.output
    first = check_outside_auditor(out, keys[1])
    again = runner.invoke(app, ["report", str(out), "--sign", str(keys[0])])
    assert again.exit_code == 0, again.output
    second = check_outside_auditor(out, keys[1])
    assert first["predicate"]["manifest_sha256"] != second["predicate"]["manifest_sha256"]
    assert verify(out, keys[1])[0] == 0


def test_a_signed_comparison_is_attested_too(signed_run: Path, tmp_path: Path,
                                             keys: tuple[Path, Path]) -> None:
    runner = CliRunner()
    other = tmp_path / "other"
    policy = write_policy(tmp_path, POLICY.replace("model: mixed", "model: refuses"))
    assert runner.invoke(app, ["check", str(policy), "--out", str(other), "--quiet", "--sign",
                               str(keys[0])]).exit_code in (0, 1, 3)
    out = tmp_path / "cmp"
    done = runner.invoke(app, ["compare", str(signed_run), str(other), "--out", str(out),
                               "--key", str(keys[1]), "--sign", str(keys[0])])
    assert done.exit_code == 0, done.output
    statement = check_outside_auditor(out, keys[1])
    assert statement["predicate"]["record"] == "auditor-comparison-manifest"
    assert "comparison.json" in {s["name"] for s in statement["subject"]}
    code, output = verify(out, keys[1])
    assert code == 0, output
    envelope = envelope_of(out)
    envelope["signatures"][0]["sig"] = base64.b64encode(b"\0" * 64).decode()
    (out / ATTESTATION).write_text(json.dumps(envelope) + "\n")
    code, output = verify(out, keys[1])
    assert code == 1 and ATTESTATION in output


def readme_snippet() -> str:
    """The README's example of checking a signed run without auditor, as printed there."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    section = text[text.index("**Checking a signed run without auditor.**"):]
    block = section[section.index("```python") + len("```python"):]
    lines = block[:block.index("```")].splitlines()
    return "\n".join(line.removeprefix("  ") for line in lines)


def test_the_readme_example_checks_a_run_and_catches_a_forgery(
        signed_run: Path, tmp_path: Path, keys: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(signed_run, tmp_path / "RUN", ignore=shutil.ignore_patterns("store.lock"))
    shutil.copy(keys[1], tmp_path / "audit-key.pub")
    monkeypatch.chdir(tmp_path)
    snippet = readme_snippet()
    exec(compile(snippet, "README.md", "exec"), {})  # passes on the run as written
    with (tmp_path / "RUN" / "results.json").open("a") as results:
        results.write(" ")
    with pytest.raises(AssertionError, match=r"results\.json"):
        exec(compile(snippet, "README.md", "exec"), {})
