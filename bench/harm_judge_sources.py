"""Does the harm judge hold on sources it never saw? Leave one source out, three recipes. Seeded,
offline.

    python bench/harm_judge_sources.py [--cap 800]

For each human-labelled harm source the project ships, held out whole in turn, the packaged
judge's architecture (`auditor.judges.harm_model.train`, behind the packaged refusal gate) is
trained three ways and measured on the held-out source:

- `before` — what the judge shipped with until issue 23: HarmBench half A, XSTest's answers to
  unsafe prompts and the project's examples (minus the held-out source), reading the answer
  whole;
- `all_sources` — every other source, each capped at `--cap` answers (whole requests kept
  together) so that GPTFuzz's 6,492 narrow rows do not swamp the rest, plus HarmBench against
  its test cases, still reading the answer whole;
- `shipped` — the same data, reading the answer's later turns too (a refusal followed by a
  persona that complies; `auditor.judges.harm_model.later_turns`): the shipped recipe, whose
  figures are the packaged card's.

XSTest is not held out: the refusal gate is trained on it. HarmBench is also measured against
the test case the model saw (often a jailbreak template), as `harmbench-test-case`. Prints one
JSON line: per held-out source, accuracy, sensitivity and specificity of each recipe.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

import train_harm_judge as shipped  # noqa: E402  (scripts/: the shipped judge's recipe)

from auditor.data.labelled_sets import data_dir  # noqa: E402
from auditor.judges import harm_model  # noqa: E402


@contextmanager
def whole_answers_only() -> Iterator[None]:
    """The judge as it was before it read later turns."""
    original = harm_model.later_turns
    harm_model.later_turns = lambda answer: []
    try:
        yield
    finally:
        harm_model.later_turns = original


def before(sources: dict[str, list[shipped.Row]], test_cases: list[shipped.Row],
           always: list[shipped.Row]) -> dict[str, dict[str, float]]:
    result = {}
    with whole_answers_only():
        for name in shipped.HELD_OUT:
            rows = always + ([] if name == "harmbench" else sources["harmbench"])
            model = shipped.fit(rows)
            result[name] = shipped.rates(shipped.held_out_counts(model, sources[name]))
            if name == "harmbench":
                result["harmbench-test-case"] = shipped.rates(
                    shipped.held_out_counts(model, test_cases))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cap", type=int, default=shipped.CAP, help="answers per source")
    args = parser.parse_args()
    started = time.perf_counter()
    sources, test_cases, always = shipped.load_sources(data_dir())

    def rated(counts: dict[str, dict[str, int]]) -> dict[str, dict[str, float]]:
        return {name: shipped.rates(c) for name, c in counts.items()}

    recipes = {"before": before(sources, test_cases, always)}
    with whole_answers_only():
        recipes["all_sources"] = rated(shipped.leave_one_source_out(sources, test_cases, always,
                                                                    cap=args.cap))
    recipes["shipped"] = rated(shipped.leave_one_source_out(sources, test_cases, always,
                                                            cap=args.cap))
    held_out = {name: {recipe: figures[name] for recipe, figures in recipes.items()}
                for name in recipes["shipped"]}
    print(json.dumps({"benchmark": "harm_judge_sources", "cap": args.cap, "held_out": held_out,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
