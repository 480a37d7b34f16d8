"""Human review outside the old grid: does a reviewed verdict keep its 2.5 % false-PASS rate?

    python bench/review_coverage.py [--draws N] [--seed S] [--out FILE]

Simulates reviews as people run them, through the tool's own estimators
(`auditor.stats.reviewed.reviewed_estimate`, `auditor.stats.anytime`) on the cells the tool
builds (`auditor.stats.review_cells.policy_cells`). The grid cells measure the estimators
0.3.0 scored every review with, which this version keeps for equal weighting and for samples
drawn before it (the pooled reviews of 0.4.0 are measured by `bench/review_labels.py`); the
flow cells (`bench/helpers/review_flows.py`) run the shipped flow, so they measure this
version's pooled reviews:

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
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.review_flows import Review, Reviewer, Run, misses_unsafe, skips_unsafe, truthful

from auditor.core import taxonomy
from auditor.core.intervals import clopper_pearson
from auditor.stats.anytime import PRIOR_SAFE, PRIOR_UNSAFE
from auditor.stats.anytime import labels_to_certify as anytime_labels
from auditor.stats.reviewed import ReviewCell, reviewed_estimate
from auditor.stats.scoring import PolicyRecord

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


def mc_limit(draws: int) -> float:
    return GUARANTEE + 3 * math.sqrt(GUARANTEE * (1 - GUARANTEE) / draws)


CRIME = ["crime_theft", "crime_cyber", "crime_tax", "crime_privacy", "crime_other"]


def umbrella_run(threshold: float, truth: float, unsafe_in: str) -> Run:
    """An umbrella policy P over five crime categories (1,500 answers in crime_theft, 250 in
    each of the others) beside four narrow policies Q1-Q4, one shared category each. P's
    unsafe answers sit in its own category, or are spread over the shared ones."""
    sizes = {c: 1500 if c == "crime_theft" else 250 for c in CRIME}
    total_unsafe = round(sum(sizes.values()) * (1 - truth))
    if unsafe_in == "umbrella's own":
        unsafe = {"crime_theft": total_unsafe}
    else:
        unsafe = {c: total_unsafe // 4 + (i < total_unsafe % 4) for i, c in enumerate(CRIME[1:])}
    policies = {"P": CRIME, **{f"Q{i}": [c] for i, c in enumerate(CRIME[1:], 1)}}
    return Run(sizes, unsafe, policies, threshold)


def flow_rates(make: Callable[[int, np.random.Generator], dict[str, PolicyRecord]],
               draws: int, seed: int, policy: str | None = None) -> tuple[float, float]:
    """(share of draws with a PASS, share with a FAIL) for `policy`, or for any policy."""
    rng = np.random.default_rng(seed)
    passes = fails = 0
    for draw in range(draws):
        records = make(draw, rng)
        chosen = [records[policy]] if policy else list(records.values())
        passes += any(r.verdict == "PASS" for r in chosen)
        fails += any(r.verdict == "FAIL" for r in chosen)
    return passes / draws, fails / draws


def shipped_flow_cells(draws: int, seed: int) -> list[dict[str, Any]]:
    """Cells run through the shipped review flow (bench/helpers/review_flows.py): sample →
    label → check, with each policy's budget, as people label (truthfully, skipping, missing
    unsafe answers), fixed reviews grown only where the tool allows, 30 policies at once."""
    cells: list[dict[str, Any]] = []
    threshold = 0.95

    started = time.perf_counter()

    def add(**cell: Any) -> None:
        nonlocal started
        cell["flow"] = True
        cell["seconds"] = round(time.perf_counter() - started, 1)
        started = time.perf_counter()
        limit = mc_limit(int(cell["draws"]))
        cell["within_guarantee"] = all(float(cell.get(k, 0.0)) <= limit
                                       for k in ("false_pass", "false_fail"))
        cells.append(cell)
        print(json.dumps(cell), file=sys.stderr)

    def one_review(run: Run, scoring: str, budget: int, reviewer: Reviewer = truthful,
                   checks: bool = False) -> Callable[[int, np.random.Generator],
                                                     dict[str, PolicyRecord]]:
        def make(draw: int, rng: np.random.Generator) -> dict[str, PolicyRecord]:
            review = Review(run, draw, scoring, {}, reviewer, rng)
            review.sample({p: budget for p in run.policies})
            review.label(with_checks=checks)
            records: dict[str, PolicyRecord] = review.verdicts(measured_misses=checks)
            return records
        return make

    for unsafe_in in ("umbrella's own", "the shared categories"):
        for scoring, budget in (("anytime", 122), ("anytime", 500), ("fixed", 72),
                                ("fixed", 500)):
            below = umbrella_run(threshold, threshold - 0.005, unsafe_in)
            at = umbrella_run(threshold, threshold, unsafe_in)
            false_pass, _ = flow_rates(one_review(below, scoring, budget), draws, seed, "P")
            _, false_fail = flow_rates(one_review(at, scoring, budget), draws, seed, "P")
            add(kind=f"umbrella policy beside narrow ones, {scoring}", threshold=threshold,
                unsafe=f"in {unsafe_in}", labels=budget, draws=draws,
                false_pass=false_pass, false_fail=false_fail)

    lone = Run({"crime_cyber": 2000}, {"crime_cyber": round(2000 * 0.055)},
               {"P": ["crime_cyber"]}, threshold)
    lone_at = Run({"crime_cyber": 2000}, {"crime_cyber": round(2000 * 0.05)},
                  {"P": ["crime_cyber"]}, threshold)
    for step in (None, 50):  # grown as `check` advises, or by 50 labels a round
        for scoring, first in (("fixed", 72), ("anytime", 122)):
            def grown(draw: int, rng: np.random.Generator, run: Run = lone,
                      scoring: str = scoring, first: int = first, step: int | None = step
                      ) -> dict[str, PolicyRecord]:
                review = Review(run, draw, scoring, {}, truthful, rng)
                budget = first
                while True:
                    review.sample({"P": budget})
                    review.label()
                    records: dict[str, PolicyRecord] = review.verdicts()
                    record = records["P"]
                    if record.verdict != "INCONCLUSIVE" or budget >= 1000:
                        return records
                    advised = record.labels_needed if step is None else budget + step
                    if advised is None or advised <= budget:
                        return records
                    if "P" in review.looked():  # `review sample` refuses: the verdict stands
                        return records
                    budget = min(1000, advised)
            rounds = max(100, draws // 3)  # each draw rescored after every round
            false_pass, _ = flow_rates(grown, rounds, seed, "P")
            _, false_fail = flow_rates(partial(grown, run=lone_at), rounds, seed, "P")
            add(kind=f"{scoring} review grown " + ("as advised" if step is None
                                                   else "by 50 labels a round"),
                threshold=threshold, shape="1x2000", labels=f"{first} up to 1000",
                draws=rounds, false_pass=false_pass, false_fail=false_fail)

    for share in (0.5, 1.0):  # a reviewer who skips unsafe answers
        for scoring, budget in (("anytime", 500), ("fixed", 500)):
            false_pass, _ = flow_rates(one_review(lone, scoring, budget, skips_unsafe(share)),
                                       draws, seed, "P")
            add(kind=f"reviewer skips {share:.0%} of unsafe answers, {scoring}",
                threshold=threshold, shape="1x2000", labels=budget, draws=draws,
                false_pass=false_pass)

    # One reviewer missing 10 % of unsafe answers, at 2,000 labels of 20,000 answers whose
    # safety sits just under the threshold (where misses tip a verdict most often).
    big = Run({"crime_cyber": 20000}, {"crime_cyber": round(20000 * (1 - threshold + 0.001))},
              {"P": ["crime_cyber"]}, threshold)
    for checks in (True, False):
        false_pass, _ = flow_rates(one_review(big, "fixed", 2000, misses_unsafe(0.10), checks),
                                   max(200, draws // 3), seed, "P")
        add(kind="one reviewer missing 10 % of unsafe answers, fixed, "
                 + ("measured-miss checks on" if checks else "checks not weighed"),
            threshold=threshold, shape="1x20000", truth=threshold - 0.001, labels=2000,
            draws=max(200, draws // 3), false_pass=false_pass, not_the_tools_design=not checks)

    cats = list(taxonomy.MICRO)[:30]
    for truth, direction in ((threshold - 0.005, "false_pass"), (threshold, "false_fail")):
        run = Run({c: 400 for c in cats}, {c: round(400 * (1 - truth)) for c in cats},
                  {f"P{i}": [c] for i, c in enumerate(cats)}, threshold)
        for family_wise in (False, True):
            def many(draw: int, rng: np.random.Generator, run: Run = run,
                     family_wise: bool = family_wise) -> dict[str, PolicyRecord]:
                review = Review(run, draw, "fixed", {}, truthful, rng)
                review.sample({p: 144 for p in run.policies})
                review.label()
                records: dict[str, PolicyRecord] = review.verdicts(family_wise=family_wise)
                return records
            passes, fails = flow_rates(many, max(200, draws // 4), seed)
            add(kind="30 policies, any verdict wrong, fixed, "
                     + ("family_wise (Holm)" if family_wise else "per-verdict rule"),
                threshold=threshold, shape="30x400", labels=144, draws=max(200, draws // 4),
                **{direction: passes if direction == "false_pass" else fails},
                not_the_tools_design=not family_wise)
    return cells


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=20261204)
    parser.add_argument("--flow-draws", type=int, default=600,
                        help="Draws for each cell run through the shipped review flow.")
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
    cells += shipped_flow_cells(args.flow_draws, args.seed)
    needed = [{"threshold": t, "shape": f"{c}x{s}", "fixed_micro": fixed_labels(t),
               "anytime_micro": anytime_labels(t, CONFIDENCE, 0.0),
               "fixed_equal": equal_labels_needed(c, s, t, rng),
               "simple_random_sample": fixed_labels(t)} for t in THRESHOLDS for c, s in SHAPES]
    tool_design = [c for c in cells if c["kind"] != "fixed looked at after each batch"
                   and not (c.get("reviewers") == 1 and c.get("miss"))
                   and not c.get("not_the_tools_design")]
    flows = [c for c in cells if c.get("flow")]
    summary = {
        "bench": "review_coverage", "draws": args.draws, "cells": len(cells),
        "max_false_pass_tool_designs": max(float(c.get("false_pass", 0.0))
                                           for c in tool_design),
        "cells_over_guarantee": [c for c in tool_design if not c["within_guarantee"]],
        "max_false_pass_fixed_misused": max(float(c["false_pass"]) for c in cells
                                            if c["kind"] == "fixed looked at after each batch"),
        "shipped_flows": {
            "cells": len(flows),
            "max_false_pass": max(float(c["false_pass"]) for c in flows
                                  if "false_pass" in c and not c.get("not_the_tools_design")),
            "max_false_fail": max(float(c["false_fail"]) for c in flows if "false_fail" in c
                                  and not c.get("not_the_tools_design")),
            "thirty_policies_any_wrong": {
                c["kind"].rsplit(", ", 1)[1] + (" false PASS" if "false_pass" in c
                                                 else " false FAIL"):
                c.get("false_pass", c.get("false_fail")) for c in flows
                if c["kind"].startswith("30 policies")},
            "one_reviewer_missing_10_percent": {
                c["kind"].rsplit(", ", 1)[1]: c["false_pass"] for c in flows
                if c["kind"].startswith("one reviewer missing")},
        },
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
