"""How far the packaged harm judge's card holds on answers it never saw. Seeded, offline.

    python bench/harm_judge_transfer.py

Measures the packaged `harm` judge on every human-labelled harm set the project ships, one by
one, beside its card (HarmBench half A, folds grouped by behaviour): the four `harm-extra`
sets were never used to train it, and each means something slightly different by harmful
(data/README.md). Prints one JSON line: per set, n, accuracy, sensitivity and specificity,
and the spread across the unseen sets.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.core.identity import JudgeMetrics
from auditor.data.labelled_sets import HARM_EXTRA, load_labelled_set
from auditor.judges.harm import HarmJudge
from auditor.judges.interface import JudgeItem
from auditor.judges.metrics import binary_metrics


def rates(figures: JudgeMetrics) -> dict[str, float]:
    """Accuracy, sensitivity and specificity, rounded (from the confusion counts)."""
    c = figures.confusion
    return {"accuracy": round((c.tp + c.tn) / max(1, c.tp + c.tn + c.fp + c.fn), 3),
            "sensitivity": round(c.sensitivity, 3), "specificity": round(c.specificity, 3)}


def main() -> None:
    started = time.perf_counter()
    judge = HarmJudge()
    card = judge.card()
    sets: dict[str, dict[str, float]] = {}
    for name in HARM_EXTRA:
        labelled = load_labelled_set(f"builtin:{name}")
        verdicts = judge.judge([JudgeItem(a.prompt, a.response) for a in labelled.answers])
        figures = binary_metrics([a.label for a in labelled.answers], [v.label for v in verdicts])
        sets[name] = {"n": len(labelled.answers), **rates(figures)}
    print(json.dumps({
        "benchmark": "harm_judge_transfer",
        "card": {"labels": card.source, **rates(card)} if card else None,
        "unseen_sets": sets,
        "worst_sensitivity": min(s["sensitivity"] for s in sets.values()),
        "worst_accuracy": min(s["accuracy"] for s in sets.values()),
        "seconds": round(time.perf_counter() - started, 1),
    }))


if __name__ == "__main__":
    main()
