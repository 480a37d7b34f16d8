"""Benchmark: scoring and rendering 45,000 verdicts across 30 policies (aim: under 10 s).

Synthesises outcomes (no model involved) and times the whole back half of a run: scores,
intervals (including the seeded bootstraps), results.json, JSONL, junit.xml, HTML and PDF.
Prints one JSON line.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from auditor.audit.check import Judges, RunFacts, finish  # noqa: E402
from auditor.config.loader import parse_policy_text  # noqa: E402
from auditor.core import taxonomy  # noqa: E402
from auditor.core.identity import JudgeCard, TargetFingerprint  # noqa: E402
from auditor.core.outcome import Outcome, Status  # noqa: E402
from auditor.data.dataset import AlertDataset, FileInfo  # noqa: E402
from auditor.data.plan import Audit  # noqa: E402
from auditor.data.provenance import provenance_of  # noqa: E402
from auditor.data.selection import Plan, PolicyPlan  # noqa: E402
from auditor.judges import JudgeWithCard  # noqa: E402
from auditor.judges.metrics import binary_metrics  # noqa: E402
from auditor.judges.refusal import RefusalJudge  # noqa: E402
from auditor.outputs.records import StageCounts  # noqa: E402
from auditor.stages.generation import GenerateCounts  # noqa: E402
from auditor.stages.judging import JudgeCounts  # noqa: E402

POLICIES = 30
VERDICTS = 45_000
ATTACKS = ["none", "suffix_injection", "prefix_injection", "token_manipulation", "jailbreaking"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="copy the outputs here (to look at the PDF)")
    keep = parser.parse_args().keep
    rng = random.Random(0)
    labels = list(taxonomy.MICRO)
    policy_lines = []
    chosen = []
    for index in range(POLICIES):
        categories = rng.sample(labels, 4)
        chosen.append(categories)
        policy_lines.append(f"  - {{id: P{index:02d}, title: Policy {index}, "
                            f"categories: [{', '.join(categories)}]}}")
    policy_file = parse_policy_text(
        "version: 1\norganisation: {name: Bench}\ndataset: {path: .}\n"
        f"sampling: {{attack_types: [{', '.join(ATTACKS)}]}}\n"
        "scoring: {weighting: equal}\npolicies:\n" + "\n".join(policy_lines) + "\n")
    dataset = AlertDataset([], [FileInfo("alert.jsonl", "0" * 64, 0, 0, 0, 0)], "synthetic")
    outcomes = []
    per_policy = VERDICTS // POLICIES
    safe_rate = {label: rng.uniform(0.7, 1.0) for label in labels}
    for index, categories in enumerate(chosen):
        for n in range(per_policy):
            category = categories[n % 4]
            roll = rng.random()
            status: Status = "error" if roll > 0.995 else "unscored" if roll > 0.99 else \
                "safe" if rng.random() < safe_rate[category] else "unsafe"
            outcomes.append(Outcome(f"P{index:02d}", f"u{index}-{n}", category,
                                    ATTACKS[n % len(ATTACKS)], status,
                                    f"prompt {n} " * 8, f"answer {n} " * 20, None, None))
    audit = Audit(policy_file, Path("bench.yaml"), "0" * 64, dataset,
                  Plan([PolicyPlan(p.id) for p in policy_file.policies], {}),
                  provenance_of(dataset))
    metrics = binary_metrics(["unsafe"] * 200 + ["safe"] * 200,
                             ["unsafe"] * 180 + ["safe"] * 20 + ["safe"] * 190 + ["unsafe"] * 10)
    card = JudgeCard.model_validate({**metrics.model_dump(), "construct": "refusal",
                                     "source": "synthetic"})
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        counts = StageCounts(
            generate=GenerateCounts(total=VERDICTS, cached=0, generated=VERDICTS, errors=0),
            judge=JudgeCounts(total=VERDICTS, cached=0, judged=VERDICTS, unscored=0))
        facts = RunFacts("bench", TargetFingerprint(backend="vllm", model="bench", id="bench"),
                         counts, [], Path(tmp), "bench: no store")
        judges = Judges(JudgeWithCard(RefusalJudge(), card), None, started)
        summary = finish(audit, outcomes, None, judges, facts, Path(tmp))
        elapsed = time.perf_counter() - started
        pdf_bytes = (Path(tmp) / "report.pdf").stat().st_size
        if keep is not None:
            shutil.copytree(tmp, keep, dirs_exist_ok=True)
    print(json.dumps({"bench": "report", "verdicts": len(outcomes), "policies": POLICIES,
                      "seconds": round(elapsed, 2), "pdf_bytes": pdf_bytes,
                      "overall": summary.results.overall.verdict}))


if __name__ == "__main__":
    main()
