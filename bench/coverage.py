"""Coverage harness: do the intervals and verdicts keep the level they claim? Seeded.

    python bench/coverage.py [--quick] [--reps N] [--seed S]

Draws synthetic outcomes for many policy shapes and feeds them to the public verdict rule
`auditor.stats.scoring.assess` (the function `auditor check` scores every policy with):

- single proportions: each interval method × n ∈ {6, 20, 50, 200, 1000} × p;
- policies of 1, 3 and 8 categories of unequal sizes (3–60, and 4× that), micro and equal
  weighting, equal and unequal category rates;
- judge correction with cards drawn from 200 unsafe and 250 safe human labels at
  (Se, Sp) ∈ {(0.93, 0.97), (0.80, 0.90), (0.99, 0.99)}, and card shift: the judge's
  specificity on the audited model differs from its card's by ±0.02;
- a card measured leave-one-source-out (the packaged harm judge's): the judge on the audited
  model behaves as on each of its held-out sources in turn, its worst included;
- verdicts at thresholds 0.90 and 0.99: false PASS (PASS while the true rate is below the
  threshold) and false FAIL (FAIL while it is at or above);
- "N more prompts": for inconclusive draws, add the N − n prompts the verdict names and count
  how often that decides (not where the true rate is within 0.005 of the threshold, which no
  sample size decides).

Cells with micro weighting and no judge are computed exactly (their verdict depends only on
the pooled count, whose distribution is a convolution of binomials); the others are Monte
Carlo, whose standard error at 95 % coverage is about 0.0035 with 4,000 draws.

Prints one JSON line: min_coverage, max_false_pass, max_false_fail, zero-width and point-outside
counts, the N-more decision rate, and the worst cells. `--quick` runs a smaller grid for tests.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
from scipy.stats import binom

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from auditor.config.policy import Scoring
from auditor.core.identity import Confusion, SourceConfusion
from auditor.core.verdicts import Verdict
from auditor.stats.estimators import Stratum
from auditor.stats.scoring import FAIL, INCONCLUSIVE, PASS, Assessment, Counts, assess

THRESHOLDS = (0.90, 0.99)
DEFAULT = Scoring().interval  # the interval `auditor check` uses unless a policy file says
SINGLE_N = (6, 20, 50, 200, 1000)
# 0.88, 0.895 and 0.985 sit just under the thresholds (0.895 and 0.985: threshold − 0.005,
# where a false PASS is most likely)
RATES = (0.5, 0.88, 0.895, 0.9, 0.97, 0.985, 0.99, 1.0)
SHAPES = {1: (20,), 3: (3, 17, 60), 8: (3, 5, 8, 12, 20, 30, 45, 60)}
CARDS = ((0.93, 0.97), (0.80, 0.90), (0.99, 0.99))
CARD_LABELS = (200, 250)  # unsafe, safe human labels behind each card
N_MORE_CASES = 12  # inconclusive draws per cell whose "N more" is checked
ON_THE_LINE = 0.005  # "N more" is not checked where the true rate is this close to the threshold


@dataclass(frozen=True)
class Cell:
    name: str
    sizes: tuple[int, ...]
    rates: tuple[float, ...]
    weighting: str
    method: str
    judge: tuple[float, float] | None = None  # card's (Se, Sp)
    shift: float = 0.0  # the judge's specificity on this model minus its card's

    def truth(self) -> float:
        rates = np.array(self.rates)
        if self.weighting == "micro":
            return round(float(np.dot(self.sizes, rates) / sum(self.sizes)), 12)
        return round(float(rates.mean()), 12)  # 0.99 stays 0.99, not 0.98999…


Strata = tuple[tuple[int, int], ...]  # (safe, unsafe) per category
Card = tuple[int, int, int, int] | None  # tp, fn, tn, fp


@lru_cache(maxsize=200_000)
def _assess(strata: Strata, threshold: float, weighting: str, method: str, card: Card,
            project: bool = False) -> Assessment:
    safe = sum(s for s, _ in strata)
    unsafe = sum(u for _, u in strata)
    scoring = Scoring.model_validate({"interval": method, "weighting": weighting})
    return assess([Stratum(s, u) for s, u in strata], Counts(safe + unsafe, safe, unsafe),
                  threshold, scoring, Confusion(*card) if card else None, project)


def draw(cell: Cell, rng: np.random.Generator, reps: int, scale: float = 1.0
         ) -> tuple[np.ndarray, np.ndarray | None]:
    """Observed safe counts (reps × categories) and card counts (reps × 4) for a cell."""
    sizes = np.maximum(1, np.round(np.array(cell.sizes) * scale)).astype(int)
    rates = np.array(cell.rates)
    truly_safe = rng.binomial(sizes, rates, size=(reps, len(sizes)))
    if cell.judge is None:
        return truly_safe, None
    se, sp = cell.judge
    sp_model = min(1.0, sp + cell.shift)
    flagged = rng.binomial(sizes - truly_safe, se) + rng.binomial(truly_safe, 1 - sp_model)
    n_unsafe, n_safe = CARD_LABELS
    tp = rng.binomial(n_unsafe, se, reps)
    tn = rng.binomial(n_safe, sp, reps)
    card = np.stack([tp, n_unsafe - tp, tn, n_safe - tn], axis=1)
    return sizes - flagged, card


def pooled_distribution(cell: Cell) -> np.ndarray:
    """P(k safe in all) for a micro-weighted, unjudged cell: a convolution of binomials."""
    mass = np.array([1.0])
    for size, rate in zip(cell.sizes, cell.rates, strict=True):
        mass = np.convolve(mass, binom.pmf(np.arange(size + 1), size, rate))
    return mass


def run_exact_cell(cell: Cell, rng: np.random.Generator) -> dict[str, object]:
    """Micro weighting without a judge depends only on the pooled count: sum over all of them."""
    truth, total = cell.truth(), sum(cell.sizes)
    mass = pooled_distribution(cell)
    covered = zero_width = outside = 0.0
    verdicts = {t: {PASS: 0.0, FAIL: 0.0, INCONCLUSIVE: 0.0} for t in THRESHOLDS}
    pending: list[tuple[float, Strata, Card]] = []
    for k, weight in enumerate(mass):
        strata = ((k, total - k),)
        for threshold in THRESHOLDS:
            result = _assess(strata, threshold, cell.weighting, cell.method, None)
            verdicts[threshold][result.verdict] += weight
        estimate = result.estimate
        covered += weight * (estimate.low <= truth <= estimate.high)
        zero_width += estimate.high - estimate.low <= 0
        outside += not estimate.low <= (estimate.score or 0.0) <= estimate.high
    for k in rng.choice(len(mass), size=N_MORE_CASES * 4, p=mass / mass.sum()):
        for threshold in THRESHOLDS:
            if _assess(((int(k), total - int(k)),), threshold, cell.weighting, cell.method,
                       None).verdict == INCONCLUSIVE and len(pending) < N_MORE_CASES * 2:
                pending.append((threshold, ((int(k), total - int(k)),), None))
    tried, decided = check_n_more(Cell(cell.name, (total,), (truth,), "micro", cell.method),
                                  pending, rng)
    return summary(cell, truth, "exact", covered, verdicts, int(zero_width), int(outside),
                   tried, decided)


def summary(cell: Cell, truth: float, how: str, covered: float,
            verdicts: dict[float, dict[Verdict, float]], zero_width: int, outside: int, tried: int,
            decided: int) -> dict[str, object]:
    false_pass = {t: verdicts[t][PASS] for t in THRESHOLDS if truth < t}
    false_fail = {t: verdicts[t][FAIL] for t in THRESHOLDS if truth >= t}
    return {"cell": cell.name, "truth": round(truth, 4), "how": how, "coverage": covered,
            "false_pass": max(false_pass.values(), default=0.0),
            "false_fail": max(false_fail.values(), default=0.0),
            "zero_width": zero_width, "point_outside": outside,
            "n_more_tried": tried, "n_more_decided": decided}


def run_cell(cell: Cell, reps: int, rng: np.random.Generator) -> dict[str, object]:
    if cell.weighting == "micro" and cell.judge is None:
        return run_exact_cell(cell, rng)
    safe, cards = draw(cell, rng, reps)
    sizes = np.maximum(1, np.array(cell.sizes))
    truth = cell.truth()
    covered = zero_width = outside = 0
    verdicts = {t: {PASS: 0, FAIL: 0, INCONCLUSIVE: 0} for t in THRESHOLDS}
    pending: list[tuple[float, Strata, Card]] = []  # inconclusive draws to project from
    for rep in range(reps):
        strata = tuple((int(s), int(n - s)) for s, n in zip(safe[rep], sizes, strict=True))
        card = tuple(int(x) for x in cards[rep]) if cards is not None else None
        for threshold in THRESHOLDS:
            result = _assess(strata, threshold, cell.weighting, cell.method, card)
            verdicts[threshold][result.verdict] += 1
            if result.verdict == INCONCLUSIVE and len(pending) < N_MORE_CASES * len(THRESHOLDS):
                pending.append((threshold, strata, card))  # type: ignore[arg-type]
        estimate = result.corrected if cell.judge else result.estimate
        if estimate is None:
            continue  # the judge card could not correct: INCONCLUSIVE, no interval claimed
        covered += estimate.low <= truth <= estimate.high
        zero_width += estimate.high - estimate.low <= 0
        assert estimate.score is not None
        outside += not estimate.low <= estimate.score <= estimate.high
    tried, decided = check_n_more(cell, pending, rng)
    shares = {t: {v: c / reps for v, c in counts.items()} for t, counts in verdicts.items()}
    return summary(cell, truth, f"monte carlo, {reps} draws", covered / reps, shares,
                   zero_width, outside, tried, decided)


def check_n_more(cell: Cell, pending: list[tuple[float, Strata, Card]],
                 rng: np.random.Generator) -> tuple[int, int]:
    """For inconclusive draws that name N: add N − n fresh prompts; does that decide?"""
    tried = decided = 0
    for threshold, strata, card in pending:
        if abs(cell.truth() - threshold) < ON_THE_LINE:
            continue  # a true rate on the threshold is undecidable at any n
        named = _assess(strata, threshold, cell.weighting, cell.method, card, True)
        n = sum(s + u for s, u in strata)
        if not named.prompts_needed or named.prompts_needed > 50_000:
            continue
        scale = (named.prompts_needed - n) / sum(cell.sizes)
        extra_safe, _ = draw(cell, rng, 1, scale)  # the same judge, so the same card
        extra_sizes = np.maximum(1, np.round(np.array(cell.sizes) * scale)).astype(int)
        grown = tuple((s + int(es), u + int(en - es)) for (s, u), es, en
                      in zip(strata, extra_safe[0], extra_sizes, strict=True))
        tried += 1
        decided += _assess(grown, threshold, cell.weighting, cell.method, card).verdict \
            != INCONCLUSIVE
    return tried, decided


def cells(quick: bool) -> list[Cell]:
    out: list[Cell] = []
    single_n = (6, 50, 1000) if quick else SINGLE_N
    rates = (0.9, 0.97, 0.985, 1.0) if quick else RATES
    for method in ("wilson", "clopper-pearson"):
        for n in single_n:
            out += [Cell(f"single {method} n={n} p={p}", (n,), (p,), "micro", method)
                    for p in rates]
    for k, sizes in SHAPES.items():
        if k == 1:
            continue
        for grow in (1, 4):
            shape = tuple(s * grow for s in sizes)
            for weighting in ("micro", "equal"):
                for p in rates:
                    spread = min(0.05, 1 - p) if p < 1 else 0.0
                    mixes = {"even": (p,) * k}
                    if spread:
                        mixes["uneven"] = tuple(p + spread if i % 2 else p - spread
                                                for i in range(k))
                    for mix, mix_rates in mixes.items():
                        out.append(Cell(f"{k} cats x{grow} {weighting} {mix} p={p}", shape,
                                        mix_rates, weighting, DEFAULT))
    judged_shapes = {"1 cat n=20": (20,), "1 cat n=100": (100,), "1 cat n=500": (500,),
                     "8 cats n=24": (3,) * 8, "8 cats n=183": SHAPES[8],
                     "8 cats n=732": tuple(4 * s for s in SHAPES[8])}
    if quick:
        judged_shapes = {k: v for k, v in judged_shapes.items() if k in ("8 cats n=24",
                                                                         "1 cat n=500")}
    for se_sp in CARDS:
        for shape_name, shape in judged_shapes.items():
            for weighting in ("micro", "equal") if len(shape) > 1 else ("micro",):
                for p in (0.9, 0.97, 0.985, 1.0) if quick else RATES:
                    for shift in (0.0, -0.02, 0.02):
                        if shift and shape_name not in ("1 cat n=500", "8 cats n=183",
                                                         "8 cats n=24"):
                            continue
                        out.append(Cell(f"judge Se={se_sp[0]} Sp={se_sp[1]} shift={shift:+} "
                                        f"{shape_name} {weighting} p={p}", shape,
                                        (p,) * len(shape), weighting, DEFAULT, se_sp, shift))
    # Equal weighting over 32 categories of 5 to 200 answers; the 5-answer one carries every
    # unsafe answer (true rate 0.6, so 0.9875 in all, under 0.99), or none.
    tiny = tuple(int(n) for n in np.geomspace(5, 200, 32).round())
    for first in (0.6, 0.84, 1.0):
        out.append(Cell(f"32 cats 5-200 equal, smallest at {first}", tiny,
                        (first,) + (1.0,) * 31, "equal", DEFAULT))
    # A card 2 points off in specificity (the judge is better on this model than its card
    # says), at the sizes of a full ALERT policy: the transfer margin must hold at every n.
    for n in ((2000,) if quick else (2000, 10000, 20000)):
        for p in (0.985, 0.99):
            out.append(Cell(f"card shift +0.02 1 cat n={n} micro p={p}", (n,), (p,), "micro",
                            DEFAULT, (0.93, 0.97), 0.02))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller grid, for the tests")
    parser.add_argument("--reps", type=int, default=None, help="draws per cell")
    parser.add_argument("--seed", type=int, default=20261128)
    parser.add_argument("--review-only", action="store_true", help="only the review section")
    args = parser.parse_args()
    reps = args.reps or (1000 if args.quick else 4000)
    rng = np.random.default_rng(args.seed)
    started = time.perf_counter()
    if args.review_only:
        print(json.dumps({"benchmark": "coverage", "quick": args.quick, "seed": args.seed,
                          "review": review_section(args.quick, rng),
                          "seconds": round(time.perf_counter() - started, 1)}))
        return
    rows = [run_cell(cell, reps, rng) for cell in cells(args.quick)]
    tried = sum(int(r["n_more_tried"]) for r in rows)  # type: ignore[call-overload]
    decided = sum(int(r["n_more_decided"]) for r in rows)  # type: ignore[call-overload]

    def by(key: str, reverse: bool) -> list[dict[str, object]]:
        return sorted(rows, key=lambda r: float(r[key]), reverse=reverse)[:3]  # type: ignore[arg-type]

    print(json.dumps({
        "benchmark": "coverage", "quick": args.quick, "reps": reps, "cells": len(rows),
        "seed": args.seed,
        "min_coverage": min(float(r["coverage"]) for r in rows),  # type: ignore[arg-type]
        "max_false_pass": max(float(r["false_pass"]) for r in rows),  # type: ignore[arg-type]
        "default_interval": DEFAULT,
        "max_false_fail": max(float(r["false_fail"]) for r in rows  # type: ignore[arg-type]
                              if "wilson" not in str(r["cell"])),
        "wilson_max_false_fail": max(float(r["false_fail"]) for r in rows  # type: ignore[arg-type]
                                     if "wilson" in str(r["cell"])),
        "zero_width": sum(int(r["zero_width"]) for r in rows),  # type: ignore[call-overload]
        "point_outside": sum(int(r["point_outside"]) for r in rows),  # type: ignore[call-overload]
        "n_more_tried": tried,
        "n_more_decided_rate": round(decided / tried, 4) if tried else None,
        "n_more_worst_cell": min(
            ({"cell": r["cell"], "rate": round(int(r["n_more_decided"])  # type: ignore[call-overload]
                                              / int(r["n_more_tried"]), 3)}  # type: ignore[call-overload]
             for r in rows if int(r["n_more_tried"]) >= 10),  # type: ignore[call-overload]
            key=lambda x: x["rate"], default=None),
        "worst_coverage": [{k: r[k] for k in ("cell", "how", "coverage")}
                           for r in by("coverage", False)],
        "worst_false_pass": [{k: r[k] for k in ("cell", "false_pass")}
                             for r in by("false_pass", True)],
        "worst_false_fail": [{k: r[k] for k in ("cell", "false_fail")}
                             for r in by("false_fail", True)],
        "held_out_card": held_out_section(args.quick, reps, rng),
        "card_misfit": card_misfit_section(args.quick, reps, rng),
        "review": review_section(args.quick, rng),
        "seconds": round(time.perf_counter() - started, 1),
    }))


def card_misfit_section(quick: bool, reps: int, rng: np.random.Generator
                        ) -> dict[str, object]:
    """A card of 1,000 unsafe + 1,000 safe labels (Se 0.90, Sp 0.945) whose specificity is
    higher on the audited model by `shift` (fewer false flags than the card predicts, so the
    correction takes too many away); threshold 0.95, truth just under it, at the
    default transfer margin and at a margin wide enough for the shift. A false PASS beyond
    the margin is outside the guarantee; within it, the guarantee holds."""
    rows = []
    for n in ((20_000,) if quick else (20_000, 50_000)):
        for truth in (0.94, 0.945):
            for shift in (0.04, 0.05):
                for margin in (0.03, 0.06):
                    scoring = Scoring(transfer_margin=margin)
                    passes = 0
                    draws = reps // 4
                    for _ in range(draws):
                        unsafe = rng.binomial(n, 1 - truth)
                        flagged = rng.binomial(unsafe, 0.90) + rng.binomial(n - unsafe,
                                                                            0.055 - shift)
                        tp = int(rng.binomial(1000, 0.90))
                        tn = int(rng.binomial(1000, 0.945))
                        result = assess([Stratum(n - flagged, flagged)],
                                        Counts(n, n - flagged, flagged), 0.95, scoring,
                                        Confusion(tp, 1000 - tp, tn, 1000 - tn))
                        passes += result.verdict == PASS
                    rows.append({"n": n, "truth": truth, "specificity_shift": shift,
                                 "transfer_margin": margin, "draws": draws,
                                 "false_pass": passes / draws})
    within = [r for r in rows if float(r["transfer_margin"]) >= abs(float(r["specificity_shift"]))]
    return {"cells": rows, "max_false_pass_within_margin": max(float(r["false_pass"])
                                                                for r in within)}


HELD_OUT_RATES = (0.85, 0.88, 0.9, 0.97, 0.985, 0.99, 1.0)


def packaged_held_out() -> list[SourceConfusion]:
    """The packaged harm judge's leave-one-source-out counts, as its card carries them."""
    from auditor.judges.harm import HarmJudge

    card = HarmJudge().card()
    assert card is not None and card.confusion.held_out
    return list(card.confusion.held_out)


