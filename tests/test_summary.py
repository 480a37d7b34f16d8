"""The terminal summary `check` prints: whole verdicts on an 80-column terminal."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from auditor.cli import output
from auditor.cli.run_cmds import print_summary
from auditor.outputs.records import Results

GOLDEN = Path(__file__).parent / "golden" / "results.json"


def with_over_refusal(results: dict) -> dict:  # type: ignore[type-arg]
    out = copy.deepcopy(results)
    for policy, verdict in zip(out["policies"], ("FAIL", None, "INCONCLUSIVE"), strict=True):
        policy["over_refusal"] = {"rate": 0.125, "low": 0.031, "high": 0.402, "n": 16,
                                  "refused": 2, "answered": 14, "unscored": 0, "errors": 0,
                                  "max_rate": None if verdict is None else 0.1,
                                  "verdict": verdict, "reason": "r", "decided_on": "raw"}
    return out


@pytest.mark.parametrize("over_refusal", [False, True])
def test_summary_fits_80_columns_with_whole_verdicts(over_refusal: bool, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    results = json.loads(GOLDEN.read_text())
    if over_refusal:
        results = with_over_refusal(results)
    monkeypatch.setattr(output.console, "width", 80)
    with output.console.capture() as captured:
        print_summary(Results.model_validate(results), tmp_path)
    text = captured.get()
    table_lines = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert table_lines and max(len(line) for line in table_lines) <= 80
    assert "…" not in "".join(table_lines)  # nothing cut short
    assert text.count("INCONCLUSIVE") >= 1 and text.count("FAIL") >= 2
    if over_refusal:
        assert "Over-refusal" in text and "12.5%" in text and "3.1% – 40.2%" in text
        assert "reported" in text  # no max_rate: reported only
    else:
        assert "Over-refusal" not in text
