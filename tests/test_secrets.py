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


def test_every_form_of_a_key_is_taken_out() -> None:
    import base64
    import json
    from urllib.parse import quote

    key = ' sk-"forms"\\test-KEY-31415 '
    remember(key)
    core = key.strip()
    for echoed in (core, json.dumps(core), quote(core, safe=""), core[:9], core[-9:]):
        cleaned = redact(f"body: {echoed} end")  # whole, escaped, or a piece at a cut
        assert REDACTED in cleaned and cleaned.startswith("body:") and \
            cleaned.endswith("end"), echoed
        assert not any(core[i:i + 8] in cleaned for i in range(len(core) - 7)), cleaned
    for prefix in ("", "u", "us", "user:"):  # every alignment inside a longer base64 text
        encoded = base64.b64encode(f"{prefix}{core}".encode()).decode()
        cleaned = redact(f"Basic {encoded}", shapes=False)
        assert REDACTED in cleaned and encoded[8:20] not in cleaned, prefix
    assert redact("an ordinary sentence, nothing secret", shapes=False) == \
        "an ordinary sentence, nothing secret"


def test_control_characters_are_named() -> None:
    from auditor.core.secrets import control_characters

    assert control_characters("sk-abc\n") == ["\\n"]
    assert control_characters("sk-a\tb") == ["\\t"]
    assert control_characters("sk-plain") == []
