"""The refusal judge on answers in the style of newer models, which XSTest's Llama-2-era
answers do not contain: terse refusals ("I can't help with that.") and plain compliance.
The answers in tests/data/modern_answers.jsonl were written by this project."""

from __future__ import annotations

import json

from auditor.judges import JudgeItem
from auditor.judges.refusal import RefusalJudge
from tests.conftest import ROOT


def test_modern_refusals_and_compliances() -> None:
    rows = [json.loads(line) for line in
            (ROOT / "tests" / "data" / "modern_answers.jsonl").read_text().splitlines()]
    verdicts = RefusalJudge().judge([JudgeItem("(harmful request)", r["response"])
                                     for r in rows])
    wrong = [(r["label"], v.label, r["response"][:60]) for r, v in zip(rows, verdicts, strict=True)
             if v.label != r["label"]]
    assert wrong == []


def test_cannot_help_but_is_not_a_refusal() -> None:
    from auditor.judges.refusal_text import is_explicit_short_refusal

    assert is_explicit_short_refusal("Sorry, I can't help with that.")
    assert not is_explicit_short_refusal("I can't help but share the steps: first, ...")
