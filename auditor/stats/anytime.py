"""An anytime-valid bound on the safe share from people's labels: labels may arrive in any
number of batches and `check` may be rerun after each, and the verdict keeps its error rate.

A Clopper–Pearson interval holds for one look at a sample size fixed in advance. Looking after
every batch and stopping at the first PASS is many looks: at a true safety just under 0.95,
batches of 20 gave a false PASS 3.4 % of the time over 10 looks and 10.6 % over 50, where
2.5 % is claimed. A confidence *sequence* holds at every sample size at once.

The one used is the mixture martingale of a Bernoulli likelihood (Robbins; Howard, Ramdas et
al. 2021). For a candidate safe share p, after s safe and f unsafe labels,

    M(p) = B(a + s, b + f) / B(a, b) / (p^s (1 − p)^f),

the Beta(a, b)-average of the likelihood ratio of each θ against p. Under a true share p it is
a nonnegative martingale with mean 1, so by Ville's inequality it ever reaches 2/α with
probability at most α/2. The set {p : M(p) < 2/α} is an interval (log M is convex in p); each
of its ends errs with probability at most α/2 over every look, the same per-verdict guarantee
as the fixed interval's. The bound kept after n labels is the tightest over every prefix of
the labels in their seeded order (the intersection of a confidence sequence is one too).

The prior Beta(1, 1/2) puts its weight toward safe models, which is where a certification
is asked for: a wholly safe model needs 122 labels for 0.95 and 706 for 0.99 (a fixed design:
72 and 368). The labels are a simple random sample drawn without replacement; the martingale
is for draws with replacement, and `bench/coverage.py` checks the without-replacement case by
simulation (the finite population only concentrates the labels further).
"""

from __future__ import annotations

import math

from scipy.optimize import brentq
from scipy.special import betaln

from auditor.stats.estimate import Estimate

PRIOR_SAFE = 1.0  # a
PRIOR_UNSAFE = 0.5  # b


def log_mixture(p: float, safe: int, unsafe: int) -> float:
    """log M(p): the evidence against a safe share of p after these labels."""
    evidence = betaln(PRIOR_SAFE + safe, PRIOR_UNSAFE + unsafe) - betaln(PRIOR_SAFE,
                                                                         PRIOR_UNSAFE)
    return float(evidence - safe * math.log(p) - unsafe * math.log1p(-p))


def anytime_bounds(safe: int, unsafe: int, confidence: float) -> tuple[float, float]:
    """The confidence sequence's interval for the safe share at these counts."""
    n = safe + unsafe
    if n == 0:
        return 0.0, 1.0
    level = math.log(2 / (1 - confidence))
    point = safe / n
    eps = 1e-12

    def excess(p: float) -> float:
        return log_mixture(p, safe, unsafe) - level

    # At the observed share M ≤ 1 (no θ is likelier than it), so each end has one root: log M
    # falls toward the point from below and rises away from it above.
    inside = min(max(point, eps), 1 - eps)
    low = brentq(excess, eps, inside) if point > 0 and excess(eps) > 0 else 0.0
    high = brentq(excess, inside, 1 - eps) if point < 1 and excess(1 - eps) > 0 else 1.0
    return float(low), float(high)


def anytime_estimate(labels_in_order: list[bool | None], confidence: float
                     ) -> Estimate | None:
    """The safe share and its anytime-valid interval, from labels in their seeded order
    (True: safe, None: skipped). The bounds are the tightest over every prefix. A skipped
    answer counts as unsafe for the lower bound and as safe for the upper one: each bound is
    then one that its side's worst case of the skipped answers' labels would give."""
    if not labels_in_order:
        return None
    low = _running_bound([label is True for label in labels_in_order], confidence, 0)
    high = _running_bound([label is not False for label in labels_in_order], confidence, 1)
    given = [label for label in labels_in_order if label is not None]
    if not given:
        return Estimate(None, low, high)
    point = sum(given) / len(given)
    # The running intersection can in principle leave the point outside; keep it inside.
    return Estimate(point, min(low, point), max(high, point))


def _running_bound(labels_in_order: list[bool], confidence: float, side: int) -> float:
    """The tightest lower (side 0) or upper (side 1) bound over every prefix.

    A safe label raises both bounds and an unsafe one lowers them (the mixture's predictive
    share of safe lies between them), so the lower bound peaks at the end of a run of safe
    labels and the upper bound dips at the end of a run of unsafe ones: only those prefixes
    are computed. Were the bounds not monotone somewhere, skipping a prefix could only leave
    the interval wider, never narrower than it may be (`tests/test_review.py` checks they
    agree with every prefix computed)."""
    bound = 0.0 if side == 0 else 1.0
    raises = side == 0  # the lower bound's peaks follow safe labels; the upper's dips, unsafe
    safe = unsafe = 0
    last = len(labels_in_order) - 1
    for index, label in enumerate(labels_in_order):
        safe += label
        unsafe += not label
        ends_run = index == last or labels_in_order[index + 1] != label
        if ends_run and (label == raises or index == 0):
            step = anytime_bounds(safe, unsafe, confidence)[side]
            bound = max(bound, step) if side == 0 else min(bound, step)
    return bound


def _every_prefix_bound(labels_in_order: list[bool], confidence: float, side: int) -> float:
    """`_running_bound` computed at every prefix (for tests of the shortcut)."""
    bound = 0.0 if side == 0 else 1.0
    safe = unsafe = 0
    for label in labels_in_order:
        safe += label
        unsafe += not label
        step = anytime_bounds(safe, unsafe, confidence)[side]
        bound = max(bound, step) if side == 0 else min(bound, step)
    return bound


def labels_to_certify(threshold: float, confidence: float, unsafe_share: float = 0.0,
                      limit: int = 1_000_000) -> int | None:
    """Labels an anytime review needs for its lower bound to reach `threshold` when the labels
    come in at `unsafe_share`, or None when no number does (up to `limit`)."""
    if 1 - unsafe_share <= threshold:
        return None

    def certifies(n: int) -> bool:
        unsafe = round(n * unsafe_share)
        return anytime_bounds(n - unsafe, unsafe, confidence)[0] >= threshold

    n = previous = 1
    while not certifies(n):
        if n > limit:
            return None
        previous, n = n, max(n + 1, math.ceil(n * 1.02))
    while n > previous and certifies(n - 1):  # the grid overshoots: the fewest that do
        n -= 1
    return n
