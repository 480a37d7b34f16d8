"""Downloading ALERT from the Hugging Face Hub into a local cache, and finding it there again."""

from __future__ import annotations

from pathlib import Path

from auditor.config.policy import HUB_DATASET
from auditor.core.errors import FetchError
from auditor.core.resources import default_cache_dir
from auditor.data.dataset import ADVERSARIAL_FILE, PLAIN_FILE


def fetch_alert(repo_id: str = HUB_DATASET, revision: str | None = None,
                cache_dir: Path | None = None, files: tuple[str, ...] = (PLAIN_FILE,
                                                                         ADVERSARIAL_FILE),
                ) -> tuple[Path, str | None]:
    """Download (or find in the cache) the ALERT files. Returns (folder, resolved revision).

    With HF_HUB_OFFLINE=1 this only reads the cache, so audits can run fully offline.
    """
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import (
            EntryNotFoundError,
            LocalEntryNotFoundError,
            RepositoryNotFoundError,
            RevisionNotFoundError,
        )
    except ImportError as exc:  # pragma: no cover - a core dependency
        raise FetchError("huggingface_hub is not installed") from exc
    hub_cache = (cache_dir or default_cache_dir()) / "hub"
    folder: Path | None = None
    for name in files:
        try:
            local = Path(hf_hub_download(repo_id, name, repo_type="dataset", revision=revision,
                                         cache_dir=str(hub_cache)))
        except LocalEntryNotFoundError as exc:
            raise FetchError(
                f"{repo_id}/{name} is not in the cache at {hub_cache} and the Hub cannot be "
                "reached", hint="run `auditor dataset fetch` on a machine with network access, "
                "or use dataset.path with local files") from exc
        except (RepositoryNotFoundError, RevisionNotFoundError, EntryNotFoundError) as exc:
            raise FetchError(f"{repo_id}/{name} at revision {revision or 'main'}: "
                             f"{type(exc).__name__}",
                             hint="check the dataset id and revision") from exc
        except OSError as exc:
            raise FetchError(f"downloading {repo_id}/{name} failed: {exc}") from exc
        folder = local.parent
    assert folder is not None
    # The snapshot folder is named after the commit the revision resolved to.
    return folder, folder.name
