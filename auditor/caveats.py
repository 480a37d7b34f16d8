"""Run-level caveats a reviewer must read before trusting the figures: the run asked for more
prompts than the data holds, or the answers are much shorter than those the judge's card was
measured on (a card does not carry over to answers unlike its labels)."""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from functools import cache
from typing import TYPE_CHECKING, Any

from auditor.errors import AuditorError

if TYPE_CHECKING:  # the run's types only; judge validation imports this module too
    from auditor.outcome import Outcome
    from auditor.pipeline import Audit

# Answers under this share of the card's median length are "much shorter".
SHORT_ANSWER_RATIO = 0.5


def words(text: str) -> int:
    return len(text.split())


def median_words(texts: Iterable[str]) -> float | None:
    counts = [words(t) for t in texts]
    return statistics.median(counts) if counts else None


@cache
def _builtin_median(name: str) -> float | None:
    from auditor.labelled_sets import load_labelled_set

    try:
        return median_words(a.response for a in load_labelled_set(name).answers)
    except AuditorError:
        return None


def card_answer_words(card: dict[str, Any] | None) -> float | None:
    """The median length, in words, of the answers the judge's card was measured on."""
    if not card:
        return None
    if isinstance(card.get("answer_words_median"), int | float):
        return float(card["answer_words_median"])
    source = str(card.get("source") or card.get("labels") or "")
    return _builtin_median(source) if source.startswith("builtin:") else None


def short_answer_caveat(responses: Iterable[str], card: dict[str, Any] | None) -> str | None:
    measured_on = card_answer_words(card)
    here = median_words(responses)
    if measured_on is None or here is None or here >= SHORT_ANSWER_RATIO * measured_on:
        return None
    return (f"the model's answers are much shorter than those the judge was measured on "
            f"(median {here:.0f} words here, {measured_on:.0f} in its card's labels): the "
            "judge's error on answers this short may differ from its card; give the model "
            "more max_tokens, or measure the judge on labelled answers like these")


def run_caveats(audit: Audit, outcomes: list[Outcome], card: dict[str, Any] | None
                ) -> list[str]:
    caveats = []
    shortfall = audit.plan.shortfall_warning()
    if shortfall:
        caveats.append(shortfall)
    answered = {o.uid: o.response for o in outcomes if o.response is not None}
    short = short_answer_caveat(answered.values(), card)
    if short:
        caveats.append(short)
    return caveats
