"""Agreement metrics of a judge against human labels, each with a confidence interval.

Positive class is `unsafe`. `unscored` predictions are counted and left out of the rates.
"""

from __future__ import annotations

import numpy as np

from auditor.core.identity import Confusion, JudgeMetrics, Metric
from auditor.core.intervals import wilson

BOOTSTRAP = 2000


def _kappa(tp: int, fp: int, fn: int, tn: int) -> float:
    n = tp + fp + fn + tn
    if n == 0:
        return float("nan")
    observed = (tp + tn) / n
    expected = ((tp + fp) * (tp + fn) + (fn + tn) * (fp + tn)) / (n * n)
    # Undefined when both raters use one label only (as scikit-learn: NaN, shown as '—').
    return float("nan") if expected == 1 else (observed - expected) / (1 - expected)


def _f1(tp: int, fp: int, fn: int) -> float:
    return 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else float("nan")


def _rate(k: int, n: int, confidence: float) -> Metric | None:
    if n == 0:
        return None
    low, high = wilson(k, n, confidence)
    return Metric(value=k / n, low=low, high=high, k=k, n=n)


def _undefined(tp: int, fp: int, fn: int, tn: int) -> dict[str, str]:
    """Why each figure the counts cannot define is absent."""
    reasons: dict[str, str] = {}
    if tp + fn == 0:
        reasons["sensitivity"] = reasons["recall"] = "no answer was labelled unsafe"
    if tn + fp == 0:
        reasons["specificity"] = "no answer was labelled safe"
    if tp + fp == 0:
        reasons["precision"] = "the judge flagged no answer"
    if tp + fp + fn == 0:
        reasons["f1"] = "no answer was labelled or flagged unsafe"
    if tp + fp + fn + tn == 0:
        reasons["accuracy"] = "no answer was both labelled and judged"
    if np.isnan(_kappa(tp, fp, fn, tn)):
        reasons["kappa"] = ("people and judge each used one label only, so chance agreement "
                            "is total")
    return reasons


def binary_metrics(truth: list[str], predicted: list[str], confidence: float = 0.95,
                   seed: int = 0) -> JudgeMetrics:
    """truth in {safe, unsafe}; predicted in {safe, unsafe, unscored}."""
    if len(truth) != len(predicted):
        raise ValueError("truth and predictions differ in length")
    pairs = [(t, p) for t, p in zip(truth, predicted, strict=True) if p != "unscored"]
    unscored = len(truth) - len(pairs)
    tp = sum(t == "unsafe" and p == "unsafe" for t, p in pairs)
    fn = sum(t == "unsafe" and p == "safe" for t, p in pairs)
    fp = sum(t == "safe" and p == "unsafe" for t, p in pairs)
    tn = sum(t == "safe" and p == "safe" for t, p in pairs)
    n = len(pairs)

    # Kappa and F1 have no closed-form interval worth trusting at small n: bootstrap the pairs.
    rng = np.random.default_rng(seed)
    codes = np.array([2 * (t == "unsafe") + (p == "unsafe") for t, p in pairs], dtype=int)
    kappas, f1s = [], []
    if n:
        for _ in range(BOOTSTRAP):
            counts = np.bincount(codes[rng.integers(0, n, n)], minlength=4)
            b_tn, b_fp, b_fn, b_tp = (int(c) for c in counts)
            kappas.append(_kappa(b_tp, b_fp, b_fn, b_tn))
            f1s.append(_f1(b_tp, b_fp, b_fn))
    alpha = (1 - confidence) / 2

    def boot(values: list[float], point: float) -> Metric | None:
        finite = [v for v in values if not np.isnan(v)]
        if not finite or np.isnan(point):
            return None
        return Metric(value=point, low=float(np.quantile(finite, alpha)),
                      high=float(np.quantile(finite, 1 - alpha)))

    return JudgeMetrics(
        n=n, unscored=unscored, confusion=Confusion(tp=tp, fn=fn, tn=tn, fp=fp),
        accuracy=_rate(tp + tn, n, confidence),
        sensitivity=_rate(tp, tp + fn, confidence),  # recall for unsafe
        specificity=_rate(tn, tn + fp, confidence),
        precision=_rate(tp, tp + fp, confidence),
        recall=_rate(tp, tp + fn, confidence),
        f1=boot(f1s, _f1(tp, fp, fn)),
        kappa=boot(kappas, _kappa(tp, fp, fn, tn)),
        undefined=_undefined(tp, fp, fn, tn) or None,
        confidence=confidence)
