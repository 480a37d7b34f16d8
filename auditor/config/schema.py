"""The policy file's JSON Schema: generated from the pydantic model and committed beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from auditor.config.policy import PolicyFile

SCHEMA_PATH = Path(__file__).parent / "policy.schema.json"


def generate_schema() -> dict[str, Any]:  # a JSON Schema document
    schema = PolicyFile.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "auditor policy file"
    return schema


def schema_text() -> str:
    return json.dumps(generate_schema(), indent=2, sort_keys=True) + "\n"


def committed_schema_text() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


def allowed_fields_at(loc: tuple[str | int, ...]) -> list[str]:
    """The field names allowed at a location in the policy file, for did-you-mean hints."""
    model: type[BaseModel] | None = PolicyFile
    for part in loc:
        if model is None:
            return []
        if isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:
            return []
        model = _model_in(field.annotation)
    return sorted(model.model_fields) if model else []


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None

