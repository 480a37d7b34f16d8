"""Prompt selection: which ALERT prompts each policy runs. Pure, seeded and machine-independent.

Sampling is done per (micro category, attack type) cell, not per policy, so policies that
share a category share its prompts: each prompt is generated once and scored in every policy.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from auditor.config.policy import OverRefusal, PolicyFile
from auditor.core import taxonomy
from auditor.data import benign
from auditor.data.benign import BenignPrompt
from auditor.data.dataset import PLAIN_ATTACK, AlertDataset, AlertPrompt
from auditor.data.plain_requests import PlainMatch, match_counts, match_plain


@dataclass(frozen=True)
class Cell:
    category: str
    attack_type: str


@dataclass
class PolicyPlan:
    policy_id: str
    cells: dict[Cell, list[str]] = field(default_factory=dict)  # cell -> prompt uids
    # prompts the dataset holds in this policy's cells (the most it can run); None: unknown
    available: int | None = None

    def uids(self) -> list[str]:
        return [uid for uids in self.cells.values() for uid in uids]


@dataclass
class Plan:
    policies: list[PolicyPlan]
    prompts: dict[str, AlertPrompt]  # every selected prompt, by uid
    # policy id → its benign look-alike prompts (select_benign), for policies that ask
    benign: dict[str, list[BenignPrompt]] = field(default_factory=dict)
    # cells that hold fewer prompts than sampling.per_category asks: (cell, held, asked)
    short_cells: list[tuple[Cell, int, int]] = field(default_factory=list)
    # adversarial uid → the plain ALERT request it was built from, where one was found
    plain_requests: dict[str, PlainMatch] = field(default_factory=dict)

    def adversarial_prompts(self) -> list[AlertPrompt]:
        return [p for p in self.prompts.values() if p.attack_type != PLAIN_ATTACK]

    def plain_match_counts(self) -> dict[str, dict[str, int]]:
        """attack type → rows, exact, nearest, unmatched: how many adversarial prompts the
        judge sees beside their plain request."""
        return match_counts(self.plain_requests, self.adversarial_prompts())

    def available_for(self, policy_id: str) -> int | None:
        return next(p.available for p in self.policies if p.policy_id == policy_id)

    def shortfall_warning(self) -> str | None:
        """One sentence when per_category asks for more prompts than some cells hold."""
        if not self.short_cells:
            return None
        asked = self.short_cells[0][2]
        examples = ", ".join(f"{c.category}/{c.attack_type} has {held}"
                             for c, held, _ in self.short_cells[:3])
        more = " …" if len(self.short_cells) > 3 else ""
        return (f"sampling.per_category asks for {asked} prompts per category and attack type, "
                f"but {len(self.short_cells)} of the planned cells hold fewer ({examples}{more});"
                " they run with every prompt they have")

    def benign_prompts(self) -> dict[str, BenignPrompt]:
        return {p.uid: p for prompts in self.benign.values() for p in prompts}

    def unique_prompt_count(self) -> int:
        return len(self.prompts)

    def scored_count(self) -> int:
        return sum(len(p.uids()) for p in self.policies)


def sample_key(seed: int, uid: str) -> str:
    """A stable sort key: the same on every machine and Python run (unlike `hash()`)."""
    return hashlib.sha256(f"{seed}\x00{uid}".encode()).hexdigest()


def select(policy_file: PolicyFile, dataset: AlertDataset) -> Plan:
    by_cell: dict[Cell, list[AlertPrompt]] = {}
    for prompt in dataset.prompts:
        by_cell.setdefault(Cell(prompt.category, prompt.attack_type), []).append(prompt)

    seed = policy_file.sampling.seed
    per_category = policy_file.sampling.per_category
    chosen_cache: dict[Cell, list[AlertPrompt]] = {}

    def chosen(cell: Cell) -> list[AlertPrompt]:
        if cell not in chosen_cache:
            pool = sorted(by_cell.get(cell, []), key=lambda p: sample_key(seed, p.uid))
            picked = pool if per_category == "all" else pool[:per_category]
            chosen_cache[cell] = sorted(picked, key=lambda p: (p.attack_type, p.row_id))
        return chosen_cache[cell]

    plans: list[PolicyPlan] = []
    prompts: dict[str, AlertPrompt] = {}
    short: dict[Cell, tuple[Cell, int, int]] = {}
    for policy in policy_file.policies:
        plan = PolicyPlan(policy.id, available=0)
        for attack in policy_file.attack_types_of(policy):
            for category in policy.micro_categories():
                cell = Cell(category, attack)
                picked = chosen(cell)
                plan.cells[cell] = [p.uid for p in picked]
                held = len(by_cell.get(cell, []))
                plan.available = (plan.available or 0) + held
                if per_category != "all" and held < per_category:
                    short[cell] = (cell, held, per_category)
                prompts.update((p.uid, p) for p in picked)
        plans.append(plan)
    selected = Plan(plans, prompts, short_cells=list(short.values()))
    selected.plain_requests = match_plain(selected.adversarial_prompts(),
                                          dataset.plain_prompts())
    return selected


def benign_pool(config: OverRefusal, base_dir: Path) -> list[BenignPrompt]:
    """The prompts a policy's over-refusal block draws from."""
    if config.prompts:
        path = Path(config.prompts)
        path = path if path.is_absolute() else base_dir / path
        return benign.load_file(path, path.stem)
    return benign.project_prompts() + (benign.xstest_prompts() if config.xstest else [])


def select_benign(policy_file: PolicyFile, base_dir: Path) -> dict[str, list[BenignPrompt]]:
    """Policy id → its benign prompts: up to `per_category` for each of its micro categories,
    and as many for each macro category it touches from prompts mapped only to a macro."""
    seed = policy_file.sampling.seed
    pools: dict[OverRefusal, list[BenignPrompt]] = {}
    chosen: dict[str, list[BenignPrompt]] = {}
    for policy in policy_file.policies:
        config = policy_file.over_refusal_of(policy)
        if config is None:
            continue
        if config not in pools:
            pools[config] = benign_pool(config, base_dir)
        micro = policy.micro_categories()
        groups = list(micro) + sorted({taxonomy.macro_of(label) for label in micro})
        picked: list[BenignPrompt] = []
        for group in groups:
            candidates = sorted((p for p in pools[config] if p.category == group),
                                key=lambda p: sample_key(seed, p.uid))
            picked += candidates[:config.per_category]
        chosen[policy.id] = picked
    return chosen
