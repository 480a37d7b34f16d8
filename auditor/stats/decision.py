"""What a reviewer reads first about each policy: the verdict's reason in a few words, and the
next step that would decide an inconclusive one. Pure: built from a policy's scored figures.

The verdict rule itself lives in `scoring.py`; this module only explains it. A next step never
advises prompts the dataset does not hold.
"""

from __future__ import annotations

from dataclasses import dataclass

from auditor.core.verdicts import FAIL, INCONCLUSIVE, PASS, Verdict


@dataclass(frozen=True)
class Explanation:
    in_short: str  # a few words: why this verdict
    next_step: str | None  # what would decide it (inconclusive), or what to do (fail)


@dataclass(frozen=True)
class PolicyFigures:
    """What `explain` needs of one scored policy."""

    verdict: Verdict
    reason: str  # the full reason from scoring.assess
    scored: int  # safe + unsafe
    prompts_needed: int | None  # scored prompts in all that would likely decide it
    available: int | None  # prompts the dataset holds in the policy's cells
    sample_data: bool  # the prompts are the project's samples, not ALERT
    labels_needed: int | None = None  # human labels in all that would likely decide it
    decided_on: str = "judge-corrected"
    labels: int = 0  # labels the reviewed score already rests on
    skipped: int = 0  # answers of the review seen and skipped (unsafe for PASS, safe for FAIL)
    review_scoring: str = "anytime"  # anytime (may grow) or fixed (scored once)


def _review_step(figures: PolicyFigures) -> str | None:
    if figures.labels_needed is None:
        return None
    noun = "answer" if figures.labels_needed == 1 else "answers"
    return (f"label about {figures.labels_needed} {noun} (`auditor review sample RUN "
            f"--budget {figures.labels_needed}`, then label)")


JUDGE_LIMIT = "no number of prompts can decide this with this judge"
SKIPPED_STEP = ("{n} skipped answer{s} count{verb} as unsafe for a PASS and as safe for a "
                "FAIL until labelled: have another reviewer label {them} (`auditor review "
                "label RUN --reviewer NAME --skipped`, or `review export RUN --skipped`)")


def explain(figures: PolicyFigures) -> Explanation:
    words = _explain(figures)
    review = _review_step(figures)
    if figures.verdict == INCONCLUSIVE and figures.decided_on != "human-reviewed" and review \
            and words.next_step is not None:
        if words.next_step.startswith(JUDGE_LIMIT):  # then the review is the way
            return Explanation(words.in_short, f"{review}: {JUDGE_LIMIT}")
        return Explanation(words.in_short, f"{review}; or: {words.next_step}")
    if figures.verdict == INCONCLUSIVE and figures.skipped:
        one = figures.skipped == 1
        skipped = SKIPPED_STEP.format(n=figures.skipped, s="" if one else "s",
                                      verb="s" if one else "", them="it" if one else "them")
        # Labelling the skipped answers is no second look: each bound only moves toward
        # what the true labels give, so a fixed review may settle them too.
        more = words.next_step if figures.review_scoring == "anytime" else None
        return Explanation(words.in_short, f"{skipped}; then: {more}" if more else skipped)
    return words


def _explain(figures: PolicyFigures) -> Explanation:
    reason = figures.reason
    if figures.decided_on == "human-reviewed" and "a second reviewer is needed" in reason:
        return Explanation("one reviewer's misses could move it",
                           "have a second person label the same answers (`auditor review "
                           "sample RUN --reviewers 2`, then `auditor review label RUN "
                           "--reviewer NAME`): an answer then counts once both have "
                           "labelled it, and either one's unsafe stands")
    if figures.decided_on == "human-reviewed" and figures.verdict == INCONCLUSIVE \
            and reason.startswith("interval"):
        if figures.review_scoring == "fixed":
            return Explanation("interval spans the threshold",
                               f"a fixed review is scored once: this verdict on its "
                               f"{figures.labels} labels stands, and labelling more of this "
                               "run's answers would be a second look at the same question "
                               "(a second chance at a false PASS). A review that may need to "
                               "grow is drawn anytime: `auditor review sample RUN --scoring "
                               "anytime` in a new run's folder")
        if figures.labels_needed is None:
            more_exist = figures.available is None or figures.available > figures.scored
            return Explanation("interval spans the threshold",
                               "labelling every answer of this run would likely not decide "
                               "it: " + ("run more prompts (raise sampling.per_category), "
                                         "then sample and review again" if more_exist else
                                         "every prompt the dataset holds for this policy "
                                         "already ran, so only more categories in the "
                                         "policy could decide it"))
        return Explanation("interval spans the threshold",
                           f"label about {figures.labels_needed - figures.labels} more "
                           f"answer{'' if figures.labels_needed - figures.labels == 1 else 's'}"
                           f": `auditor review sample RUN --budget "
                           f"{figures.labels_needed}`, label, then rerun `auditor check`")
    if figures.verdict == PASS:
        return Explanation("interval wholly above the threshold", None)
    if figures.verdict == FAIL:
        return Explanation("interval wholly below the threshold",
                           "read the example failures, fix the model or its system prompt, "
                           "and audit again")
    if reason == "no scored answers":
        return Explanation("no answer could be scored",
                           "see the errors and unscored answers, fix their cause and rerun "
                           "(failed prompts are retried)")
    if "errored or unscored" in reason:
        return Explanation("too many errors or unscored answers",
                           "see the errors and unscored answers, fix their cause and rerun "
                           "(failed prompts are retried)")
    if reason.startswith("this judge cannot certify"):
        return Explanation("the judge's own error spans the threshold",
                           f"{JUDGE_LIMIT}: review answers, or validate a stronger judge on "
                           "human labels (`auditor judge validate`) and set judge.card")
    if "card does not describe this model" in reason:
        return Explanation("the judge's card does not fit this model",
                           "measure the judge on this model's own answers "
                           "(`auditor judge validate` with labels of your own)")
    if reason.startswith("interval"):
        return _more_prompts(figures)
    # the card cannot correct at all (too weak, or too few labels)
    return Explanation("the judge's card cannot correct the score",
                       "validate a stronger judge on more human labels and set judge.card")


def _more_prompts(figures: PolicyFigures) -> Explanation:
    in_short = "interval spans the threshold"
    needed, available = figures.prompts_needed, figures.available
    if needed is not None and (available is None or needed <= available):
        more = needed - figures.scored
        step = f"about {more} more scored prompts ({needed} in all) would likely decide it: " \
               "raise sampling.per_category"
        return Explanation(in_short, step)
    if figures.sample_data:
        return Explanation(in_short, f"the sample prompts hold only {available} for this "
                           "policy, likely too few to decide it: run on ALERT "
                           "(`auditor dataset fetch`), which holds far more")
    if available is not None and available > figures.scored:
        return Explanation(in_short,
                           f"the dataset holds only {available} prompts for this policy, likely too "
                           "few to decide it: a judge with a smaller measured error, or more "
                           "categories, would help")
    return Explanation(in_short, "every prompt the dataset holds for this policy already ran: a "
                       "judge with a smaller measured error would narrow the interval")
