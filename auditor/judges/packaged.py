"""What the offline judges share: a whole model in one JSON file, the packaged one by default.

The file's sha256 is the judge's identity, so a card or a cached verdict is only ever reused
with the exact model that made it.
"""

from __future__ import annotations

import abc
import hashlib
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from auditor.config.policy import JudgeConfig
from auditor.core.errors import JudgeError
from auditor.core.identity import JudgeCard, JudgeFingerprint
from auditor.judges.interface import Judge


class HasMetadata(Protocol):
    # The model file's metadata: JSON as the training script wrote it (a real boundary).
    metadata: dict[str, Any]


ModelT = TypeVar("ModelT", bound=HasMetadata)


class PackagedModelJudge(Judge, Generic[ModelT]):
    packaged: Path  # the model file shipped with auditor
    packaged_trained_on: frozenset[str] = frozenset()  # builtin sets that file was trained on
    load_hint: str  # what to do when a model file will not load

    def __init__(self, model_file: Path | None = None) -> None:
        self.model_file = model_file or self.packaged
        if self.model_file == self.packaged:
            self.trained_on = self.packaged_trained_on
        try:
            raw = self.model_file.read_bytes()
            self.model = self.parse(raw.decode("utf-8"))
        except (OSError, ValueError, KeyError, UnicodeDecodeError) as exc:
            raise JudgeError(f"cannot load {self.name} judge model {self.model_file}: {exc}",
                             hint=self.load_hint) from exc
        self.sha256 = hashlib.sha256(raw).hexdigest()

    @classmethod
    def from_config(cls, config: JudgeConfig, base_dir: Path | None = None) -> Judge:
        """The judge with the policy's `model_file` (relative to the policy file's folder),
        else with the packaged model."""
        model_file = None
        if config.model_file:
            model_file = Path(config.model_file).expanduser()
            if not model_file.is_absolute() and base_dir is not None:
                model_file = base_dir / model_file
        return cls(model_file)

    @abc.abstractmethod
    def parse(self, text: str) -> ModelT:
        """The model from its file's text; ValueError or KeyError if it is not one."""

    def fingerprint(self) -> JudgeFingerprint:
        return JudgeFingerprint(kind=self.name, id=f"{self.name}:{self.sha256[:16]}",
                                model_file=str(self.model_file), sha256=self.sha256)

    def _shipped_card(self, key: str, **provenance: object) -> JudgeCard | None:
        """A card from the figures in the model file's metadata (`key`), if it has them."""
        figures = self.model.metadata.get(key)
        if not figures:
            return None
        return JudgeCard.model_validate({**figures, "construct": self.construct, **provenance})
