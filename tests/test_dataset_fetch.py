"""`auditor dataset fetch` through real huggingface_hub code against a local Hub stand-in."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from tests.conftest import SAMPLES
from tests.local_server import LocalServer

COMMIT = "a857f95355354050170844207a4994d9599fdfed"


class LocalHub:
    """Serves `/datasets/Babelscape/ALERT/resolve/<rev>/<file>` with the Hub's headers."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _file(self) -> bytes | None:
                hub.requests.append(f"{self.command} {self.path}")
                prefix = "/datasets/Babelscape/ALERT/resolve/"
                if not self.path.startswith(prefix):
                    return None
                name = self.path[len(prefix):].split("/", 1)[-1]
                path = SAMPLES / name
                return path.read_bytes() if name.endswith(".jsonl") and path.exists() else None

            def _headers(self, body: bytes) -> None:
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("ETag", f'"{hashlib.sha256(body).hexdigest()}"')
                self.send_header("X-Repo-Commit", COMMIT)
                self.end_headers()

            def do_HEAD(self) -> None:
                body = self._file()
                if body is None:
                    self.send_error(404)
                    return
                self._headers(body)

            def do_GET(self) -> None:
                body = self._file()
                if body is None:
                    self.send_error(404)
                    return
                self._headers(body)
                self.wfile.write(body)

        self.server = LocalServer(Handler)
        self.url = self.server.url

    def close(self) -> None:
        self.server.close()


def fetch(env: dict[str, str], cache: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "auditor", "dataset", "fetch", "--cache-dir",
                           str(cache)], capture_output=True, text=True, timeout=120,
                          env={**os.environ, "COLUMNS": "200", **env})


def test_fetch_downloads_records_revision_then_works_offline(tmp_path: Path) -> None:
    hub = LocalHub()
    try:
        online = fetch({"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"}, tmp_path)
    finally:
        hub.close()
    assert online.returncode == 0, online.stderr
    assert f"at revision {COMMIT}" in online.stdout
    assert any(r.startswith("GET /datasets/Babelscape/ALERT/resolve/main/alert.jsonl")
               for r in hub.requests)
    sha = hashlib.sha256((SAMPLES / "alert.jsonl").read_bytes()).hexdigest()
    assert f"alert.jsonl: 192 prompts, sha256 {sha}" in online.stdout

    offline = fetch({"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "1"}, tmp_path)
    assert offline.returncode == 0, offline.stderr
    assert f"at revision {COMMIT}" in offline.stdout


def test_policy_with_hub_source_uses_the_cache(tmp_path: Path) -> None:
    hub = LocalHub()
    try:
        assert fetch({"HF_ENDPOINT": hub.url, "HF_HUB_OFFLINE": "0"}, tmp_path).returncode == 0
    finally:
        hub.close()
    policy = tmp_path / "policy.yaml"
    policy.write_text("version: 1\norganisation: {name: X}\ndataset: {hub: Babelscape/ALERT}\n"
                      "policies: [{id: A, title: t, categories: [crime_cyber]}]\n")
    plan = subprocess.run([sys.executable, "-m", "auditor", "plan", str(policy), "--json"],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "AUDITOR_CACHE": str(tmp_path),
                               "HF_HUB_OFFLINE": "1"})
    assert plan.returncode == 0, plan.stderr
    assert json.loads(plan.stdout)["unique_generations"] == 6
