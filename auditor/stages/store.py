"""The run store: SQLite (WAL) in the run's output folder, holding generations and verdicts.

Entries are keyed by content, so rerunning a plan makes no model calls for work already done,
and a killed run resumes where it stopped. Each batch is one transaction: a SIGKILL loses at
most the batch in flight, never a committed one, and never leaves a duplicate. One run at a
time: an exclusive `flock` on `store.lock`, which the kernel releases if the process dies.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import sqlite3
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from auditor.core.errors import StoreError
from auditor.core.identity import JudgeFingerprint, TargetFingerprint
from auditor.core.outcome import Judgement, as_label
from auditor.core.secrets import redact_optional
from auditor.targets.interface import ChatRequest, Generation

STORE_FILE = "store.sqlite"
LOCK_FILE = "store.lock"

SCHEMA = """
CREATE TABLE IF NOT EXISTS generations (
    key TEXT PRIMARY KEY,
    target_id TEXT NOT NULL,
    prompt_text TEXT NOT NULL,
    system_prompt TEXT,
    params TEXT NOT NULL,
    text TEXT,
    finish_reason TEXT,
    prompt_tokens INTEGER,
    completion_tokens INTEGER,
    latency_s REAL,
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS verdicts (
    judge_id TEXT NOT NULL,
    content_key TEXT NOT NULL,
    label TEXT NOT NULL,
    categories TEXT,
    score REAL,
    reason TEXT,
    raw TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (judge_id, content_key)
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS review_sample (
    answer_id TEXT PRIMARY KEY,
    position INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS review_history (
    answer_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    label TEXT NOT NULL,
    note TEXT,
    source TEXT,
    created_at REAL NOT NULL,
    kept INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS reviews (
    answer_id TEXT NOT NULL,
    reviewer TEXT NOT NULL,
    label TEXT NOT NULL,
    note TEXT,
    source TEXT,
    created_at REAL NOT NULL,
    PRIMARY KEY (answer_id, reviewer)
);
"""


def generation_key(target_id: str, params: dict[str, float], system_prompt: str | None,
                   prompt: str) -> str:
    payload = json.dumps([target_id, params, system_prompt, prompt], sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()


def content_key(prompt: str, response: str) -> str:
    return hashlib.sha256(json.dumps([prompt, response]).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredGeneration:
    key: str
    prompt_text: str
    text: str | None
    finish_reason: str | None
    completion_tokens: int | None
    latency_s: float | None
    error: str | None
    attempts: int


@dataclass(frozen=True, slots=True)
class HumanLabel:
    """A reviewer's label for one answer: safe, unsafe, or skip (seen, not labelled)."""

    answer_id: str
    label: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Imported:
    """What an import changed: labels new or changed, and the answers whose earlier `unsafe`
    from the same reviewer was kept against a later label."""

    changed: int
    kept_unsafe: list[str]


@dataclass(frozen=True, slots=True)
class StoredReview:
    answer_id: str
    reviewer: str
    label: str
    note: str | None
    created_at: float


REPLACED_NOTE = " (unencodable characters replaced)"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def storable(text: str | None) -> tuple[str | None, bool]:
    """Text SQLite can store as UTF-8, and whether anything had to be replaced.

    A server may send a lone surrogate (say "\\ud800" in its JSON). Stored as is, it raises
    UnicodeEncodeError and loses the whole batch on every rerun; replaced by U+FFFD it is kept.
    """
    if text is None:
        return None, False
    # In a Python str any code point in D800-DFFF is a lone surrogate: pairs are already joined.
    cleaned, count = _LONE_SURROGATE.subn("\ufffd", text)
    return cleaned, count > 0


LOW_DISK_BYTES = 64 * 1024 * 1024  # below this, a store error is most likely the disk's


def _little_room(folder: Path) -> bool:
    """Whether the disk holding `folder` is nearly full (SQLite reports a full disk in more
    ways than "disk is full": an I/O error, a journal it could not grow)."""
    try:
        return shutil.disk_usage(folder).free < LOW_DISK_BYTES
    except OSError:
        return False


def _refuse_link(path: Path) -> None:
    """A run's store is a plain file in its folder: a link could put another run's store (or
    a device) behind this one's name."""
    if path.is_symlink():
        raise StoreError(f"{path} is a link; a run's store never is, so this folder was "
                         "altered", hint="use the folder `auditor check` wrote")
    if path.exists() and not path.is_file():
        raise StoreError(f"{path} is not a regular file (a pipe, device or folder), so this "
                         "folder was altered", hint="use the folder `auditor check` wrote")


def _read_only_connection(path: Path) -> sqlite3.Connection:
    """A connection that reads the store and writes nothing. SQLite's read-only mode still
    needs the write-ahead log's index file beside the store; on read-only media there is
    none, so the store is opened as immutable, which is safe only when no write-ahead log
    is left to replay (a run that finished leaves none)."""
    _refuse_link(path)
    if not path.is_file():
        raise StoreError(f"{path} is not there: this folder holds no run store",
                         hint="pass the --out folder of a finished `auditor check`")
    uri = path.resolve().as_uri()
    try:
        db = sqlite3.connect(f"{uri}?mode=ro", uri=True, isolation_level=None)
        db.execute("SELECT count(*) FROM meta").fetchone()
        return db
    except sqlite3.DatabaseError:
        wal = path.with_name(path.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            raise StoreError(f"cannot read {path} where it is: it is on read-only media with "
                             "unfinished writes in its log",
                             hint="copy the run folder somewhere writable and use the copy"
                             ) from None
    try:
        db = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)
        db.execute("SELECT count(*) FROM meta").fetchone()
        return db
    except sqlite3.DatabaseError as exc:
        raise StoreError(f"{path} is not a usable auditor store: {exc}") from None


class RunStore:
    def __init__(self, folder: Path, read_only: bool = False) -> None:
        """Open (or create) the store in `folder`, holding its lock; `read_only` opens an
        existing store to read, taking no lock and writing nothing, so a run on read-only
        media can be verified, exported and compared."""
        self.folder = folder
        self._lock_handle: IO[str] | None = None
        if read_only:
            self.db = _read_only_connection(folder / STORE_FILE)
            return
        try:
            folder.mkdir(parents=True, exist_ok=True)
            self._lock_handle = open(folder / LOCK_FILE, "a+")  # noqa: SIM115 - held for our lifetime
        except OSError as exc:  # a file where the folder should be, read-only, disk full…
            if folder.is_symlink() and not folder.exists():
                why = f"it is a symbolic link to {os.readlink(folder)}, which does not exist"
            elif folder.is_file():
                why = "it is a file"
            else:
                why = exc.strerror or type(exc).__name__
            raise StoreError(f"cannot use {folder} as the output folder: {why}",
                             hint="pass --out a folder you can write to") from None
        try:
            fcntl.flock(self._lock_handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock_handle.seek(0)
            holder = self._lock_handle.read().strip() or "another process"
            self._lock_handle.close()
            raise StoreError(f"{folder} is in use by another auditor run ({holder})",
                             hint="wait for it to finish, or use a different --out") from None
        try:
            self._lock_handle.seek(0)
            self._lock_handle.truncate()
            self._lock_handle.write(f"pid {os.getpid()}")
            self._lock_handle.flush()
        except OSError as exc:  # a disk with no room even for the lock's few bytes
            self.close()
            raise StoreError(f"cannot write to {folder / LOCK_FILE}: "
                             f"{exc.strerror or type(exc).__name__}",
                             hint="free disk space or fix permissions, then rerun the same "
                                  "command: finished work is kept") from None
        try:
            _refuse_link(folder / STORE_FILE)
        except StoreError:
            self.close()
            raise
        try:
            self.db = sqlite3.connect(folder / STORE_FILE, isolation_level=None)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL survives process kill
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            self.close()
            if "full" in str(exc) or "readonly" in str(exc).replace(" ", "") or \
                    _little_room(folder):
                raise StoreError(f"cannot write to {folder / STORE_FILE}: {exc}",
                                 hint="free disk space or fix permissions, then rerun the "
                                      "same command: finished work is kept") from None
            raise StoreError(f"{folder / STORE_FILE} is not a usable auditor store: {exc}",
                             hint="use a fresh --out folder") from exc

    def close(self) -> None:
        if hasattr(self, "db"):
            self.db.close()
        if self._lock_handle is not None and not self._lock_handle.closed:
            # closing releases the flock; on a full disk the last flush of its few bytes
            # fails, and the file is closed all the same
            with contextlib.suppress(OSError):
                self._lock_handle.close()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- meta -----------------------------------------------------------------------------
    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One transaction, committed whole or rolled back whole (so a batch is never half
        stored); a full disk or a read-only file becomes a StoreError (exit 2)."""
        try:
            with self.db:  # autocommit connection: the transaction is begun explicitly
                self.db.execute("BEGIN")
                yield
        except sqlite3.OperationalError as exc:
            raise StoreError(f"cannot write to {self.folder / STORE_FILE}: {exc}",
                             hint="free disk space or fix permissions, then rerun the same "
                                  "command: finished work is kept") from None

    # Meta values are JSON: what a run records about itself, read back by later stages.
    def set_meta(self, key: str, value: object) -> None:
        with self._writing():
            self.db.execute("INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO "
                            "UPDATE SET value = excluded.value", (key, json.dumps(value)))

    def get_meta(self, key: str, default: Any = None) -> Any:  # Any: JSON of any shape
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else default

    def first_answer_at(self) -> float | None:
        """When the store's first answer was made (errors aside), or None with no answer."""
        row = self.db.execute("SELECT MIN(created_at) FROM generations "
                              "WHERE error IS NULL").fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def criteria_first_seen(self) -> dict[str, str]:
        """Acceptance criteria hash → when this run folder first ran with them (UTC)."""
        value = self.get_meta("criteria_first_seen", {})
        return {str(k): str(v) for k, v in value.items()} if isinstance(value, dict) else {}

    def note_criteria(self, digest: str, at: str) -> None:
        """Record when these criteria were first used here, before any answer is made with
        them: the evidence pack shows whether they were fixed before the answers were seen."""
        seen = self.criteria_first_seen()
        if digest not in seen:
            self.set_meta("criteria_first_seen", {**seen, digest: at})

    def run_id(self) -> str | None:
        value = self.get_meta("run_id")
        return None if value is None else str(value)

    def prompt_keys(self) -> dict[str, str]:
        """Prompt uid → generation key, as the last generation stage planned them."""
        return {str(k): str(v) for k, v in (self.get_meta("prompt_keys") or {}).items()}

    def set_target(self, fingerprint: TargetFingerprint) -> None:
        self.set_meta("target_fingerprint", fingerprint.model_dump())

    def target(self) -> TargetFingerprint | None:
        """The model under test's fingerprint, with each server's record when it was a fleet."""
        stored = self.get_meta("target_fingerprint")
        if stored is None:
            return None
        servers = self.get_meta("target_servers")
        return TargetFingerprint.model_validate({**stored, **({"servers": servers}
                                                               if servers else {})})

    def set_judge(self, fingerprint: JudgeFingerprint) -> None:
        """The judge whose verdicts a run's outcomes read, as results.json names it."""
        self.set_meta(f"judge:{fingerprint.id}", fingerprint.model_dump(mode="json"))

    def judge(self, judge_id: str) -> dict[str, Any] | None:
        stored = self.get_meta(f"judge:{judge_id}")
        return stored if isinstance(stored, dict) else None

    def set_judged_requests(self, judge_id: str, requests: dict[str, str]) -> None:
        """Prompt uid → the plain request `judge_id` read beside the prompt (adversarial rows
        matched to their plain ALERT request), so its verdicts' keys can be rebuilt."""
        if requests or self.get_meta(f"judged_requests:{judge_id}") is not None:
            self.set_meta(f"judged_requests:{judge_id}", requests)

    def judged_requests(self, judge_id: str) -> dict[str, str]:
        return {str(k): str(v) for k, v in
                (self.get_meta(f"judged_requests:{judge_id}") or {}).items()}

    # --- generations ----------------------------------------------------------------------
    def finished_keys(self, keys: Iterable[str]) -> set[str]:
        """Keys that already have a successful generation (errors are retried on rerun)."""
        wanted = list(keys)
        done: set[str] = set()
        for begin in range(0, len(wanted), 500):
            chunk = wanted[begin:begin + 500]
            marks = ",".join("?" * len(chunk))
            done.update(row[0] for row in self.db.execute(
                f"SELECT key FROM generations WHERE error IS NULL AND key IN ({marks})", chunk))
        return done

    def put_generations(self, generations: list[Generation], requests: dict[str, ChatRequest],
                        target_id: str, params: dict[str, float]) -> None:
        """Commit one batch. A success replaces an earlier error; nothing replaces a success."""
        now = time.time()
        rows = []
        for gen in generations:
            request = requests[gen.key]
            # What a server sent may echo the key it was sent (see auditor.core.secrets).
            text, replaced = storable(redact_optional(gen.text, shapes=False))
            error, _ = storable(redact_optional(gen.error))
            finish = (gen.finish_reason or "") + REPLACED_NOTE if replaced else gen.finish_reason
            rows.append((gen.key, target_id, storable(request.prompt)[0],
                         storable(request.system_prompt)[0], json.dumps(params, sort_keys=True),
                         text, finish, gen.prompt_tokens, gen.completion_tokens, gen.latency_s,
                         error, gen.requests, now))
        with self._writing():
            self.db.executemany(
                "INSERT INTO generations(key, target_id, prompt_text, system_prompt, params, text,"
                " finish_reason, prompt_tokens, completion_tokens, latency_s, error, attempts,"
                " created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)"
                " ON CONFLICT(key) DO UPDATE SET text = excluded.text,"
                " finish_reason = excluded.finish_reason, prompt_tokens = excluded.prompt_tokens,"
                " completion_tokens = excluded.completion_tokens, latency_s = excluded.latency_s,"
                " error = excluded.error, attempts = generations.attempts + excluded.attempts,"
                " created_at = excluded.created_at WHERE generations.error IS NOT NULL", rows)

    def generations(self, keys: Iterable[str] | None = None) -> dict[str, StoredGeneration]:
        query = ("SELECT key, prompt_text, text, finish_reason, completion_tokens, latency_s, "
                 "error, attempts FROM generations")
        rows = self.db.execute(query)
        if keys is None:
            return {row[0]: StoredGeneration(*row) for row in rows}
        wanted = set(keys)  # filtered while reading: rows of other plans are never held
        return {row[0]: StoredGeneration(*row) for row in rows if row[0] in wanted}

    # --- verdicts -------------------------------------------------------------------------
    def verdicts(self, judge_id: str) -> dict[str, Judgement]:
        rows = self.db.execute("SELECT content_key, label, categories, score, reason, raw "
                               "FROM verdicts WHERE judge_id = ?", (judge_id,))
        return {r[0]: Judgement(as_label(r[1]), json.loads(r[2] or "[]"), r[3], r[4], r[5])
                for r in rows}

    def put_verdicts(self, judge_id: str, items: list[tuple[str, Judgement]]) -> None:
        now = time.time()
        with self._writing():
            self.db.executemany(
                "INSERT OR REPLACE INTO verdicts(judge_id, content_key, label, categories, score,"
                " reason, raw, created_at) VALUES (?,?,?,?,?,?,?,?)",
                [(judge_id, key, v.label, json.dumps(v.categories), v.score,
                  storable(redact_optional(v.reason))[0], storable(redact_optional(v.raw))[0],
                  now) for key, v in items])

    # --- human review ---------------------------------------------------------------------
    def set_review_sample(self, answer_ids: list[str]) -> None:
        """The answers chosen for review, in the order reviewers see them (replaces any)."""
        with self._writing():
            self.db.execute("DELETE FROM review_sample")
            self.db.executemany("INSERT INTO review_sample(answer_id, position) VALUES (?, ?)",
                                [(answer_id, i) for i, answer_id in enumerate(answer_ids)])

    def review_sample(self) -> list[str]:
        return [row[0] for row in self.db.execute(
            "SELECT answer_id FROM review_sample ORDER BY position")]

    def put_reviews(self, reviewer: str, labels: list[HumanLabel], source: str,
                    correct: bool = False) -> Imported:
        """Store one reviewer's labels in one transaction, each new or changed one also in
        the history. A later label never silently replaces this reviewer's earlier `unsafe`:
        that one is kept (the later one goes to the history, not kept) unless `correct`,
        a correction the history records as such. Importing the same labels again changes
        nothing."""
        now = time.time()
        before = {row[0]: row[1] for row in self.db.execute(
            "SELECT answer_id, label FROM reviews WHERE reviewer = ?", (reviewer,))}
        changed = [label for label in labels if before.get(label.answer_id) != label.label]
        held = [label for label in changed if before.get(label.answer_id) == "unsafe"
                and not correct]
        held_ids = {label.answer_id for label in held}
        stored = [label for label in labels if label.answer_id not in held_ids]
        with self._writing():
            self.db.executemany(
                "INSERT INTO reviews(answer_id, reviewer, label, note, source, created_at) "
                "VALUES (?,?,?,?,?,?) ON CONFLICT(answer_id, reviewer) DO UPDATE SET "
                "label = excluded.label, note = excluded.note, source = excluded.source, "
                "created_at = excluded.created_at WHERE reviews.label != excluded.label OR "
                "IFNULL(reviews.note, '') != IFNULL(excluded.note, '')",
                [(label.answer_id, reviewer, label.label, storable(label.note)[0], source, now)
                 for label in stored])
            self.db.executemany(
                "INSERT INTO review_history(answer_id, reviewer, label, note, source, "
                "created_at, kept) VALUES (?,?,?,?,?,?,?)",
                [(label.answer_id, reviewer, label.label, storable(label.note)[0],
                  f"{source} (correction)" if correct and label.answer_id in before else source,
                  now, int(label.answer_id not in held_ids)) for label in changed])
        return Imported(len(changed) - len(held), sorted(held_ids))

    def review_history(self) -> list[StoredReview]:
        """Every label ever given (stores written before 0.3.0 have none), oldest first."""
        try:
            rows = self.db.execute("SELECT answer_id, reviewer, label, note, created_at FROM "
                                   "review_history ORDER BY created_at, rowid")
            return [StoredReview(*row) for row in rows]
        except sqlite3.OperationalError:  # an older store opened read-only: no such table
            return []

    def reviews(self) -> list[StoredReview]:
        return [StoredReview(*row) for row in self.db.execute(
            "SELECT answer_id, reviewer, label, note, created_at FROM reviews "
            "ORDER BY answer_id, reviewer")]

    # --- the run's content, hashed for its manifest ------------------------------------------
    REVIEW_META = ("review_budgets", "review_checks", "review_target", "review_seed",
                   "review_scoring", "review_reviewers")
    DIGESTED_META = ("run_id", "target_fingerprint", "target_servers", "review_design",
                     "review_judge")

    def digest(self, judge_ids: Iterable[str]) -> str:
        """sha256 of everything a run's outputs are computed from: the planned prompts' answers
        (and errors), the verdicts of `judge_ids` with the requests they read, the review
        sample and every label, and the run's own meta values. The manifest records it, so an
        edited store no longer matches its outputs (`auditor verify`). Other judges' verdicts
        (a `rejudge` writes them here too) are left out: they do not change this run."""
        digest = hashlib.sha256()

        def feed(tag: str, rows: Iterable[Iterable[object]]) -> None:
            for row in rows:
                digest.update(json.dumps([tag, *row], ensure_ascii=False).encode() + b"\n")

        prompt_keys = self.prompt_keys()
        wanted = set(prompt_keys.values())
        feed("prompt", sorted(prompt_keys.items()))
        feed("generation", (row for row in self.db.execute(
            "SELECT key, target_id, prompt_text, system_prompt, params, text, error "
            "FROM generations ORDER BY key") if row[0] in wanted))
        for judge_id in sorted(set(judge_ids)):
            feed("verdict", self.db.execute(
                "SELECT judge_id, content_key, label, categories, score, reason FROM verdicts "
                "WHERE judge_id = ? ORDER BY content_key", (judge_id,)))
            feed("request", ([judge_id, *pair] for pair in
                             sorted(self.judged_requests(judge_id).items())))
            feed("judge", [[judge_id, self.judge(judge_id)]])
        feed("sample", self.db.execute("SELECT answer_id, position FROM review_sample "
                                       "ORDER BY position"))
        feed("review", self.db.execute("SELECT answer_id, reviewer, label, note, created_at "
                                       "FROM reviews ORDER BY answer_id, reviewer"))
        # The label history (since 0.3.0): fed only when it has rows, so earlier runs keep
        # their digest.
        feed("history", ([r.answer_id, r.reviewer, r.label, r.note, r.created_at]
                         for r in self.review_history()))
        feed("meta", ([key, self.get_meta(key)] for key in self.DIGESTED_META))
        # Recorded since 0.2.0; fed only when present, so earlier runs keep their digest.
        if (version := self.get_meta("auditor_version")) is not None:
            feed("meta", [["auditor_version", version]])
        # How each policy's review is drawn, scored and checked: fed for samples drawn since
        # 0.3.0 (they record per-policy budgets), so earlier runs keep their digest.
        if self.get_meta("review_budgets") is not None:
            feed("meta", ([key, self.get_meta(key)] for key in self.REVIEW_META))
        # Each policy's pooled design and the aim of its test (since 0.4.0): fed when present.
        if (plans := self.get_meta("review_plans")) is not None:
            feed("meta", [["review_plans", plans]])
        # When each set of acceptance criteria was first used (since 0.4.0): when present.
        if (criteria := self.get_meta("criteria_first_seen")) is not None:
            feed("meta", [["criteria_first_seen", criteria]])
        # Page 1's facts (since 0.4.0: the time, the policy file, the dataset): when present.
        if (facts := self.get_meta("run_facts")) is not None:
            feed("meta", [["run_facts", facts]])
        return digest.hexdigest()

    EXPORTED = ("key", "prompt_text", "system_prompt", "text", "finish_reason",
                "completion_tokens", "latency_s", "error", "attempts")

    def generation_rows(self) -> Iterator[dict[str, object]]:
        """Every stored generation as the JSON row generations.jsonl holds, streamed."""
        cursor = self.db.execute(f"SELECT {', '.join(self.EXPORTED)} FROM generations "
                                 "ORDER BY key")
        for row in cursor:
            yield dict(zip(self.EXPORTED, row, strict=True))
