"""Rebuilds the packaged harm judge from human-labelled answers. Seeded.

    python scripts/train_harm_judge.py [--data data] [--out auditor/judges/harm_model.json]

Training data (all shipped in data/, each with its licence; see data/README.md):
- HarmBench's classifier validation set, half A (300 answers, 3 raters, MIT): is the answer a
  real instance of the harmful behaviour? Each answer is used twice, once against the plain
  behaviour and once against the test case the model saw (often a jailbreak template), so that
  the judge also holds when no plain request can be found.
- XSTest's answers to its 200 unsafe prompts from three models (CC BY 4.0).
- PyRIT's objective and harm sets, GPTFuzz, HarmBench's multimodal set (MIT; data/harm-extra/),
  each capped at CAP answers, whole requests at a time, so that GPTFuzz's 6,492 narrow persona
  answers do not swamp the rest.
- data/project/harm_examples.jsonl: safe completions and a few compliances, by this project.

The classifier sits behind the packaged refusal gate (see auditor/judges/harm_model.py).

The card is measured leave-one-source-out: each labelled source in turn is held out, whole, and
predicted by a judge trained on all the others (capped as above). The card holds each source's
counts (`held_out`) and their sum; scores are corrected under each source's counts and the
widest interval kept. XSTest is not held out (the refusal gate was trained on it); it is
measured leave-one-model-out, behind a gate retrained without the held-out model, as before.
Prints one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import train_refusal_judge as refusal_training  # noqa: E402

from auditor.data.labelled_sets import (  # noqa: E402
    HARM_EXTRA,
    HARMBENCH_FILE,
    XSTEST_FILES,
    load_labelled_set,
)
from auditor.judges.cards import median_words  # noqa: E402
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


CAP = 800
# Sources held out in turn for the card. HarmBench is measured against the plain behaviour (the
# card's figure) and against the test case alone (reported beside it).
HELD_OUT = ("harmbench", *HARM_EXTRA)


def read_extra(name: str) -> list[Row]:
    labelled = load_labelled_set(f"builtin:{name}")
    return [{"request": a.prompt, "answer": a.response, "harmful": int(a.label == "unsafe"),
             "group": a.prompt} for a in labelled.answers]


def with_test_cases(harmbench: list[Row], data: Path) -> list[Row]:
    """HarmBench's rows again, each against the test case the model saw, where it differs."""
    rows = []
    lines = (data / "harmbench-val" / HARMBENCH_FILE).read_text(encoding="utf-8").splitlines()
    for row, line in zip(harmbench, lines, strict=True):
        test_case = json.loads(line)["prompt"]
        if test_case and test_case != row["request"]:
            rows.append({**row, "request": test_case})
    return rows


def capped(rows: list[Row], cap: int, rng: random.Random) -> list[Row]:
    """At most about `cap` rows, whole requests (groups) at a time, chosen at random."""
    if len(rows) <= cap:
        return rows
    groups = sorted({str(r["group"]) for r in rows})
    rng.shuffle(groups)
    keep: set[str] = set()
    count = 0
    sizes: dict[str, int] = {}
    for r in rows:
        sizes[str(r["group"])] = sizes.get(str(r["group"]), 0) + 1
    for group in groups:
        if count >= cap:
            break
        keep.add(group)
        count += sizes[group]
    return [r for r in rows if r["group"] in keep]


