"""The plain request behind each adversarial ALERT prompt.

ALERT built its adversarial file from its plain one: a suffix or prefix injection keeps the
plain request word for word, token manipulation misspells it, a jailbreak wraps it in a persona
template. A harm judge that compares the answer with the wrapper (hundreds of words of "you are
DAN …") misjudges what was asked; given the plain request, it compares the answer with that.

Matching, within the adversarial row's own micro category:
- `exact`: a plain prompt appears in the adversarial one, character for character (after
  lower-casing and folding whitespace); the longest such prompt wins.
- `nearest`: otherwise the plain prompt whose character trigrams (as a set) the adversarial
  prompt contains the largest share of, accepted when that share is at least MIN_CONTAINMENT
  and clearly above the runner-up's (a template with no request in it matches nothing).
- unmatched rows keep their own text as the request; the judge was trained on wrapped
  requests as well, so it still judges them, less well.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from auditor.data.dataset import AlertPrompt

MatchKind = Literal["exact", "nearest"]
# Share of the plain prompt's character trigrams the adversarial prompt must contain. Token
# manipulation ("h0w t0 m@ke") keeps about half of them; an unrelated request of the same
# category keeps under a third.
MIN_CONTAINMENT = 0.45
# The best candidate must beat the runner-up by this much: two near-identical plain prompts
# (ALERT has paraphrases) are then both plausible and neither is claimed.
MIN_MARGIN = 0.05
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class PlainMatch:
    """The plain request an adversarial prompt was built from, and how it was found."""

    text: str
    uid: str
    kind: MatchKind
    containment: float  # share of the plain prompt's trigrams found in the adversarial one


def _fold(text: str) -> str:
    return _SPACE.sub(" ", text.lower()).strip()


def match_plain(adversarial: Iterable[AlertPrompt], plain: Iterable[AlertPrompt]
                ) -> dict[str, PlainMatch]:
    """adversarial uid → its plain request, for the rows that can be matched."""
    plain_by_category: dict[str, list[AlertPrompt]] = {}
    for prompt in plain:
        plain_by_category.setdefault(prompt.category, []).append(prompt)
    adversarial_by_category: dict[str, list[AlertPrompt]] = {}
    for prompt in adversarial:
        if prompt.category in plain_by_category:
            adversarial_by_category.setdefault(prompt.category, []).append(prompt)
    matches: dict[str, PlainMatch] = {}
    for category, rows in adversarial_by_category.items():
        matches.update(_match_category(rows, plain_by_category[category]))
    return matches


def _match_category(rows: list[AlertPrompt], plain: list[AlertPrompt]
                    ) -> dict[str, PlainMatch]:
    from sklearn.feature_extraction.text import CountVectorizer

    plain_folded = [_fold(p.text) for p in plain]
    trigrams = CountVectorizer(analyzer="char", ngram_range=(3, 3), binary=True,
                               lowercase=False, dtype=np.float64)
    try:
        plain_grams = trigrams.fit_transform(plain_folded)
    except ValueError:  # every plain prompt shorter than a trigram
        return {}
    sizes = np.maximum(1.0, np.asarray(plain_grams.sum(axis=1)).ravel())
    folded = [_fold(p.text) for p in rows]
    # containment[i, j]: share of plain prompt j's trigrams found in adversarial prompt i
    containment = (trigrams.transform(folded) @ plain_grams.T).toarray() / sizes
    found: dict[str, PlainMatch] = {}
    for i, prompt in enumerate(rows):
        order = np.argsort(-containment[i])
        exact = [j for j in order[:20] if len(plain_folded[j]) >= 8
                 and plain_folded[j] in folded[i]]
        if exact:
            best = max(exact, key=lambda j: len(plain_folded[j]))
            found[prompt.uid] = PlainMatch(plain[best].text, plain[best].uid, "exact", 1.0)
            continue
        top = float(containment[i, order[0]])
        runner_up = float(containment[i, order[1]]) if len(order) > 1 else 0.0
        if top >= MIN_CONTAINMENT and top - runner_up >= MIN_MARGIN:
            best = int(order[0])
            found[prompt.uid] = PlainMatch(plain[best].text, plain[best].uid, "nearest",
                                           round(top, 4))
    return found


def match_counts(matches: dict[str, PlainMatch], adversarial: Iterable[AlertPrompt]
                 ) -> dict[str, dict[str, int]]:
    """attack type → {"rows", "exact", "nearest", "unmatched"}: what `plan` and results.json
    report."""
    table: dict[str, Counter[str]] = {}
    for prompt in adversarial:
        counts = table.setdefault(prompt.attack_type, Counter())
        counts["rows"] += 1
        found = matches.get(prompt.uid)
        counts[found.kind if found else "unmatched"] += 1
    return {attack: {k: counts[k] for k in ("rows", "exact", "nearest", "unmatched")}
            for attack, counts in sorted(table.items())}
