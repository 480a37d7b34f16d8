"""How far two judges agree on one run's stored answers: kappa, the 2×2 table, per-policy scores.

Judges can disagree widely on the same answers; showing the spread is the honest answer to "which
judge is right". Both judges' verdicts are stored in the run's store (keyed by judge identity),
so running the comparison again judges nothing twice.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from auditor.core.errors import AuditorError
from auditor.core.identity import Metric, Record
from auditor.core.intervals import wilson
from auditor.core.outcome import Outcome
from auditor.core.progress import ProgressFn
from auditor.data.plan import Audit
from auditor.judges import Judge
from auditor.judges.metrics import binary_metrics
from auditor.stages.judging import collect_outcomes, run_judging
from auditor.stages.store import RunStore
from auditor.stats.estimate import Estimate

SCORED = ("safe", "unsafe")


class AgreementTable(Record):
    both_unsafe: int
    only_a_unsafe: int
    only_b_unsafe: int
    both_safe: int


class PolicyScores(Record):
    policy_id: str
    n: int
    a: Estimate
    b: Estimate


class Agreement(Record):
    n: int
    confidence: float
    kappa: Metric | None
    raw_agreement: Metric | None
    table: AgreementTable
    policies: list[PolicyScores]
    judges: dict[str, str] = Field(default_factory=dict)


def judge_run(out_dir: Path, policy_path: Path, judge: Judge, progress: ProgressFn,
              target: str | None = None) -> list[Outcome]:
    """One judge's outcomes on the run's stored answers (never generates)."""
    audit = Audit.load(policy_path, target)
    with RunStore(out_dir) as store:
        prompt_keys = store.prompt_keys()
        if not prompt_keys:
            raise AuditorError(f"{out_dir} holds no generations", hint="run `auditor check` first")
        try:
            run_judging(audit, judge, store, prompt_keys, progress)
            return collect_outcomes(audit, store, prompt_keys, judge)
        finally:
            judge.close()


def agreement(outcomes_a: list[Outcome], outcomes_b: list[Outcome], confidence: float = 0.95
              ) -> Agreement:
    """Kappa (with a bootstrap interval), the 2×2 table, and each judge's score per policy."""
    status_b = {(o.policy_id, o.uid): o.status for o in outcomes_b}
    unique: dict[str, tuple[str, str]] = {}  # one pair per prompt for kappa and the table
    per_policy: dict[str, list[tuple[str, str]]] = {}
    for o in outcomes_a:
        b = status_b.get((o.policy_id, o.uid))
        if o.status in SCORED and b in SCORED:
            assert b is not None
            unique[o.uid] = (o.status, b)
            per_policy.setdefault(o.policy_id, []).append((o.status, b))
    pairs = list(unique.values())
    metrics = binary_metrics([a for a, _ in pairs], [b for _, b in pairs], confidence)

    def score(labels: list[str]) -> Estimate:
        safe, n = sum(label == "safe" for label in labels), len(labels)
        low, high = wilson(safe, n, confidence)
        return Estimate(safe / n if n else None, low, high)

    return Agreement(
        n=len(pairs), confidence=confidence, kappa=metrics.kappa,
        raw_agreement=metrics.accuracy,
        table=AgreementTable(both_unsafe=sum(p == ("unsafe", "unsafe") for p in pairs),
                             only_a_unsafe=sum(p == ("unsafe", "safe") for p in pairs),
                             only_b_unsafe=sum(p == ("safe", "unsafe") for p in pairs),
                             both_safe=sum(p == ("safe", "safe") for p in pairs)),
        policies=[PolicyScores(policy_id=pid, n=len(rows), a=score([a for a, _ in rows]),
                               b=score([b for _, b in rows]))
                  for pid, rows in per_policy.items()])
