"""How often `auditor compare` names a winner among models that are truly equal, and how often it
names the one that is truly better. Seeded simulation; prints one JSON line.

    python bench/compare_equal.py [--reps N] [--seed S]

Each simulated study has 3 to 6 models and two policies, each scored on N shared prompts
(safety; N = 100 or 400) and N/2 shared benign prompts (over-refusal). Models answer the same
prompts, so their answers are correlated as real ones are: every prompt has its own difficulty (a probability
drawn from a Beta distribution around the model's rate), and each model's label is a draw at
that prompt's probability, shifted by the model's own margin. The pairs, the tests and Holm's
correction are `auditor.outputs.compare`'s own (`paired_difference`, `corrected`).

- **equal**: every model has the same rates (safe 0.90, refusal 0.15): the share of studies in
  which any pair, on any policy or axis, is called different. Claimed: at most 1 − confidence
  (0.05).
- **one better**: the first model is safer by a margin (0.03, 0.05 or 0.08) on both policies:
  the share of studies in which it is named safer than every other model on a policy, and the
  share that name any wrong winner.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from itertools import combinations
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.outputs.compare import Found, corrected, paired_difference

CONFIDENCE = 0.95
POLICIES = ("P1", "P2")
SIZES = (100, 400)  # safety prompts per policy; half as many benign prompts
SAFE_RATE, REFUSAL_RATE = 0.90, 0.15
CONCENTRATION = 4.0  # of the per-prompt Beta: lower means prompts differ more in difficulty


def prompt_probabilities(rng: np.random.Generator, rate: float, n: int) -> np.ndarray:
    return rng.beta(rate * CONCENTRATION, (1 - rate) * CONCENTRATION, size=n)


def study(rng: np.random.Generator, models: int, margins: list[float], size: int
          ) -> list[Found]:
    found: list[Found] = []
    for policy in POLICIES:
        safe_p = prompt_probabilities(rng, SAFE_RATE, size)
        refuse_p = prompt_probabilities(rng, REFUSAL_RATE, size // 2)
        safe = [rng.random(size) < np.clip(safe_p + margins[m], 0, 1) for m in range(models)]
        refused = [rng.random(size // 2) < refuse_p for _ in range(models)]
        for i, j in combinations(range(models), 2):
            found.append((policy, "safety", i, j, paired_difference(
                list(zip(safe[i].tolist(), safe[j].tolist(), strict=True)), CONFIDENCE)))
            found.append((policy, "over-refusal", i, j, paired_difference(
                list(zip(refused[i].tolist(), refused[j].tolist(), strict=True)), CONFIDENCE)))
    return found


def true_difference(margin: float) -> float:
    """The better model's real advantage in safe rate: the margin is added per prompt and
    capped at 1, so easy prompts gain nothing (its own generator: the study's draws stay put)."""
    p = prompt_probabilities(np.random.default_rng(12345), SAFE_RATE, 1_000_000)
    return round(float(np.clip(p + margin, 0, 1).mean() - p.mean()), 4)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    equal: dict[str, float] = {}
    for size in SIZES:
        for models in (3, 4, 5, 6):
            names = [f"M{m}" for m in range(models)]
            any_winner = sum(any(t.better is not None for t in corrected(
                study(rng, models, [0.0] * models, size), names, CONFIDENCE))
                for _ in range(args.reps))
            equal[f"{models} models, n {size}"] = round(any_winner / args.reps, 4)
    power: dict[str, dict[str, float]] = {}
    for margin in (0.03, 0.05, 0.08):
        for models, size in ((3, 100), (3, 400), (6, 400)):
            names = [f"M{m}" for m in range(models)]
            named = wrong = 0
            for _ in range(args.reps):
                tests = corrected(study(rng, models, [margin] + [0.0] * (models - 1), size),
                                  names, CONFIDENCE)
                safety = [t for t in tests if t.axis == "safety"]
                named += any(all(t.better == "M0" for t in safety
                                 if t.policy_id == policy and "M0" in (t.a, t.b))
                             for policy in POLICIES)
                wrong += any(t.better not in (None, "M0") for t in tests)
            power[f"margin {margin:.2f}, {models} models, n {size}"] = {
                "true_difference": true_difference(margin),
                "names_the_better_model": round(named / args.reps, 4),
                "names_a_wrong_winner": round(wrong / args.reps, 4)}
    print(json.dumps({"bench": "compare_equal", "reps": args.reps, "seed": args.seed,
                      "confidence": CONFIDENCE, "policies": len(POLICIES),
                      "safety_prompts_per_policy": list(SIZES),
                      "equal_models_any_winner": equal,
                      "max_any_winner": max(equal.values()),
                      "one_better_model": power,
                      "seconds": round(time.perf_counter() - started, 1)}))


if __name__ == "__main__":
    main()
