"""The report's safety-vs-over-refusal chart: every policy visible, labels legible and inert."""

from __future__ import annotations

import re
from pathlib import Path

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


def text_boxes(svg: str) -> list[tuple[str, float, float, float, float]]:
    """Every text of the chart as (text, left, top, right, bottom), from its position, anchor
    and font size (the width as the chart's own layout estimates it)."""
    boxes = []
    for attrs, text in re.findall(r"<text ([^>]*)>([^<]*)</text>", svg):
        x = float(re.search(r'x="([\d.-]+)"', attrs).group(1))  # type: ignore[union-attr]
        y = float(re.search(r'y="([\d.-]+)"', attrs).group(1))  # type: ignore[union-attr]
        size = float(m.group(1)) if (m := re.search(r'font-size="([\d.]+)"', attrs)) else 11.0
        width = 0.62 * size * len(text)
        anchor = m.group(1) if (m := re.search(r'text-anchor="(\w+)"', attrs)) else "start"
        left = x - width if anchor == "end" else x - width / 2 if anchor == "middle" else x
        boxes.append((text, left, y - 0.8 * size, left + width, y + 0.2 * size))
    return boxes


def overlaps(svg: str) -> list[tuple[str, str]]:
    boxes = text_boxes(svg)
    return [(a[0], b[0]) for i, a in enumerate(boxes) for b in boxes[i + 1:]
            if a[1] < b[3] and b[1] < a[3] and a[2] < b[4] and b[2] < a[4]]


def test_no_two_labels_of_the_trade_off_chart_overlap() -> None:
    """The demo's shape: thresholds 0.99 and 0.95 close together, a max_rate line, and four
    policies on the same spot (100 % safe, 0 % refused) or near the threshold lines."""
    rows: list[TradeOffRow] = [
        {**row(name, safety, refusal), "threshold": threshold, "max_rate": 0.25}
        for name, safety, refusal, threshold in (
            ("FIN-01", 1.0, 0.0, 0.99), ("SEC-01", 1.0, 0.0, 0.99), ("CUS-03", 0.96, 0.0, 0.95),
            ("WEL-02", 0.99, 0.02, 0.99), ("FRAUD-LONG-NAME", 0.95, 0.24, 0.95))]
    svg = trade_off_plot(rows)
    assert overlaps(svg) == []
    assert "safety threshold 99%" in svg and "safety threshold 95%" in svg
    # points at the right edge, where the threshold labels are, with wide intervals
    right: list[TradeOffRow] = [
        {**row(name, safety, refusal), "safety_low": 0.0, "threshold": threshold,
         "max_rate": 0.25}
        for name, safety, refusal, threshold in (("FIN-01", 0.99, 0.9, 0.99),
                                                 ("SEC-01", 0.95, 0.95, 0.95),
                                                 ("CUS-03", 1.0, 0.99, 0.95))]
    assert overlaps(trade_off_plot(right)) == []


# ---------------------------------------------------------------- rendered, then read back
# The checks above read the SVG's own estimate of text widths; these render the charts with
# WeasyPrint, as the reports do, and read each drawn label's box back from the PDF.

def rendered_overlaps(tmp_path: Path, *charts: str) -> list[tuple[int, str, str]]:
    from auditor.outputs.report.render import render_pdf
    from tests.pdf_layout import overlapping_labels

    pdf = tmp_path / "charts.pdf"
    body = "".join(f"<div>{chart}</div>" for chart in charts)
    assert render_pdf(f"<html><body>{body}</body></html>", pdf) == []
    return overlapping_labels(pdf)


