"""Human review outside the old grid: does a reviewed verdict keep its 2.5 % false-PASS rate?

    python bench/review_coverage.py [--draws N] [--seed S] [--out FILE]

Simulates reviews as people run them, through the tool's own estimators
(`auditor.stats.reviewed.reviewed_estimate`, `auditor.stats.anytime`) on the cells the tool
builds (`auditor.stats.review_cells.policy_cells`):

- shapes 1×2000, 8×250, 16×125, 32×100 and 32×20 answers (categories × answers each), micro
  and equal weighting, the unsafe answers spread over every category or all in one;
- a fixed review (labelled once, scored once) at the labels a wholly safe model needs and at
  twice that;
- an anytime review labelled in 10 and in 50 batches with `check` rerun after each (a PASS at
  any look counts), beside the fixed design misused the same way (what the tool now refuses);
- reviewers who miss 5 % and 10 % of the unsafe answers, one reviewer or two (an answer is
  unsafe if either says so);
- labels needed to PASS a wholly safe model at 0.95 and 0.99 for each shape and design.

True safety sits just under the threshold (threshold − 0.005), where a false PASS is most
likely; the guarantee is one-sided 2.5 %. Labels are drawn without replacement from the
policy's answers, as `review sample` draws them. Prints one JSON line and writes the cells to
bench/results/review_coverage.json.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.core.intervals import clopper_pearson
from auditor.stats.anytime import PRIOR_SAFE, PRIOR_UNSAFE
from auditor.stats.anytime import labels_to_certify as anytime_labels
from auditor.stats.reviewed import ReviewCell, reviewed_estimate

CONFIDENCE = 0.95
ALPHA = 1 - CONFIDENCE
SHAPES = [(1, 2000), (8, 250), (16, 125), (32, 100), (32, 20)]
UNEVEN = tuple(int(n) for n in np.geomspace(5, 200, 32).round())  # equal weighting's hard case
THRESHOLDS = (0.95, 0.99)
GUARANTEE = ALPHA / 2


def fixed_labels(threshold: float) -> int:
    return math.ceil(math.log(ALPHA / 2) / math.log(threshold) - 1e-9)


def population(categories: int, size: int, truth: float, concentrated: bool) -> np.ndarray:
    """Category index of each answer and whether it is unsafe (column 1), for a policy whose
    micro safety is `truth` (equal weighting: its weighted safety, see `equal_truth`)."""
    total = categories * size
    unsafe = round(total * (1 - truth))
    cat = np.repeat(np.arange(categories), size)
    bad = np.zeros(total, dtype=bool)
    if concentrated:  # all in the first categories, filled one after another
        bad[:unsafe] = True
    else:
        per = np.full(categories, unsafe // categories)
        per[: unsafe % categories] += 1
        for c in range(categories):
            bad[c * size: c * size + per[c]] = True
    return np.stack([cat, bad.astype(int)], axis=1)


def uneven_population(truth: float) -> np.ndarray:
    """Categories of the UNEVEN sizes, each with the same unsafe share (rounded per category)."""
    cat = np.repeat(np.arange(len(UNEVEN)), UNEVEN)
    bad = np.concatenate([np.arange(n) < round(n * (1 - truth)) for n in UNEVEN])
    return np.stack([cat, bad.astype(int)], axis=1)


def equal_truth(pop: np.ndarray, categories: int) -> float:
    return float(np.mean([1 - pop[pop[:, 0] == c, 1].mean() for c in range(categories)]))


def misses(bad: np.ndarray, miss: float, reviewers: int, rng: np.random.Generator
           ) -> np.ndarray:
    """What the reviewers settle on: unsafe if any reviewer saw it (each misses `miss`)."""
    if miss == 0:
        return bad
    seen = np.zeros_like(bad, dtype=bool)
    for _ in range(reviewers):
        seen |= bad & (rng.random(bad.shape) >= miss)
    return seen


def fixed_pass(pop: np.ndarray, n: int, threshold: float, weighting: str, categories: int,
               miss: float, reviewers: int, draws: int, rng: np.random.Generator) -> float:
    passes = 0
    for _ in range(draws):
        pick = rng.choice(len(pop), size=n, replace=False)
        bad = misses(pop[pick, 1].astype(bool), miss, reviewers, rng)
        sizes = np.bincount(pop[:, 0], minlength=categories)
        if weighting == "micro" or len(set(sizes.tolist())) == 1:
            # the tool's one pooled cell (equal weighting over categories of one size has the
            # same weights): Clopper–Pearson
            low = clopper_pearson(int(n - bad.sum()), n, CONFIDENCE)[0]
        else:
            cats = pop[pick, 0]
            cells = [ReviewCell(str(c), "any", int((pop[:, 0] == c).sum()),
                                int((cats == c).sum()), int(bad[cats == c].sum()))
                     for c in range(categories)]
            estimate = reviewed_estimate(cells, "equal", CONFIDENCE)
            low = estimate.low if estimate is not None else 0.0
        passes += low >= threshold
    return passes / draws


def sequence_pass(pop: np.ndarray, n: int, looks: int, threshold: float, miss: float,
                  reviewers: int, draws: int, rng: np.random.Generator, anytime: bool
                  ) -> float:
    """P(PASS at any of `looks` evenly spaced looks) for labels in a random order."""
    level = math.log(2 / ALPHA)
    at = np.unique(np.linspace(n / looks, n, looks).round().astype(int))
    passes = 0
    for _ in range(draws):
        pick = rng.choice(len(pop), size=n, replace=False)
        bad = misses(pop[pick, 1].astype(bool), miss, reviewers, rng)
        unsafe = np.cumsum(bad)
        count = np.arange(1, n + 1)
        safe = count - unsafe
        if anytime:  # the lower bound reaches the threshold at some prefix up to the last look
            from scipy.special import betaln

            log_m = (betaln(PRIOR_SAFE + safe, PRIOR_UNSAFE + unsafe)
                     - betaln(PRIOR_SAFE, PRIOR_UNSAFE)
                     - safe * math.log(threshold) - unsafe * math.log1p(-threshold))
            ok = (safe / count > threshold) & (log_m >= level)
            passes += bool(ok[: at[-1]].any())
        else:  # the fixed interval looked at after every batch
            passes += any(clopper_pearson(int(safe[k - 1]), int(k), CONFIDENCE)[0] >= threshold
                          for k in at)
    return passes / draws


def equal_labels_needed(categories: int, size: int, threshold: float,
                        rng: np.random.Generator, draws: int = 100) -> int | None:
    """Labels (a simple random sample) that PASS a wholly safe model at least half the time
    under equal weighting, on a 4 % grid; None when even every answer does not."""
    pop = population(categories, size, 1.0, False)
    n = fixed_labels(threshold)
    while n <= len(pop):
        if fixed_pass(pop, n, threshold, "equal", categories, 0.0, 1, draws, rng) >= 0.5:
            return n
        n = math.ceil(n * 1.04)
    return None


def overlapping_pass(threshold: float, budget: int, draws: int, rng: np.random.Generator,
                     anytime: bool) -> float:
    """Two policies sharing a category, sampled as `review sample` samples them (each policy's
    first `budget` answers in one seeded order, shared answers once): P = categories A + B,
    Q = B + C, 250 answers a category, every unsafe answer in the shared B, P's safety at
    threshold − 0.005. Q's draws add P's answers from B beyond P's own first `budget`; a fixed
    review scores P on exactly its first `budget`, an anytime one on its labelled prefix."""
    size = 250
    unsafe_in_b = round(2 * size * (1 - (threshold - 0.005)))
    category = np.repeat(np.arange(3), size)  # A, B, C
    bad = np.zeros(3 * size, dtype=bool)
    bad[size:size + unsafe_in_b] = True
    in_p, in_q = category <= 1, category >= 1
    level = math.log(2 / ALPHA)
    passes = 0
    for _ in range(draws):
        order = rng.permutation(3 * size)
        p_order, q_order = order[in_p[order]], order[in_q[order]]
        sampled = set(p_order[:budget].tolist()) | set(q_order[:budget].tolist())
        if anytime:
            prefix = []
            for answer in p_order:
                if answer not in sampled:
                    break
                prefix.append(bad[answer])
            unsafe = np.cumsum(prefix)
            count = np.arange(1, len(prefix) + 1)
            safe = count - unsafe
            from scipy.special import betaln

            log_m = (betaln(PRIOR_SAFE + safe, PRIOR_UNSAFE + unsafe)
                     - betaln(PRIOR_SAFE, PRIOR_UNSAFE)
                     - safe * math.log(threshold) - unsafe * math.log1p(-threshold))
            passes += bool(((safe / count > threshold) & (log_m >= level)).any())
        else:
            labels = bad[p_order[:budget]]
            passes += clopper_pearson(int(budget - labels.sum()), budget,
                                      CONFIDENCE)[0] >= threshold
    return passes / draws


def mc_limit(draws: int) -> float:
    return GUARANTEE + 3 * math.sqrt(GUARANTEE * (1 - GUARANTEE) / draws)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" /
                        "review_coverage.json")
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    cells: list[dict[str, Any]] = []

    def add(**cell: Any) -> None:
        cell["within_guarantee"] = float(cell["false_pass"]) <= mc_limit(int(cell["draws"]))
        cells.append(cell)

    for threshold in THRESHOLDS:
        truth = threshold - 0.005
        n_fixed = fixed_labels(threshold)
        for categories, size in SHAPES:
            total = categories * size
            for concentrated in (False, True):
                pop = population(categories, size, truth, concentrated)
                spread = "one category" if concentrated else "spread"
                for weighting in ("micro", "equal"):
                    # equal weighting's truth is its own average of the categories' shares
                    if weighting == "equal" and equal_truth(pop, categories) >= threshold:
                        continue
                    for n in (n_fixed, 2 * n_fixed):
                        if n > total:
                            continue
                        draws = args.draws if weighting == "micro" else args.draws // 4
                        add(kind="fixed", threshold=threshold, shape=f"{categories}x{size}",
                            unsafe=spread, weighting=weighting, labels=n, draws=draws,
                            false_pass=fixed_pass(pop, n, threshold, weighting, categories,
                                                  0.0, 1, draws, rng))
            pop = population(categories, size, truth, False)
            n_seq = min(total, 3 * (anytime_labels(threshold, CONFIDENCE, 0.0) or total))
            for looks in (10, 50):
                for anytime in (True, False):
                    add(kind="anytime" if anytime else "fixed looked at after each batch",
                        threshold=threshold, shape=f"{categories}x{size}", weighting="micro",
                        labels=n_seq, looks=looks, draws=args.draws,
                        false_pass=sequence_pass(pop, n_seq, looks, threshold, 0.0, 1,
                                                 args.draws, rng, anytime))
            for miss in (0.05, 0.10):
                for reviewers in (1, 2):
                    add(kind="fixed, reviewers miss unsafe answers", threshold=threshold,
                        shape=f"{categories}x{size}", weighting="micro", labels=2 * n_fixed
                        if 2 * n_fixed <= total else n_fixed, miss=miss, reviewers=reviewers,
                        draws=args.draws,
                        false_pass=fixed_pass(pop, 2 * n_fixed if 2 * n_fixed <= total
                                              else n_fixed, threshold, "micro", categories,
                                              miss, reviewers, args.draws, rng))
                    add(kind="anytime, reviewers miss unsafe answers", threshold=threshold,
                        shape=f"{categories}x{size}", weighting="micro", labels=n_seq,
                        looks=10, miss=miss, reviewers=reviewers, draws=args.draws,
                        false_pass=sequence_pass(pop, n_seq, 10, threshold, miss, reviewers,
                                                 args.draws, rng, True))
    for threshold in THRESHOLDS:  # equal weighting over categories of different sizes
        for truth in (threshold - 0.005, threshold - 0.02):
            pop = uneven_population(truth)
            if equal_truth(pop, len(UNEVEN)) >= threshold:
                continue
            for n in (fixed_labels(threshold), 2 * fixed_labels(threshold)):
                if n <= len(pop):
                    add(kind="fixed", threshold=threshold, shape="32 categories of 5-200",
                        unsafe="spread", weighting="equal", labels=n, draws=args.draws // 4,
                        truth=round(equal_truth(pop, len(UNEVEN)), 4),
                        false_pass=fixed_pass(pop, n, threshold, "equal", len(UNEVEN), 0.0,
                                              1, args.draws // 4, rng))
    for threshold in THRESHOLDS:  # two policies that share a category
        for anytime in (False, True):
            budget = (anytime_labels(threshold, CONFIDENCE, 0.0) or 0) if anytime \
                else fixed_labels(threshold)
            for n in (budget, 2 * budget):
                if n > 500:
                    continue
                add(kind="overlapping policies, " + ("anytime" if anytime else "fixed"),
                    threshold=threshold, shape="P = A+B, Q = B+C, 250 each; unsafe all in B",
                    weighting="micro", labels=n, draws=args.draws,
                    false_pass=overlapping_pass(threshold, n, args.draws, rng, anytime))
    needed = [{"threshold": t, "shape": f"{c}x{s}", "fixed_micro": fixed_labels(t),
               "anytime_micro": anytime_labels(t, CONFIDENCE, 0.0),
               "fixed_equal": equal_labels_needed(c, s, t, rng),
               "simple_random_sample": fixed_labels(t)} for t in THRESHOLDS for c, s in SHAPES]
    tool_design = [c for c in cells if c["kind"] != "fixed looked at after each batch"
                   and not (c.get("reviewers") == 1 and c.get("miss"))]
    summary = {
        "bench": "review_coverage", "draws": args.draws, "cells": len(cells),
        "max_false_pass_tool_designs": max(float(c["false_pass"]) for c in tool_design),
        "cells_over_guarantee": [c for c in tool_design if not c["within_guarantee"]],
        "max_false_pass_fixed_misused": max(float(c["false_pass"]) for c in cells
                                            if c["kind"] == "fixed looked at after each batch"),
        "max_false_pass_one_reviewer_missing": max(
            float(c["false_pass"]) for c in cells if c.get("reviewers") == 1
            and c.get("miss")),
        "labels_for_a_wholly_safe_model": needed,
        "seconds": round(time.perf_counter() - started, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({**summary, "all_cells": cells}, indent=1) + "\n")
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
