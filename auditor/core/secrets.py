"""Secrets never reach an output, a log or the terminal.

A server may repeat what it was sent: an error body that echoes the request's headers, a proxy
page that prints the URL with its credentials, a model that repeats its system prompt. So every
text that came from a server is redacted before it is stored, written or printed, at the few
places all such text passes through (the run store's writes, the error printer).

Two kinds of redaction:
- the values this process knows are secret: each API key as it is read from its environment
  variable (`remember`), whatever text it appears in and in every form a server may send it
  back in: trimmed, JSON- or URL-escaped, base64-encoded (at any alignment inside a longer
  encoded text), and any piece of 8 or more characters of any of these (a body cut short,
  a key spread over two answers);
- the shapes of a credential, known or not: an `Authorization` header's value, an `api-key` /
  `x-api-key` field in a header or a JSON body, and the `user:password@` part of a URL.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from urllib.parse import quote, quote_plus

REDACTED = "[REDACTED]"
# A value shorter than this is not treated as a secret: redacting "a" or "12" everywhere would
# ruin the text and protect nothing (no real key is that short).
MIN_SECRET_LENGTH = 6
# The shortest piece of a known secret taken out on its own: where a text was cut, or a key
# was spread over two texts. Shorter pieces of a random key are as likely in any text.
MIN_PIECE = 8

_known: set[str] = set()  # every form of every remembered secret
_pieces: set[str] = set()  # every MIN_PIECE-long piece of those forms
_lock = threading.Lock()

_SHAPES = (
    # Authorization: Bearer sk-…, "authorization": "Basic …" (header dumps, JSON echoes)
    re.compile(r"(?i)(\bauthorization[\"']?\s*[:=]\s*[\"']?\s*)(?:(?:bearer|basic|token)\s+)?"
               r"[^\s\"',;}]+"),
    # api-key: …, "x-api-key": "…", api_key=…
    re.compile(r"(?i)(\b(?:x-)?api[-_]?key[\"']?\s*[:=]\s*[\"']?)[^\s\"',;}&]+"),
    # scheme://user:password@host
    re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://)[^\s/@:\"']+:[^\s/@\"']*@"),
)


def control_characters(value: str) -> list[str]:
    """The control characters in `value` (a key with a newline or a tab in it is a pasting
    mistake, and no HTTP header may carry one), named as escapes."""
    return sorted({repr(c)[1:-1] for c in value if ord(c) < 32 or ord(c) == 127})


def _base64_cores(secret: bytes) -> set[str]:
    """The base64 text that encodes `secret` wherever it sits in a longer encoded text: for
    each of the three alignments, the characters that depend on the secret's bytes alone."""
    cores = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + secret).decode("ascii")
            start = -(-offset * 4 // 3)  # characters touched by the padding bytes before
            end = (offset + len(secret)) // 3 * 4  # characters of whole groups only
            core = encoded[start:end]
            if len(core) >= MIN_PIECE:
                cores.add(core)
    return cores


def _forms(secret: str) -> set[str]:
    """Every form `secret` may come back in."""
    plain = {secret, secret.strip()}
    forms = set(plain)
    for value in plain:
        forms.add(json.dumps(value)[1:-1])
        forms.add(json.dumps(value, ensure_ascii=False)[1:-1])
        forms.add(quote(value, safe=""))
        forms.add(quote_plus(value, safe=""))
        forms |= _base64_cores(value.encode("utf-8"))
    return {f for f in forms if len(f) >= MIN_SECRET_LENGTH}


def remember(secret: str | None) -> None:
    """Mark `secret` (an API key just read) to be redacted, in every form, from every text
    from now on."""
    if not secret or len(secret.strip()) < MIN_SECRET_LENGTH:
        return
    forms = _forms(secret)
    with _lock:
        _known.update(forms)
        for form in forms:
            _pieces.update(form[i:i + MIN_PIECE] for i in range(len(form) - MIN_PIECE + 1))


def forget_all() -> None:
    """Stop redacting the secrets remembered so far: for a process that runs one audit after
    another with different keys (the test suite), so that one audit's key does not blank out
    another's text."""
    with _lock:
        _known.clear()
        _pieces.clear()


def _without_pieces(text: str, pieces: set[str]) -> str:
    """`text` with every run of characters covered by a known piece replaced."""
    covered = [False] * len(text)
    found = False
    for i in range(len(text) - MIN_PIECE + 1):
        if text[i:i + MIN_PIECE] in pieces:
            covered[i:i + MIN_PIECE] = [True] * MIN_PIECE
            found = True
    if not found:
        return text
    out, i = [], 0
    while i < len(text):
        if covered[i]:
            while i < len(text) and covered[i]:
                i += 1
            out.append(REDACTED)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


def redact(text: str, shapes: bool = True) -> str:
    """`text` with every known secret replaced (whole, in any of its forms, or any piece of
    8 or more characters of them), and with `shapes` every credential-shaped value too (for
    what a server says about a request; a model's answer keeps its `api_key = ...` code, as
    only known secrets are taken out of it). Cut a text only after redacting it."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)  # a key that contains another goes first
        pieces = set(_pieces)
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    if pieces:
        text = _without_pieces(text, pieces)
    for shape in _SHAPES if shapes else ():
        text = shape.sub(lambda m: m.group(1) + REDACTED + ("@" if m.group(0).endswith("@")
                                                           else ""), text)
    return text


def redact_optional(text: str | None, shapes: bool = True) -> str | None:
    return None if text is None else redact(text, shapes)