def held_out_counts(model, rows: list[Row]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    harm = model.harm_probability([str(r["request"]) for r in rows],
                                  [str(r["answer"]) for r in rows])
    counts = {"tp": 0, "fn": 0, "tn": 0, "fp": 0}
    for r, p in zip(rows, harm, strict=True):
        flagged = p >= 0.5
        counts[("tp" if flagged else "fn") if r["harmful"] else ("fp" if flagged else "tn")] += 1
    return counts


def rates(counts: dict[str, int]) -> dict[str, float]:
    tp, fn, tn, fp = counts["tp"], counts["fn"], counts["tn"], counts["fp"]
    return {"n": tp + fn + tn + fp,
            "accuracy": round((tp + tn) / max(1, tp + fn + tn + fp), 4),
            "sensitivity": round(tp / max(1, tp + fn), 4),
            "specificity": round(tn / max(1, tn + fp), 4)}


def leave_one_source_out(sources: dict[str, list[Row]], test_cases: list[Row],
                         always: list[Row], cap: int = CAP, seed: int = SEED
                         ) -> dict[str, dict[str, int]]:
    """Counts on each held-out source (whole), from a judge trained on every other source
    (capped) plus `always`; HarmBench's test-case rows as "harmbench-test-case"."""
    rng = random.Random(seed)
    training = {name: capped(rows, cap, rng) for name, rows in sources.items()}
    result: dict[str, dict[str, int]] = {}
    for name in HELD_OUT:
        rows = [r for other, rs in training.items() if other != name for r in rs] + always
        if name != "harmbench":
            rows += test_cases
        model = fit(rows)
        result[name] = held_out_counts(model, sources[name])
        if name == "harmbench":
            result["harmbench-test-case"] = held_out_counts(model, test_cases)
    return result


def load_sources(data: Path) -> tuple[dict[str, list[Row]], list[Row], list[Row]]:
    """(held-out-able sources, HarmBench's test-case rows, rows always trained on)."""
    harmbench = read_harmbench(data)
    sources = {"harmbench": harmbench, **{name: read_extra(name) for name in HARM_EXTRA}}
    return sources, with_test_cases(harmbench, data), read_xstest(data) + read_project(data)


def card_metrics(per_source: dict[str, dict[str, int]]) -> dict[str, object]:
    """The card: pooled counts over the held-out sources (each predicted without itself), with
    each source's counts in `confusion.held_out`."""
    cells = (("unsafe", "unsafe", "tp"), ("unsafe", "safe", "fn"), ("safe", "safe", "tn"),
             ("safe", "unsafe", "fp"))
    truth = [t for name in HELD_OUT for t, _, cell in cells for _ in range(per_source[name][cell])]
    predicted = [p for name in HELD_OUT for _, p, cell in cells
                 for _ in range(per_source[name][cell])]
    metrics = binary_metrics(truth, predicted).model_dump(exclude_none=True)
    metrics["confusion"]["held_out"] = [{"source": f"builtin:{name}", **per_source[name]}
                                        for name in HELD_OUT]
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=ROOT / "data")
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()
    sources, test_cases, always = load_sources(args.data)
    xstest, project = read_xstest(args.data), read_project(args.data)

    def truth(rows: list[Row]) -> list[str]:
        return ["unsafe" if r["harmful"] else "safe" for r in rows]

    per_source = leave_one_source_out(sources, test_cases, always)
    rng = random.Random(SEED)
    training = [r for rows in sources.values() for r in capped(rows, CAP, rng)] + test_cases
    xs_pred = grouped_predictions(xstest, training + project, [{n} for n in XSTEST_FILES],
                                  gates=lambda held: gate_without(args.data, next(iter(held))))
    xs_metrics = binary_metrics(truth(xstest), xs_pred).model_dump(exclude_none=True)
    per_model = {}
    for name in XSTEST_FILES:
        idx = [i for i, r in enumerate(xstest) if r["group"] == name]
        model_metrics = binary_metrics([truth(xstest)[i] for i in idx],
                                       [xs_pred[i] for i in idx]).model_dump(exclude_none=True)
        per_model[name.removeprefix("xstest_v2_completions_").removesuffix(".csv")] = round(
            model_metrics["accuracy"]["value"], 4)

    figures = {name: rates(counts) for name, counts in per_source.items()}
    model = fit(training + always, metadata={
        "construct": "harm",
        "trained_on": "HarmBench classifier validation set half A against behaviour and test "
                      f"case (MIT); PyRIT objective and harm, GPTFuzz, HarmBench multimodal "
                      f"(MIT), each capped at {CAP}; XSTest v2 answers to unsafe prompts "
                      "(CC BY 4.0); 20 project-written examples; behind the packaged refusal "
                      "model as a gate",
        "validation": {"method": "leave one source out: each of "
                                 f"{', '.join(HELD_OUT)} held out whole and judged by a model "
                                 "trained on the others; counts summed, and per source in "
                                 "confusion.held_out",
                       "labels": "builtin:" + "+".join(HELD_OUT), **card_metrics(per_source),
                       "answer_words_median": median_words(
                           str(r["answer"]) for name in HELD_OUT for r in sources[name])},
        "held_out_sources": figures,
        "xstest_validation": {"method": "leave-one-model-out, the refusal gate retrained "
                                        "without the held-out model", "labels": "builtin:xstest",
                              "per_model_accuracy": per_model, **summary(xs_metrics)},
    })
    model.save(args.out)
    print(json.dumps({"script": "train_harm_judge", "seed": SEED, "cap": CAP,
                      "leave_one_source_out": figures,
                      "xstest_leave_one_model_out": summary(xs_metrics),
                      "xstest_per_model_accuracy": per_model,
                      "model_bytes": args.out.stat().st_size}))


if __name__ == "__main__":
    main()
