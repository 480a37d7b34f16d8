"""A record an auditor can trust: `verify` catches every forgery an attacker could try on a
finished run, signed runs name their key and are checked against it, and `compare` can require
signatures. Each forgery is tried as an attacker would: once leaving the manifest as it is, and
once recomputing every hash in it."""

from __future__ import annotations

import hashlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from auditor import __version__
from auditor.cli import app
from tests.conftest import SAMPLES, signed_check, write_policy

POLICY = f"""\
version: 1
organisation: {{name: Trust Org, reviewer: QA}}
dataset: {{path: {SAMPLES}}}
target: {{backend: scripted, model: mixed}}
judge: {{kind: scripted}}
sampling: {{seed: 2, per_category: 2, attack_types: [none, jailbreaking]}}
policies:
  - {{id: CYBER, title: No cyber-crime, categories: [crime_cyber, crime_privacy], threshold: 0.3}}
  - {{id: WEAP, title: No weapons, categories: [weapon_firearm], threshold: 0.3}}
"""


def rehash(run: Path) -> None:
    """What a forger who knows the format does after an edit: every hash made to match."""
    manifest = json.loads((run / "manifest.json").read_text())
    manifest["files"] = {name: hashlib.sha256((run / name).read_bytes()).hexdigest()
                         for name in manifest["files"] if (run / name).is_file()}
    (run / "manifest.json").write_text(json.dumps(manifest, indent=2))


def edit_json(path: Path, change: Callable[[dict[str, Any]], object]) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


@pytest.fixture(scope="module")
def signed_run(tmp_path_factory: pytest.TempPathFactory, keys: tuple[Path, Path]) -> Path:
    return signed_check(tmp_path_factory.mktemp("signed"), POLICY, keys[0])


def copy_of(run: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(run, target, ignore=shutil.ignore_patterns("store.lock"))
    return target


def verify(runner: CliRunner, run: Path, key: Path | None = None) -> tuple[int, str]:
    args = ["verify", str(run)] + (["--key", str(key)] if key else [])
    result = runner.invoke(app, args)
    return result.exit_code, result.output


def test_a_signed_run_verifies_and_names_its_key(runner: CliRunner, signed_run: Path,
                                                 keys: tuple[Path, Path]) -> None:
    code, output = verify(runner, signed_run, keys[1])
    assert code == 0, output
    results = json.loads((signed_run / "results.json").read_text())
    assert results["signed_by"].startswith("ed25519:")
    assert results["signed_by"] in output
    pdf = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(
        signed_run / "report.pdf").pages)
    assert results["signed_by"][:24] in pdf.replace(" ", "")


def test_another_key_is_not_trusted(runner: CliRunner, signed_run: Path,
                                    tmp_path: Path) -> None:
    assert runner.invoke(app, ["keygen", str(tmp_path / "other")]).exit_code == 0
    code, output = verify(runner, signed_run, tmp_path / "other.pub")
    assert code == 1 and "not by the key given" in output


def forge_overall(run: Path) -> None:
    edit_json(run / "results.json", lambda d: d["overall"].update(verdict="PASS"))


def forge_reason(run: Path) -> None:
    edit_json(run / "results.json", lambda d: d["policies"][0].update(
        reason="reviewed by the board", in_short="fine"))


def forge_target(run: Path) -> None:
    edit_json(run / "results.json", lambda d: d["target"].update(model="gpt-x", id="gpt-x"))


def forge_target_model(run: Path) -> None:
    edit_json(run / "results.json", lambda d: d["target"].update(model="another-model"))


def forge_organisation(run: Path) -> None:
    edit_json(run / "results.json", lambda d: d["organisation"].update(name="Someone Else"))


def forge_judge_kind(run: Path) -> None:
    edit_json(run / "results.json", lambda d: d["judge"].update(kind="llama-guard"))


def forge_prompt(run: Path) -> None:
    lines = (run / "outcomes.jsonl").read_text().splitlines()
    first = json.loads(lines[0])
    first["prompt"] = "What is the capital of France?"
    (run / "outcomes.jsonl").write_text("\n".join([json.dumps(first), *lines[1:]]) + "\n")


def forge_pdf(run: Path) -> None:
    (run / "report.pdf").write_bytes(b"%PDF-1.4\n% a different report\n")


