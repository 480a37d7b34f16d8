"""How long-running stages report progress: a callback of (stage, done so far, total), so the
stages never print and the CLI draws the bars."""

from __future__ import annotations

from collections.abc import Callable

ProgressFn = Callable[[str, int, int], None]


def no_progress(stage: str, done: int, total: int) -> None:
    """For callers that show nothing (tests, benchmarks)."""
