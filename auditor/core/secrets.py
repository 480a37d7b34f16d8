"""Secrets never reach an output, a log or the terminal.

A server may repeat what it was sent: an error body that echoes the request's headers, a proxy
page that prints the URL with its credentials, a model that repeats its system prompt. So every
text that came from a server is redacted before it is stored, written or printed, at the few
places all such text passes through (the run store's writes, the error printer).

Two kinds of redaction:
- the values this process knows are secret: each API key as it is read from its environment
  variable (`remember`), whatever text it appears in;
- the shapes of a credential, known or not: an `Authorization` header's value, an `api-key` /
  `x-api-key` field in a header or a JSON body, and the `user:password@` part of a URL.
"""

from __future__ import annotations

import re
import threading

REDACTED = "[REDACTED]"
# A value shorter than this is not treated as a secret: redacting "a" or "12" everywhere would
# ruin the text and protect nothing (no real key is that short).
MIN_SECRET_LENGTH = 6

_known: set[str] = set()
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


def remember(secret: str | None) -> None:
    """Mark `secret` (an API key just read) to be redacted from every text from now on."""
    if secret and len(secret) >= MIN_SECRET_LENGTH:
        with _lock:
            _known.add(secret)


def redact(text: str, shapes: bool = True) -> str:
    """`text` with every known secret replaced, and with `shapes` every credential-shaped
    value too (for what a server says about a request; a model's answer keeps its
    `api_key = ...` code, as only known secrets are taken out of it)."""
    with _lock:
        known = sorted(_known, key=len, reverse=True)  # a key that contains another goes first
    for secret in known:
        if secret in text:
            text = text.replace(secret, REDACTED)
    for shape in _SHAPES if shapes else ():
        text = shape.sub(lambda m: m.group(1) + REDACTED + ("@" if m.group(0).endswith("@")
                                                           else ""), text)
    return text


def redact_optional(text: str | None, shapes: bool = True) -> str | None:
    return None if text is None else redact(text, shapes)
