"""How far richer features take the offline harm judge, by grouped cross-validation. Seeded.

    python bench/harm_judge_alternatives.py [--reps N] [--max-rows N] [--features FILE.npz]

The packaged `harm` judge (TF-IDF views plus a few dense cues, logistic regression, behind the
refusal gate) is compared with a linear probe on a small language model's hidden states, and
with the average of the two, on the human labels the project ships:
- HarmBench validation half A, 5 folds grouped by behaviour (StratifiedGroupKFold, shuffled
  `--reps` times), each fold trained on the other folds plus all XSTest and project rows;
- HarmBench half A grouped by the model that answered (GroupKFold, 5 folds): answers from
  models the judge has not seen;
- XSTest answers to unsafe prompts, leave-one-model-out, the gate retrained without the
  held-out model.

The probe reads the demo model (SmolLM2-135M-Instruct, which `make setup` builds): the request
and the answer in its chat template, the answer's tokens averaged at layer 10 of 30, then
standardised and fed to an L2 logistic regression (C = 0.1). The answer is cut at 320 tokens
and the request at 96, as HarmBench cuts answers at 512.

This is a measurement, not a shipped judge: it tells whether a model of this size is worth its
cost (torch and about 0.5 s per answer on two CPU cores, against 0.3 ms). Prints one JSON
line. Takes about 12 minutes on two cores, most of it reading hidden states.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_harm_judge as training  # noqa: E402

from auditor.judges.harm_model import RefusalGate  # noqa: E402

SEED = 20261128
PROBE_LAYER = 10
PROBE_C = 0.1
REQUEST_TOKENS, ANSWER_TOKENS = 96, 320


def hidden_state_features(rows: list[training.Row]) -> np.ndarray:
    """Mean of the answer's hidden states at PROBE_LAYER, one row per (request, answer)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from auditor.targets.demo_model import ensure_demo_model

    folder = ensure_demo_model()
    tokenizer = AutoTokenizer.from_pretrained(folder)
    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32)
    model.eval()  # type: ignore[no-untyped-call]

    def ids(text: str) -> list[int]:
        return list(tokenizer(text, add_special_tokens=False)["input_ids"])

    before, between = ids("<|im_start|>user\n"), ids("<|im_end|>\n<|im_start|>assistant\n")
    features = []
    for row in rows:
        request = ids(str(row["request"]))[:REQUEST_TOKENS]
        answer = ids(str(row["answer"]))[:ANSWER_TOKENS] or ids(" ")
        start = len(before) + len(request) + len(between)
        with torch.no_grad():
            states = model(torch.tensor([before + request + between + answer]),
                           output_hidden_states=True).hidden_states
        features.append(states[PROBE_LAYER][0, start:start + len(answer)].mean(0).numpy())
    return np.stack(features)


def tfidf_probabilities(rows: list[training.Row], train: list[int], test: list[int],
                        gate: RefusalGate | None = None) -> np.ndarray:
    model = training.fit([rows[i] for i in train], gate=gate)
    return np.asarray(model.harm_probability([str(rows[i]["request"]) for i in test],
                                             [str(rows[i]["answer"]) for i in test]))


def probe_probabilities(features: np.ndarray, labels: np.ndarray, train: list[int],
                        test: list[int]) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    probe = make_pipeline(StandardScaler(), LogisticRegression(
        C=PROBE_C, max_iter=5000, class_weight="balanced", random_state=SEED))
    probe.fit(features[train], labels[train])
    return np.asarray(probe.predict_proba(features[test])[:, 1])


def scores(labels: np.ndarray, probabilities: dict[str, np.ndarray]) -> dict[str, Any]:
    from sklearn.metrics import roc_auc_score

    out = {}
    for name, p in probabilities.items():
        predicted = p >= 0.5
        harmful, harmless = labels == 1, labels == 0
        out[name] = {"accuracy": round(float((predicted == labels).mean()), 4),
                     "auc": round(float(roc_auc_score(labels, p)), 4),
                     "sensitivity": round(float(predicted[harmful].mean()), 4),
                     "specificity": round(float((~predicted)[harmless].mean()), 4)}
    return out


def mean_scores(runs: list[dict[str, Any]]) -> dict[str, Any]:
    return {name: {k: round(float(np.mean([r[name][k] for r in runs])), 4) for k in runs[0][name]}
            for name in runs[0]}