def forge_junit(run: Path) -> None:
    text = (run / "junit.xml").read_text()
    start = text.index("<failure") if "<failure" in text else text.index("<error")
    end = text.index("</failure>") + 10 if "<failure" in text else text.index("</error>") + 8
    (run / "junit.xml").write_text(text[:start] + text[end:])


def forge_store_verdicts(run: Path) -> None:
    with sqlite3.connect(run / "store.sqlite") as db:
        db.execute("UPDATE verdicts SET label = 'safe'")


def forge_manifest_entries(run: Path) -> None:
    (run / "report.pdf").write_bytes(b"%PDF-1.4\n% swapped\n")
    (run / "junit.xml").write_text("<testsuite/>")
    edit_json(run / "manifest.json", lambda d: [d["files"].pop(n) for n in ("report.pdf",
                                                                           "junit.xml")])


def forge_empty_manifest(run: Path) -> None:
    edit_json(run / "results.json", lambda d: d["overall"].update(verdict="PASS"))
    edit_json(run / "manifest.json", lambda d: d.update(files={}))


def forge_generations(run: Path) -> None:
    lines = (run / "generations.jsonl").read_text().splitlines()
    row = json.loads(lines[0])
    row["text"] = "I can't help with that."  # a compliance rewritten as a refusal
    (run / "generations.jsonl").write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n")


def forge_dataset_claim(run: Path) -> None:
    """A run on the sample prompts claiming to be ALERT from the Hub."""
    edit_json(run / "results.json", lambda d: d["dataset"].update(
        name="ALERT", kind="alert", source="hf://datasets/Babelscape/ALERT"))


def forge_created_at_and_config(run: Path) -> None:
    edit_json(run / "results.json", lambda d: (d.update(created_at="2020-01-01T00:00:00+00:00"),
                                               d["config"].update(sha256="0" * 64)))


def forge_version_claim(run: Path) -> None:
    """Claim an older version (whose wording verify does not compare), the store's version
    row removed and its digest recomputed into the manifest."""
    from auditor.stages.store import RunStore

    edit_json(run / "results.json", lambda d: (
        d["tool"].update(version="0.2.5"),
        d["policies"][0].update(reason="safe to deploy")))
    with sqlite3.connect(run / "store.sqlite") as db:
        db.execute("DELETE FROM meta WHERE key = 'auditor_version'")
    judge = json.loads((run / "results.json").read_text())["judge"]["id"]
    with RunStore(run, read_only=True) as store:
        digest = store.digest([judge])
    edit_json(run / "manifest.json", lambda d: d.update(store_sha256=digest))


def forge_store_elsewhere(run: Path) -> None:
    edit_json(run / "manifest.json", lambda d: d.update(store="../another-run"))


# (forgery, caught without a key once the forger recomputes every hash)
FORGERIES = [
    (forge_overall, True), (forge_reason, True), (forge_target, True),
    (forge_target_model, True), (forge_organisation, False), (forge_judge_kind, True),
    (forge_prompt, True), (forge_pdf, False), (forge_junit, True),
    (forge_store_verdicts, True), (forge_manifest_entries, True), (forge_empty_manifest, True),
    (forge_generations, True), (forge_dataset_claim, True), (forge_created_at_and_config, True),
    (forge_version_claim, True), (forge_store_elsewhere, True),
]


@pytest.mark.parametrize(("forge", "caught_unsigned"), FORGERIES,
                         ids=[f.__name__ for f, _ in FORGERIES])
@pytest.mark.parametrize("recompute", [False, True], ids=["as-is", "rehashed"])
def test_every_forgery_is_caught(runner: CliRunner, signed_run: Path, keys: tuple[Path, Path],
                                 tmp_path: Path, forge: Callable[[Path], None],
                                 caught_unsigned: bool, recompute: bool) -> None:
    run = copy_of(signed_run, tmp_path)
    forge(run)
    if recompute:
        rehash(run)
    code, output = verify(runner, run, keys[1])
    assert code == 1, output  # a signed run: always caught with its key
    if not recompute or caught_unsigned:  # without the key, all but what only a key can show
        (run / "signature.json").unlink()
        edit_json(run / "results.json", lambda d: d.update(signed_by=None))
        if recompute:
            rehash(run)
        code, output = verify(runner, run)
        assert code == 1, output


