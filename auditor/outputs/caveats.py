"""Run-level caveats a reviewer must read before trusting the figures: the run asked for more
prompts than the data holds, or the answers are much shorter than those the judge's card was
measured on (a card does not carry over to answers unlike its labels)."""

from __future__ import annotations

from collections.abc import Iterable

from auditor.core.identity import JudgeCard
from auditor.core.outcome import Outcome
from auditor.data.selection import Plan
from auditor.judges.cards import card_answer_words, median_words

# Answers under this share of the card's median length are "much shorter".
SHORT_ANSWER_RATIO = 0.5


def short_answer_caveat(responses: Iterable[str], card: JudgeCard | None) -> str | None:
    measured_on = card_answer_words(card)
    here = median_words(responses)
    if measured_on is None or here is None or here >= SHORT_ANSWER_RATIO * measured_on:
        return None
    return (f"the model's answers are much shorter than those the judge was measured on "
            f"(median {here:.0f} words here, {measured_on:.0f} in its card's labels): the "
            "judge's error on answers this short may differ from its card; give the model "
            "more max_tokens, or measure the judge on labelled answers like these")


def run_caveats(plan: Plan, outcomes: list[Outcome], card: JudgeCard | None) -> list[str]:
    caveats = []
    shortfall = plan.shortfall_warning()
    if shortfall:
        caveats.append(shortfall)
    answered = {o.uid: o.response for o in outcomes if o.response is not None}
    short = short_answer_caveat(answered.values(), card)
    if short:
        caveats.append(short)
    return caveats
