"""Model fingerprints: what exactly was tested, as hashes of config, tokenizer and weight files.

Hashing a 16 GB checkpoint takes a while, so file hashes are cached by (path, size, mtime).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from auditor.core.resources import default_cache_dir

CONFIG_FILES = ("config.json", "generation_config.json")
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "tokenizer.model",
                   "special_tokens_map.json", "chat_template.jinja", "vocab.json", "merges.txt")
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf")


def _cache_file() -> Path:
    return default_cache_dir() / "file-hashes.json"


def file_sha256(path: Path, cache: dict[str, str] | None = None) -> str:
    stat = path.stat()
    cache_key = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    if cache is not None and cache_key in cache:
        return str(cache[cache_key])
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    value = digest.hexdigest()
    if cache is not None:
        cache[cache_key] = value
    return value


def cached_sha256s(paths: list[Path]) -> dict[str, str]:
    """sha256 of each file (by name), reusing hashes of files unchanged since last time."""
    cache_path = _cache_file()
    try:
        cache: dict[str, str] = json.loads(cache_path.read_text())
    except (OSError, ValueError):
        cache = {}
    sums = {path.name: file_sha256(path, cache) for path in paths}
    try:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        cache_path.write_text(json.dumps(cache))
    except OSError:
        pass  # the cache only saves time
    return sums


@dataclass(frozen=True)
class FolderHashes:
    files: dict[str, str]  # file name → sha256
    sha256: str  # of all of them together


def folder_fingerprint(folder: Path) -> FolderHashes:
    """Hashes of the files that decide a model's behaviour, plus one combined hash."""
    files = cached_sha256s([
        path for path in sorted(folder.iterdir()) if path.is_file() and (
            path.name in CONFIG_FILES or path.name in TOKENIZER_FILES
            or path.suffix in WEIGHT_SUFFIXES)])
    combined = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()
    return FolderHashes(files, combined)
