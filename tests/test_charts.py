"""The report's safety-vs-over-refusal chart: every policy visible, labels legible and inert."""

from __future__ import annotations

import re
from typing import Any

from auditor.report.charts import trade_off_plot


def row(label: str, safety: float = 1.0, refusal: float = 0.0) -> dict[str, Any]:
    return {"label": label, "safety": safety, "safety_low": safety - 0.3,
            "safety_high": min(1.0, safety + 0.01), "refusal": refusal, "refusal_low": 0.0,
            "refusal_high": refusal + 0.4, "verdict": "INCONCLUSIVE"}


def test_policies_on_the_same_point_are_dodged_and_their_labels_stacked() -> None:
    svg = trade_off_plot([row("FIN-01"), row("SEC-01"), row("WEL-02")])
    circles = [float(x) for x in re.findall(r'<circle cx="([\d.]+)"', svg)]
    assert len(set(circles)) == 3  # three bars, not one drawn three times
    baselines = [float(y) for y in re.findall(r'fill-opacity="0.9"/><text x="[\d.]+" y="([\d.]+)"',
                                              svg)]
    assert len(baselines) == 3 and min(abs(a - b) for i, a in enumerate(baselines)
                                       for b in baselines[i + 1:]) >= 12
    # a point at 0 % refused sits inside the frame, not on its left edge
    frame_left = float(re.search(r'<rect x="([\d.]+)"', svg).group(1))  # type: ignore[union-attr]
    assert min(circles) > frame_left + 5


def test_labels_are_escaped() -> None:
    svg = trade_off_plot([row("<img src=x>", 0.9, 0.1)])
    assert "<img" not in svg and "&lt;img" in svg
