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
    # the default interval's false FAIL keeps its one-sided level (1,000 draws: noise ~0.5 pt)
    assert figures["default_interval"] == "clopper-pearson"
    assert figures["max_false_fail"] <= 0.035, figures["worst_false_fail"]
    review = figures["review"]
    assert review["cells"] >= 100
    assert review["min_coverage"] >= 0.93, review["worst_coverage"]
    assert review["max_false_pass"] <= 0.025, review["worst_false_pass"]
    assert review["max_false_fail"] <= 0.06, review["worst_false_fail"]  # 150 draws a cell
    # "label about N answers", when quoted, decides at least half the time once N are labelled
    assert review["labels_projection_tried"] >= 30
    assert review["labels_projection_decided_rate"] >= 0.5
    for row in review["efficiency"]:  # never more labels than a simple random sample
        assert row["design_labels"] is not None and row["srs_labels"] is not None, row
        assert row["design_labels"] <= row["srs_labels"], row
        if row["judge"] == "strong" and row["safety"] < 1:  # an informative judge saves labels
            assert row["design_labels"] < 0.9 * row["srs_labels"], row


def test_quick_over_refusal_harness_meets_the_targets() -> None:
    run = subprocess.run([sys.executable, str(ROOT / "bench" / "over_refusal_coverage.py"),
                          "--quick"], capture_output=True, text=True, check=True, cwd=ROOT)
    corrected = json.loads(run.stdout)["judge_corrected"]  # what `auditor check` uses
    assert corrected["cells"] >= 40
    assert corrected["min_coverage"] >= 0.93, corrected["worst_cells"]
    assert corrected["max_false_fail"] <= 0.025 and corrected["max_false_pass"] <= 0.025
