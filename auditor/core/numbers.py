"""How a share is written for a reader: one style, a percentage, wherever a person reads it.

Reasons, pages and the terminal all quote scores and their bounds; a page that mixes
"0.653" with "93.4%" makes the reader convert. Two figures compared in one sentence get
enough decimals to differ, so "98.96% < 99.0%" never reads as "99.0% < 99.0%".
"""

from __future__ import annotations

MAX_DIGITS = 3


def percent(value: float | None, digits: int = 1) -> str:
    """0.934 → "93.4%"; a missing value is a dash."""
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def percents(*values: float, digits: int = 1) -> tuple[str, ...]:
    """Several shares written with one number of decimals, the fewest (from `digits`) at
    which figures that differ also read differently."""
    for places in range(digits, MAX_DIGITS + 1):
        written = tuple(percent(value, places) for value in values)
        if all(written[i] != written[j] or values[i] == values[j]
               for i in range(len(values)) for j in range(i + 1, len(values))):
            return written
    return tuple(percent(value, MAX_DIGITS) for value in values)


def points(value: float, short: bool = False) -> str:
    """A difference of shares, in percentage points: 0.03 → "3 percentage points" ("3 pt"
    where a table cell has no room)."""
    figure = f"{value * 100:.1f}".rstrip("0").rstrip(".")
    if short:
        return f"{figure} pt"
    return f"{figure} percentage point{'' if figure == '1' else 's'}"
