"""Would training the harm judge on more kinds of labelled answers make it hold on sources it
never saw? Leave one source out, same model, two training sets. Seeded, offline.

    python bench/harm_judge_sources.py [--cap 800]

For each human-labelled harm source the project ships, held out in turn, the packaged judge's
architecture (`auditor.judges.harm_model.train`, behind the packaged refusal gate) is trained
on (a) what the shipped judge trains on — HarmBench half A, XSTest's answers to unsafe prompts
and the project's examples — minus the held-out source, and (b) every other source, each capped
at `--cap` answers (whole requests kept together) so that GPTFuzz's 6,492 narrow rows do not
swamp the rest. Both are measured on the held-out source. XSTest is not held out: the refusal
gate is trained on it. Prints one JSON line: per held-out source, accuracy, sensitivity and
specificity of (a) and (b). This is the measurement issue 23 starts from; nothing is shipped.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_harm_judge as shipped  # noqa: E402  (scripts/: the shipped judge's readers)

from auditor.data.labelled_sets import HARM_EXTRA, data_dir, load_labelled_set  # noqa: E402
from auditor.judges.harm import packaged_refusal_gate  # noqa: E402
from auditor.judges.harm_model import train  # noqa: E402

Row = dict[str, str | int]
SEED = 20261128


def extra_rows(name: str) -> list[Row]:
    labelled = load_labelled_set(f"builtin:{name}")
    return [{"request": a.prompt, "answer": a.response, "harmful": int(a.label == "unsafe"),
             "group": a.prompt} for a in labelled.answers]


def capped(rows: list[Row], cap: int, rng: random.Random) -> list[Row]:
    """At most about `cap` rows, whole requests at a time, chosen at random."""
    if len(rows) <= cap:
        return rows
    groups = sorted({str(r["group"]) for r in rows})
    rng.shuffle(groups)
    keep: set[str] = set()
    count = 0
    for group in groups:
        if count >= cap:
            break
        keep.add(group)
        count += sum(1 for r in rows if r["group"] == group)
    return [r for r in rows if r["group"] in keep]


def measure(train_rows: list[Row], test_rows: list[Row]) -> dict[str, float]:
    model = train([str(r["request"]) for r in train_rows], [str(r["answer"]) for r in train_rows],
                  [int(r["harmful"]) for r in train_rows], packaged_refusal_gate(), seed=SEED)
    harm = model.harm_probability([str(r["request"]) for r in test_rows],
                                  [str(r["answer"]) for r in test_rows])
    truth = [int(r["harmful"]) for r in test_rows]
    flagged = [int(p >= 0.5) for p in harm]
    tp = sum(t and f for t, f in zip(truth, flagged, strict=True))
    tn = sum(not t and not f for t, f in zip(truth, flagged, strict=True))
    positives = sum(truth)
    return {"accuracy": round((tp + tn) / len(truth), 3),
            "sensitivity": round(tp / max(1, positives), 3),
            "specificity": round(tn / max(1, len(truth) - positives), 3)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=int, default=800, help="answers per source, at most")
    args = parser.parse_args()
    started = time.perf_counter()
    data = data_dir()
    rng = random.Random(SEED)
    shipped_sources = {"harmbench": shipped.read_harmbench(data),
                       "xstest": shipped.read_xstest(data)}
    project = shipped.read_project(data)
    sources = {**shipped_sources, **{name: extra_rows(name) for name in HARM_EXTRA}}
    capped_sources = {name: capped(rows, args.cap, rng) for name, rows in sources.items()}
    held_out = {}
    for name, rows in sources.items():
        if name == "xstest":
            continue
        as_shipped = [r for s, rs in shipped_sources.items() if s != name for r in rs] + project
        wider = [r for s, rs in capped_sources.items() if s != name for r in rs] + project
        held_out[name] = {"n": len(rows), "as_shipped": measure(as_shipped, rows),
                          "all_other_sources": measure(wider, rows)}
    print(json.dumps({"benchmark": "harm_judge_sources", "cap": args.cap, "held_out": held_out,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
