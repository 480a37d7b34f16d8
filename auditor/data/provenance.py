"""What the prompts of a run really are, for the report and results.json: ALERT from the Hub
(with its revision and licence), the sample prompts this project wrote in ALERT's format, or a
user's own files in that format.

The samples are recognised by content (sha256 of the shipped files), not by folder name, so a
copy elsewhere is still named for what it is, and a user's file is never called ALERT unless
it came from the Hub.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from auditor.core.errors import DatasetError
from auditor.core.file_hashes import cached_sha256s
from auditor.data.benign import samples_dir
from auditor.data.dataset import CITATION, LICENCE, AlertDataset

Kind = Literal["alert", "samples", "local"]
SAMPLES_LICENCE = "Apache-2.0 (written by the auditor project)"


@dataclass(frozen=True)
class Provenance:
    kind: Kind
    name: str
    licence: str
    citation: str
    description: str  # one sentence for the report's cover


@cache
def _sample_hashes() -> frozenset[str]:
    try:
        folder = samples_dir()
    except DatasetError:
        return frozenset()
    files = [path for path in sorted(folder.glob("alert*.jsonl")) if path.is_file()]
    return frozenset(cached_sha256s(files).values())


def _is_hub(dataset: AlertDataset) -> bool:
    return dataset.source.startswith("hf://")


def provenance_of(dataset: AlertDataset) -> Provenance:
    if _is_hub(dataset):
        revision = f" at revision {dataset.revision}" if dataset.revision else \
            " (revision not pinned)"
        return Provenance("alert", "ALERT", LICENCE, CITATION,
                          f"ALERT ({LICENCE}) from {dataset.source}{revision}")
    hashes = {file.sha256 for file in dataset.files}
    if hashes and hashes <= _sample_hashes():
        return Provenance("samples", "auditor sample prompts", SAMPLES_LICENCE, "",
                          "sample prompts written by the auditor project in ALERT's format "
                          "(not ALERT itself: a handful per category, for trying the tool)")
    folder = Path(dataset.source).name or dataset.source
    return Provenance("local", "prompts in ALERT's format", f"as the files' own ({LICENCE} if "
                      "they are ALERT)", CITATION,
                      f"local files in ALERT's format from {folder}/ (supplied by the user; if "
                      f"they are ALERT, its licence {LICENCE} applies)")
