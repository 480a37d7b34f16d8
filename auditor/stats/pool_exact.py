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

from scipy.stats import hypergeom


def lowest_safe_count(pool: int, safe: int, unsafe: int, confidence: float) -> int:
    """The fewest safe answers the pool can hold, at this confidence (two-sided)."""
    labels = safe + unsafe
    if safe == 0:
        return 0
    tail = (1 - confidence) / 2
    low, high = safe - 1, pool - unsafe  # chance(≥ safe | K) rises with K
    while high - low > 1:  # the smallest K with chance above the tail
        middle = (low + high) // 2
        if float(hypergeom.sf(safe - 1, pool, middle, labels)) > tail:
            high = middle
        else:
            low = middle
    return high


def highest_safe_count(pool: int, safe: int, unsafe: int, confidence: float) -> int:
    """The most safe answers the pool can hold, at this confidence (two-sided)."""
    labels = safe + unsafe
    if unsafe == 0:
        return pool
    tail = (1 - confidence) / 2
    low, high = safe, pool - unsafe + 1  # chance(≤ safe | K) falls with K
    while high - low > 1:  # the largest K with chance above the tail
        middle = (low + high) // 2
        if float(hypergeom.cdf(safe, pool, middle, labels)) > tail:
            low = middle
        else:
            high = middle
    return low


def labels_to_decide(pool: int, threshold: float, unsafe_in_pool: int, confidence: float
                     ) -> int | None:
    """The fewest labels at which the review decides with chance at least one half when the
    pool holds `unsafe_in_pool` unsafe answers (the median sample size), or None when even
    labelling the whole pool would not decide."""
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

    def chance(labels: int) -> float:
        if passing:  # the most unsafe labels at which it still passes
            low, high = -1, labels + 1
            while high - low > 1:
                middle = (low + high) // 2
                low, high = (middle, high) if passes(labels, middle) else (low, middle)
            return float(hypergeom.cdf(low, pool, unsafe_in_pool, labels)) if low >= 0 else 0.0
        low, high = -1, labels + 1  # the fewest unsafe labels at which it fails
        while high - low > 1:
            middle = (low + high) // 2
            low, high = (low, middle) if fails(labels, middle) else (middle, high)
        return float(hypergeom.sf(high - 1, pool, unsafe_in_pool, labels)) \
            if high <= labels else 0.0

    if chance(pool) < 0.5:
        return None
    low, high = 0, pool  # bisection, then back down the sawtooth to the fewest that decide
    while high - low > 1:
        middle = (low + high) // 2
        if chance(middle) >= 0.5:
            high = middle
        else:
            low = middle
    for fewer in range(high - 1, max(0, high - 25), -1):
        if chance(fewer) >= 0.5:
            high = fewer
    return high
