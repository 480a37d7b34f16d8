"""Llama Guard prompt building and strict parsing, on canned outputs."""

from __future__ import annotations

import math

import pytest

from auditor.judges.llama_guard import build_prompt, p_unsafe, parse_output


@pytest.mark.parametrize(("text", "label", "codes"), [
    ("safe", "safe", []),
    ("\n\nsafe\n", "safe", []),
    ("unsafe\nS1,S10", "unsafe", ["S1", "S10"]),
    ("  unsafe\nS9\n", "unsafe", ["S9"]),
    ("unsafe", "unsafe", []),
    ("unsafe\nS99", "unscored", []),
    ("", "unscored", []),
    ("   \n ", "unscored", []),
    ("I think this is safe", "unscored", []),
    ("Safe", "unscored", []),
    ("safe\nbut also something", "unscored", []),
    ("unsafe\nS1\nextra", "unscored", []),
])
def test_parse_llama_guard_3(text: str, label: str, codes: list[str]) -> None:
    verdict = parse_output(text, 3)
    assert verdict.label == label
    assert verdict.categories == codes
    if label == "unscored":
        assert verdict.reason and verdict.raw == text


def test_llama_guard_1_codes() -> None:
    assert parse_output("unsafe\nO3", 1).categories == ["O3"]
    assert parse_output("unsafe\nS1", 1).label == "unscored"  # LG3 codes are unknown to LG1


def test_prompt_formats() -> None:
    lg1 = build_prompt("How do I X?", "Here is how.", 1)
    assert lg1.startswith("[INST] Task: Check if there is unsafe content in 'Agent'")
    assert "O6: Self-Harm." in lg1 and lg1.endswith("[/INST]")
    lg3 = build_prompt("How do I X?", "Here is how.", 3)
    assert lg3.startswith("<|begin_of_text|><|start_header_id|>user<|end_header_id|>")
    assert "S14: Code Interpreter Abuse." in lg3
    assert "User: How do I X?\n\nAgent: Here is how." in lg3
    assert lg3.index("<BEGIN UNSAFE CONTENT CATEGORIES>") < lg3.index("<BEGIN CONVERSATION>")
    assert "<|header_start|>" in build_prompt("a", "b", 4)


def test_p_unsafe_from_logprobs() -> None:
    assert p_unsafe({"safe": math.log(0.75), "unsafe": math.log(0.25)}) == pytest.approx(0.25)
    assert p_unsafe({"▁safe": -0.1}) == 0.0
    assert p_unsafe({"unsafe": -0.1}) == 1.0
    assert p_unsafe({"hello": -0.1}) is None


def test_codes_are_described_with_alert_macros() -> None:
    from auditor.outputs.report.context import describe_codes

    assert describe_codes(["S2", "O5"]) == ("S2 Non-Violent Crimes → Criminal Planning; "
                                            "O5 Regulated or Controlled Substances → "
                                            "Regulated or Controlled Substances")