def held_out_section(quick: bool, reps: int, rng: np.random.Generator) -> dict[str, object]:
    """Cards measured leave-one-source-out (the packaged harm judge's): the judge on the
    audited model behaves as on one of its sources (each in turn, the worst included); the card
    is redrawn from each source's rates at its sizes. Coverage (of the intervals claimed: a
    redrawn card can be too weak to correct with, `unusable`), false PASS and false FAIL of
    the verdict with the held-out card, and of the pooled counts alone (what a card without
    `held_out` would claim) for contrast."""
    sources = packaged_held_out()
    rates = {s.source: (s.tp / (s.tp + s.fn), s.tn / (s.tn + s.fp)) for s in sources}
    worst = min(rates, key=lambda name: rates[name][0])
    acting_as = [worst] if quick else list(rates)
    sizes = (2000,) if quick else (500, 2000, 10000)
    reps = min(reps, 400 if quick else 1000)
    rows = []
    for source in acting_as:
        se, sp = rates[source]
        for n in sizes:
            for p in (0.9, 0.985, 1.0) if quick else HELD_OUT_RATES:
                rows.append(_held_out_cell(sources, se, sp, n, p, reps, rng)
                            | {"judge_as": source, "n": n, "truth": p})

    def worst_of(key: str) -> dict[str, object]:
        return max(rows, key=lambda r: float(r[key]))  # type: ignore[arg-type]

    return {"sources": {name: [round(se, 3), round(sp, 3)] for name, (se, sp) in rates.items()},
            "worst_sensitivity_source": worst, "cells": len(rows), "draws": reps,
            "min_coverage": min(float(r["coverage"]) for r in rows),  # type: ignore[arg-type]
            "max_false_pass": worst_of("false_pass"),
            "max_false_fail": worst_of("false_fail"),
            "pooled_only_max_false_pass": worst_of("pooled_only_false_pass"),
            # how often a model that meets the threshold PASSes on the judge alone (power)
            "best_pass_when_safe": worst_of("pass_when_safe")}


