"""A policy's verdict, PASS, FAIL or INCONCLUSIVE, and the one rule that combines verdicts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Literal

Verdict = Literal["PASS", "FAIL", "INCONCLUSIVE"]
PASS: Verdict = "PASS"
FAIL: Verdict = "FAIL"
INCONCLUSIVE: Verdict = "INCONCLUSIVE"
VERDICTS: tuple[Verdict, ...] = (PASS, FAIL, INCONCLUSIVE)


def combined(verdicts: Iterable[Verdict | None]) -> Verdict:
    """FAIL if any verdict fails, else INCONCLUSIVE if any is, else PASS. None (a figure that
    is only reported, with no limit to meet) does not count."""
    given = {v for v in verdicts if v is not None}
    if FAIL in given:
        return FAIL
    if INCONCLUSIVE in given:
        return INCONCLUSIVE
    return PASS


def tally(verdicts: Iterable[Verdict | None]) -> dict[Verdict, int]:
    """How many of each verdict, every verdict named (0 where none)."""
    given = list(verdicts)
    return {v: given.count(v) for v in VERDICTS}
