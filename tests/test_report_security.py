"""Hostile model answers stay inert: escaped in HTML, never fetched by the PDF renderer."""

from __future__ import annotations

import json
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader

from auditor.audit.check import run_check
from auditor.data.plan import Audit
from auditor.outputs.report.render import excerpt, render_pdf
from tests.conftest import SAMPLES
from tests.fake_openai import FakeOpenAIServer
from tests.local_server import LocalServer


class HitCounter:
    """A localhost server that only counts requests: any hit means the renderer fetched."""

    def __init__(self) -> None:
        self.hits: list[str] = []
        counter = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                counter.hits.append(self.path)
                self.send_response(200)
                self.send_header("Content-Type", "text/css")
                self.end_headers()
                self.wfile.write(b"body { background: red }")

        self.server = LocalServer(Handler)
        self.url = self.server.url

    def close(self) -> None:
        self.server.close()


@pytest.fixture
def counter() -> Any:
    server = HitCounter()
    yield server
    server.close()


def hostile_answers(base: str) -> list[str]:
    return [
        '<img src="file:///etc/hostname"> here is how',
        f'<link rel="stylesheet" href="{base}/link.css"> sure',
        f"<style>@import url('{base}/import.css');</style> sure",
        "<script>document.write('pwned')</script> sure thing",
        "Sure: " + "A" * 1_000_000,
        "Sure\x00\x07\x1b[31m here\x08 is how \u202eevil\u202c",
        "بالتأكيد، إليك الطريقة خطوة بخطوة",
        "Sure " + "x" * 5000,
    ]


def test_hostile_answers_through_a_real_run(tmp_path: Path, counter: HitCounter) -> None:
    answers = hostile_answers(counter.url)
    hostname = Path("/etc/hostname").read_text().strip() if Path("/etc/hostname").exists() \
        else None
    with FakeOpenAIServer() as server:
        policy = tmp_path / "policy.yaml"
        policy.write_text(f"""\
version: 1
organisation: {{name: Hostile Inc}}
dataset: {{path: {SAMPLES}}}
target: {{backend: openai, model: fake-model, base_url: "{server.base_url}", max_tokens: 16}}
sampling: {{per_category: 3}}
judge: {{kind: refusal}}  # flags the hostile answers, so the report shows them
policies:
  - {{id: A, title: A, categories: [crime_cyber]}}
  - {{id: B, title: B, categories: [weapon_other]}}
  - {{id: C, title: C, categories: [hate_body]}}
""")
        # Give the prompts each policy shows as example failures one hostile answer each.
        audit = Audit.load(policy)
        shown = [audit.plan.prompts[uid].text for plan in audit.plan.policies
                 for uid in plan.uids()[:3]]
        by_prompt = {text: answers[i % len(answers)] for i, text in enumerate(shown)}
        server.answer = lambda prompt: by_prompt.get(prompt, "OK")  # .get: the probe
        summary = run_check(policy, tmp_path / "run", lambda *a: None)
    assert counter.hits == []
    html = (tmp_path / "run" / "report.html").read_text()
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<img src="file' not in html
    assert "\x1b" not in html and "\u202e" not in html
    assert len(html) < 500_000  # the 1 MB answer is excerpted, not embedded
    assert "AAAAAAAAAA …" in html and "بالتأكيد" in html and "xxxxxxxxxx" in html
    text = "\n".join(p.extract_text() for p in PdfReader(tmp_path / "run" / "report.pdf").pages)
    assert "pwned" not in text.replace("document.write('pwned')", "")
    if hostname:
        assert hostname not in text.replace("/etc/hostname", "")
    assert summary.refused_urls == []  # escaped text never even asks for a URL
    # the raw answers stay intact in the machine-readable record
    outcomes = [json.loads(line) for line in (tmp_path / "run" / "outcomes.jsonl").open()]
    assert any(o["response"] and o["response"].startswith("<script>") for o in outcomes)


def test_renderer_refuses_every_url_even_in_trusted_markup(tmp_path: Path,
                                                           counter: HitCounter) -> None:
    html = f"""<html><head><link rel="stylesheet" href="{counter.url}/a.css">
    <style>@import url("{counter.url}/b.css");</style></head>
    <body><p>Report</p><img src="file:///etc/hostname"><img src="{counter.url}/c.png">
    </body></html>"""
    refused = render_pdf(html, tmp_path / "out.pdf")
    assert counter.hits == []
    assert any(url.startswith("file:///etc/hostname") for url in refused)
    assert any(url.startswith(counter.url) for url in refused)
    assert "Report" in PdfReader(tmp_path / "out.pdf").pages[0].extract_text()


def test_excerpt_strips_controls_and_bounds_length() -> None:
    assert excerpt("a\x00b\x1bc\u202ed\tz") == "abcd\tz"
    assert excerpt("x" * 10_000, 100).endswith(" …")
    assert len(excerpt("x" * 1_000_000, 400)) <= 402
