"""The plan of one audit, built in one place: the policy file, its dataset, the ALERT prompts
each policy runs and the benign prompts its over-refusal measure runs. `check`, `rejudge`,
`plan` and `validate` all read the plan from here."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from auditor.config.loader import load_policy_file
from auditor.config.policy import PolicyFile
from auditor.core.errors import AuditorError
from auditor.data.dataset import AlertDataset
from auditor.data.for_policy import load_for_policy
from auditor.data.provenance import Provenance, provenance_of
from auditor.data.selection import Plan, select, select_benign


@dataclass
class Audit:
    """A loaded policy file with its dataset and prompt plan."""

    policy_file: PolicyFile
    policy_path: Path
    policy_sha256: str
    dataset: AlertDataset
    plan: Plan
    provenance: Provenance  # what the prompts really are (ALERT, the samples, a user's files)

    @classmethod
    def load(cls, policy_path: Path, target: str | None = None) -> Audit:
        """The audit of `target` (one of the file's `targets`), or of its single `target`."""
        policy_file = load_policy_file(policy_path).for_target(target)
        dataset = load_for_policy(policy_file, policy_path.parent)
        return cls(policy_file, policy_path,
                   hashlib.sha256(policy_path.read_bytes()).hexdigest(), dataset,
                   build_plan(policy_file, dataset, policy_path.parent),
                   provenance_of(dataset))

    @property
    def base_dir(self) -> Path:
        """The folder the policy file's relative paths (dataset, card, model files) start at."""
        return self.policy_path.parent


def build_plan(policy_file: PolicyFile, dataset: AlertDataset, base_dir: Path,
               require: bool = True) -> Plan:
    """Every prompt the audit runs: ALERT prompts per policy (with `require`, each policy must
    get some) and the benign look-alikes of the policies that measure over-refusal."""
    plan = select(policy_file, dataset)
    if require:
        require_prompts(plan)
    plan.benign = select_benign(policy_file, base_dir)
    return plan


def require_prompts(plan: Plan) -> None:
    """A policy with no prompts in this dataset would be INCONCLUSIVE at n = 0: say so now."""
    empty = [p.policy_id for p in plan.policies if not p.uids()]
    if empty:
        raise AuditorError(f"polic{'y' if len(empty) == 1 else 'ies'} {', '.join(empty)} "
                           "select no prompts from this dataset",
                           hint="compare their categories and attack_types with "
                                "`auditor dataset info`, or check that the dataset is not empty")
