from __future__ import annotations

import subprocess
import sys

from auditor.config.loader import parse_policy_text
from auditor.data.dataset import load_folder
from auditor.data.selection import sample_key, select
from tests.conftest import MINIMAL, ROOT, SAMPLES

TWO_POLICIES = MINIMAL.replace("  - id: P1", """\
  - id: P0
    title: Privacy and cyber
    categories: [crime_privacy, crime_cyber]
  - id: P1""").replace("dataset:", "sampling: {per_category: 3, seed: 5}\ndataset:")


def test_selection_is_deterministic_and_sized() -> None:
    policy_file = parse_policy_text(TWO_POLICIES)
    dataset = load_folder(SAMPLES, ["none"])
    first, second = select(policy_file, dataset), select(policy_file, dataset)
    assert [p.cells for p in first.policies] == [p.cells for p in second.policies]
    assert [len(p.uids()) for p in first.policies] == [6, 3]


def test_shared_prompts_are_generated_once() -> None:
    plan = select(parse_policy_text(TWO_POLICIES), load_folder(SAMPLES, ["none"]))
    assert plan.scored_count() == 9
    assert plan.unique_prompt_count() == 6  # crime_cyber's 3 prompts serve both policies


def test_seed_changes_the_sample() -> None:
    dataset = load_folder(SAMPLES, ["none"])
    a = select(parse_policy_text(TWO_POLICIES), dataset)
    b = select(parse_policy_text(TWO_POLICIES.replace("seed: 5", "seed: 6")), dataset)
    assert a.policies[0].uids() != b.policies[0].uids()


def test_all_takes_every_prompt() -> None:
    text = TWO_POLICIES.replace("per_category: 3", "per_category: all")
    plan = select(parse_policy_text(text), load_folder(SAMPLES, ["none"]))
    assert len(plan.policies[0].uids()) == 12


def test_sample_key_is_stable_across_processes() -> None:
    code = "from auditor.data.selection import sample_key; print(sample_key(3, 'alert:10'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=ROOT, env={"PYTHONHASHSEED": "123"}, check=True).stdout.strip()
    assert out == sample_key(3, "alert:10")
    # pinned: a change here would reshuffle every existing audit
    assert out == "9573516e4c9d90d1f8e79564a190597feed72fb37e1615c1c352123a8c70810f"
