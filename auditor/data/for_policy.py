"""Resolves a policy file's `dataset:` block to loaded ALERT prompts (local folder or Hub cache)."""

from __future__ import annotations

import contextlib
from pathlib import Path

from auditor.config.policy import PolicyFile
from auditor.core.errors import FetchError
from auditor.data.dataset import ADVERSARIAL_FILE, PLAIN_ATTACK, PLAIN_FILE, AlertDataset, load_folder
from auditor.data.hub import fetch_alert


def needed_attack_types(policy_file: PolicyFile) -> list[str]:
    return sorted({a for p in policy_file.policies for a in policy_file.attack_types_of(p)})


def load_for_policy(policy_file: PolicyFile, base_dir: Path) -> AlertDataset:
    source = policy_file.dataset
    attacks = needed_attack_types(policy_file)
    if source.path is not None:
        folder = Path(source.path).expanduser()
        if not folder.is_absolute():
            folder = base_dir / folder
        return load_folder(folder, attacks, lenient=source.lenient, revision=source.revision)
    assert source.hub is not None
    files = tuple(name for name, wanted in (
        (PLAIN_FILE, PLAIN_ATTACK in attacks),
        (ADVERSARIAL_FILE, any(a != PLAIN_ATTACK for a in attacks))) if wanted)
    folder, revision = fetch_alert(source.hub, source.revision, files=files)
    if PLAIN_FILE not in files:
        # The plain file holds the requests behind the adversarial rows; without it (offline,
        # not cached) the judge sees the wrapped prompts, and `plan` says so.
        with contextlib.suppress(FetchError):
            fetch_alert(source.hub, revision, files=(PLAIN_FILE,))
    dataset = load_folder(folder, attacks, lenient=source.lenient, revision=revision)
    dataset.source = f"hf://datasets/{source.hub}"
    return dataset
