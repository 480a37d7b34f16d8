"""Redaction of secrets from whatever a server sends back (auditor.core.secrets)."""

from __future__ import annotations

from auditor.core.secrets import REDACTED, redact, remember


def test_a_remembered_key_is_taken_out_of_any_text() -> None:
    remember("sk-unit-test-secret-42")
    assert redact("you sent sk-unit-test-secret-42!") == f"you sent {REDACTED}!"
    assert redact("sk-unit-test-secret-42", shapes=False) == REDACTED


def test_credential_shapes_are_redacted_even_when_unknown() -> None:
    text = ('Authorization: Bearer abc.def-123\n{"authorization": "Basic dXNlcjpwdw=="} '
            '"x-api-key": "k-999" api_key=zzz111 url http://ann:pw@example.org/v1')
    cleaned = redact(text)
    for value in ("abc.def-123", "dXNlcjpwdw==", "k-999", "zzz111", "ann:pw"):
        assert value not in cleaned
    assert cleaned.count(REDACTED) == 5 and "example.org/v1" in cleaned


def test_an_answer_keeps_its_code_but_not_a_known_key() -> None:
    remember("sk-known-in-an-answer")
    answer = 'client = Client(api_key="YOUR_KEY")  # not sk-known-in-an-answer'
    kept = redact(answer, shapes=False)
    assert 'api_key="YOUR_KEY"' in kept and "sk-known-in-an-answer" not in kept


def test_short_values_are_not_secrets() -> None:
    remember("abc")
    assert redact("abc abc", shapes=False) == "abc abc"