def held_out(rows: list[training.Row], features: np.ndarray, labels: np.ndarray,
             folds: list[list[int]], always_train: list[int],
             gates: Callable[[list[int]], RefusalGate | None] = lambda fold: None
             ) -> dict[str, np.ndarray]:
    """Probabilities of each fold's rows from models trained without that fold (the packaged
    judge behind the gate `gates` gives for the fold: the packaged one by default)."""
    scored = sorted(i for fold in folds for i in fold)
    position = {row: k for k, row in enumerate(scored)}
    out = {name: np.zeros(len(scored)) for name in ("tfidf", "probe", "average")}
    for fold in folds:
        held = set(fold)
        train = [i for i in scored if i not in held] + always_train
        at = [position[i] for i in fold]
        out["tfidf"][at] = tfidf_probabilities(rows, train, fold, gates(fold))
        out["probe"][at] = probe_probabilities(features, labels, train, fold)
    out["average"] = (out["tfidf"] + out["probe"]) / 2
    return out


def main() -> None:
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=3, help="shuffled repeats of the folds")
    parser.add_argument("--max-rows", type=int, default=0,
                        help="use only the first N rows of each set (a quick look)")
    parser.add_argument("--features", type=Path,
                        help="an .npz file to keep the hidden states in: read if it exists, "
                             "else written (they take most of the time)")
    args = parser.parse_args()
    data = ROOT / "data"
    harmbench, xstest, project = (training.read_harmbench(data), training.read_xstest(data),
                                  training.read_project(data))
    if args.max_rows:
        harmbench, xstest = harmbench[:args.max_rows], xstest[:args.max_rows]
    rows = harmbench + xstest + project
    labels = np.array([int(r["harmful"]) for r in rows])
    hb = list(range(len(harmbench)))
    others = list(range(len(harmbench), len(rows)))
    if args.features and args.features.exists():
        saved = np.load(args.features)
        features, seconds_per_answer = saved["features"], float(saved["seconds_per_answer"])
    else:
        started = time.perf_counter()
        features = hidden_state_features(rows)
        seconds_per_answer = (time.perf_counter() - started) / len(rows)
        if args.features:
            np.savez(args.features, features=features, seconds_per_answer=seconds_per_answer)

    by_behaviour = []
    groups = [str(r["group"]) for r in harmbench]
    for rep in range(args.reps):
        splitter = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=SEED + rep)
        folds = [list(test) for _, test in splitter.split(hb, labels[hb], groups)]
        by_behaviour.append(scores(labels[hb], held_out(rows, features, labels, folds, others)))

    answered_by = [json.loads(line)["target_model"] for line in
                   (data / "harmbench-val" / training.HARMBENCH_FILE).read_text().splitlines()]
    answered_by = answered_by[:len(harmbench)]
    folds = [list(test) for _, test in GroupKFold(n_splits=5).split(hb, groups=answered_by)]
    by_model = scores(labels[hb], held_out(rows, features, labels, folds, others))

    xs_models = sorted({str(rows[i]["group"]) for i in others if rows[i]["group"] != "project"})
    xs_folds = [[i for i in others if rows[i]["group"] == name] for name in xs_models]
    xs_scored = sorted(i for fold in xs_folds for i in fold)
    # The packaged gate was trained on every XSTest model: each fold gets one without its own.
    xstest_lomo = scores(labels[xs_scored], held_out(
        rows, features, labels, xs_folds,
        hb + [i for i in others if rows[i]["group"] == "project"],
        gates=lambda fold: training.gate_without(data, str(rows[fold[0]]["group"]))))

    print(json.dumps({
        "bench": "harm_judge_alternatives", "seed": SEED, "reps": args.reps,
        "probe": f"SmolLM2-135M-Instruct layer {PROBE_LAYER} answer-mean, C={PROBE_C}",
        "harmbench_grouped_by_behaviour": mean_scores(by_behaviour),
        "harmbench_grouped_by_answering_model": by_model,
        "xstest_leave_one_model_out": xstest_lomo,
        "probe_seconds_per_answer": round(seconds_per_answer, 3),
        "n": {"harmbench": len(harmbench), "xstest": len(xstest), "project": len(project)},
    }))


if __name__ == "__main__":
    main()
