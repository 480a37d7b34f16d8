"""Where the files auditor ships with are: in a source checkout, beside the package; in a
wheel, inside it (pyproject's force-include puts templates/, samples/ and data/ there)."""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent


def shipped_dirs(name: str) -> tuple[Path, Path]:
    """The two places a shipped folder can be: the checkout's NAME/, then the wheel's _NAME/."""
    return PACKAGE_DIR.parent / name, PACKAGE_DIR / f"_{name}"


def default_cache_dir() -> Path:
    """Where downloads, built models and file hashes are cached: $AUDITOR_CACHE, else the XDG
    cache folder."""
    base = os.environ.get("AUDITOR_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME", os.path.expanduser("~/.cache")), "auditor")
    return Path(base)
