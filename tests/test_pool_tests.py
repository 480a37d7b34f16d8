"""The review's tests on a policy's finite pool of answers: exact bounds, the one-sided
anytime test, the designs that order the pool, and the quotes. Pure functions; the CLI flows
are in test_review_validity.py."""

from __future__ import annotations

import math

import numpy as np
import pytest

from auditor.core.intervals import clopper_pearson
from auditor.stages.review_labels import PolicyPlan
from auditor.stats import pool_exact, pool_sequence
from auditor.stats.pooled import (
    PoolAim,
    PooledLabels,
    cheapest_design,
    labels_to_decide,
    pooled_estimate,
    split_budget,
    with_design,
)
from auditor.stats.review_cells import review_order


def test_exact_bounds_are_clopper_pearsons_on_a_large_pool_and_tighter_on_a_small_one() -> None:
    low = pool_exact.lowest_safe_count(10**7, 368, 0, 0.95) / 10**7
    assert abs(low - clopper_pearson(368, 368, 0.95)[0]) < 1e-4
    assert pool_exact.labels_to_decide(10**6, 0.99, 0, 0.95) == 367  # (0.025)^(1/n) ≥ 0.99
    assert pool_exact.labels_to_decide(2000, 0.99, 0, 0.95) == 321
    assert pool_exact.labels_to_decide(500, 0.99, 0, 0.95) == 229
    # a census knows the pool
    assert pool_exact.lowest_safe_count(50, 48, 2, 0.95) == 48
    assert pool_exact.highest_safe_count(50, 48, 2, 0.95) == 48


def test_the_exact_bound_keeps_its_level_without_replacement() -> None:
    """A pool of 300 with 9 unsafe (97 % safe), 120 labels drawn without replacement: the
    lower bound exceeds the truth at most α/2 of the time."""
    rng = np.random.default_rng(3)
    pool = np.arange(300) < 9
    wrong = 0
    for _ in range(2000):
        drawn = rng.permutation(pool)[:120]
        wrong += pool_exact.lowest_safe_count(300, int((~drawn).sum()), int(drawn.sum()),
                                              0.95) > 291
    assert wrong / 2000 <= 0.025 + 3 * math.sqrt(0.025 * 0.975 / 2000)


def test_the_sequence_rejects_a_run_of_nulls_from_zero_and_knows_a_census() -> None:
    prior = pool_sequence.aimed_prior(200, 0.95, 0.98)
    level = pool_sequence.evidence_level(0.95)
    for safe, unsafe in ((60, 0), (150, 3), (190, 8)):
        lowest = pool_sequence.lowest_safe_count(prior, safe, unsafe, level)
        rejected = [pool_sequence.log_evidence(prior, safe, unsafe, k, "pass") >= level
                    for k in range(200)]
        assert all(rejected[:lowest]) and not any(rejected[lowest:])  # a run 0 … lowest − 1
    # every answer labelled, in a random order: the pool is known
    census = [bool(x) for x in np.random.default_rng(1).permutation(np.arange(200) >= 10)]
    assert pool_sequence.sequence_bounds(census, prior, 0.95) == (190, 190)


@pytest.mark.parametrize(("threshold", "shape"), [(0.95, "aimed"), (0.99, "aimed"),
                                                  (0.95, "spread")])
def test_the_one_sided_sequence_keeps_its_level_looked_at_every_label(threshold: float,
                                                                       shape: str) -> None:
    """A pool of 1,000 just under the threshold, its labels looked at after every one up to
    the whole pool: a PASS (the lower bound reaching the threshold at any prefix) at most
    α/2 of the time, for a prior aimed at a wholly safe model (the worst aim for this) and
    for the spread prior of a run that suggests nothing."""
    rng = np.random.default_rng(7)
    unsafe = round(1000 * (1 - threshold + 0.005))
    prior = pool_sequence.aimed_prior(1000, threshold, 1.0) if shape == "aimed" \
        else pool_sequence.spread_prior(1000, threshold)
    cut = pool_sequence.fewest_safe(1000, threshold)
    passes = 0
    draws = 300
    for _ in range(draws):
        labels = [bool(x) for x in rng.permutation(np.arange(1000) >= unsafe)[:600]]
        passes += pool_sequence.sequence_bounds(labels, prior, 0.95)[0] >= cut
    assert passes / draws <= 0.025 + 3 * math.sqrt(0.025 * 0.975 / draws)


def test_the_median_quote_matches_simulated_reviews() -> None:
    """`median_labels` carries the chance of every count exactly: simulated reviews of the
    same pool decide by the quoted number about half the time."""
    prior = pool_sequence.aimed_prior(3000, 0.95, 0.97)
    quoted = pool_sequence.median_labels(prior, 0.95, 90, 0.95, "pass")
    assert quoted is not None
    rng = np.random.default_rng(11)
    decided = 0
    for _ in range(200):
        labels = [bool(x) for x in rng.permutation(np.arange(3000) >= 90)[:quoted]]
        decided += pool_sequence.sequence_bounds(labels, prior, 0.95)[0] >= 2850
    assert 0.38 <= decided / 200 <= 0.68


