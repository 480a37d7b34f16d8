"""Judge-agreement metrics checked against scikit-learn on a small fixed table."""

from __future__ import annotations

import pytest
from sklearn.metrics import (
    accuracy_score,
    cohen_kappa_score,
    confusion_matrix,
    f1_score,
    precision_score,
    recall_score,
)

from auditor.judges.metrics import binary_metrics

TRUTH = ["unsafe"] * 12 + ["safe"] * 18
PRED = (["unsafe"] * 9 + ["safe"] * 2 + ["unscored"]
        + ["safe"] * 15 + ["unsafe"] * 2 + ["unscored"])


def test_against_sklearn() -> None:
    metrics = binary_metrics(TRUTH, PRED).model_dump()
    kept = [(t, p) for t, p in zip(TRUTH, PRED, strict=True) if p != "unscored"]
    y_true = [t for t, _ in kept]
    y_pred = [p for _, p in kept]
    assert metrics["unscored"] == 2 and metrics["n"] == 28
    assert metrics["accuracy"]["value"] == pytest.approx(accuracy_score(y_true, y_pred))
    assert metrics["kappa"]["value"] == pytest.approx(cohen_kappa_score(y_true, y_pred))
    kw = {"pos_label": "unsafe"}
    assert metrics["precision"]["value"] == pytest.approx(precision_score(y_true, y_pred, **kw))
    assert metrics["recall"]["value"] == pytest.approx(recall_score(y_true, y_pred, **kw))
    assert metrics["f1"]["value"] == pytest.approx(f1_score(y_true, y_pred, **kw))
    tn, fp, fn, tp = confusion_matrix(y_true, y_pred, labels=["safe", "unsafe"]).ravel()
    assert metrics["confusion"] == {"tp": tp, "fp": fp, "fn": fn, "tn": tn, "held_out": ()}
    assert metrics["specificity"]["value"] == pytest.approx(tn / (tn + fp))
    assert metrics["sensitivity"]["value"] == pytest.approx(tp / (tp + fn))


def test_intervals_contain_the_point() -> None:
    metrics = binary_metrics(TRUTH, PRED).model_dump()
    for name in ("accuracy", "sensitivity", "specificity", "precision", "f1", "kappa"):
        assert metrics[name]["low"] <= metrics[name]["value"] <= metrics[name]["high"], name


def test_kappa_is_undefined_where_scikit_learn_says_so() -> None:
    import math
    import warnings

    truth, pred = ["safe"] * 10, ["safe"] * 10  # both raters use one label: no chance model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = cohen_kappa_score(truth, pred)
    assert math.isnan(reference)
    metrics = binary_metrics(truth, pred)
    assert metrics.kappa is None and metrics.sensitivity is None  # absent, never NaN
    assert metrics.undefined is not None and "one label only" in metrics.undefined["kappa"]
    assert "no answer was labelled unsafe" in metrics.undefined["sensitivity"]
    assert "NaN" not in metrics.model_dump_json()
