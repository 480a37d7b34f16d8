"""The coverage harness (bench/coverage.py --quick) meets the targets the intervals claim."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT


def test_quick_harness_meets_the_targets() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "coverage.py"), "--quick"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    figures = json.loads(run.stdout)
    assert figures["cells"] > 100
    assert figures["min_coverage"] >= 0.93, figures["worst_coverage"]
    assert figures["max_false_pass"] <= 0.025, figures["worst_false_pass"]
    assert figures["zero_width"] == 0 and figures["point_outside"] == 0
    assert figures["n_more_decided_rate"] >= 0.5


def test_quick_over_refusal_harness_meets_the_targets() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "over_refusal_coverage.py"),
                          "--quick"], capture_output=True, text=True, check=True, cwd=ROOT)
    corrected = json.loads(run.stdout)["judge_corrected"]  # what `auditor check` uses
    assert corrected["cells"] >= 40
    assert corrected["min_coverage"] >= 0.93, corrected["worst_cells"]
    assert corrected["max_false_fail"] <= 0.025 and corrected["max_false_pass"] <= 0.025
