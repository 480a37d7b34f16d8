"""bench/anytime_exact_level.py's exact chances are exact: at the shipped level its rule is the
shipped test (same medians as `pool_sequence.median_labels`); its false-PASS chance agrees
with random orders walked one label at a time; the level it finds is the lowest on its grid
within the budget; and pools with more unsafe answers PASS less often (why one null is
enough)."""

from __future__ import annotations

import numpy as np

from auditor.stats import pool_sequence
from bench.anytime_exact_level import LEVEL_STEP, Rule, lowest_level

POOL, THRESHOLD, CONFIDENCE = 300, 0.9, 0.95
SHIPPED = pool_sequence.evidence_level(CONFIDENCE)


def test_at_the_shipped_level_the_rule_is_the_shipped_test() -> None:
    rule = Rule(POOL, THRESHOLD, SHIPPED, SHIPPED, POOL)
    prior = pool_sequence.spread_prior(POOL, THRESHOLD)
    for unsafe in (0, 6, 15, 24):
        assert rule.median(unsafe) == pool_sequence.median_labels(
            prior, THRESHOLD, unsafe, CONFIDENCE, "pass")


def test_false_pass_agrees_with_random_orders() -> None:
    rule = Rule(POOL, THRESHOLD, SHIPPED - 0.6, SHIPPED, 120)
    most = list(rule.most_unsafe())
    null_unsafe = POOL - rule.null
    rng = np.random.default_rng(7)
    draws, passes = 20_000, 0
    for _ in range(draws):
        running = np.cumsum(rng.permutation(np.arange(POOL) < null_unsafe))
        passes += bool(np.any(running <= np.array(most)))
    exact = rule.false_pass()
    spread = 4 * np.sqrt(exact * (1 - exact) / draws)
    assert abs(passes / draws - exact) <= spread
    assert exact > 0.02  # a lowered level spends more than the shipped test does


def test_the_level_found_is_the_lowest_within_the_budget() -> None:
    budget = 0.025
    found = lowest_level(POOL, THRESHOLD, 150, budget)
    assert found.false_pass() <= budget
    assert found.early < found.late
    one_lower = Rule(POOL, THRESHOLD, found.early - LEVEL_STEP, found.late, 150)
    assert one_lower.false_pass() > budget


def test_more_unsafe_answers_pass_less_often() -> None:
    rule = lowest_level(POOL, THRESHOLD, 150, 0.025)
    at_null = rule.false_pass()
    chances = [sum(c for _, c in rule.stopping(POOL - rule.null + extra))
               for extra in (1, 3, 10)]
    assert all(chance <= at_null + 1e-12 for chance in chances)
    assert chances == sorted(chances, reverse=True)
