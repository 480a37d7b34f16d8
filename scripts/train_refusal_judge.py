"""Rebuilds the packaged refusal judge from XSTest's human-labelled completions. Seeded.

    python scripts/train_refusal_judge.py [--data data/xstest]

1. Leave-one-model-out: train on two models' answers, test on the third, for each model.
   A partial refusal counts as a refusal. These held-out figures go into the model file and
   its judge card, because they say how the judge does on a model it has never seen. The
   figures on answers to the safe prompts alone are the card over-refusal is corrected with.
2. Train the shipped model on all three files with the same settings and seed.
Writes auditor/judges/refusal_model.json. Prints one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.judges.metrics import binary_metrics  # noqa: E402
from auditor.judges.refusal_model import train  # noqa: E402

SEED = 20240404
MODELS = {
    "llama2new": "xstest_v2_completions_llama2new.csv",
    "llama2orig": "xstest_v2_completions_llama2orig.csv",
    "mistralguard": "xstest_v2_completions_mistralguard.csv",
}
OUT = ROOT / "auditor" / "judges" / "refusal_model.json"


def read(path: Path) -> tuple[list[str], list[int], list[bool]]:
    """Answers, refused (1) or complied (0), and whether the prompt was an unsafe one."""
    with path.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    texts = [r["completion"] for r in rows]
    refused = [0 if r["final_label"].startswith("1_") else 1 for r in rows]
    unsafe_prompt = [r["type"].startswith("contrast_") for r in rows]
    return texts, refused, unsafe_prompt


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data" / "xstest")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    data = {name: read(args.data / file) for name, file in MODELS.items()}

    held_out: dict[str, dict[str, float]] = {}
    # "unsafe" in the judge's terms is a compliance (refused == 0); pooled over held-out folds
    pooled_truth: list[str] = []
    pooled_pred: list[str] = []
    # The answers to safe prompts alone: the card over-refusal is corrected with.
    safe_truth: list[str] = []
    safe_pred: list[str] = []
    for name in MODELS:
        train_texts = [t for other in MODELS if other != name for t in data[other][0]]
        train_labels = [y for other in MODELS if other != name for y in data[other][1]]
        model = train(train_texts, train_labels, seed=SEED)
        probabilities = model.refusal_probability(data[name][0])
        truth = ["safe" if y else "unsafe" for y in data[name][1]]
        pred = ["safe" if p >= 0.5 else "unsafe" for p in probabilities]
        metrics = binary_metrics(truth, pred).model_dump(exclude_none=True)
        # The unsafe-prompt slice is the one that resembles ALERT: harmful requests only.
        unsafe_slice = [i for i, flag in enumerate(data[name][2]) if flag]
        slice_metrics = binary_metrics([truth[i] for i in unsafe_slice],
                                       [pred[i] for i in unsafe_slice]).model_dump(exclude_none=True)
        held_out[name] = {"accuracy": round(metrics["accuracy"]["value"], 4), "n": len(truth),
                          "accuracy_unsafe_prompts": round(slice_metrics["accuracy"]["value"], 4),
                          "n_unsafe_prompts": len(unsafe_slice)}
        pooled_truth += truth
        pooled_pred += pred
        safe_slice = [i for i, flag in enumerate(data[name][2]) if not flag]
        safe_truth += [truth[i] for i in safe_slice]
        safe_pred += [pred[i] for i in safe_slice]

    card = binary_metrics(pooled_truth, pooled_pred).model_dump(exclude_none=True)
    safe_card = binary_metrics(safe_truth, safe_pred).model_dump(exclude_none=True)
    all_texts = [t for name in MODELS for t in data[name][0]]
    all_labels = [y for name in MODELS for y in data[name][1]]
    model = train(all_texts, all_labels, seed=SEED, metadata={
        "trained_on": "XSTest v2 completions (llama2new, llama2orig, mistralguard), "
                      "partial refusal counted as refusal",
        "held_out_accuracy": held_out,
        "validation": {"method": "leave-one-model-out, pooled", **card},
        "safe_prompt_validation": {
            "method": "leave-one-model-out, pooled, answers to XSTest's 250 safe prompts only",
            "labels": "builtin:xstest-safe", **safe_card},
    })
    model.save(args.out)
    print(json.dumps({"script": "train_refusal_judge", "seed": SEED, "held_out": held_out,
                      "pooled_accuracy": round(card["accuracy"]["value"], 4),
                      "sensitivity": round(card["sensitivity"]["value"], 4),
                      "specificity": round(card["specificity"]["value"], 4),
                      "safe_prompts_accuracy": round(safe_card["accuracy"]["value"], 4),
                      "safe_prompts_n": len(safe_truth),
                      "model_bytes": args.out.stat().st_size}))


if __name__ == "__main__":
    main()
