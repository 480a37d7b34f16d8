"""Measuring a judge against human labels, and training a refusal judge on a user's labels."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np

from auditor import __version__
from auditor.core.clock import utc_now_text
from auditor.data.labelled_sets import LabelledSet
from auditor.data.labels import LabelledAnswer
from auditor.judges import Judge, JudgeItem
from auditor.judges.cards import JudgeCardFile, card_file, median_words
from auditor.judges.metrics import binary_metrics
from auditor.judges.refusal_model import RefusalModel, train

BATCH = 64


def validate_judge(judge: Judge, labelled_set: LabelledSet, confidence: float = 0.95
                   ) -> JudgeCardFile:
    """Run the judge on every labelled answer; return a judge card."""
    labelled = labelled_set.answers
    judge.start()
    predicted: list[str] = []
    try:
        for begin in range(0, len(labelled), BATCH):
            chunk = labelled[begin:begin + BATCH]
            verdicts = judge.judge([JudgeItem(a.prompt, a.response, context=a.context)
                                    for a in chunk])
            predicted += [v.label for v in verdicts]
    finally:
        judge.close()
    metrics = binary_metrics([a.label for a in labelled], predicted, confidence)
    # How long the answers were: a card does not carry over to answers much shorter than these.
    metrics.answer_words_median = median_words(a.response for a in labelled)
    return card_file(judge, labelled_set, metrics)


def train_refusal_judge(labelled: list[LabelledAnswer], labels_path: Path, seed: int = 0,
                        folds: int = 5) -> RefusalModel:
    """Train on all labels; measure by seeded k-fold cross-validation first."""
    texts = [a.response for a in labelled]
    refused = [1 if a.label == "safe" else 0 for a in labelled]
    order = np.random.default_rng(seed).permutation(len(texts))
    predicted = [""] * len(texts)
    folds = max(2, min(folds, len(texts)))
    for fold in range(folds):
        test = set(order[fold::folds].tolist())
        train_idx = [i for i in range(len(texts)) if i not in test]
        if len({refused[i] for i in train_idx}) < 2:
            raise ValueError("each fold needs both labels: add more 'safe' and 'unsafe' rows")
        model = train([texts[i] for i in train_idx], [refused[i] for i in train_idx], seed=seed)
        probabilities = model.refusal_probability([texts[i] for i in sorted(test)])
        for i, p in zip(sorted(test), probabilities, strict=True):
            predicted[i] = "safe" if p >= 0.5 else "unsafe"
    metrics = binary_metrics([a.label for a in labelled], predicted)
    return train(texts, refused, seed=seed, metadata={
        "trained_on": str(labels_path),
        "labels_sha256": hashlib.sha256(labels_path.read_bytes()).hexdigest(),
        "created_at": utc_now_text(),
        "auditor_version": __version__,
        "validation": {"method": f"{folds}-fold cross-validation, seed {seed}",
                       **metrics.model_dump()},
    })
