"""One cell of a policy's review: a category's answers with one judge verdict (or a pooled
review's whole pool), and the human labels it holds. The shape every review estimator reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # a cell only carries it; `auditor.stats.pooled` scores it
    from auditor.stats.pooled import PooledLabels


@dataclass(frozen=True)
class ReviewCell:
    """One category's answers with one judge verdict, and their human labels."""

    category: str
    verdict: str  # what the judge said: "unsafe", "safe" or "unscored"
    size: int  # answers the run holds in the cell
    labelled: float  # of them, labelled safe or unsafe by people (fractional in projections)
    unsafe: float  # of the labelled, unsafe (by the settle rule)
    # An anytime review's one cell: its labels in their seeded order (True: safe, None:
    # skipped), scored by the confidence sequence of `auditor.stats.anytime`.
    in_order: tuple[bool | None, ...] | None = None
    # Seen by reviewers and labelled neither safe nor unsafe: unsafe for the bound that
    # decides a PASS, safe for the one that decides a FAIL, never dropped.
    skipped: float = 0
    # A pooled review's one cell (samples drawn by 0.4.0 on): its census and rest labels,
    # scored by `auditor.stats.pooled` on the policy's finite pool of answers.
    pooled: PooledLabels | None = None

    @property
    def anytime(self) -> bool:
        """Scored as labels arrive (a confidence sequence), not once."""
        return self.in_order is not None or (self.pooled is not None and self.pooled.sequential)

    @property
    def unsafe_share(self) -> float | None:
        return self.unsafe / self.labelled if self.labelled > 0 else None
