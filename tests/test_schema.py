from __future__ import annotations

import json

import jsonschema
import yaml

from auditor.schema import committed_schema_text, schema_text
from tests.conftest import SAMPLES


def test_committed_schema_matches_model() -> None:
    assert committed_schema_text() == schema_text(), (
        "auditor/policy.schema.json is stale: run `make schema` and commit it")


def test_schema_validates_sample_and_rejects_typo() -> None:
    schema = json.loads(committed_schema_text())
    data = yaml.safe_load((SAMPLES / "policy-bank.yaml").read_text())
    jsonschema.validate(data, schema)
    data["organisation"]["nmae"] = "typo"
    validator = jsonschema.Draft202012Validator(schema)
    assert any("nmae" in e.message for e in validator.iter_errors(data))
