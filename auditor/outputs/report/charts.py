"""SVG charts made in Python (no JavaScript): a forest plot and a category × attack heat map.

Colours come from the Okabe–Ito palette and the cividis scale, both readable by colour-blind
readers; every mark also carries its value or verdict as text.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape
from typing import NotRequired, TypedDict

VERDICT_COLOURS = {"PASS": "#0072B2", "FAIL": "#D55E00", "INCONCLUSIVE": "#E69F00"}
VERDICT_MARKS = {"PASS": "✓", "FAIL": "✗", "INCONCLUSIVE": "?"}

# cividis, sampled at 0, .25, .5, .75, 1 (perceptually uniform, colour-blind safe)
_CIVIDIS = [(0, 34, 78), (64, 77, 107), (124, 123, 120), (188, 175, 111), (253, 231, 55)]


def cividis(value: float) -> str:
    value = min(1.0, max(0.0, value))
    position = value * (len(_CIVIDIS) - 1)
    index = min(int(position), len(_CIVIDIS) - 2)
    frac = position - index
    a, b = _CIVIDIS[index], _CIVIDIS[index + 1]
    r, g, bl = (round(a[i] + (b[i] - a[i]) * frac) for i in range(3))
    return f"#{r:02x}{g:02x}{bl:02x}"


def _text_colour(value: float) -> str:
    return "#000000" if value > 0.55 else "#ffffff"


# Axis ends from which five equal steps give round ticks (0/20/…/100 %, 50/60/…/100 %, …).
_LOW_ENDS = (0.9, 0.8, 0.5, 0.0)
_HIGH_ENDS = (0.05, 0.1, 0.2, 0.25, 0.5, 1.0)


def nice_low(value: float) -> float:
    """The highest round lower axis end at or below `value`."""
    return next(end for end in _LOW_ENDS if end <= value)


def nice_high(value: float) -> float:
    """The lowest round upper axis end at or above `value`."""
    return next((end for end in _HIGH_ENDS if end >= value), 1.0)


def _label_width(text: str, font_px: float) -> float:
    return 0.62 * font_px * len(text)  # DejaVu Sans averages about 0.6 em a character


class ForestRow(TypedDict):
    label: str
    score: float | None
    low: float
    high: float
    threshold: float
    verdict: str


@dataclass(frozen=True)
class _Point:
    """A policy with both figures, as the trade-off chart plots it."""

    label: str
    safety: float
    safety_low: float
    safety_high: float
    refusal: float
    refusal_low: float
    refusal_high: float
    verdict: str


class TradeOffRow(TypedDict):
    label: str
    safety: float | None
    safety_low: float
    safety_high: float
    refusal: float | None
    refusal_low: float
    refusal_high: float
    verdict: str
    threshold: NotRequired[float | None]
    max_rate: NotRequired[float | None]


def forest_plot(rows: list[ForestRow], width: int = 680) -> str:
    """rows: {label, score, low, high, threshold, verdict}. The x axis spans the data."""
    if not rows:
        return ""
    right, row_h, top = 110, 26, 30
    # the policy ids are what readers look up: the margin grows to fit them whole
    left = int(min(width / 2, max(80.0, 16 + max(_label_width(r["label"], 11) for r in rows))))
    lows = [r["low"] for r in rows] + [r["threshold"] for r in rows]
    x_min = nice_low(max(0.0, min(lows) - 0.02))
    plot_w = width - left - right
    height = top + row_h * len(rows) + 30

    def x(value: float) -> float:
        return left + (value - x_min) / (1 - x_min) * plot_w

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="11">']
    ticks = [x_min + i * (1 - x_min) / 5 for i in range(6)]
    for tick in ticks:
        parts.append(f'<line x1="{x(tick):.1f}" y1="{top - 8}" x2="{x(tick):.1f}" '
                     f'y2="{height - 24}" stroke="#dddddd"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{height - 10}" text-anchor="middle">'
                     f'{tick:.0%}</text>')
    for index, row in enumerate(rows):
        y = top + index * row_h + row_h / 2
        colour = VERDICT_COLOURS.get(row["verdict"], "#555555")
        parts.append(f'<text x="{left - 8}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(row["label"])}</text>')
        threshold_x = x(row["threshold"])
        parts.append(f'<line x1="{threshold_x:.1f}" y1="{y - 10:.1f}" x2="{threshold_x:.1f}" '
                     f'y2="{y + 10:.1f}" stroke="#000000" stroke-width="2" '
                     f'stroke-dasharray="3,2"/>')
        if row["score"] is None:
            # no answer scored, or a judge card that cannot correct or does not fit: the
            # verdict's reason says which
            parts.append(f'<text x="{left + 4}" y="{y + 4:.1f}">no score: its reason says '
                         'why</text>')
            continue
        parts.append(f'<line x1="{x(row["low"]):.1f}" y1="{y:.1f}" x2="{x(row["high"]):.1f}" '
                     f'y2="{y:.1f}" stroke="{colour}" stroke-width="3"/>')
        parts.append(f'<rect x="{x(row["score"]) - 4:.1f}" y="{y - 4:.1f}" width="8" height="8" '
                     f'fill="{colour}"/>')
        label = f'{VERDICT_MARKS.get(row["verdict"], "")} {row["score"]:.1%}'
        parts.append(f'<text x="{width - right + 8}" y="{y + 4:.1f}" fill="{colour}" '
                     f'font-weight="bold">{escape(label)}</text>')
    parts.append(f'<text x="{left}" y="14" fill="#333333">score with '
                 'confidence interval; dashed line = threshold</text>')
    parts.append("</svg>")
    return "".join(parts)


def heat_map(categories: list[str], attacks: list[str],
             cells: dict[tuple[str, str], tuple[float | None, int]], width: int = 680) -> str:
    """cells: (category, attack) → (score, n). Empty cells are grey with a dash."""
    if not categories or not attacks:
        return ""
    left, top, row_h = 150, 60, 15
    cell_w = min(90, (width - left) / len(attacks))
    legend_h = 46
    height = top + row_h * len(categories) + 10 + legend_h
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="9">']
    names = [attack.replace("_", " ") for attack in attacks]
    # Column names wider than their column alternate between two lines, so that neighbours
    # never print over each other.
    staggered = any(_label_width(name, 9) > cell_w - 4 for name in names)
    for column, name in enumerate(names):
        cx = left + column * cell_w + cell_w / 2
        y = top - 8 - (12 if staggered and column % 2 else 0)
        parts.append(f'<text x="{cx:.1f}" y="{y}" text-anchor="middle">{escape(name)}</text>')
    for row, category in enumerate(categories):
        y = top + row * row_h
        parts.append(f'<text x="{left - 6}" y="{y + row_h - 4}" text-anchor="end">'
                     f'{escape(category)}</text>')
        for column, attack in enumerate(attacks):
            score, n = cells.get((category, attack), (None, 0))
            x = left + column * cell_w
            fill = "#eeeeee" if score is None else cividis(score)
            parts.append(f'<rect x="{x:.1f}" y="{y}" width="{cell_w - 1:.1f}" height="{row_h - 1}" '
                         f'fill="{fill}"/>')
            text = "–" if score is None else f"{score:.0%} (n={n})"
            colour = "#555555" if score is None else _text_colour(score)
            parts.append(f'<text x="{x + cell_w / 2:.1f}" y="{y + row_h - 4}" '
                         f'text-anchor="middle" fill="{colour}">{escape(text)}</text>')
    parts += _heat_legend(left, top + row_h * len(categories) + 12)
    parts.append("</svg>")
    return "".join(parts)


def _heat_legend(left: float, y: float) -> list[str]:
    """The colour scale: share of safe answers from 0 % to 100 %, and the empty-cell swatch."""
    steps, step_w = 20, 9
    parts = [f'<text x="{left}" y="{y + 8}">colour: share of safe answers in the cell (n = '
             'prompts in the cell)</text>']
    bar_y = y + 13
    for i in range(steps):
        parts.append(f'<rect x="{left + i * step_w}" y="{bar_y}" width="{step_w}" '
                     f'height="10" fill="{cividis(i / (steps - 1))}"/>')
    for share in (0.0, 0.5, 1.0):
        parts.append(f'<text x="{left + share * steps * step_w:.1f}" y="{bar_y + 20}" '
                     f'text-anchor="middle">{share:.0%}</text>')
    grey = left + steps * step_w + 24
    parts.append(f'<rect x="{grey}" y="{bar_y}" width="18" height="10" fill="#eeeeee"/>')
    parts.append(f'<text x="{grey + 24}" y="{bar_y + 9}">– no prompts in this cell</text>')
    return parts


def _backing(x: float, baseline: float, width: float, font_px: float) -> str:
    """A white patch behind a label of the given baseline and width."""
    return (f'<rect x="{x - 2:.1f}" y="{baseline - font_px + 1:.1f}" width="{width + 4:.1f}" '
            f'height="{font_px + 2:.1f}" fill="#ffffff" fill-opacity="0.9"/>')


def trade_off_plot(rows: list[TradeOffRow], width: int = 680, height: int = 360) -> str:
    """Safety against over-refusal, one point per policy with both intervals as error bars.

    rows: {label, safety, safety_low, safety_high, refusal, refusal_low, refusal_high,
    verdict}. Up and to the left is better: safe answers to harmful prompts, help with
    benign ones. A row without a score on either axis is left out (listed under the chart).
    """
    plotted = [_Point(r["label"], safety, r["safety_low"], r["safety_high"], refusal,
                      r["refusal_low"], r["refusal_high"], r["verdict"])
               for r in rows
               if (safety := r["safety"]) is not None and (refusal := r["refusal"]) is not None]
    if not plotted:
        return ""
    left, right, top, bottom = 60, 20, 28, 44
    pad = 10  # keeps points at 0 % and 100 % off the frame, where their bars would hide
    thresholds = sorted({v for r in rows if r["safety"] is not None and r["refusal"] is not None
                         and (v := r.get("threshold")) is not None})
    max_rates = sorted({v for r in rows if r["safety"] is not None and r["refusal"] is not None
                        and (v := r.get("max_rate")) is not None})
    # round axis ends that hold every interval and every threshold line
    y_min = nice_low(max(0.0, min([r.safety_low for r in plotted] + thresholds) - 0.02))
    x_max = nice_high(max([r.refusal_high for r in plotted] + max_rates))
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(value: float) -> float:
        return left + pad + value / x_max * (plot_w - 2 * pad)

    def y(value: float) -> float:
        return top + pad + (1 - (value - y_min) / (1 - y_min)) * (plot_h - 2 * pad)

    missing = [r["label"] for r in rows if r["safety"] is None or r["refusal"] is None]
    drawn_h = height + (16 if missing else 0)  # a line under the axis names those left out
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{drawn_h}" '
             f'viewBox="0 0 {width} {drawn_h}" font-family="sans-serif" font-size="11">',
             f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
             'stroke="#999999"/>']
    if missing:
        note = "not plotted (no score on one axis; the reason says why): "
        shown = list(missing)
        while len(shown) > 1 and _label_width(note + ", ".join(shown) + ", and 99 more", 9) \
                > width - left - right:
            shown.pop()
        more = f", and {len(missing) - len(shown)} more" if len(shown) < len(missing) else ""
        parts.append(f'<text x="{left}" y="{height + 10}" font-size="9">'
                     f'{escape(note + ", ".join(shown) + more)}</text>')
    for i in range(6):
        tick_x, tick_y = x_max * i / 5, y_min + (1 - y_min) * i / 5
        parts.append(f'<text x="{x(tick_x):.1f}" y="{height - bottom + 14}" '
                     f'text-anchor="middle">{tick_x:.0%}</text>')
        parts.append(f'<text x="{left - 6}" y="{y(tick_y) + 4:.1f}" '
                     f'text-anchor="end">{tick_y:.0%}</text>')
    parts.append(f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" text-anchor="middle">'
                 'over-refusal rate on benign look-alike prompts (lower is better)</text>')
    parts.append(f'<text x="{left}" y="14" fill="#333333">safety score (higher is better), '
                 'each with its two intervals; dashed: thresholds</text>')
    # Where each point is drawn. Policies often share a point (0 % refused, 100 % safe): points
    # with (nearly) the same over-refusal are dodged a few pixels apart so that each one's
    # vertical bar shows.
    placed: list[tuple[_Point, float, float]] = []
    seen_at: dict[int, int] = {}
    for row in sorted(plotted, key=lambda r: (-r.safety, r.refusal)):
        cx, cy = x(row.refusal), y(row.safety)
        spot = round(cx / 6)
        cx += 5 * seen_at.get(spot, 0)
        seen_at[spot] = seen_at.get(spot, 0) + 1
        placed.append((row, cx, cy))
    # What no label may cover: each point's two bars and its dot, as boxes (x0, y0, x1, y1).
    marks = [box for row, cx, cy in placed for box in (
        (cx - 2, y(row.safety_high), cx + 2, y(row.safety_low)),
        (x(row.refusal_low), cy - 2, x(row.refusal_high), cy + 2),
        (cx - 5, cy - 5, cx + 5, cy + 5))]
    # Every label placed so far, as (left x, baseline y, width).
    labels: list[tuple[float, float, float]] = []

    def clear(label_x: float, label_y: float, label_w: float, font_px: float) -> bool:
        """Whether a label there overlaps no other label and covers no bar or dot."""
        top_y = label_y - font_px
        return not any(abs(label_y - y0) < 12 and label_x < x0 + w0 and x0 < label_x + label_w
                       for x0, y0, w0 in labels) and \
            not any(label_x < bx1 and bx0 < label_x + label_w and top_y < by1 and by0 < label_y + 2
                    for bx0, by0, bx1, by1 in marks)

    # Drawn after every line and bar, each on a white patch, so that nothing runs through one.
    label_parts: list[str] = []
    for threshold in sorted(thresholds, reverse=True):
        line_y = y(threshold)
        parts.append(f'<line x1="{left}" y1="{line_y:.1f}" x2="{left + plot_w}" '
                     f'y2="{line_y:.1f}" stroke="#000000" stroke-dasharray="4,3"/>')
        text = f"safety threshold {threshold:.0%}"
        label_w = _label_width(text, 9)
        # along its line from the right end to the left, above it, then below it: the first
        # place that covers no interval and no other label
        ends = [left + plot_w - 4 - label_w - step for step in range(0, plot_w, 16)
                if left + plot_w - 4 - label_w - step >= left + 4]
        spots = [(spot_x, line_y + dy) for dy in (-3, 11) for spot_x in ends]
        label_x, label_y = next((spot for spot in spots if clear(*spot, label_w, 9)), spots[0])
        labels.append((label_x, label_y, label_w))
        label_parts += [_backing(label_x, label_y, label_w, 9),
                        f'<text x="{label_x:.1f}" y="{label_y:.1f}" font-size="9">{text}</text>']
    for index, max_rate in enumerate(max_rates):
        parts.append(f'<line x1="{x(max_rate):.1f}" y1="{top}" x2="{x(max_rate):.1f}" '
                     f'y2="{top + plot_h}" stroke="#000000" stroke-dasharray="4,3"/>')
        text = f"max over-refusal {max_rate:.0%}"
        label_w = _label_width(text, 9)
        label_y = top + plot_h - 4 - 12 * index
        while not clear(x(max_rate) + 3, label_y, label_w, 9) and label_y > top + 24:
            label_y -= 12
        labels.append((x(max_rate) + 3, label_y, label_w))
        label_parts += [_backing(x(max_rate) + 3, label_y, label_w, 9),
                        f'<text x="{x(max_rate) + 3:.1f}" y="{label_y:.1f}" '
                        f'font-size="9">{text}</text>']
    for row, cx, cy in placed:
        colour = VERDICT_COLOURS.get(row.verdict, "#555555")
        parts.append(f'<line x1="{x(row.refusal_low):.1f}" y1="{cy:.1f}" '
                     f'x2="{x(row.refusal_high):.1f}" y2="{cy:.1f}" stroke="{colour}"/>')
        parts.append(f'<line x1="{cx:.1f}" y1="{y(row.safety_low):.1f}" x2="{cx:.1f}" '
                     f'y2="{y(row.safety_high):.1f}" stroke="{colour}"/>')
        parts.append(f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="4" fill="{colour}"/>')
    for row, cx, cy in placed:
        colour = VERDICT_COLOURS.get(row.verdict, "#555555")
        text = row.label
        label_w = _label_width(text, 11)
        label_x, label_y = cx + 8, cy + 4
        if label_x + label_w > left + plot_w - 2:  # no room on the right: label on the left
            label_x = max(2.0, cx - 8 - label_w)
        while any(abs(label_y - y0) < 12 and label_x < x0 + w0 and x0 < label_x + label_w
                  for x0, y0, w0 in labels):
            label_y += 12
        if label_y > top + plot_h - 2:  # stacked past the frame's foot: stack upwards instead
            label_y = cy + 4 - 12
            while any(abs(label_y - y0) < 12 and label_x < x0 + w0 and x0 < label_x + label_w
                      for x0, y0, w0 in labels):
                label_y -= 12
        labels.append((label_x, label_y, label_w))
        if abs(label_y - (cy + 4)) > 6:  # moved off its point: a leader line says whose it is
            end_x = label_x - 1 if label_x > cx else label_x + label_w + 1
            label_parts.append(f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{end_x:.1f}" '
                               f'y2="{label_y - 4:.1f}" stroke="{colour}" '
                               'stroke-width="0.6"/>')
        label_parts += [_backing(label_x, label_y, label_w, 11),
                        f'<text x="{label_x:.1f}" y="{label_y:.1f}" fill="{colour}">'
                        f'{escape(text)}</text>']
    parts += label_parts
    parts.append("</svg>")
    return "".join(parts)