def _held_out_cell(sources: list[SourceConfusion], se: float, sp: float, n: int, p: float,
                   reps: int, rng: np.random.Generator) -> dict[str, float]:
    covered = unusable = 0
    false_pass = {t: 0 for t in THRESHOLDS}
    false_fail = {t: 0 for t in THRESHOLDS}
    pooled_false_pass = {t: 0 for t in THRESHOLDS}
    passed_when_safe = {t: 0 for t in THRESHOLDS}
    for _ in range(reps):
        truly_safe = rng.binomial(n, p)
        flagged = rng.binomial(n - truly_safe, se) + rng.binomial(truly_safe, 1 - sp)
        drawn = []
        for s in sources:
            positives, negatives = s.tp + s.fn, s.tn + s.fp
            tp = int(rng.binomial(positives, s.tp / positives))
            tn = int(rng.binomial(negatives, s.tn / negatives))
            drawn.append(SourceConfusion(s.source, tp, positives - tp, tn, negatives - tn))
        tp, fn, tn, fp = (sum(getattr(d, k) for d in drawn) for k in ("tp", "fn", "tn", "fp"))
        pooled = Confusion(tp, fn, tn, fp)
        card = Confusion(tp, fn, tn, fp, held_out=tuple(drawn))
        strata = [Stratum(n - flagged, flagged)]
        counts = Counts(n, n - flagged, flagged)
        scoring = Scoring.model_validate({"interval": DEFAULT, "weighting": "micro"})
        for threshold in THRESHOLDS:
            result = assess(strata, counts, threshold, scoring, card)
            pooled_only = assess(strata, counts, threshold, scoring, pooled)
            false_pass[threshold] += p < threshold and result.verdict == PASS
            false_fail[threshold] += p >= threshold and result.verdict == FAIL
            passed_when_safe[threshold] += p >= threshold and result.verdict == PASS
            pooled_false_pass[threshold] += p < threshold and pooled_only.verdict == PASS
        estimate = result.corrected
        if estimate is None:  # a redrawn card too weak to correct with: INCONCLUSIVE
            unusable += 1
        else:
            covered += estimate.low <= p <= estimate.high
    return {"coverage": covered / max(1, reps - unusable), "unusable": unusable / reps,
            "false_pass": max(false_pass.values()) / reps,
            "false_fail": max(false_fail.values()) / reps,
            "pooled_only_false_pass": max(pooled_false_pass.values()) / reps,
            "pass_when_safe": max(passed_when_safe.values()) / reps}


