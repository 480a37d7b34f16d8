"""Keeps other libraries' output (vLLM's engine logs, model-conversion progress bars, Triton
and shared-memory warnings) out of the terminal during a run, in a log file in the run folder.

Those libraries write straight to file descriptors 1 and 2, and vLLM's engine runs in a child
process that inherits them, so redirecting Python's `sys.stderr` is not enough: the
descriptors themselves point at the log for the run, while auditor's own progress bars keep a
private copy of the terminal. `--verbose` leaves everything on the terminal.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from auditor.cli.output import err_console

LOG_NAME = "third-party.log"


def _is_terminal_stream(stream: IO[str], fd: int) -> bool:
    try:
        return stream.fileno() == fd
    except (AttributeError, OSError, ValueError):
        return False  # a test runner's buffer: nothing below it to redirect for us


@contextmanager
def third_party_output_to(log_path: Path, verbose: bool) -> Iterator[Path | None]:
    """Within the block, fds 1 and 2 write to `log_path`; yields the path (None if verbose)."""
    if verbose:
        yield None
        return
    created = _first_missing(log_path.parent)
    try:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.touch()
    except OSError:  # the run itself names the problem with --out
        yield None
        return
    sys.stdout.flush()
    sys.stderr.flush()
    saved = {fd: os.dup(fd) for fd in (1, 2)}
    ours_on_fd2 = _is_terminal_stream(sys.stderr, 2)
    # auditor's own progress and messages keep writing to the terminal
    terminal = os.fdopen(os.dup(saved[2]), "w", buffering=1, encoding="utf-8",
                         errors="replace") if ours_on_fd2 else None
    previous = err_console.file
    with open(log_path, "ab") as log:
        for fd in (1, 2):
            os.dup2(log.fileno(), fd)
    if terminal is not None:
        err_console.file = terminal
    try:
        yield log_path
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        if terminal is not None:
            err_console.file = previous
            terminal.close()
        _tidy(log_path, created)


def _first_missing(folder: Path) -> Path | None:
    """The outermost folder of `folder`'s path that does not exist yet (None: it exists)."""
    missing = None
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            break
        missing = candidate
    return missing


def _tidy(log_path: Path, created: Path | None) -> None:
    """An empty log is removed, and so are the folders made for it if nothing else went
    there (a policy file with a typo leaves no empty run folder, nor its parents, behind)."""
    with contextlib.suppress(OSError):
        if log_path.stat().st_size == 0:
            log_path.unlink()
            if created is None:
                return
            folder = log_path.parent
            while True:
                folder.rmdir()  # only if empty
                if folder == created:
                    break
                folder = folder.parent


def log_note(log_path: Path | None) -> str | None:
    """A line pointing at the log, when it holds anything."""
    if log_path is None or not log_path.exists() or log_path.stat().st_size == 0:
        return None
    return f"Messages from vLLM and other libraries: {log_path} (--verbose shows them)"
