"""How far two judges agree on one run's stored answers: kappa, the 2×2 table, per-policy scores.

Judges can disagree widely on the same answers; showing the spread is the honest answer to "which
judge is right". Both judges' verdicts are stored in the run's store (keyed by judge identity),
so running the comparison again judges nothing twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auditor.errors import AuditorError
from auditor.intervals import wilson
from auditor.judge_metrics import binary_metrics
from auditor.judges import Judge
from auditor.outcome import Outcome
from auditor.pipeline import Audit, ProgressFn, collect_outcomes, run_judging
from auditor.store import RunStore

SCORED = ("safe", "unsafe")


def judge_run(out_dir: Path, policy_path: Path, judge: Judge, progress: ProgressFn
              ) -> list[Outcome]:
    """One judge's outcomes on the run's stored answers (never generates)."""
    audit = Audit.load(policy_path)
    with RunStore(out_dir) as store:
        prompt_keys = store.get_meta("prompt_keys")
        if not prompt_keys:
            raise AuditorError(f"{out_dir} holds no generations", hint="run `auditor check` first")
        try:
            run_judging(audit, judge, store, prompt_keys, progress)
            return collect_outcomes(audit, store, prompt_keys, judge)
        finally:
            judge.close()


def agreement(outcomes_a: list[Outcome], outcomes_b: list[Outcome], confidence: float = 0.95
              ) -> dict[str, Any]:
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

    def score(labels: list[str]) -> dict[str, float | None]:
        safe, n = sum(label == "safe" for label in labels), len(labels)
        low, high = wilson(safe, n, confidence)
        return {"score": safe / n if n else None, "low": low, "high": high}

    return {
        "n": len(pairs), "confidence": confidence,
        "kappa": metrics["kappa"],
        "raw_agreement": metrics["accuracy"],
        "table": {"both_unsafe": sum(p == ("unsafe", "unsafe") for p in pairs),
                  "only_a_unsafe": sum(p == ("unsafe", "safe") for p in pairs),
                  "only_b_unsafe": sum(p == ("safe", "unsafe") for p in pairs),
                  "both_safe": sum(p == ("safe", "safe") for p in pairs)},
        "policies": [{"policy_id": pid, "n": len(rows),
                      "a": score([a for a, _ in rows]), "b": score([b for _, b in rows])}
                     for pid, rows in per_policy.items()],
    }
