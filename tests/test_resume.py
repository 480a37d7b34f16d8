"""A real `auditor` subprocess killed with SIGKILL mid-run resumes with nothing lost or doubled."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import SAMPLES
from tests.fake_openai import FakeOpenAIServer


def policy(base_url: str) -> str:
    return f"""\
version: 1
organisation: {{name: Resume Test}}
dataset: {{path: {SAMPLES}}}
target: {{backend: openai, model: fake-model, base_url: "{base_url}", max_tokens: 16,
          concurrency: 2}}
sampling: {{per_category: 6}}
judge: {{kind: refusal}}
policies:
  - {{id: ALL, title: All, categories: [hate, crime, substance, sex, self_harm, weapon]}}
"""


def auditor(policy_path: Path, out: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "auditor", "check", str(policy_path),
                             "--out", str(out), "--quiet"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stored(out: Path) -> list[tuple[str, str | None, str | None]]:
    db = sqlite3.connect(out / "store.sqlite")
    try:
        return db.execute("SELECT key, text, error FROM generations ORDER BY key").fetchall()
    finally:
        db.close()


def count_rows(out: Path) -> int:
    try:
        return len(stored(out))
    except sqlite3.Error:
        return 0


def test_sigkill_mid_run_then_resume_equals_uninterrupted(tmp_path: Path) -> None:
    with FakeOpenAIServer(latency_s=0.03) as server:
        policy_path = tmp_path / "policy.yaml"
        policy_path.write_text(policy(server.base_url))

        killed_dir = tmp_path / "killed"
        process = auditor(policy_path, killed_dir)
        deadline = time.monotonic() + 60
        while count_rows(killed_dir) < 40 and time.monotonic() < deadline:
            assert process.poll() is None, "the run finished before it could be killed"
            time.sleep(0.05)
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        committed = count_rows(killed_dir)
        assert 40 <= committed < 192
        assert not (killed_dir / "results.json").exists()  # nothing half-written

        calls_before = len(server.chat_requests())
        assert auditor(policy_path, killed_dir).wait(timeout=120) == 1  # FAIL: it complies
        resumed_calls = len(server.chat_requests()) - calls_before
        assert resumed_calls == 192 - committed  # finished work is never redone

        clean_dir = tmp_path / "clean"
        assert auditor(policy_path, clean_dir).wait(timeout=120) == 1

    resumed, clean = stored(killed_dir), stored(clean_dir)
    assert len(resumed) == 192 and len({key for key, _, _ in resumed}) == 192
    assert resumed == clean
    assert (killed_dir / "results.json").exists()


def interruptible() -> None:
    """Ctrl-C's default in the child: a suite started in the background (`make test &`) runs
    with SIGINT ignored, which its children inherit and Python then keeps."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def answered_policy(base_url: str) -> str:
    return policy(base_url).replace("concurrency: 2", "concurrency: 8")


@pytest.mark.parametrize(("sent", "code", "word"), [(signal.SIGTERM, 143, "terminated"),
                                                     (signal.SIGINT, 130, "interrupted")])
def test_a_stopped_run_keeps_every_answer_that_arrived(tmp_path: Path, sent: int, code: int,
                                                       word: str) -> None:
    with FakeOpenAIServer(latency_s=0.01) as server:
        answer = server.answer

        def slowing(prompt: str) -> str:
            # After the first answers the server slows down, so the run cannot finish before
            # the signal arrives, however loaded the machine running the test is.
            if server.answered >= 30:
                time.sleep(0.5)
            return str(answer(prompt))

        server.answer = slowing
        policy_path = tmp_path / "policy.yaml"
        policy_path.write_text(answered_policy(server.base_url))
        out = tmp_path / "run"
        process = subprocess.Popen([sys.executable, "-m", "auditor", "check", str(policy_path),
                                    "--out", str(out), "--quiet"],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                   preexec_fn=interruptible)
        deadline = time.monotonic() + 60
        while server.answered < 30 and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(process.pid, sent)  # mid-batch: answers have arrived since the last commit
        _, stderr = process.communicate(timeout=60)
        answered = server.answered
    assert process.returncode == code, stderr.decode()[-2000:]
    assert word in stderr.decode() and "Traceback" not in stderr.decode()
    assert answered < 192, "the run finished before it could be stopped"
    # every answer the server sent whole is stored, but those still on the wire (8 at most)
    assert count_rows(out) >= answered - 8


def test_ctrl_c_in_the_first_moments_prints_no_traceback(tmp_path: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "auditor", "validate", "nowhere.yaml"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               preexec_fn=interruptible)
    time.sleep(0.15)  # while the command line is still importing
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert "Traceback" not in stderr.decode(), stderr.decode()
    # 2 if validate finished first, else 130 with the one-line message. On a loaded machine
    # the signal can also land while the interpreter starts or shuts down, and the process
    # ends killed by SIGINT (seen once with the message already printed): a shell shows that
    # as 130 too, and what the user reads is the same.
    text = stderr.decode().strip()
    interrupted = "interrupted: finished work is kept; rerun the same command to resume."
    if process.returncode == 130:
        assert text == interrupted
    elif process.returncode == -signal.SIGINT:
        assert text in ("", interrupted)
    else:
        assert process.returncode == 2, (process.returncode, text)
