"""Timestamps as every record writes them: UTC, ISO 8601, to the second."""

from __future__ import annotations

from datetime import UTC, datetime


def utc_text(timestamp: float) -> str:
    """A POSIX timestamp as the records write it."""
    return datetime.fromtimestamp(timestamp, UTC).isoformat(timespec="seconds")


def utc_now_text() -> str:
    """Now, as the records write it."""
    return datetime.now(UTC).isoformat(timespec="seconds")
