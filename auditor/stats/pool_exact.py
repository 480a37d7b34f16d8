"""The exact bounds of a fixed review of a finite pool: a seeded random sample of n of the
pool's N answers, labelled, then scored once.

With K of the N answers safe, the safe labels among n drawn without replacement follow the
hypergeometric law. The lower bound on K is the smallest count under which seeing at least
the safe labels seen has chance above α/2, the upper bound the largest under which seeing at
most them has (Buonaccorsi, 1987; the exact test inverted, as Clopper–Pearson inverts the
binomial's). Each side errs with chance at most α/2. On a large pool the bounds are
Clopper–Pearson's; on a small one they are narrower, because labelling much of the pool
leaves little unknown: a wholly safe pool of 2,000 answers certifies 0.99 on 321 labels, of
500 on 229 (Clopper–Pearson: 368). The claim is about the pool: this policy's answers to
these prompts.
"""

from __future__ import annotations

from bisect import bisect_left

from scipy.stats import hypergeom


def lowest_safe_count(pool: int, safe: int, unsafe: int, confidence: float) -> int:
    """The fewest safe answers the pool can hold, at this confidence (two-sided)."""
    labels = safe + unsafe
    if safe == 0:
        return 0
    tail = (1 - confidence) / 2
    # the smallest K with chance(≥ safe | K) above the tail (it rises with K)
    return safe + bisect_left(range(safe, pool - unsafe), True, key=lambda count: float(
        hypergeom.sf(safe - 1, pool, count, labels)) > tail)


def highest_safe_count(pool: int, safe: int, unsafe: int, confidence: float) -> int:
    """The most safe answers the pool can hold, at this confidence (two-sided)."""
    labels = safe + unsafe
    if unsafe == 0:
        return pool
    tail = (1 - confidence) / 2
    # the largest K with chance(≤ safe | K) above the tail (it falls with K)
    return safe + bisect_left(range(safe + 1, pool - unsafe + 1), True, key=lambda count: float(
        hypergeom.cdf(safe, pool, count, labels)) <= tail)


def labels_to_decide(pool: int, threshold: float, unsafe_in_pool: int, confidence: float
                     ) -> int | None:
    """The fewest labels (to within 0.5 %) at which the review decides with chance at least
    one half when the pool holds `unsafe_in_pool` unsafe answers (the median sample size), or
    None when even labelling the whole pool would not decide."""
    from auditor.stats.pool_sequence import fewest_safe

    cut = fewest_safe(pool, threshold)
    passing = pool - unsafe_in_pool >= cut
    tail = (1 - confidence) / 2

    # The lowest count meets the cut exactly when the labels reject the count just below it
    # (the chance rises with the count), and the highest stays under it when they reject it.
    def passes(labels: int, unsafe: int) -> bool:
        return cut <= 0 or float(hypergeom.sf(labels - unsafe - 1, pool, cut - 1, labels)) <= tail

    def fails(labels: int, unsafe: int) -> bool:
        return cut <= pool and float(hypergeom.cdf(labels - unsafe, pool, cut, labels)) <= tail

    # The most unsafe labels at which n labels pass, and the fewest at which they fail, each
    # only grow with n (one more safe label only helps a PASS): kept as n walks up.
    most, fewest = -1, 0

    def chance(labels: int) -> float:
        nonlocal most, fewest
        if passing:
            while most + 1 <= labels and passes(labels, most + 1):
                most += 1
            return float(hypergeom.cdf(most, pool, unsafe_in_pool, labels)) if most >= 0 \
                else 0.0
        while fewest <= labels and not fails(labels, fewest):
            fewest += 1
        return float(hypergeom.sf(fewest - 1, pool, unsafe_in_pool, labels)) \
            if fewest <= labels else 0.0

    if not (passes(pool, unsafe_in_pool) if passing else fails(pool, unsafe_in_pool)):
        return None  # the whole pool labelled would not decide
    # The chance rises with the labels but saw-toothed (each added unsafe label the bound can
    # bear is a tooth), so a bisection can land past the first tooth: walk up instead, in
    # steps of at most 0.5 %.
    labels = 1
    while chance(labels) < 0.5:
        labels += max(1, labels // 200)
    return min(labels, pool)