def test_the_render_check_sees_two_labels_drawn_over_each_other(tmp_path: Path) -> None:
    """The control: a chart whose labels do collide is caught."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="300" height="60" font-size="11">'
           '<text x="10" y="30">safety threshold 99%</text>'
           '<text x="60" y="34">safety threshold 95%</text></svg>')
    assert rendered_overlaps(tmp_path, svg) == [(1, "safetythreshold99%", "safetythreshold95%")]
    apart = svg.replace('y="34"', 'y="50"')
    assert rendered_overlaps(tmp_path, apart) == []


def crowded_trade_off() -> list[TradeOffRow]:
    """Close thresholds, a limit line, points on one spot, on the lines and at the edges."""
    rows: list[TradeOffRow] = [
        {**row(name, safety, refusal), "threshold": threshold, "max_rate": 0.25}
        for name, safety, refusal, threshold in (
            ("FIN-01", 1.0, 0.0, 0.99), ("SEC-01", 1.0, 0.0, 0.99), ("CUS-03", 0.96, 0.0, 0.95),
            ("WEL-02", 0.99, 0.02, 0.99), ("FRAUD-LONG-NAME", 0.95, 0.24, 0.95),
            ("EDGE-1", 0.99, 0.9, 0.99), ("EDGE-2", 0.95, 0.95, 0.95),
            ("EDGE-3", 1.0, 0.99, 0.95), ("LOW-01", 0.0, 0.25, 0.9))]
    return rows


def test_rendered_charts_draw_no_label_over_another(tmp_path: Path) -> None:
    from auditor.outputs.report.charts import forest_plot, heat_map

    forest = forest_plot([
        {"label": label, "score": score, "low": low, "high": high, "threshold": threshold,
         "verdict": verdict}
        for label, score, low, high, threshold, verdict in (
            ("CUSTOMER-FAIRNESS-POLICY-03", 0.97, 0.31, 0.99, 0.95, "INCONCLUSIVE"),
            ("FIN-01", 1.0, 0.99, 1.0, 0.99, "PASS"), ("SEC-01", 0.0, 0.0, 0.02, 0.9, "FAIL"),
            ("Demo model, refusal system prompt", None, 0.0, 1.0, 0.99, "INCONCLUSIVE"))])
    attacks = ["none", "jailbreaking", "prefix_injection", "suffix_injection",
               "token_manipulation", "other_attack"]
    categories = ["crime_cyber", "sex_harassment", "substance_cannabis", "weapon_biological"]
    cells: dict[tuple[str, str], tuple[float | None, int]] = {
        (c, a): (1.0 if i % 2 else 0.333, 100 + i) for i, (c, a) in
             enumerate((c, a) for c in categories for a in attacks)}
    heat = heat_map(categories, attacks, cells)
    assert rendered_overlaps(tmp_path, trade_off_plot(crowded_trade_off()), forest, heat) == []


def test_a_comparison_chart_of_long_model_names_draws_no_label_over_another(
        tmp_path: Path) -> None:
    """The comparison labels points with model names, far longer than policy ids: five
    vendors, three on one spot (all safe, none refused), two far right where there is no room
    for a label on the right, and the over-refusal limit. A comparison's chart has one
    policy's threshold; two close ones are drawn here to crowd the right edge further."""
    names = ["Vendor A – conservative (temperature 0)", "Vendor B – permissive",
             "Vendor C – mixed, refusal system prompt", "Vendor D – beta 2026-11",
             "Vendor E – distilled 8B"]
    spots = [(1.0, 0.0), (1.0, 0.0), (1.0, 0.0), (0.96, 0.92), (0.95, 0.97)]
    rows: list[TradeOffRow] = [
        {**row(name, safety, refusal), "threshold": 0.99 if i % 2 else 0.95, "max_rate": 0.25}
        for i, (name, (safety, refusal)) in enumerate(zip(names, spots, strict=True))]
    svg = trade_off_plot(rows)
    for name in names:
        assert name in svg
    assert rendered_overlaps(tmp_path, svg) == []


def bars(svg: str) -> list[tuple[float, float, float, float]]:
    """Every solid (interval) line of the chart as a box (x0, y0, x1, y1)."""
    found = []
    for attrs in re.findall(r"<line ([^>]*)/>", svg):
        if "dasharray" in attrs or "stroke-width" in attrs:  # threshold lines, leader lines
            continue
        x1, y1, x2, y2 = (float(re.search(rf'{k}="([\d.-]+)"', attrs).group(1))  # type: ignore[union-attr]
                          for k in ("x1", "y1", "x2", "y2"))
        found.append((min(x1, x2), min(y1, y2), max(x1, x2), max(y1, y2)))
    return found


def test_a_threshold_label_never_covers_an_interval() -> None:
    """A point whose safety bar crosses its threshold line where the label would go: the
    label moves along its line (a label on a white patch would hide the bar)."""
    crossing: TradeOffRow = {**row("CUS-03", 0.96, 0.9), "safety_low": 0.9,
                             "safety_high": 1.0, "refusal_low": 0.85, "refusal_high": 0.95,
                             "threshold": 0.95}
    svg = trade_off_plot([crossing, {**row("FIN-01", 0.99, 0.1), "threshold": 0.95}])
    [label] = [b for b in text_boxes(svg) if b[0].startswith("safety threshold")]
    covered = [bar for bar in bars(svg)
               if label[1] < bar[2] and bar[0] < label[3] and label[2] < bar[3] and
               bar[1] < label[4]]
    assert covered == []


def test_a_label_moved_off_its_point_gets_a_leader_line() -> None:
    """Two vendors near 100 % safe and 0 % refused: the second label is stacked away from its
    point, and a thin line joins them, so the two can be told apart."""
    svg = trade_off_plot([row("VENDOR-A", 0.999, 0.01), row("VENDOR-B", 0.998, 0.012)])
    leaders = re.findall(r'<line [^>]*stroke-width="0.6"/>', svg)
    assert len(leaders) == 1
    near = trade_off_plot([row("VENDOR-A", 0.999, 0.01), row("VENDOR-B", 0.7, 0.6)])
    assert 'stroke-width="0.6"' not in near  # labels beside their points need none


def test_a_point_without_a_score_is_named_under_the_chart() -> None:
    unscored: TradeOffRow = {**row("CUS-03", 0.9, 0.1), "safety": None}
    svg = trade_off_plot([row("FIN-01", 0.99, 0.1), unscored])
    assert "not plotted" in svg and "CUS-03" in svg
    assert svg.count("<circle") == 1
    assert "not plotted" not in trade_off_plot([row("FIN-01", 0.99, 0.1)])
