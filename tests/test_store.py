from __future__ import annotations

import os
import sqlite3
from pathlib import Path

import pytest

from auditor.core.errors import StoreError
from auditor.core.outcome import Judgement
from auditor.stages.store import RunStore, generation_key
from auditor.targets import ChatRequest, Generation

PARAMS = {"max_tokens": 8, "temperature": 0.0}


def requests(n: int) -> dict[str, ChatRequest]:
    out = {}
    for i in range(n):
        key = generation_key("model", PARAMS, None, f"p{i}")
        out[key] = ChatRequest(key, f"p{i}")
    return out


def test_keys_depend_on_every_input() -> None:
    base = generation_key("m", PARAMS, None, "p")
    assert base == generation_key("m", dict(PARAMS), None, "p")
    assert base != generation_key("m2", PARAMS, None, "p")
    assert base != generation_key("m", {**PARAMS, "max_tokens": 9}, None, "p")
    assert base != generation_key("m", PARAMS, "be nice", "p")
    assert base != generation_key("m", PARAMS, None, "q")


def test_success_is_never_overwritten_and_errors_are_retried(tmp_path: Path) -> None:
    reqs = requests(2)
    k0, k1 = list(reqs)
    with RunStore(tmp_path) as store:
        store.put_generations([Generation(k0, "first"), Generation(k1, None, error="HTTP 500")],
                              reqs, "model", PARAMS)
        assert store.finished_keys(reqs) == {k0}
        store.put_generations([Generation(k0, "second"), Generation(k1, "recovered")],
                              reqs, "model", PARAMS)
        rows = store.generations()
    assert rows[k0].text == "first"
    assert rows[k1].text == "recovered" and rows[k1].error is None and rows[k1].attempts == 2


def test_second_run_on_same_folder_is_refused(tmp_path: Path) -> None:
    with RunStore(tmp_path), pytest.raises(StoreError, match="in use by another auditor run"):
        RunStore(tmp_path)
    with RunStore(tmp_path):  # released on close
        pass


def test_verdicts_round_trip(tmp_path: Path) -> None:
    with RunStore(tmp_path) as store:
        store.put_verdicts("judge", [("c1", Judgement("unsafe", ["S1"], 0.9, None, "raw"))])
        assert store.verdicts("judge")["c1"].categories == ["S1"]
        assert store.verdicts("other") == {}


def test_store_is_wal(tmp_path: Path) -> None:
    with RunStore(tmp_path):
        mode = sqlite3.connect(tmp_path / "store.sqlite").execute(
            "PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"


def test_corrupt_store_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "store.sqlite").write_bytes(b"not a database at all" * 100)
    with pytest.raises(StoreError, match="not a usable auditor store"):
        RunStore(tmp_path)


def test_a_lone_surrogate_is_stored_replaced_and_noted(tmp_path: Path) -> None:
    """A server that sends "\\ud800" must not lose the batch on every rerun."""
    requests = {"k1": ChatRequest("k1", "prompt"), "k2": ChatRequest("k2", "other")}
    with RunStore(tmp_path / "run") as store:
        store.put_generations([Generation("k1", "bad \ud800 text", "stop"),
                               Generation("k2", "fine", "stop")], requests, "t", {})
        stored = store.generations()
    assert stored["k1"].text == "bad \ufffd text" and stored["k2"].text == "fine"
    assert stored["k1"].finish_reason == "stop (unencodable characters replaced)"
    assert stored["k2"].finish_reason == "stop"


def test_an_unusable_output_folder_is_a_clear_error(tmp_path: Path) -> None:
    a_file = tmp_path / "out"
    a_file.write_text("not a folder")
    with pytest.raises(StoreError, match="it is a file"):
        RunStore(a_file)
    locked = tmp_path / "readonly"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores permissions; the file case still ran
            return
        with pytest.raises(StoreError, match="cannot use"):
            RunStore(locked / "run")
    finally:
        locked.chmod(0o700)


def test_a_full_disk_is_a_store_error_and_keeps_what_was_committed(tmp_path: Path) -> None:
    requests = {f"k{i}": ChatRequest(f"k{i}", "p") for i in range(200)}
    with RunStore(tmp_path / "run") as store:
        store.put_generations([Generation("k0", "first", "stop")], requests, "t", {})
        pages = store.db.execute("PRAGMA page_count").fetchone()[0]
        store.db.execute(f"PRAGMA max_page_count = {pages + 1}")  # the disk fills up here
        with pytest.raises(StoreError, match="full") as error:
            store.put_generations([Generation(f"k{i}", "x" * 5000, "stop")
                                   for i in range(1, 200)], requests, "t", {})
        assert "rerun" in (error.value.hint or "")
        assert set(store.generations()) == {"k0"}


def test_a_full_disk_when_opening_the_store_says_to_free_space(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch
                                                               ) -> None:
    from auditor.core.errors import StoreError
    from auditor.stages import store as store_module

    real_connect = sqlite3.connect

    class Full:
        def __init__(self, *args: object, **kwargs: object) -> None:
            self.db = real_connect(":memory:")

        def execute(self, *args: object) -> object:
            return self.db.execute(*args)  # type: ignore[arg-type]

        def executescript(self, script: str) -> None:
            raise sqlite3.OperationalError("database or disk is full")

        def close(self) -> None:
            self.db.close()

    monkeypatch.setattr(sqlite3, "connect", Full)  # the module the store connects through
    with pytest.raises(StoreError) as error:
        store_module.RunStore(tmp_path / "run")
    assert "free disk space" in (error.value.hint or "")
    assert "fresh --out" not in (error.value.hint or "")
