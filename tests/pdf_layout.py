"""Where a rendered PDF put its text: every label on a page as a box, read back from the PDF
WeasyPrint wrote (glyph by glyph, with the fonts' own metrics), not from our SVG's estimate of
how wide a text will be. Tests use it to fail when two labels of a chart, or any two texts of
a page, are drawn over each other."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pdfminer.converter import PDFLayoutAnalyzer
from pdfminer.layout import LTChar
from pdfminer.pdfinterp import PDFPageInterpreter, PDFResourceManager
from pdfminer.pdfpage import PDFPage


@dataclass(frozen=True)
class Label:
    """One run of text as drawn: its characters and its box in PDF points (y grows upwards)."""

    text: str
    left: float
    bottom: float
    right: float
    top: float

    def overlaps(self, other: Label, slack: float = 0.5) -> bool:
        """Whether the two boxes share more than `slack` points each way (touching is fine)."""
        return (self.left + slack < other.right and other.left + slack < self.right
                and self.bottom + slack < other.top and other.bottom + slack < self.top)


class _GlyphCollector(PDFLayoutAnalyzer):
    """Keeps every glyph the page draws, in drawing order."""

    def __init__(self, resources: PDFResourceManager) -> None:
        super().__init__(resources, pageno=1, laparams=None)
        self.glyphs: list[LTChar] = []

    def render_char(self, *args: Any, **kwargs: Any) -> float:
        advance: float = super().render_char(*args, **kwargs)
        drawn = self.cur_item._objs[-1]
        if isinstance(drawn, LTChar):
            self.glyphs.append(drawn)
        return advance

    def receive_layout(self, ltpage: Any) -> None:  # the glyphs are all we need
        pass


def _labels(glyphs: list[LTChar]) -> list[Label]:
    """Glyphs drawn one after another on one baseline, each starting where the last ended (a
    word space apart at most), are one label; WeasyPrint draws an SVG text glyph by glyph, so
    this is how a chart's "safety threshold 99%" becomes one box again."""
    labels: list[Label] = []
    baseline = size = 0.0
    for glyph in glyphs:
        if glyph.get_text().isspace():
            continue
        if labels:
            last = labels[-1]
            gap = glyph.x0 - last.right
            if (abs(glyph.y0 - baseline) < 0.2 * size and abs(glyph.size - size) < 0.1
                    and -0.2 * size < gap < 0.6 * size):
                labels[-1] = Label(last.text + glyph.get_text(), last.left,
                                   min(last.bottom, glyph.y0), glyph.x1, max(last.top, glyph.y1))
                continue
        baseline, size = glyph.y0, glyph.size
        labels.append(Label(glyph.get_text(), glyph.x0, glyph.y0, glyph.x1, glyph.y1))
    return labels


def page_labels(pdf: Path) -> list[list[Label]]:
    """Every page's labels, in drawing order."""
    resources = PDFResourceManager()
    pages = []
    with pdf.open("rb") as handle:
        for page in PDFPage.get_pages(handle):
            collector = _GlyphCollector(resources)
            PDFPageInterpreter(resources, collector).process_page(page)
            pages.append(_labels(collector.glyphs))
    return pages


def overlapping_labels(pdf: Path) -> list[tuple[int, str, str]]:
    """(page number, one text, the other) for every two labels drawn over each other."""
    found = []
    for number, labels in enumerate(page_labels(pdf), start=1):
        for index, label in enumerate(labels):
            found += [(number, label.text, other.text) for other in labels[index + 1:]
                      if label.overlaps(other)]
    return found


# A share written as a decimal ("0.653"), not followed by a unit ("0.005 s").
_DECIMAL_SHARE = re.compile(r"(?<![\d.,])[01]\.\d{2,}(?![\d%e])(?!\s?s\b)")


def decimal_shares(pdf: Path) -> list[tuple[int, str]]:
    """(page number, line) for every line that writes a share as a decimal where the report
    writes shares as percentages. Cohen's κ is a coefficient, not a share: its lines are
    left out."""
    from pypdf import PdfReader

    found = []
    for number, page in enumerate(PdfReader(pdf).pages, start=1):
        for line in page.extract_text().splitlines():
            if _DECIMAL_SHARE.search(line) and "kappa" not in line and "κ" not in line:
                found.append((number, line))
    return found


def text_off_the_page(pdf: Path, margin: float = 0.0) -> list[tuple[int, str]]:
    """(page number, text) for every label drawn past a page's right or left edge: a table
    too wide for its page cuts its last column ("? INCONCLU"), though the text is still
    in the PDF for any text extractor to find."""
    found = []
    with pdf.open("rb") as handle:
        widths = [float(page.mediabox[2]) for page in PDFPage.get_pages(handle)]
    for number, (labels, width) in enumerate(zip(page_labels(pdf), widths, strict=True),
                                             start=1):
        found += [(number, label.text) for label in labels
                  if label.right > width - margin or label.left < margin]
    return found
