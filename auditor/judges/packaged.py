"""What the offline judges share: a whole model in one JSON file, the packaged one by default.

The file's sha256 is the judge's identity, so a card or a cached verdict is only ever reused
with the exact model that made it.
"""

from __future__ import annotations

import abc
import hashlib
from pathlib import Path
from typing import Any, Generic, TypeVar

from auditor.errors import JudgeError
from auditor.judges.interface import Judge

ModelT = TypeVar("ModelT")


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

    @abc.abstractmethod
    def parse(self, text: str) -> ModelT:
        """The model from its file's text; ValueError or KeyError if it is not one."""

    def fingerprint(self) -> dict[str, Any]:
        return {"kind": self.name, "model_file": str(self.model_file), "sha256": self.sha256,
                "id": f"{self.name}:{self.sha256[:16]}"}