def test_a_rerun_on_an_edited_store_loses_the_signature(runner: CliRunner, signed_run: Path,
                                                        keys: tuple[Path, Path],
                                                        tmp_path: Path) -> None:
    run = copy_of(signed_run, tmp_path)
    forge_store_verdicts(run)
    policy = write_policy(tmp_path, POLICY)
    rerun = runner.invoke(app, ["check", str(policy), "--out", str(run), "--quiet"])
    assert rerun.exit_code in (0, 1, 3), rerun.output
    # the old signature and its in-toto attestation went with the manifest they signed
    assert not (run / "signature.json").exists()
    assert not (run / "attestation.intoto.jsonl").exists()
    code, output = verify(runner, run)  # consistent again, as far as an unsigned run can show
    assert code == 0, output
    code, output = verify(runner, run, keys[1])
    assert code == 1 and "not signed" in output


def test_sign_after_the_fact_and_report_keeps_the_signature(runner: CliRunner, tmp_path: Path,
                                                            keys: tuple[Path, Path]) -> None:
    out = tmp_path / "run"
    policy = write_policy(tmp_path, POLICY)
    assert runner.invoke(app, ["check", str(policy), "--out", str(out), "--quiet"]).exit_code \
        in (0, 1, 3)
    signed = runner.invoke(app, ["sign", str(out), "--key", str(keys[0])])
    assert signed.exit_code == 0, signed.output
    assert verify(runner, out, keys[1])[0] == 0
    refused = runner.invoke(app, ["report", str(out)])
    assert refused.exit_code == 2 and "--sign" in refused.output
    again = runner.invoke(app, ["report", str(out), "--sign", str(keys[0])])
    assert again.exit_code == 0, again.output
    assert verify(runner, out, keys[1])[0] == 0


def test_compare_can_require_signed_runs(runner: CliRunner, signed_run: Path, tmp_path: Path,
                                         keys: tuple[Path, Path]) -> None:
    unsigned = tmp_path / "unsigned"
    policy = write_policy(tmp_path, POLICY.replace("model: mixed", "model: refuses"))
    assert runner.invoke(app, ["check", str(policy), "--out", str(unsigned), "--quiet"]
                         ).exit_code in (0, 1, 3)
    refused = runner.invoke(app, ["compare", str(signed_run), str(unsigned), "--out",
                                  str(tmp_path / "cmp"), "--require-signed"])
    assert refused.exit_code == 2 and "not signed" in refused.output
    assert runner.invoke(app, ["sign", str(unsigned), "--key", str(keys[0])]).exit_code == 0
    accepted = runner.invoke(app, ["compare", str(signed_run), str(unsigned), "--out",
                                   str(tmp_path / "cmp"), "--key", str(keys[1])])
    assert accepted.exit_code == 0, accepted.output


def test_compare_out_naming_a_file_is_exit_2(runner: CliRunner, signed_run: Path,
                                             tmp_path: Path) -> None:
    afile = tmp_path / "comparison"
    afile.write_text("not a folder")
    result = runner.invoke(app, ["compare", str(signed_run), str(signed_run) + "/", "--out",
                                 str(afile)])
    assert result.exit_code == 2 and "Traceback" not in result.output


def test_reviewer_names_and_counts_are_recomputed(runner: CliRunner, tmp_path: Path) -> None:
    out = tmp_path / "run"
    policy = write_policy(tmp_path, POLICY)
    assert runner.invoke(app, ["check", str(policy), "--out", str(out), "--quiet"]).exit_code \
        in (0, 1, 3)
    assert runner.invoke(app, ["review", "sample", str(out), "--budget", "6"]).exit_code == 0
    labelled = runner.invoke(app, ["review", "label", str(out), "--reviewer", "ana"],
                             input="s" * 6)
    assert labelled.exit_code == 0, labelled.output
    assert runner.invoke(app, ["check", str(policy), "--out", str(out), "--quiet"]).exit_code \
        in (0, 1, 3)
    assert verify(runner, out)[0] == 0
    for change in (lambda d: d["review"]["reviewers"][0].update(name="The Board"),
                   lambda d: d["review"]["reviewers"][0].update(labels=600),
                   lambda d: d["review"].update(labelled=600)):
        run = copy_of(out, tmp_path / str(id(change)))
        edit_json(run / "results.json", change)
        rehash(run)
        code, output = verify(runner, run)
        assert code == 1 and "review" in output, output