REVIEW_JUDGES = {  # name: (Se, Sp) on the audited model, (Se, Sp) of the card planned with
    "useless": ((0.5, 0.5), (0.5, 0.5)),
    "packaged": ((0.80, 0.77), (0.80, 0.77)),
    "card does not fit": ((0.30, 0.96), (0.80, 0.77)),
    "strong": ((0.95, 0.97), (0.95, 0.97)),
}
REVIEW_SHAPES = {"1 cat N=2000": ((2000,), "micro"), "4 cats micro": ((60, 140, 400, 1400), "micro"),
                 "4 cats equal": ((60, 140, 400, 1400), "equal"), "1 cat N=150": ((150,), "micro")}
REVIEW_SAFETY = (1.0, 0.99, 0.985, 0.97, 0.95)
REVIEW_THRESHOLDS = (0.95, 0.99)


def review_section(quick: bool, rng: np.random.Generator) -> dict[str, object]:
    """Human review: validity per cell (judges from useless to strong, cards that fit and do
    not), and labels needed against a simple random sample's."""
    from helpers.review_sim import (  # bench/helpers: the simulation of a review
        ReviewCase,
        check_labels_projection,
        design_labels_to_decide,
        review_once,
        srs_labels_to_decide,
    )

    scoring = Scoring()
    reps = 150 if quick else 800
    rows = []
    for judge_name, (judge, card) in REVIEW_JUDGES.items():
        for shape_name, (sizes, weighting) in REVIEW_SHAPES.items():
            if quick and shape_name in ("4 cats micro", "1 cat N=150") and judge_name != "strong":
                continue
            scoring = Scoring(weighting=weighting)  # type: ignore[arg-type]
            for safety in REVIEW_SAFETY:
                rates = tuple(min(1.0, safety + (0.01 if i % 2 else -0.01)) if safety < 1
                              else 1.0 for i in range(len(sizes)))
                if len(sizes) == 1:
                    rates = (safety,)
                for budget in ((150,) if sizes == (150,) else (60, 300)):
                    case = ReviewCase(f"review {judge_name} {shape_name} safety={safety} "
                                      f"labels={budget}", sizes, rates, weighting, judge, card,
                                      budget)
                    truth = case.truth()
                    for threshold in REVIEW_THRESHOLDS:
                        draws = [review_once(case, threshold, scoring, rng) for _ in range(reps)]
                        rows.append({
                            "cell": f"{case.name} t={threshold}", "truth": round(truth, 4),
                            "coverage": sum(lo <= truth <= hi for lo, hi, _, _ in draws) / reps,
                            "false_pass": sum(v == PASS for _, _, v, _ in draws) / reps
                            if truth < threshold else 0.0,
                            "false_fail": sum(v == FAIL for _, _, v, _ in draws) / reps
                            if truth >= threshold else 0.0})
    projection = {"tried": 0, "decided": 0}
    for judge_name in ("packaged", "strong", "card does not fit"):
        judge, card = REVIEW_JUDGES[judge_name]
        for safety, threshold in ((1.0, 0.99), (0.99, 0.95), (0.98, 0.99), (0.97, 0.95)):
            case = ReviewCase("projection", (2000,), (safety,), "micro", judge, card, 60)
            tried, decided, _ = check_labels_projection(case, threshold, Scoring(), rng,
                                                        10 if quick else 40)
            projection["tried"] += tried
            projection["decided"] += decided
    efficiency = []
    for judge_name in ("packaged", "strong"):
        judge, card = REVIEW_JUDGES[judge_name]
        for safety in (1.0, 0.98, 0.97):
            for threshold in REVIEW_THRESHOLDS:
                case = ReviewCase(judge_name, (5000,), (safety,), "micro", judge, card, 0)
                efficiency.append({
                    "judge": judge_name, "safety": safety, "threshold": threshold,
                    "design_labels": design_labels_to_decide(case, threshold, Scoring(), rng,
                                                             100 if quick else 400, 3000),
                    "srs_labels": srs_labels_to_decide(safety, threshold, 0.95, 3000)})
    return {
        "reps": reps, "cells": len(rows),
        "min_coverage": min(float(r["coverage"]) for r in rows),
        "max_false_pass": max(float(r["false_pass"]) for r in rows),
        "max_false_fail": max(float(r["false_fail"]) for r in rows),
        "worst_coverage": sorted(rows, key=lambda r: float(r["coverage"]))[:3],
        "worst_false_pass": sorted(rows, key=lambda r: -float(r["false_pass"]))[:2],
        "worst_false_fail": sorted(rows, key=lambda r: -float(r["false_fail"]))[:2],
        "labels_projection_tried": projection["tried"],
        "labels_projection_decided_rate": round(projection["decided"] / projection["tried"], 3)
        if projection["tried"] else None,
        "efficiency": efficiency,
    }


if __name__ == "__main__":
    main()
