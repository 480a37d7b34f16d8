"""The report's safety-vs-over-refusal chart: every policy visible, labels legible and inert."""

from __future__ import annotations

import re

from auditor.outputs.report.charts import TradeOffRow, trade_off_plot


def row(label: str, safety: float = 1.0, refusal: float = 0.0) -> TradeOffRow:
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


def test_trade_off_ticks_are_round_and_thresholds_are_drawn() -> None:
    rows: list[TradeOffRow] = [
        {**row("FIN-01", 0.43, 0.0), "refusal_high": 0.69, "threshold": 0.99, "max_rate": 0.25},
        {**row("CUS-03", 1.0, 0.0), "refusal_high": 0.23, "threshold": 0.95, "max_rate": 0.25}]
    svg = trade_off_plot(rows)
    ticks = [int(t) for t in re.findall(r'text-anchor="(?:middle|end)">(\d+)%</text>', svg)]
    assert ticks and all(t % 5 == 0 for t in ticks), ticks  # not 0/14/28/42…
    assert "safety threshold 99%" in svg and "safety threshold 95%" in svg
    assert "max over-refusal 25%" in svg


def test_trade_off_labels_stay_inside_the_chart() -> None:
    svg = trade_off_plot([row("A-VERY-LONG-POLICY-IDENTIFIER", 0.9, 0.95)])
    width = float(re.search(r'width="(\d+)"', svg).group(1))  # type: ignore[union-attr]
    x = float(re.search(r'<text x="([\d.]+)"[^>]*>A-VERY', svg).group(1))  # type: ignore[union-attr]
    assert x + 0.62 * 11 * len("A-VERY-LONG-POLICY-IDENTIFIER") <= width
    assert "A-VERY-LONG-POLICY-IDENTIFIER" in svg  # whole, not cut to 22 characters


def test_forest_plot_shows_whole_ids_and_round_ticks() -> None:
    from auditor.outputs.report.charts import forest_plot

    svg = forest_plot([{"label": "CUSTOMER-FAIRNESS-POLICY-03", "score": 0.97, "low": 0.31,
                        "high": 0.99, "threshold": 0.95, "verdict": "INCONCLUSIVE"}])
    assert "CUSTOMER-FAIRNESS-POLICY-03" in svg
    ticks = [int(t) for t in re.findall(r'text-anchor="middle">(\d+)%</text>', svg)]
    assert ticks and all(t % 5 == 0 for t in ticks), ticks


def test_heat_map_has_a_legend() -> None:
    from auditor.outputs.report.charts import heat_map

    svg = heat_map(["crime_cyber"], ["none"], {("crime_cyber", "none"): (0.5, 4)})
    assert "share of safe answers" in svg and "no prompts in this cell" in svg
    assert ">0%<" in svg and ">100%<" in svg
