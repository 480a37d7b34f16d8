"""The project runs with nothing beside its checkout: no file may read from a sibling `shared/`."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import ROOT

# Built from parts so this file does not match itself.
SIBLING = re.compile("|".join([r"\.\./" + "shared", r"parent\s*/\s*['\"]" + "shared['\"]"]))


def tracked_text_files() -> list[str]:
    """The files git tracks; outside a git checkout, every file but the venv and caches."""
    listing = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True)
    if listing.returncode == 0:
        return [name for name in listing.stdout.decode().split("\0") if name]
    skip = {".venv", ".git", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", "out"}
    return [str(p.relative_to(ROOT)) for p in ROOT.rglob("*")
            if p.is_file() and not skip & set(p.relative_to(ROOT).parts)]


def test_no_file_reads_from_a_sibling_shared_folder() -> None:
    offenders = []
    for name in tracked_text_files():
        try:
            text = (ROOT / name).read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if SIBLING.search(line):
                offenders.append(f"{name}:{number}: {line.strip()}")
    assert not offenders, "files that read a sibling folder of the checkout:\n" + "\n".join(offenders)


def test_the_pattern_catches_a_sibling_reference() -> None:
    assert SIBLING.search('open("../' + 'shared/data/x.csv")')
    assert SIBLING.search('ROOT.parent / "' + 'shared" / "data"')
    assert not SIBLING.search("ROOT / 'data' / 'xstest'")
