"""A run's files: their names, writing one whole or not at all, and reading them back as
typed records (`read_results` → `Results`, `read_outcomes` → `Outcome`s). Every reader of a
run folder (report, compare, verify, rejudge) reads through here.
"""

from __future__ import annotations

import errno
import hashlib
import io
import json
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import BinaryIO, TypeVar

from pydantic import ValidationError

from auditor.core.errors import AuditorError, OutputError
from auditor.core.outcome import BenignOutcome, Outcome, Row
from auditor.outputs.records import Results

RESULTS = "results.json"
OUTCOMES = "outcomes.jsonl"
GENERATIONS = "generations.jsonl"
OVER_REFUSAL = "over_refusal.jsonl"
JUNIT = "junit.xml"
HTML = "report.html"
PDF = "report.pdf"


def atomic_write(path: Path, text: str | bytes | Iterable[str]) -> None:
    """Write `text` (or its pieces, streamed; or bytes) so the file is whole or absent, never
    half."""
    temp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        if isinstance(text, bytes):
            with os.fdopen(handle, "wb") as binary:
                binary.write(text)
        else:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                if isinstance(text, str):
                    out.write(text)
                else:
                    out.writelines(text)
        os.chmod(temp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
        os.replace(temp, path)
    except OSError as exc:  # disk full, read-only folder: a clear error, the old file intact
        raise OutputError.writing(path, exc) from None
    finally:
        if temp is not None and os.path.exists(temp):
            os.unlink(temp)


def open_run_file(path: Path) -> BinaryIO:
    """Open one file of a run folder for reading, as a regular file and nothing else. A run
    writes no links, pipes or devices, and a folder handed over may hold them: a link to
    /dev/zero reads forever, a FIFO blocks forever, a link outward reads someone else's
    file. Such a path is a clear error (FileNotFoundError passes through for the caller)."""
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    try:
        handle = os.open(path, flags)
    except FileNotFoundError:
        raise
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise AuditorError(f"{path} is a link; a run's files are never links, so this "
                               "folder was altered", hint="verify the run from the folder "
                               "`auditor check` wrote, with its files in place") from None
        raise AuditorError(f"cannot read {path}: {exc.strerror}") from None
    try:
        if not stat.S_ISREG(os.fstat(handle).st_mode):
            raise AuditorError(f"{path} is not a regular file (a pipe, device or folder); a "
                               "run's files are plain files, so this folder was altered",
                               hint="verify the run from the folder `auditor check` wrote")
        os.set_blocking(handle, True)
        return os.fdopen(handle, "rb")
    except BaseException:
        os.close(handle)
        raise


def read_run_bytes(path: Path, limit: int) -> bytes:
    """A run file's bytes, at most `limit` of them: a larger file is not what it claims to be
    (and reading it whole would take the memory it claims)."""
    with open_run_file(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise AuditorError(f"{path} is larger than any {path.name} can be ({limit:,} bytes at "
                           "most): it is damaged or not one", hint=DAMAGED_HINT)
    return data


def sha256_of_run_file(path: Path) -> str:
    """The sha256 of a run file, read as `open_run_file` allows."""
    digest = hashlib.sha256()
    with open_run_file(path) as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# An outcome line holds a prompt and an answer (at most 16 MiB, max_answer_bytes' ceiling).
MAX_LINE_CHARS = 40 * 1024 * 1024
DAMAGED_HINT = ("rerun `auditor check` with the same policy and --out: every output is "
                "rewritten from the run's store, with no model call")


def jsonl_rows(path: Path) -> Iterator[tuple[int, Row]]:
    """(line number, JSON object) of a run's JSONL output, streamed. A missing file or a
    damaged line is a clear error naming the file and line, never a traceback."""
    try:
        handle = io.TextIOWrapper(open_run_file(path), encoding="utf-8")
    except FileNotFoundError:
        raise AuditorError(f"{path} is missing", hint=DAMAGED_HINT) from None
    with handle:
        try:
            for number, line in enumerate(iter(lambda: handle.readline(MAX_LINE_CHARS + 1), ""),
                                          start=1):
                if len(line) > MAX_LINE_CHARS:
                    raise AuditorError(f"{path}:{number}: damaged line, longer than any "
                                       "outcome record", hint=DAMAGED_HINT)
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except ValueError as exc:
                    raise AuditorError(f"{path}:{number}: damaged line, not valid JSON "
                                       f"({type(exc).__name__})", hint=DAMAGED_HINT) from None
                if not isinstance(row, dict) or not isinstance(row.get("status"), str):
                    raise AuditorError(f"{path}:{number}: damaged line, not an outcome record",
                                       hint=DAMAGED_HINT)
                yield number, row
        except UnicodeDecodeError:
            raise AuditorError(f"{path}: damaged, not UTF-8 text", hint=DAMAGED_HINT) from None


def iter_outcomes(out_dir: Path) -> Iterator[Outcome]:
    """The run's outcomes, streamed; a row that is not an outcome is a clear error."""
    path = out_dir / OUTCOMES
    for number, row in jsonl_rows(path):
        yield _parsed(path, number, row, Outcome.from_row)


def read_outcomes(out_dir: Path) -> list[Outcome]:
    return list(iter_outcomes(out_dir))


def read_benign_outcomes(out_dir: Path) -> list[BenignOutcome]:
    """The run's answers to benign prompts (empty when it measured no over-refusal)."""
    path = out_dir / OVER_REFUSAL
    if not path.exists():
        return []
    return [_parsed(path, number, row, BenignOutcome.from_row)
            for number, row in jsonl_rows(path)]


RowT = TypeVar("RowT")


def _parsed(path: Path, number: int, row: Row, parse: Callable[[Row], RowT]) -> RowT:
    try:
        return parse(row)
    except (KeyError, TypeError, ValueError) as exc:
        raise AuditorError(f"{path}:{number}: damaged line, not an outcome record "
                           f"({type(exc).__name__}: {exc})", hint=DAMAGED_HINT) from None


# results.json holds counts and short texts; far past this it is not one (and reading it whole
# would take the memory it claims).
MAX_RESULTS_BYTES = 64 * 1024 * 1024


def read_results(out_dir: Path) -> Results:
    """A run's results.json, validated; a clear error if it is missing, damaged or not one."""
    path = out_dir / RESULTS
    try:
        raw = read_run_bytes(path, MAX_RESULTS_BYTES)
        results = Results.model_validate(json.loads(raw.decode("utf-8")))
    except FileNotFoundError:
        raise AuditorError(f"{path} not found",
                           hint="pass the --out folder of a finished `auditor check`") from None
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                             for e in exc.errors()[:5])
        raise AuditorError(f"{path} is not a results.json of this version ({problems})",
                           hint="re-run `auditor check`, or use the auditor version that "
                                "wrote it") from None
    except ValueError as exc:
        raise AuditorError(f"{path} is not valid JSON: {exc}") from None
    except OSError as exc:  # a loop of links, a folder where the file should be, no permission
        raise AuditorError(f"cannot read {path}: {exc.strerror or type(exc).__name__}",
                           hint="pass the --out folder of a finished `auditor check`") from None
    return results
