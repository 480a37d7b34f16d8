from __future__ import annotations

import json

import jsonschema
import yaml

from auditor.config.schema import committed_schema_text, schema_text
from tests.conftest import SAMPLES


def test_committed_schema_matches_model() -> None:
    assert committed_schema_text() == schema_text(), (
        "auditor/config/policy.schema.json is stale: run `make schema` and commit it")


def test_schema_validates_sample_and_rejects_typo() -> None:
    schema = json.loads(committed_schema_text())
    data = yaml.safe_load((SAMPLES / "policy-bank.yaml").read_text())
    jsonschema.validate(data, schema)
    data["organisation"]["nmae"] = "typo"
    validator = jsonschema.Draft202012Validator(schema)
    assert any("nmae" in e.message for e in validator.iter_errors(data))


def test_committed_comparison_schema_matches_the_comparison_model() -> None:
    from auditor.outputs.compare import SCHEMA_PATH, schema_text

    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), \
        "comparison.json's model changed: run `make schema` and commit " \
        "auditor/outputs/comparison.schema.json"


def test_committed_results_schema_matches_the_results_model() -> None:
    from auditor.outputs.records import SCHEMA_PATH, schema_text

    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), \
        "results.json's model changed: run `make schema` and commit auditor/outputs/results.schema.json"


def test_golden_results_parse_as_the_typed_record() -> None:
    import json

    from auditor.outputs.records import SCHEMA_VERSION, Results
    from tests.conftest import ROOT

    data = json.loads((ROOT / "tests" / "golden" / "results.json").read_text())
    results = Results.model_validate(data)
    assert results.schema_version == SCHEMA_VERSION
    for policy in results.policies:  # the verdict rests on the corrected interval here
        assert policy.decided_on == "judge-corrected" and policy.deciding == policy.corrected
