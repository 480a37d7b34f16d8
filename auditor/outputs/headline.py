"""What a policy's headline score rests on, in a few words, said alike wherever one score per
policy is shown (the terminal, page 1, `compare`).

A judge-corrected score can read safer than what the judge itself saw (8 of 120 answers
flagged, corrected to 100 %), so it is never shown alone: beside it stands how many answers
the judge flagged. A score from people's labels says how many labels it rests on, not how
many answers the run holds.
"""

from __future__ import annotations

from auditor.stats.scoring import PolicyRecord


def score_basis(policy: PolicyRecord, say_corrected: bool = True, compact: bool = False) -> str:
    """"90 labels" for a reviewed score; else "8 of 120 flagged" (the judge's own count,
    unscored answers aside), and with `say_corrected` ", corrected" when the score is the
    judge-corrected one (or "; card does not fit" when the card does not describe this
    model, and no corrected score is shown). `compact` gives "8/120 flagged" and never ", corrected", for the
    terminal's 80 columns (its table says once, under it, which scores are corrected)."""
    if policy.decided_on == "human-reviewed":
        return f"{policy.labels:,} label{'s' if policy.labels != 1 else ''}"
    judged = policy.safe + policy.unsafe
    if compact:
        return f"{policy.unsafe:,}/{judged:,} flagged"
    basis = f"{policy.unsafe:,} of {judged:,} flagged"
    if policy.card_misfit:  # no corrected score to speak of
        return basis + ("; card does not fit" if say_corrected else "")
    corrected = say_corrected and policy.decided_on == "judge-corrected"
    return basis + (", corrected" if corrected else "")
