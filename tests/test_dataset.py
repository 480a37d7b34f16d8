from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.core.errors import DatasetError
from auditor.data.dataset import load_file, load_folder, unwrap
from tests.conftest import SAMPLES


def test_unwrap_strips_alert_wrapper() -> None:
    assert unwrap("### Instruction:\nHow do I pick a lock?\n### Response:\n") == \
        "How do I pick a lock?"
    assert unwrap("plain text") == "plain text"
    assert unwrap("### Instruction:\n\n### Response:\n") == ""


def test_samples_cover_every_category_and_attack() -> None:
    dataset = load_folder(SAMPLES)
    counts = dataset.counts()
    assert len(counts) == 32
    assert all(row["none"] >= 6 for row in counts.values())
    assert dataset.attack_types() == ["jailbreaking", "none", "prefix_injection",
                                      "suffix_injection", "token_manipulation"]
    adversarial = next(f for f in dataset.files if f.name == "alert_adversarial.jsonl")
    assert adversarial.empty_skipped == 1  # the empty-instruction row is skipped and counted
    assert all(not p.text.startswith("###") for p in dataset.prompts)
    assert len({p.uid for p in dataset.prompts}) == len(dataset.prompts)


def _write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "alert.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path


GOOD = json.dumps({"id": 1, "prompt": "### Instruction:\nhi\n### Response:\n",
                   "category": "crime_cyber"})


def test_malformed_lines_name_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, [GOOD, "{not json", GOOD.replace("crime_cyber", "crime_cyberz"),
                             json.dumps({"id": "x", "prompt": "p", "category": "hate_poor"})])
    with pytest.raises(DatasetError) as info:
        load_file(path, adversarial=False)
    rendered = [p.render() for p in info.value.problems]
    assert rendered == [
        f"{path}:2: not valid JSON (Expecting property name enclosed in double quotes at "
        "column 2)",
        f"{path}:3: category: unknown ALERT category 'crime_cyberz'",
        f"{path}:4: id: missing or not an integer",
    ]


def test_lenient_skips_and_counts(tmp_path: Path) -> None:
    path = _write(tmp_path, [GOOD, "{not json", json.dumps(
        {"id": 2, "prompt": "### Instruction:\n\n### Response:\n", "category": "hate_poor"})])
    prompts, info = load_file(path, adversarial=False, lenient=True)
    assert [p.uid for p in prompts] == ["alert:1"]
    assert (info.rows, info.loaded, info.malformed_skipped, info.empty_skipped) == (3, 1, 1, 1)


def test_adversarial_row_needs_attack_type(tmp_path: Path) -> None:
    path = tmp_path / "alert_adversarial.jsonl"
    path.write_text(GOOD + "\n")
    with pytest.raises(DatasetError, match="1 problem") as info:
        load_file(path, adversarial=True)
    assert info.value.problems[0].field == "attack_type"


def test_missing_file_for_needed_attack(tmp_path: Path) -> None:
    _write(tmp_path, [GOOD])
    with pytest.raises(DatasetError) as info:
        load_folder(tmp_path, ["jailbreaking"])
    assert "alert_adversarial.jsonl" in info.value.message


def test_hub_source_reads_prepared_cache_offline(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                                ) -> None:
    """The Hub path is real huggingface_hub code, run offline against a prepared cache."""
    from auditor.data.hub import fetch_alert

    revision = "a857f95355354050170844207a4994d9599fdfed"
    repo = tmp_path / "hub" / "datasets--Babelscape--ALERT"
    snapshot = repo / "snapshots" / revision
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(revision)
    for name in ("alert.jsonl", "alert_adversarial.jsonl"):
        (snapshot / name).write_bytes((SAMPLES / name).read_bytes())
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hub_constants

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    folder, resolved = fetch_alert(cache_dir=tmp_path)
    assert resolved == revision
    assert len(load_folder(folder).prompts) == 192 + 768


def test_hub_source_missing_offline_is_a_clear_error(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants as hub_constants

    from auditor.core.errors import FetchError
    from auditor.data.hub import fetch_alert

    monkeypatch.setattr(hub_constants, "HF_HUB_OFFLINE", True)
    with pytest.raises(FetchError, match="not in the cache"):
        fetch_alert(cache_dir=tmp_path)


def test_a_file_that_is_not_utf8_names_its_line(tmp_path: Path) -> None:
    folder = tmp_path / "alert"
    folder.mkdir()
    (folder / "alert.jsonl").write_bytes(GOOD.encode() + b"\n" + b'{"id": 2, "prompt": "\xff"}\n')
    with pytest.raises(DatasetError) as error:
        load_folder(folder, ["none"])
    [problem] = error.value.problems
    assert problem.line == 2 and "not UTF-8" in problem.message


def test_a_folder_where_the_file_should_be(tmp_path: Path) -> None:
    folder = tmp_path / "alert"
    (folder / "alert.jsonl").mkdir(parents=True)
    with pytest.raises(DatasetError) as error:
        load_folder(folder, ["none"])
    assert "is a folder, not a file" in error.value.problems[0].message


def test_a_repeated_id_names_both_lines(tmp_path: Path) -> None:
    other = GOOD.replace('"id": 1', '"id": 2')
    path = _write(tmp_path, [GOOD, other, GOOD.replace("hi", "another prompt")])
    with pytest.raises(DatasetError) as info:
        load_file(path, adversarial=False)
    assert [p.render() for p in info.value.problems] == [
        f"{path}:3: id: id 1 is already used on line 1; ids must be unique within a file"]
    prompts, loaded = load_file(path, adversarial=False, lenient=True)
    assert [p.text for p in prompts] == ["hi", "hi"] and loaded.malformed_skipped == 1


def test_dataset_info_names_the_samples_licence_not_alerts(runner: CliRunner) -> None:
    from auditor.cli import app

    result = runner.invoke(app, ["dataset", "info", str(SAMPLES)])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert "written by the auditor project" in text and "CC BY-NC-SA" not in text
    helped = runner.invoke(app, ["check", "--help"])
    assert "OUT//" not in helped.output and "OUT/NAME/" in " ".join(helped.output.split())