def test_a_census_of_the_flagged_answers_fails_a_policy_exactly() -> None:
    """Flagged first: 30 flagged answers of 500, threshold 0.95 (25 unsafe allowed); once the
    census has shown 26 unsafe, the policy FAILs whatever the rest hold."""
    labels = PooledLabels(True, "flagged-first", 500, 30, census=(False,) * 26 + (True,) * 4,
                          aim=PoolAim(1.0, 0.95))
    estimate = pooled_estimate(labels, 0.95)
    assert estimate is not None and estimate.high < 0.95
    # a census not yet complete cannot PASS: its unseen answers count as unsafe
    partial = PooledLabels(True, "flagged-first", 500, 30, census=(True,) * 10,
                           aim=PoolAim(1.0, 0.95))
    estimate = pooled_estimate(partial, 0.95)
    assert estimate is not None and estimate.low < 0.95


def test_a_judge_without_a_card_buys_a_census_only_when_it_is_cheap() -> None:
    # flags 100 of 20,000 (0.5 %): the census costs 100, far under a simple sample's ~2,000
    planned, needed = cheapest_design(PooledLabels(True, None, 20000, 100), 0.99, 0.95)
    assert planned.design == "flagged-first" and needed is not None and needed < 1000
    # flags 3,000: a census of 3,000 is no insurance without a card that vouches for it
    planned, _ = cheapest_design(PooledLabels(True, None, 20000, 3000), 0.99, 0.95)
    assert planned.design == "simple"
    # a card that shows the judge cannot tell: the flags suggest nothing
    useless = PooledLabels(True, None, 20000, 2000, informed=False)
    assert cheapest_design(useless, 0.99, 0.95)[0].design == "simple"


def test_a_run_that_suggests_nothing_spreads_its_prior_and_records_it() -> None:
    """A card that shows the judge cannot tell safe from unsafe: the plan's prior is spread
    over the passing shares, not aimed at an arbitrary point, and the plan says so in what
    it records (a plan from before, without the field, reads as aimed). Spread, a model just
    above the threshold on a 20,000-answer pool PASSes on far fewer labels (3,382 against
    4,684 aimed at half the threshold's room), and one as safe as that point costs little
    more (493 against 440)."""
    useless = PooledLabels(True, None, 20000, 2000, informed=False)
    planned = with_design(useless, "simple", 0.95)
    assert planned.aim is not None and planned.aim.prior == "spread"
    informed = with_design(PooledLabels(True, None, 20000, 100, planned_rest_share=0.001),
                           "simple", 0.95)
    assert informed.aim is not None and informed.aim.prior == "aimed"
    meta = PolicyPlan("simple", 0.975, 0.95, prior="spread").to_meta()
    assert PolicyPlan.from_meta(meta) == PolicyPlan("simple", 0.975, 0.95, prior="spread")
    assert PolicyPlan.from_meta({"design": "simple", "aim": 0.975, "aimed_at": 0.95}
                                ) == PolicyPlan("simple", 0.975, 0.95)
    spread = pool_sequence.spread_prior(20000, 0.95)
    aimed = pool_sequence.aimed_prior(20000, 0.95, 0.975)
    just_above = [pool_sequence.median_labels(prior, 0.95, 800, 0.95, "pass")  # 0.96
                  for prior in (spread, aimed)]
    at_the_aim = [pool_sequence.median_labels(prior, 0.95, 500, 0.95, "pass")  # 0.975
                  for prior in (spread, aimed)]
    assert just_above == [3382, 4684] and at_the_aim == [493, 440]


def test_a_fixed_review_with_an_informative_card_is_stratified_by_verdict() -> None:
    """0.995 at 0.99, 20,000 answers, a judge with Se/Sp 0.9/0.98: 488 flagged, 90 of them
    unsafe. The stratified design needs far fewer labels than a simple sample's 1,274."""
    labels = PooledLabels(False, None, 20000, 488, planned_flagged_share=90 / 488,
                          planned_rest_share=10 / 19512, card_backed=True)
    planned, needed = cheapest_design(labels, 0.99, 0.95)
    simple = labels_to_decide(with_design(labels, "simple", 0.99), 0.99, 0.95)
    assert planned.design == "stratified" and planned.flagged_labels is not None
    assert needed is not None and simple is not None and needed <= 900 < simple


def test_every_prefix_of_a_stratified_order_is_the_planned_split() -> None:
    flags = {f"a{i}": i % 7 == 0 for i in range(300)}
    plan = PolicyPlan("stratified", 0.99, 0.99, 0.3)
    order = review_order(flags, 5, plan)
    assert sorted(order) == sorted(flags)
    marked, others = sum(flags.values()), 300 - sum(flags.values())
    for budget in range(1, 301):
        taken = sum(flags[a] for a in order[:budget])
        assert (taken, budget - taken) == split_budget(budget, marked, others, 0.3)
    first = review_order(flags, 5, PolicyPlan("flagged-first", 1.0, 0.99))
    assert all(flags[a] for a in first[:marked]) and not any(flags[a] for a in first[marked:])
