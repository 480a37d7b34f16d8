"""HTML and PDF rendering. Untrusted text is escaped by Jinja2's autoescape, and WeasyPrint is
given a URL fetcher that refuses every URL, so a model's answer can never make the renderer
read a file or call a server. The stylesheet is inlined from the packaged templates.
"""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import Any

import jinja2
import markupsafe

from auditor.core.errors import OutputError
from auditor.core.numbers import percent, points
from auditor.core.resources import shipped_dirs

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def templates_dir() -> Path:
    checkout, wheel = shipped_dirs("templates")
    return wheel if wheel.is_dir() else checkout


def excerpt(text: str | None, limit: int = 400) -> str:
    """Printable, bounded text: control and bidi-override characters removed, then cut."""
    if text is None:
        return ""
    cleaned = _CONTROL.sub("", text[: limit * 4])
    return cleaned if len(cleaned) <= limit else cleaned[:limit].rstrip() + " …"


def metric(value: float, name: str) -> str:
    """A judge's figure: Cohen's κ is a coefficient (−1 to 1), written as one; the rest
    (accuracy, sensitivity, …) are shares, written as percentages like every other share."""
    return f"{value:.2f}" if name == "kappa" else percent(value)


_CODE_SPAN = re.compile(r"`([^`<>&]+)`")


def code_spans(text: str | None) -> markupsafe.Markup:
    """Our own advice text with `command` spans shown as code: escaped first, so nothing in the
    text can become markup but the <code> tags added here."""
    escaped = str(markupsafe.escape(text or ""))
    return markupsafe.Markup(_CODE_SPAN.sub(r"<code>\1</code>", escaped))


def environment() -> jinja2.Environment:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(templates_dir()),
                             autoescape=True, undefined=jinja2.StrictUndefined,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["pct"] = percent
    env.filters["points"] = points
    env.filters["metric"] = metric
    env.filters["excerpt"] = excerpt
    env.filters["code_spans"] = code_spans
    return env


def render_html(template: str, context: dict[str, Any]) -> str:  # Jinja takes plain values
    return environment().get_template(template).render(**context)


class RefusingFetcher:
    """Builds a WeasyPrint URL fetcher that fetches nothing and remembers what was asked."""

    def __init__(self) -> None:
        from weasyprint.urls import URLFetcher

        refused: list[str] = []
        self.refused = refused

        class _Fetcher(URLFetcher):  # type: ignore[misc]  # WeasyPrint ships no types
            def fetch(self, url: str, headers: Any = None) -> Any:
                refused.append(url[:200])
                raise ValueError("the report renderer does not fetch URLs")

        self.fetcher = _Fetcher()


def render_pdf(html: str, out: Path) -> list[str]:
    """Write the PDF atomically; return the URLs that were refused."""
    import logging

    from weasyprint import HTML

    # WeasyPrint logs each refused fetch as a warning; the refused URLs are returned instead.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    fetcher = RefusingFetcher()
    temp = out.with_name(f".{out.name}.partial")
    try:
        HTML(string=html, url_fetcher=fetcher.fetcher, base_url=None).write_pdf(temp)
        temp.replace(out)
    except OSError as exc:  # disk full, read-only folder: the earlier PDF stays as it was
        raise OutputError.writing(out, exc) from None
    finally:
        with contextlib.suppress(OSError):
            temp.unlink(missing_ok=True)
    return fetcher.refused
