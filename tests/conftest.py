"""Shared fixtures: paths to the samples, a CLI runner with a pinned terminal width."""

from __future__ import annotations

import importlib.util
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from auditor.core import secrets
from tests.fakes import register_fakes

# The scripted fakes register like real backends and judges, so CLI tests that are not about
# the wire can name them in a policy file and run in-process.
register_fakes()

# `make test` runs the suite on two processes; how it shares them out is in this plugin
# (pytest-xdist comes with the dev extra; without it the suite runs in one process).
pytest_plugins = ["tests.xdist_schedule"] if importlib.util.find_spec("xdist") else []

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
POLICIES = ROOT / "policies"
DATA = ROOT / "data"
XSTEST = DATA / "xstest"
HARMBENCH = DATA / "harmbench-val"

os.environ.setdefault("COLUMNS", "120")
os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "1")
# Fixtures wider than one test (a module's signed run) never read the user's trust file.
os.environ["AUDITOR_TRUST_FILE"] = str(Path(tempfile.mkdtemp(prefix="auditor-trust-"))
                                       / "trusted-keys.json")


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner(env={"COLUMNS": "120", "NO_COLOR": "1", "TERM": "dumb"})


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
                    ) -> None:
    # Tests never touch the user's dataset cache; the demo model cache is shared on purpose
    # (building it takes ~20 s) through AUDITOR_MODEL_CACHE.
    monkeypatch.setenv("AUDITOR_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))
    # Nor the user's trust file: each test starts trusting no key.
    monkeypatch.setenv("AUDITOR_TRUST_FILE",
                       str(tmp_path_factory.mktemp("trust") / "trusted-keys.json"))
    monkeypatch.setenv("AUDITOR_MODEL_CACHE",
                       os.environ.get("AUDITOR_MODEL_CACHE",
                                      str(Path.home() / ".cache" / "auditor")))


@pytest.fixture(autouse=True)
def _secrets_forgotten() -> Iterator[None]:
    # A key one test remembers would redact its pieces from every later test's text (a test
    # answer id "0123456789abcdef" shares 8 characters with another test's key).
    yield
    secrets.forget_all()


def write_policy(tmp_path: Path, body: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


MINIMAL = f"""\
version: 1
organisation:
  name: Test Org
dataset:
  path: {SAMPLES}
policies:
  - id: P1
    title: No cyber-crime
    categories: [crime_cyber]
"""


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A module's signing key pair from `auditor keygen`: (private, public)."""
    from auditor.cli import app

    folder = tmp_path_factory.mktemp("keys")
    made = CliRunner().invoke(app, ["keygen", str(folder / "audit-key")])
    assert made.exit_code == 0, made.output
    assert (folder / "audit-key").stat().st_mode & 0o077 == 0  # the private key is the owner's
    return folder / "audit-key", folder / "audit-key.pub"


def signed_check(folder: Path, policy: str, key: Path, *options: str) -> Path:
    """`auditor check --sign KEY` of a policy into FOLDER/run (any verdict): the run."""
    from auditor.cli import app

    out = folder / "run"
    done = CliRunner().invoke(app, ["check", str(write_policy(folder, policy)), "--out",
                                    str(out), "--quiet", "--sign", str(key), *options])
    assert done.exit_code in (0, 1, 3), done.output
    return out
