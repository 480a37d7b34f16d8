"""The anytime stratified test (`auditor.stats.strata_sequence`): its evidence against the
definition written out by brute force, its bounds' shape, and its error rate with a look
after every label."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from auditor.stats import strata_sequence as ss
from auditor.stats.pool_sequence import evidence_level
from auditor.stats.pooled import split_budget

LEVEL = evidence_level(0.95)


def _brute_log_evidence(priors: tuple[ss.StratumPrior, ss.StratumPrior],
                        labels: tuple[ss.StratumLabels, ss.StratumLabels], null: int,
                        side: str) -> float:
    """E(s₀) from its definition: every prior pair, every null split, plain products."""

    def chance(k: int, given: ss.StratumLabels) -> float:  # [k]_s [N − k]_f
        return float(math.perm(k, int(given.safe)) * math.perm(given.size - k,
                                                               int(given.unsafe)))

    def beyond(total: int) -> bool:  # on the alternatives' side of the null
        return total > null if side == "pass" else total < null

    mixture = sum(math.exp(wf + wr) * chance(int(k), labels[0]) * chance(int(m), labels[1])
                  for (k, wf), (m, wr) in itertools.product(
                      zip(priors[0].counts, priors[0].log_weights, strict=True),
                      zip(priors[1].counts, priors[1].log_weights, strict=True))
                  if beyond(int(k) + int(m)))
    nulls = [chance(a, labels[0]) * chance(b, labels[1])
             for a in range(priors[0].size + 1) for b in range(priors[1].size + 1)
             if not beyond(a + b)]
    if mixture == 0:
        return -math.inf
    if max(nulls) == 0:
        return math.inf
    return math.log(mixture) - math.log(max(nulls))


def test_evidence_matches_its_definition_and_bounds_are_where_it_crosses() -> None:
    rng = np.random.default_rng(3)
    priors = (ss.stratum_prior(6, 0.5), ss.stratum_prior(9, 0.9))
    for _ in range(25):
        labels = (ss.StratumLabels(6, int(rng.integers(0, 4)), int(rng.integers(0, 3))),
                  ss.StratumLabels(9, int(rng.integers(0, 7)), int(rng.integers(0, 2))))
        post = ss._posterior(priors, labels)
        passing = [ss._log_evidence(post, s, "pass") for s in range(16)]
        failing = [ss._log_evidence(post, s, "fail") for s in range(16)]
        for s in range(16):
            for side, got in (("pass", passing[s]), ("fail", failing[s])):
                want = _brute_log_evidence(priors, labels, s, side)
                assert got == pytest.approx(want, rel=1e-9, abs=1e-9), (labels, s, side)
        # the PASS side's evidence only falls as the null grows, the FAIL side's only rises
        assert all(b <= a + 1e-12 for a, b in itertools.pairwise(passing))
        assert all(b >= a - 1e-12 for a, b in itertools.pairwise(failing))
        lowest = next(s for s in range(16) if passing[s] < LEVEL)
        highest = max(s for s in range(16) if failing[s] < LEVEL)
        assert ss.lowest_safe_count(priors, labels, LEVEL) == lowest
        assert ss.highest_safe_count(priors, labels, LEVEL) == highest
        for known in range(lowest + 1):  # a search started from a bound already shown
            assert ss.lowest_safe_count(priors, labels, LEVEL, known=known) == lowest
        for known in range(highest, 16):
            assert ss.highest_safe_count(priors, labels, LEVEL, known=known) == highest


def test_every_answer_labelled_pins_the_count() -> None:
    priors = (ss.stratum_prior(40, 0.3), ss.stratum_prior(160, 0.99))
    flagged = [True] * 12 + [False] * 28
    rest = [True] * 157 + [False] * 3
    prefixes = [(40, 160)]
    assert ss.sequence_bounds(flagged, rest, prefixes, priors, 0.95) == (169, 169)


def test_a_skip_counts_against_each_bound() -> None:
    priors = (ss.stratum_prior(10, 0.5), ss.stratum_prior(90, 1.0))
    flagged: list[bool | None] = [False, True, None, False]
    rest: list[bool | None] = [True] * 40
    with_skip = ss.sequence_bounds(flagged, rest, [(4, 40)], priors, 0.95)
    as_unsafe = ss.sequence_bounds([False, True, False, False], rest, [(4, 40)], priors, 0.95)
    as_safe = ss.sequence_bounds([False, True, True, False], rest, [(4, 40)], priors, 0.95)
    assert with_skip == (as_unsafe[0], as_safe[1])


@pytest.mark.parametrize("side", ["pass", "fail"])
def test_false_verdicts_stay_rare_with_a_look_after_every_label(side: str) -> None:
    """A pool of 100 at threshold 0.9 whose truth is just on the wrong side (89 safe for a
    false PASS, 90 for a false FAIL), the priors aimed at the wrong answer, every prefix of
    the interleaved order looked at: the false verdict's rate stays within α/2 = 2.5 % (plus
    three Monte Carlo standard errors)."""
    flagged_size, rest_size, cut = 30, 70, 90
    safe_total = cut - 1 if side == "pass" else cut
    flagged_unsafe = 8
    rest_unsafe = 100 - safe_total - flagged_unsafe
    aims = (0.95, 1.0) if side == "pass" else (0.3, 0.8)  # aimed at the false verdict
    priors = (ss.stratum_prior(flagged_size, aims[0]), ss.stratum_prior(rest_size, aims[1]))
    prefixes = [split_budget(n, flagged_size, rest_size, 0.3) for n in range(1, 101)]
    rng = np.random.default_rng(11)
    draws, false = 160, 0
    for _ in range(draws):
        flagged = [bool(x) for x in rng.permutation(np.arange(flagged_size) >= flagged_unsafe)]
        rest = [bool(x) for x in rng.permutation(np.arange(rest_size) >= rest_unsafe)]
        lowest, highest = ss.sequence_bounds(flagged, rest, prefixes[:60], priors, 0.95)
        false += (lowest >= cut) if side == "pass" else (highest < cut)
    assert false / draws <= 0.025 + 3 * math.sqrt(0.025 * 0.975 / draws)


def test_looks_are_fixed_by_the_count_alone() -> None:
    assert ss.looks(0) == []
    assert ss.looks(5) == [1, 2, 3, 4, 5]
    spread = ss.looks(1000)
    assert spread[-1] == 1000 and len(spread) <= ss.LOOKS + 1
