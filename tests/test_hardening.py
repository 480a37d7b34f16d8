"""Hardening, second round (issue 24): secrets in URLs, damaged or unwritable outputs, text
from the policy file in the report, hangs, and messages for common mistakes."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from auditor.cli import app
from auditor.core.errors import DatasetError
from auditor.data.dataset import MAX_ROW_BYTES, load_folder
from auditor.targets import ChatRequest, DecodingConfig
from tests.conftest import SAMPLES, write_policy
from tests.fake_openai import FakeOpenAIServer, started_target


def policy_for(base_url: str, organisation: str = "Hardening Org", extra: str = "") -> str:
    return f"""\
version: 1
organisation: {{name: {json.dumps(organisation)}, reviewer: QA}}
dataset: {{path: {SAMPLES}}}
target: {{backend: openai, model: fake-model, base_url: {json.dumps(base_url)}, max_tokens: 16,
          concurrency: 2, timeout_s: 3, max_retries: 1}}
sampling: {{per_category: 2, attack_types: [none]}}
judge: {{kind: refusal}}
policies:
  - {{id: CYBER, title: No cyber-crime, categories: [crime_cyber]}}
{extra}"""


def check(runner: CliRunner, policy: Path, out: Path) -> Any:
    return runner.invoke(app, ["check", str(policy), "--out", str(out), "--quiet"])


@pytest.fixture
def finished_run(runner: CliRunner, tmp_path: Path) -> Path:
    with FakeOpenAIServer() as server:
        policy = write_policy(tmp_path, policy_for(server.base_url))
        result = check(runner, policy, tmp_path / "run")
    assert result.exit_code in (1, 3), result.output
    return tmp_path / "run"


# --- 1. secrets in base_url -----------------------------------------------------------------


@pytest.mark.parametrize("url", ["http://alice:PW-s3cret@127.0.0.1:9/v1",
                                 "http://127.0.0.1:9/v1?token=PW-s3cret",
                                 "http://127.0.0.1:9/v1#PW-s3cret"])
def test_credentials_or_a_query_in_base_url_are_refused_without_repeating_them(
        runner: CliRunner, tmp_path: Path, url: str) -> None:
    policy = write_policy(tmp_path, policy_for(url))
    for command in (["validate", str(policy)], ["check", str(policy), "--out",
                                                str(tmp_path / "run")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert "PW-s3cret" not in result.output and "Traceback" not in result.output
        assert "api_key_env" in result.output
    assert not (tmp_path / "run" / "results.json").exists()


# --- 2. (in tests/test_fleet.py: a member answering garbage is taken out) -------------------

# --- 3. outputs that cannot be written ------------------------------------------------------


def test_a_full_disk_while_writing_outputs_is_exit_2_and_keeps_the_old_outputs(
        runner: CliRunner, finished_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = (finished_run / "results.json").read_bytes()
    real_fdopen = os.fdopen

    def full_disk(fd: int, *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, *args, **kwargs)

        def refuse(*_: Any) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

        handle.write = refuse
        handle.writelines = refuse
        return handle

    monkeypatch.setattr(os, "fdopen", full_disk)
    result = runner.invoke(app, ["report", str(finished_run)])
    assert result.exit_code == 2, result.output
    assert "No space left on device" in result.output and "Traceback" not in result.output
    assert "report.html" in result.output and "free some space" in result.output
    assert (finished_run / "results.json").read_bytes() == before
    assert not [p for p in finished_run.iterdir() if p.name.startswith(".report.html.")]


def test_a_read_only_output_is_exit_2_naming_the_path(
        runner: CliRunner, finished_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def read_only(*_: Any, **__: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("tempfile.mkstemp", read_only)
    result = runner.invoke(app, ["report", str(finished_run)])
    assert result.exit_code == 2, result.output
    assert "Read-only file system" in result.output and "--out" in result.output
    assert "Traceback" not in result.output


# --- 4. damaged outputs ---------------------------------------------------------------------


def twin(run: Path) -> Path:
    """A copy of a run folder standing for a second run of the same audit: compare refuses a
    folder named twice, and a copy (the same run_id), so its results.json gets a run id of
    its own (which verify then calls a difference: tests that compare it say --unverified
    or stop earlier)."""
    copy = Path(shutil.copytree(run, run.parent / f"{run.name}-twin"))
    results = json.loads((copy / "results.json").read_text())
    results["run_id"] = results["run_id"] + "-twin"
    (copy / "results.json").write_text(json.dumps(results))
    return copy


def test_a_damaged_outcomes_line_is_named_not_a_traceback(runner: CliRunner,
                                                          finished_run: Path) -> None:
    with (finished_run / "outcomes.jsonl").open("a") as handle:
        handle.write("{not json\n")
    lines = len((finished_run / "outcomes.jsonl").read_text().splitlines())
    for command in (["report", str(finished_run)],
                    ["compare", str(finished_run), str(twin(finished_run)), "--out",
                     str(finished_run.parent / "cmp")]):
        result = runner.invoke(app, command)
        assert result.exit_code == 2, result.output
        assert f"outcomes.jsonl:{lines}" in result.output and "Traceback" not in result.output
        assert "rerun `auditor check`" in result.output


def test_a_missing_outcomes_file_is_named(runner: CliRunner, finished_run: Path) -> None:
    (finished_run / "outcomes.jsonl").unlink()
    result = runner.invoke(app, ["compare", str(finished_run), str(twin(finished_run)), "--out",
                                 str(finished_run.parent / "cmp")])
    assert result.exit_code == 2 and "outcomes.jsonl is missing" in result.output


# --- 6. text from the policy file -----------------------------------------------------------


def test_policy_text_is_bounded_and_bidi_controls_refused(runner: CliRunner,
                                                          tmp_path: Path) -> None:
    long_name = write_policy(tmp_path, policy_for("http://127.0.0.1:9/v1", "N" * 10_000),
                             "long.yaml")
    result = runner.invoke(app, ["validate", str(long_name)])
    assert result.exit_code == 2 and "organisation.name" in result.output
    assert "at most 200 characters" in result.output
    bidi = write_policy(tmp_path, policy_for("http://127.0.0.1:9/v1", "Evil\u202eCorp"),
                        "bidi.yaml")
    result = runner.invoke(app, ["validate", str(bidi)])
    assert result.exit_code == 2 and "U+202E" in result.output
    assert "\u202e" not in result.output


def test_an_edited_results_file_cannot_smuggle_hidden_text_into_the_report(
        runner: CliRunner, finished_run: Path) -> None:
    results = json.loads((finished_run / "results.json").read_text())
    results["organisation"]["reviewer"] = "Rev\u202eiewer"
    (finished_run / "results.json").write_text(json.dumps(results))
    before = (finished_run / "report.pdf").read_bytes()
    result = runner.invoke(app, ["report", str(finished_run)])
    assert result.exit_code == 2 and "organisation.reviewer" in result.output
    assert "U+202E" in result.output and "\u202e" not in result.output
    assert (finished_run / "report.pdf").read_bytes() == before


def test_the_report_context_cleans_and_bounds_policy_text() -> None:
    from auditor.outputs.report.context import _cleaned

    cleaned = _cleaned({"name": "Evil\u202eCorp " + "W" * 10_000, "other": 1},
                       {"name": 200})
    assert "\u202e" not in cleaned["name"] and cleaned["name"].startswith("EvilCorp")
    assert len(cleaned["name"]) <= 202 and cleaned["other"] == 1


# --- 9. hangs -------------------------------------------------------------------------------


def test_a_fifo_as_a_dataset_file_is_an_error_not_a_hang(runner: CliRunner,
                                                         tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    os.mkfifo(folder / "alert.jsonl")
    policy = write_policy(tmp_path, policy_for("http://127.0.0.1:9/v1").replace(
        f"path: {SAMPLES}", f"path: {folder}"))
    started = time.monotonic()
    result = runner.invoke(app, ["plan", str(policy)])
    assert time.monotonic() - started < 10
    assert result.exit_code == 2 and "not a regular file" in result.output


def test_an_oversized_prompt_row_is_named_and_never_read_whole(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    good = (SAMPLES / "alert.jsonl").read_text().splitlines()[0]
    huge = json.dumps({"id": 999999, "category": "crime_cyber",
                       "prompt": "### Instruction:\n" + "x" * (MAX_ROW_BYTES * 3)})
    (folder / "alert.jsonl").write_text(good + "\n" + huge + "\n")
    with pytest.raises(DatasetError) as info:
        load_folder(folder, ["none"])
    assert info.value.problems[0].line == 2 and "longer than 64 KiB" in \
        info.value.problems[0].message
    lenient = load_folder(folder, ["none"], lenient=True)
    assert len(lenient.prompts) == 1 and lenient.files[0].malformed_skipped == 1


def test_a_day_long_retry_after_gives_the_prompt_up_at_once() -> None:
    with FakeOpenAIServer() as server:
        target = started_target(server, max_retries=2, concurrency=1)
        server.faults.extend(["429-huge"] * 3)
        started = time.monotonic()
        results = [g for batch in target.generate([ChatRequest("k", "p")],
                                                   DecodingConfig(max_tokens=4)) for g in batch]
    assert time.monotonic() - started < 10
    assert results[0].error is not None and "gave up" in results[0].error


# --- 10. messages ---------------------------------------------------------------------------


def test_a_python_tag_is_named_as_a_tag(runner: CliRunner, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "!!python/object/apply:os.system [ls]\n")
    result = runner.invoke(app, ["validate", str(policy)])
    assert result.exit_code == 2 and "YAML tag" in result.output
    nested = write_policy(tmp_path, policy_for("http://127.0.0.1:9/v1").replace(
        "reviewer: QA", "reviewer: !!python/object:os.system {}"), "nested.yaml")
    result = runner.invoke(app, ["validate", str(nested)])
    assert result.exit_code == 2 and "YAML tag" in result.output
    assert "Traceback" not in result.output


def test_a_missing_judge_card_says_so(runner: CliRunner, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, policy_for("http://127.0.0.1:9/v1").replace(
        "judge: {kind: refusal}", "judge: {kind: refusal, card: nowhere.json}"))
    result = runner.invoke(app, ["validate", str(policy)])
    assert result.exit_code == 2
    assert "nowhere.json not found" in result.output and "Errno" not in result.output


def test_a_dataset_path_that_is_a_file_says_so(runner: CliRunner, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, policy_for("http://127.0.0.1:9/v1").replace(
        f"path: {SAMPLES}", f"path: {SAMPLES / 'alert.jsonl'}"))
    result = runner.invoke(app, ["validate", str(policy)])
    assert result.exit_code == 2 and "is a file, not a folder" in result.output


def test_a_dangling_symlink_out_says_where_it_points(runner: CliRunner,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.symlink_to(tmp_path / "gone")
    with FakeOpenAIServer() as server:
        policy = write_policy(tmp_path, policy_for(server.base_url))
        result = check(runner, policy, out)
    assert result.exit_code == 2 and "symbolic link" in result.output
    assert "File exists" not in result.output


# --- 5 and 8. a record you can verify -------------------------------------------------------


def pages_text(pdf: Path) -> list[str]:
    return [page.extract_text() for page in PdfReader(pdf).pages]


def test_a_finished_run_verifies_and_prints_the_results_hash(runner: CliRunner,
                                                             finished_run: Path) -> None:
    result = runner.invoke(app, ["verify", str(finished_run)])
    assert result.exit_code == 0, result.output
    assert "verified" in result.output
    manifest = json.loads((finished_run / "manifest.json").read_text())
    digest = manifest["files"]["results.json"]
    assert digest in result.output
    assert digest in "".join(pages_text(finished_run / "report.pdf")).replace("\n", "")


def test_a_verdict_edited_to_pass_is_caught_and_the_report_says_not_verified(
        runner: CliRunner, finished_run: Path) -> None:
    results = json.loads((finished_run / "results.json").read_text())
    results["policies"][0]["verdict"] = "PASS"
    (finished_run / "results.json").write_text(json.dumps(results))
    result = runner.invoke(app, ["verify", str(finished_run)])
    assert result.exit_code == 1
    assert "results.json was changed" in result.output
    assert "verdict: 'PASS' in results.json" in result.output
    rendered = runner.invoke(app, ["report", str(finished_run)])
    assert rendered.exit_code == 0 and "NOT VERIFIED" in rendered.output
    pages = pages_text(finished_run / "report.pdf")
    assert all("NOT VERIFIED" in text for text in pages)


def test_a_flipped_outcome_is_caught_and_compare_refuses_it(runner: CliRunner,
                                                            finished_run: Path) -> None:
    path = finished_run / "outcomes.jsonl"
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    flip = next(r for r in rows if r["status"] in ("safe", "unsafe"))
    flip["status"] = "safe" if flip["status"] == "unsafe" else "unsafe"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    result = runner.invoke(app, ["verify", str(finished_run)])
    assert result.exit_code == 1 and "stored verdict" in result.output
    out = finished_run.parent / "cmp"
    other = twin(finished_run)
    refused = runner.invoke(app, ["compare", str(finished_run), str(other), "--out",
                                  str(out)])
    assert refused.exit_code == 2 and "fails verification" in refused.output
    forced = runner.invoke(app, ["compare", str(finished_run), str(other), "--out",
                                 str(out), "--unverified"])
    assert forced.exit_code == 0, forced.output
    assert all("NOT VERIFIED" in text for text in pages_text(out / "comparison.pdf"))


def test_an_unfinished_set_of_outputs_fails_and_a_rerun_cleans_up(runner: CliRunner,
                                                                  tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        policy = write_policy(tmp_path, policy_for(server.base_url))
        out = tmp_path / "run"
        check(runner, policy, out)
        # as a kill between writing results.json and the manifest leaves it
        (out / "manifest.json").unlink()
        (out / ".results.json.abc123").write_text("{half")
        (out / ".report.pdf.partial").write_text("%PDF half")
        result = runner.invoke(app, ["verify", str(out)])
        assert result.exit_code == 1 and "never finished" in result.output
        check(runner, policy, out)
    assert runner.invoke(app, ["verify", str(out)]).exit_code == 0
    assert not [p.name for p in out.iterdir() if p.name.startswith(".results.json.")
                or p.name.endswith(".partial")]


def test_a_huge_results_file_is_refused_without_reading_it(runner: CliRunner,
                                                           finished_run: Path) -> None:
    with (finished_run / "results.json").open("r+b") as handle:
        handle.truncate(200 * 1024 * 1024)  # sparse: 200 MB that are never read
    started = time.monotonic()
    result = runner.invoke(app, ["report", str(finished_run)])
    assert time.monotonic() - started < 10
    assert result.exit_code == 2 and "larger than any results.json" in result.output


def test_a_rejudged_folder_verifies_against_the_runs_store(runner: CliRunner,
                                                           finished_run: Path) -> None:
    result = runner.invoke(app, ["rejudge", str(finished_run), "--judge", "harm", "--quiet"])
    assert result.exit_code in (0, 1, 3), result.output
    verified = runner.invoke(app, ["verify", str(finished_run / "rejudged-harm")])
    assert verified.exit_code == 0, verified.output
    assert runner.invoke(app, ["verify", str(finished_run)]).exit_code == 0


def test_urls_the_renderer_refused_are_listed_in_the_audit_trail(
        finished_run: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.outputs.files import read_results
    from auditor.outputs.report.render import render_pdf
    from auditor.outputs.report.write import render_reports

    monkeypatch.setattr("auditor.outputs.report.write.render_pdf",
                        lambda html, out: [*render_pdf(html, out), "file:///etc/passwd"])
    results = read_results(finished_run)
    assert render_reports(finished_run, results) == ["file:///etc/passwd"]
    html = (finished_run / "report.html").read_text()
    assert "URLs the renderer refused to fetch" in html and "file:///etc/passwd" in html


def test_a_nul_byte_in_a_policy_file_names_its_line(runner: CliRunner, tmp_path: Path) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_bytes(b"version: 1\norganisation: {name: X\x00}\n")
    result = runner.invoke(app, ["validate", str(policy)])
    assert result.exit_code == 2, result.output
    assert "policy.yaml:2:23" in result.output and "U+0000" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize("damage", ["cut-short", "undefined-entity"])
def test_a_damaged_workbook_is_a_clear_error(tmp_path: Path, damage: str) -> None:
    """A workbook whose sheet XML is cut short, or names an entity it never defines: the
    sheet is parsed as it is read, and either is a clear error, not a parser's traceback."""
    import zipfile

    from openpyxl import Workbook

    from auditor.core.errors import AuditorError
    from auditor.review.sheet import read_labels

    book = Workbook()
    book.active.append(["answer_id", "label"])
    book.active.append(["a1", "safe"])
    whole = tmp_path / "whole.xlsx"
    book.save(whole)
    damaged = tmp_path / "damaged.xlsx"
    with zipfile.ZipFile(whole) as source, zipfile.ZipFile(damaged, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                data = data[: len(data) // 2] if damage == "cut-short" else \
                    data.replace(b"<sheetData>", b"<sheetData>&undefined;")
            target.writestr(item, data)
    with pytest.raises(AuditorError, match=r"damaged|cannot read"):
        read_labels(damaged, {"a1"})


@pytest.mark.parametrize("free_kb", [0, 8])
def test_a_full_disk_at_the_start_says_to_free_space(runner: CliRunner, tmp_path: Path,
                                                    free_kb: int) -> None:
    """`check --out` on a disk with nothing, or a few KB, left (a real tmpfs, filled): exit 2,
    no traceback, and the advice is to free space, not to use another folder. Needs a tmpfs
    mount (root on Linux); skipped where that cannot be made."""
    import subprocess

    disk = tmp_path / "disk"
    disk.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(disk)],
                      capture_output=True).returncode != 0:
        pytest.skip("cannot mount a tmpfs here (needs root)")
    try:
        with (disk / "filler").open("wb", buffering=0) as filler, \
                contextlib.suppress(OSError):
            while True:
                filler.write(b"\0" * 1024)
        if free_kb:
            os.truncate(disk / "filler", (disk / "filler").stat().st_size - free_kb * 1024)
        policy = write_policy(tmp_path, policy_for("http://127.0.0.1:9"))
        result = runner.invoke(app, ["check", str(policy), "--out", str(disk / "run"),
                                     "--quiet"])
        assert result.exit_code == 2, (result.output, result.exception)
        assert "Traceback" not in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit)
        assert "free disk space" in result.output or "free some space" in result.output, \
            result.output
    finally:
        subprocess.run(["umount", str(disk)], capture_output=True)


