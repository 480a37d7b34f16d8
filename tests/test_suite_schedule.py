"""The suite's own schedule (tests/xdist_schedule.py) keeps every real-engine test together."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytest.importorskip("xdist")

from tests.xdist_schedule import ENGINE_FILES, file_of


def test_every_engine_test_is_in_an_engine_file() -> None:
    """A test marked `vllm` outside the named files would run beside the others on the
    second process and slow both: collect the marked tests and check where they live."""
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-m",
                                "vllm", "-p", "no:cacheprovider", "tests"], cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
    engine_tests = [line for line in collected.stdout.splitlines() if "::" in line]
    assert len(engine_tests) >= 5
    assert [t for t in engine_tests if file_of(t) not in ENGINE_FILES] == []
    assert {file_of(t) for t in engine_tests} == set(ENGINE_FILES)


def test_the_suite_still_collects_with_xdist_turned_off() -> None:
    """`pytest -p no:xdist` (one process, xdist installed) must not trip on the schedule's
    xdist hook."""
    collected = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q",
                                "-p", "no:xdist", "-p", "no:cacheprovider",
                                "tests/test_suite_schedule.py"], cwd=ROOT,
                               capture_output=True, text=True, timeout=300)
    assert collected.returncode == 0, collected.stdout[-2000:] + collected.stderr[-2000:]
