"""Replacing several files of a run folder together, so that a kill or a full disk at any
point leaves the run as it was or wholly replaced: how `auditor sign` rewrites results.json,
the report, the manifest and the signature.

Each new file is written whole beside the one it replaces, under a staged name. Then a small
journal naming them is written (atomically): that is the moment of decision. Then each
staged file is renamed over its old one, and the journal removed. Killed before the journal,
the old files are untouched and the staged ones are litter the next command removes; killed
after it, every new file is complete on disk and the next command that opens the run
(`finish_staged`) completes the renames. A full disk can only fail a write before the
journal, and renames need no space.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from pathlib import Path

from auditor.core.errors import AuditorError
from auditor.outputs.files import atomic_write, read_run_bytes

__all__ = ["JOURNAL", "STAGED", "StagedReplacement", "atomic_write", "finish_staged"]

JOURNAL = ".replacing.json"
STAGED = ".staged."
MAX_JOURNAL_BYTES = 64 * 1024


class StagedReplacement:
    """New versions of some of a folder's files, replaced together on `commit`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.token = secrets.token_hex(4)
        self.staged: dict[str, Path] = {}

    def path(self, name: str) -> Path:
        """Where the new `name` is to be written (for writers that take a path)."""
        staged = self.folder / f"{STAGED}{name}.{self.token}"
        self.staged[name] = staged
        return staged

    def write(self, name: str, data: str | bytes) -> Path:
        path = self.path(name)
        atomic_write(path, data)
        return path

    def discard(self) -> None:
        for path in self.staged.values():
            with contextlib.suppress(OSError):
                path.unlink()

    def commit(self) -> None:
        """Decide (the journal), then rename every staged file over its old one."""
        mapping = {name: path.name for name, path in self.staged.items()}
        try:
            atomic_write(self.folder / JOURNAL, json.dumps({"replace": mapping}))
        except BaseException:
            self.discard()
            raise
        _apply(self.folder, mapping)


def _apply(folder: Path, mapping: dict[str, str]) -> None:
    for name, staged in mapping.items():
        if (folder / staged).is_file():
            os.replace(folder / staged, folder / name)
    (folder / JOURNAL).unlink(missing_ok=True)


def finish_staged(folder: Path) -> None:
    """Complete a replacement a killed command decided on, and remove staged files it did
    not. Where the folder cannot be written (read-only media), it is left as it is."""
    try:
        if (folder / JOURNAL).is_file() and not (folder / JOURNAL).is_symlink():
            try:
                journal = json.loads(read_run_bytes(folder / JOURNAL, MAX_JOURNAL_BYTES))
                mapping = journal["replace"]
                valid = isinstance(mapping, dict) and all(
                    isinstance(n, str) and isinstance(s, str) and "/" not in n + s
                    and s.startswith(STAGED) for n, s in mapping.items())
            except (AuditorError, ValueError, KeyError, TypeError):
                valid = False
            if valid:
                _apply(folder, mapping)
            else:  # not one this tool wrote: leave the files, drop the journal
                (folder / JOURNAL).unlink(missing_ok=True)
        for leftover in folder.glob(f"{STAGED}*"):
            if leftover.is_file() or leftover.is_symlink():
                leftover.unlink(missing_ok=True)
    except OSError:
        pass