def test_a_policy_file_with_an_error_leaves_no_folders_behind(runner: CliRunner,
                                                               tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\norganisation: {name: X}\n"
                          f"dataset: {{path: {SAMPLES}}}\npolicies: []\n")
    result = runner.invoke(app, ["check", str(policy), "--out", str(tmp_path / "a" / "b" /
                                                                      "run")])
    assert result.exit_code == 2, result.output
    assert not (tmp_path / "a").exists()


def every_command() -> list[list[str]]:
    """The path of every command of the CLI, subcommands of groups included."""
    import typer

    def walk(group: Any, path: list[str]) -> list[list[str]]:
        found = []
        for name, command in group.commands.items():
            if hasattr(command, "commands"):  # a group (typer vendors its own click)
                found += walk(command, [*path, name])
            else:
                found.append([*path, name])
        return found

    return walk(typer.main.get_command(app), [])


def test_flags_take_no_value_in_help(runner: CliRunner) -> None:
    commands = every_command()
    assert ["evidence"] in commands and ["review", "sample"] in commands
    for path in commands:
        command = [*path, "--help"]
        result = runner.invoke(app, command)
        assert result.exit_code == 0, command
        valued = [line for line in result.output.splitlines()
                  if "<bool>" in line and "--help" not in line]  # click's own --help aside
        assert not valued, valued


def test_advice_names_the_run_folder() -> None:
    from auditor.cli.run_cmds import with_run_folder

    advice = "label about 5 more answers: `auditor review sample RUN --budget 9`, label"
    assert with_run_folder(advice, Path("/audits/my run")) == \
        "label about 5 more answers: `auditor review sample '/audits/my run' --budget 9`, label"
    assert with_run_folder("RUNNING is not a placeholder", Path("x")) == \
        "RUNNING is not a placeholder"
