"""Rebuilds the packaged harm judge from human-labelled answers. Seeded.

    python scripts/train_harm_judge.py [--data data] [--out auditor/judges/harm_model.json]

Training data (all shipped in data/):
- HarmBench's classifier validation set, half A (300 answers, 3 raters, MIT): is the answer a
  real instance of the harmful behaviour? The request is the plain behaviour.
- XSTest's answers to its 200 unsafe prompts from three models (CC BY 4.0): full compliance is
  harmful, a full or partial refusal is not.
- data/project/harm_examples.jsonl: safe completions (support, safety information, redirects)
  and a few compliances, written by this project.

The classifier sits behind a refusal gate, the packaged refusal judge's model (trained on
XSTest only): answers it calls refusals (P >= 0.7) are set aside as not harmful, and the
classifier is trained on, and decides, the rest.

Validation, grouped so no answer is scored by a model that saw its group:
1. HarmBench, 5 folds grouped by behaviour (GroupKFold), training on the other folds plus all
   of XSTest and the project's examples, behind the packaged gate (which never saw HarmBench).
   These figures are the packaged judge card.
2. XSTest, leave-one-model-out, training on the other two models plus HarmBench and the
   project's examples, behind a gate retrained without the held-out model.
Then trains the shipped model on everything. Prints one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import train_refusal_judge as refusal_training  # noqa: E402

from auditor.data.labelled_sets import HARMBENCH_FILE, XSTEST_FILES  # noqa: E402
from auditor.judges.harm import packaged_refusal_gate  # noqa: E402
from auditor.judges.harm_model import RefusalGate, train  # noqa: E402
from auditor.judges.metrics import binary_metrics  # noqa: E402
from auditor.judges.refusal_model import RefusalModel  # noqa: E402
from auditor.judges.refusal_model import train as train_refusal  # noqa: E402

SEED = 20261128
OUT = ROOT / "auditor" / "judges" / "harm_model.json"
Row = dict[str, str | int]


def read_harmbench(data: Path) -> list[Row]:
    rows = []
    for line in (data / "harmbench-val" / HARMBENCH_FILE).read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        rows.append({"request": r["behavior"] or r["prompt"], "answer": r["response"],
                     "harmful": int(r["label"] == "unsafe"), "group": r["behavior_id"]})
    return rows


def read_xstest(data: Path) -> list[Row]:
    rows = []
    for name in XSTEST_FILES:
        with (data / "xstest" / name).open(newline="", encoding="utf-8") as handle:
            for r in csv.DictReader(handle):
                if r["type"].startswith("contrast_"):
                    rows.append({"request": r["prompt"], "answer": r["completion"],
                                 "harmful": int(r["final_label"].startswith("1_")),
                                 "group": name})
    return rows


def read_project(data: Path) -> list[Row]:
    path = data / "project" / "harm_examples.jsonl"
    return [{"request": r["prompt"], "answer": r["response"],
             "harmful": int(r["label"] == "unsafe"), "group": "project"}
            for r in map(json.loads, path.read_text(encoding="utf-8").splitlines())]


def fit(rows: list[Row], metadata: dict[str, object] | None = None,  # type: ignore[no-untyped-def]
        gate: RefusalGate | None = None):
    return train([str(r["request"]) for r in rows], [str(r["answer"]) for r in rows],
                 [int(r["harmful"]) for r in rows], gate or packaged_refusal_gate(), seed=SEED,
                 metadata=metadata)


def gate_without(data: Path, held_out: str) -> RefusalGate:
    """A refusal gate trained as the packaged one is, on every XSTest file but `held_out`."""
    texts: list[str] = []
    refused: list[int] = []
    for name in XSTEST_FILES:
        if name != held_out:
            file_texts, file_refused, _ = refusal_training.read(data / "xstest" / name)
            texts += file_texts
            refused += file_refused
    model = train_refusal(texts, refused, seed=refusal_training.SEED)
    text = model.to_json()
    return RefusalGate(RefusalModel.from_json(text), hashlib.sha256(text.encode()).hexdigest())


def grouped_predictions(rows: list[Row], extra: list[Row], folds: list[set[str]],
                        gates: Callable[[set[str]], RefusalGate | None] = lambda held: None
                        ) -> list[str]:
    """Held-out labels for every row: each fold's groups are predicted by a model without them
    (and behind the gate `gates` gives for the fold; the packaged one by default)."""
    predicted = [""] * len(rows)
    for held in folds:
        model = fit([r for r in rows if r["group"] not in held] + extra, gate=gates(held))
        test = [i for i, r in enumerate(rows) if r["group"] in held]
        probabilities = model.harm_probability([str(rows[i]["request"]) for i in test],
                                               [str(rows[i]["answer"]) for i in test])
        for i, p in zip(test, probabilities, strict=True):
            predicted[i] = "unsafe" if p >= 0.5 else "safe"
    return predicted


def behaviour_folds(rows: list[Row], k: int = 5) -> list[set[str]]:
    from sklearn.model_selection import GroupKFold

    groups = [str(r["group"]) for r in rows]
    return [{groups[i] for i in test}
            for _, test in GroupKFold(n_splits=k).split(rows, groups=groups)]


def summary(metrics: dict[str, object]) -> dict[str, float]:
    pick: Callable[[str], float] = lambda name: round(metrics[name]["value"], 4)  # type: ignore[index]  # noqa: E731
    return {"accuracy": pick("accuracy"), "kappa": pick("kappa"),
            "sensitivity": pick("sensitivity"), "specificity": pick("specificity"),
            "n": metrics["n"]}  # type: ignore[dict-item]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    harmbench, xstest, project = (read_harmbench(args.data), read_xstest(args.data),
                                  read_project(args.data))

    def truth(rows: list[Row]) -> list[str]:
        return ["unsafe" if r["harmful"] else "safe" for r in rows]

    hb_pred = grouped_predictions(harmbench, xstest + project, behaviour_folds(harmbench))
    hb_metrics = binary_metrics(truth(harmbench), hb_pred).model_dump(exclude_none=True)
    xs_pred = grouped_predictions(xstest, harmbench + project, [{n} for n in XSTEST_FILES],
                                  gates=lambda held: gate_without(args.data, next(iter(held))))
    xs_metrics = binary_metrics(truth(xstest), xs_pred).model_dump(exclude_none=True)
    per_model = {}
    for name in XSTEST_FILES:
        idx = [i for i, r in enumerate(xstest) if r["group"] == name]
        model_metrics = binary_metrics([truth(xstest)[i] for i in idx],
                                       [xs_pred[i] for i in idx]).model_dump(exclude_none=True)
        per_model[name.removeprefix("xstest_v2_completions_").removesuffix(".csv")] = round(
            model_metrics["accuracy"]["value"], 4)

    model = fit(harmbench + xstest + project, metadata={
        "construct": "harm",
        "trained_on": "HarmBench classifier validation set half A (MIT), XSTest v2 answers to "
                      "unsafe prompts (CC BY 4.0), 20 project-written examples; behind the "
                      "packaged refusal model as a gate",
        "validation": {"method": "HarmBench, 5 folds grouped by behaviour (trained with all "
                                 "XSTest and project rows)", "labels": "builtin:harmbench",
                       **hb_metrics},
        "xstest_validation": {"method": "leave-one-model-out, the refusal gate retrained "
                                        "without the held-out model", "labels": "builtin:xstest",
                              "per_model_accuracy": per_model, **summary(xs_metrics)},
    })
    model.save(args.out)
    print(json.dumps({"script": "train_harm_judge", "seed": SEED,
                      "harmbench_grouped_cv": summary(hb_metrics),
                      "xstest_leave_one_model_out": summary(xs_metrics),
                      "xstest_per_model_accuracy": per_model,
                      "model_bytes": args.out.stat().st_size}))


if __name__ == "__main__":
    main()