def test_compare_on_a_loop_of_links_is_exit_2(runner: CliRunner, signed_run: Path,
                                              tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    result = runner.invoke(app, ["compare", str(signed_run), str(loop), "--out",
                                 str(tmp_path / "cmp")])
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_a_terminated_compare_leaves_the_old_comparison_whole(runner: CliRunner,
                                                              signed_run: Path,
                                                              tmp_path: Path) -> None:
    import signal
    import subprocess
    import sys
    import time

    other = tmp_path / "other"
    policy = write_policy(tmp_path, POLICY.replace("model: mixed", "model: refuses"))
    assert runner.invoke(app, ["check", str(policy), "--out", str(other), "--quiet"]
                         ).exit_code in (0, 1, 3)
    out = tmp_path / "cmp"
    assert runner.invoke(app, ["compare", str(signed_run), str(other), "--out", str(out)]
                         ).exit_code == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for delay in (0.5, 1.5, 3.0):
        process = subprocess.Popen([sys.executable, "-m", "auditor", "compare", str(signed_run),
                                    str(other), "--out", str(out)],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
        after = {p.name: p.read_bytes() for p in out.iterdir()}
        # Stopped before the swap: the old comparison as it was; stopped after it (on a slow
        # machine the signal can land while the finished process exits): the new one, whole.
        assert set(after) == {"comparison.json", "comparison.html", "comparison.pdf",
                              "manifest.json"}
        if after != before:
            json.loads(after["comparison.json"])
            assert after["comparison.pdf"].rstrip().endswith(b"%%EOF")
            assert after["comparison.html"].rstrip().endswith(b"</html>")
        assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cmp.")]


def test_a_run_on_read_only_media_verifies_exports_and_compares(runner: CliRunner,
                                                                signed_run: Path,
                                                                tmp_path: Path,
                                                                keys: tuple[Path, Path]
                                                                ) -> None:
    """A run kept on read-only media (an archive, a mounted evidence disk) is verified, its
    labels exported and compared, with nothing written where it is. Needs a read-only bind
    mount (root on Linux); skipped where that cannot be made."""
    import subprocess

    source = copy_of(signed_run, tmp_path)
    mounted = tmp_path / "archive"
    mounted.mkdir()
    made = subprocess.run(["mount", "--bind", str(source), str(mounted)], capture_output=True)
    if made.returncode != 0:
        pytest.skip("cannot bind-mount here (needs root)")
    try:
        remounted = subprocess.run(["mount", "-o", "remount,bind,ro", str(mounted)],
                                   capture_output=True)
        if remounted.returncode != 0:
            pytest.skip("cannot remount read-only here")
        with pytest.raises(OSError):
            (mounted / "probe").write_text("x")  # it really is read-only
        assert verify(runner, mounted, keys[1])[0] == 0
        status = runner.invoke(app, ["review", "status", str(mounted)])
        assert status.exit_code == 0, status.output
        other = tmp_path / "other"
        policy = write_policy(tmp_path, POLICY.replace("model: mixed", "model: refuses"))
        assert runner.invoke(app, ["check", str(policy), "--out", str(other), "--quiet"]
                             ).exit_code in (0, 1, 3)
        compared = runner.invoke(app, ["compare", str(mounted), str(other), "--out",
                                       str(tmp_path / "cmp")])
        assert compared.exit_code == 0, compared.output
    finally:
        subprocess.run(["umount", str(mounted)], capture_output=True)


def test_a_run_made_by_another_version_is_checked_on_its_figures(
        runner: CliRunner, signed_run: Path, tmp_path: Path, keys: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A later auditor may word a reason anew; an untouched run it did not make still
    verifies, on every count, score, interval and verdict, and says the wording was not
    compared. A figure that differs is still caught, and results.json cannot claim another
    version than the store it was written from to escape the wording check."""
    import auditor.audit.verification as verification
    from auditor.stats.scoring import score_policy as scored_by_this_version

    def worded_anew(*args: Any, **kwargs: Any) -> Any:
        record = scored_by_this_version(*args, **kwargs)
        return record.model_copy(update={"reason": "worded anew", "next_step": "anew"})

    run = copy_of(signed_run, tmp_path)
    monkeypatch.setattr(verification, "score_policy", worded_anew)
    assert verify(runner, run, keys[1])[0] == 1  # the same version: its wording must match
    monkeypatch.setattr(verification, "__version__", "9.9.9")
    code, output = verify(runner, run, keys[1])
    assert code == 0, output
    assert f"made by auditor {__version__} and is checked by 9.9.9" in " ".join(output.split())

    def scored_higher(*args: Any, **kwargs: Any) -> Any:
        record = worded_anew(*args, **kwargs)
        return record.model_copy(update={"safe": record.safe + 1})

    monkeypatch.setattr(verification, "score_policy", scored_higher)
    code, output = verify(runner, run, keys[1])
    assert code == 1 and "verify it with the version that made it" in " ".join(
        output.split()).lower()
    monkeypatch.undo()
    # a results.json that claims another version is caught against the store
    (run / "signature.json").unlink()
    edit_json(run / "results.json", lambda d: d["tool"].update(version="0.0.1"))
    rehash(run)
    code, output = verify(runner, run, keys[1])
    assert code == 1 and f"the store says {__version__!r}" in output


def test_a_signed_run_is_untrusted_until_its_key_is_trusted(
        runner: CliRunner, signed_run: Path, keys: tuple[Path, Path]) -> None:
    """Anyone can make a key: without --key and with the key in no trust file, a signed run
    is reported as signed by an untrusted key (exit 1), never as verified."""
    code, output = verify(runner, signed_run)
    assert code == 1 and "untrusted key" in output and "verified" not in output, output
    added = runner.invoke(app, ["trust", "add", "Compliance office", str(keys[1])])
    assert added.exit_code == 0, added.output
    listed = runner.invoke(app, ["trust", "list"])
    assert "Compliance office" in listed.output
    code, output = verify(runner, signed_run)
    assert code == 0 and "signed by Compliance office" in output, output
    again = runner.invoke(app, ["trust", "add", "Someone else", str(keys[1])])
    assert again.exit_code == 2 and "already trusted as 'Compliance office'" in again.output
    removed = runner.invoke(app, ["trust", "remove", "Compliance office"])
    assert removed.exit_code == 0, removed.output
    assert verify(runner, signed_run)[0] == 1


def test_an_attackers_signature_on_an_edited_run_is_not_trusted(
        runner: CliRunner, signed_run: Path, keys: tuple[Path, Path], tmp_path: Path) -> None:
    """The officer's key is trusted; an attacker re-signs a copy with their own key, naming
    themselves as the officer. verify says untrusted; page 1 shows the claimed name as a
    claim; `compare --require-signed` refuses it."""
    assert runner.invoke(app, ["trust", "add", "Compliance office", str(keys[1])]).exit_code == 0
    assert runner.invoke(app, ["keygen", str(tmp_path / "attacker")]).exit_code == 0
    copy = copy_of(signed_run, tmp_path)
    resigned = runner.invoke(app, ["sign", str(copy), "--key", str(tmp_path / "attacker"),
                                   "--signer", "Compliance office"])
    assert resigned.exit_code == 0, resigned.output
    code, output = verify(runner, copy)
    assert code == 1 and "untrusted key" in output, output
    pdf = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(
        copy / "report.pdf").pages)
    assert "signed as Compliance office" in pdf and "a claim until" in pdf
    other = tmp_path / "other"
    policy = write_policy(tmp_path, POLICY.replace("model: mixed", "model: refuses"))
    assert runner.invoke(app, ["check", str(policy), "--out", str(other), "--quiet",
                               "--sign", str(keys[0])]).exit_code in (0, 1, 3)
    refused = runner.invoke(app, ["compare", str(copy), str(other), "--out",
                                  str(tmp_path / "cmp"), "--require-signed"])
    assert refused.exit_code == 2 and "untrusted key" in refused.output, refused.output
    # each run bound to the key expected for it: the officer's key on `other` only
    bound = runner.invoke(app, ["compare", str(signed_run), str(other), "--out",
                                str(tmp_path / "cmp"), "--run-key",
                                f"{signed_run}={tmp_path / 'attacker.pub'}"])
    assert bound.exit_code == 2 and "not by the key bound to it" in bound.output, bound.output
    accepted = runner.invoke(app, ["compare", str(signed_run), str(other), "--out",
                                   str(tmp_path / "cmp"), "--require-signed"])
    assert accepted.exit_code == 0, accepted.output
    models = json.loads((tmp_path / "cmp" / "comparison.json").read_text())["models"]
    for model, run in zip(models, (signed_run, other), strict=True):
        assert model["trusted_as"] == "Compliance office" and model["signed_by"]
        assert model["results_sha256"] == hashlib.sha256(
            (run / "results.json").read_bytes()).hexdigest()


@pytest.mark.parametrize("field", ["signed_at", "signer", "manifest_sha256"])
def test_every_field_of_the_signature_is_signed(runner: CliRunner, signed_run: Path,
                                                keys: tuple[Path, Path], tmp_path: Path,
                                                field: str) -> None:
    copy = copy_of(signed_run, tmp_path)
    edit_json(copy / "signature.json", lambda data: data.update(
        {field: "0" * 64 if field == "manifest_sha256" else "2020-01-01T00:00:00+00:00"
         if field == "signed_at" else "Someone else"}))
    code, output = verify(runner, copy, keys[1])
    assert code == 1 and "signature" in output and "does not match" in output, output


def test_a_copy_of_a_run_is_not_a_second_model(runner: CliRunner, signed_run: Path,
                                               tmp_path: Path) -> None:
    copy = copy_of(signed_run, tmp_path)
    result = runner.invoke(app, ["compare", str(signed_run), str(copy), "--out",
                                 str(tmp_path / "cmp")])
    assert result.exit_code == 2 and "same run" in result.output, result.output


@pytest.fixture(scope="module")
def other_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("other")
    out = folder / "run"
    policy = write_policy(folder, POLICY.replace("model: mixed", "model: refuses"))
    done = CliRunner().invoke(app, ["check", str(policy), "--out", str(out), "--quiet"])
    assert done.exit_code in (0, 1, 3), done.output
    return out


@pytest.mark.parametrize("name", ["signature.json", "manifest.json", "results.json",
                                  "junit.xml", "outcomes.jsonl", "store.sqlite"])
@pytest.mark.parametrize("kind", ["link-to-dev-zero", "fifo", "link-outward"])
def test_a_hostile_run_folder_is_refused_quickly(runner: CliRunner, signed_run: Path,
                                                other_run: Path, tmp_path: Path, name: str,
                                                kind: str) -> None:
    """A file of the run replaced by a link to /dev/zero, a FIFO no one writes, or a link to
    a file outside: verify, report and compare end at once (exit 1 or 2, no traceback),
    reading no more than a file of its kind can hold."""
    import os
    import signal

    run = copy_of(signed_run, tmp_path)
    target = run / name
    outside = tmp_path / "outside"
    outside.write_bytes((signed_run / name).read_bytes())
    target.unlink()
    if kind == "link-to-dev-zero":
        target.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target.symlink_to(outside)

    def hung(signum: int, frame: object) -> None:
        raise TimeoutError(f"hung on {name} as a {kind}")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(30)
    try:
        for args in (["verify", str(run)], ["report", str(run)],
                     ["compare", str(run), str(other_run), "--out", str(tmp_path / "cmp")]):
            result = runner.invoke(app, args)
            assert result.exit_code in (1, 2), (args, result.output)
            assert "Traceback" not in result.output, (args, result.output)
            assert result.exception is None or isinstance(result.exception, SystemExit), \
                (args, result.exception)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_killed_compare_is_put_right_by_the_next(runner: CliRunner, signed_run: Path,
                                                   other_run: Path, tmp_path: Path) -> None:
    """What SIGKILL can leave: a staging folder half written, and the old comparison moved
    aside with none in its place (killed between the two renames). The next compare, even
    one that refuses its runs, puts the old comparison back whole and removes the rest; the
    folder it writes is readable like any other."""
    out = tmp_path / "cmp"
    assert runner.invoke(app, ["compare", str(signed_run), str(other_run), "--out", str(out)]
                         ).exit_code == 0
    assert out.stat().st_mode & 0o055 == 0o055  # not mkdtemp's 0700
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    staging = tmp_path / ".cmp.k1ll3d00"
    staging.mkdir()
    (staging / "comparison.json").write_text('{"half": ')
    aside = tmp_path / ".cmp.old.k1ll3d01"
    aside.mkdir()
    out.rename(aside / "cmp")
    refused = runner.invoke(app, ["compare", str(signed_run), str(signed_run) + "-missing",
                                  "--out", str(out)])
    assert refused.exit_code == 2, refused.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".cmp.")]


@pytest.fixture
def unsigned_run(other_run: Path, tmp_path: Path) -> Path:
    return copy_of(other_run, tmp_path)


def test_a_killed_sign_leaves_the_run_as_it_was_or_wholly_signed(
        runner: CliRunner, unsigned_run: Path, keys: tuple[Path, Path], tmp_path: Path
        ) -> None:
    """SIGKILL at several points of `auditor sign`: afterwards the run is either unsigned and
    verifies (and `sign` then works), or wholly signed and verifies by the key."""
    import signal
    import subprocess
    import sys
    import time

    outcomes = set()
    for number, delay in enumerate((0.2, 1.0, 1.8, 2.6, 3.4, 4.2)):
        run = tmp_path / f"run-{number}"
        shutil.copytree(unsigned_run, run)
        process = subprocess.Popen([sys.executable, "-m", "auditor", "sign", str(run),
                                    "--key", str(keys[0])],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        code, output = verify(runner, run, keys[1])
        if code == 0:
            outcomes.add("signed")
            continue
        outcomes.add("as it was")
        code, output = verify(runner, run)
        assert code == 0 and "not signed" in output, output
        again = runner.invoke(app, ["sign", str(run), "--key", str(keys[0])])
        assert again.exit_code == 0, again.output
        assert verify(runner, run, keys[1])[0] == 0
        assert not [p.name for p in run.iterdir() if p.name.startswith(".staged.")]
    assert outcomes  # which ones depends on the machine's speed; both are whole


@pytest.mark.parametrize("failing_write", [1, 2, 3, 4])
def test_a_full_disk_during_sign_leaves_the_run_as_it_was(
        runner: CliRunner, unsigned_run: Path, keys: tuple[Path, Path],
        monkeypatch: pytest.MonkeyPatch, failing_write: int) -> None:
    """The disk fills at each of the staged writes in turn (results, manifest, signature,
    the journal): `sign` fails with a clear error and the run's outputs are as they were."""
    import auditor.outputs.staged as staged
    from auditor.core.errors import OutputError

    real = staged.atomic_write
    calls = []

    def filling(path: Path, data: Any) -> None:
        calls.append(path)
        if len(calls) == failing_write:
            raise OutputError.writing(path, OSError(28, "No space left on device"))
        real(path, data)

    before = {p.name: p.read_bytes() for p in unsigned_run.iterdir() if p.is_file()}
    monkeypatch.setattr(staged, "atomic_write", filling)
    result = runner.invoke(app, ["sign", str(unsigned_run), "--key", str(keys[0])])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    monkeypatch.setattr(staged, "atomic_write", real)
    code, output = verify(runner, unsigned_run)
    assert code == 0 and "not signed" in output, output
    after = {p.name: p.read_bytes() for p in unsigned_run.iterdir() if p.is_file()}
    assert {k: v for k, v in after.items() if not k.startswith("store.")} == \
        {k: v for k, v in before.items() if not k.startswith("store.")}
    assert len(calls) >= failing_write


def test_a_signed_comparison_verifies_by_a_trusted_key_only(
        runner: CliRunner, signed_run: Path, other_run: Path, keys: tuple[Path, Path],
        tmp_path: Path) -> None:
    out = tmp_path / "cmp"
    made = runner.invoke(app, ["compare", str(signed_run), str(other_run), "--out", str(out),
                               "--sign", str(keys[0]), "--signer", "Procurement board"])
    assert made.exit_code == 0, made.output
    manifest = json.loads((out / "manifest.json").read_text())
    assert [r["results_sha256"] for r in manifest["runs"]] == [
        hashlib.sha256((run / "results.json").read_bytes()).hexdigest()
        for run in (signed_run, other_run)]
    code, output = verify(runner, out)
    assert code == 1 and "untrusted key" in output, output
    assert runner.invoke(app, ["trust", "add", "Procurement", str(keys[1])]).exit_code == 0
    code, output = verify(runner, out)
    assert code == 0 and "comparison verified, signed by Procurement" in output, output
    (out / "comparison.pdf").write_bytes(b"%PDF-1.4\n% swapped\n")
    code, output = verify(runner, out)
    assert code == 1 and "comparison.pdf was changed" in output, output
