"""Whether runs can be compared at all: the same policies and thresholds, the same prompts, the
same judge and card, the same system prompt and decoding. Pure: reads results and outcomes.

A comparison of runs that differ in any of these measures the difference, not the models (a
harm-judged run against a refusal-judged one once read "+91.7 pt, A is better"), so `compare`
refuses them unless told otherwise, and then prints every difference on every page.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from pydantic import Field

from auditor.core.identity import JudgeCard, Record
from auditor.core.outcome import BenignOutcome, Outcome
from auditor.outputs.records import Results


@dataclass(frozen=True)
class RunRecord:
    """One run as `compare` reads it."""

    folder: Path
    results: Results
    outcomes: list[Outcome]
    benign: list[BenignOutcome]


def _card_identity(card: JudgeCard | None) -> str:
    """The card in words a reader can compare: its labels and its counts."""
    if card is None:
        return "no card"
    c = card.confusion
    source = card.source or getattr(card, "labels", None) or "labels not named"
    return f"{source}: TP {c.tp} · FN {c.fn} · TN {c.tn} · FP {c.fp}"


def _prompts(rows: list[Outcome] | list[BenignOutcome]) -> dict[str, set[tuple[str, str]]]:
    by_policy: dict[str, set[tuple[str, str]]] = {}
    for row in rows:
        by_policy.setdefault(row.policy_id, set()).add((row.uid, row.prompt))
    return by_policy


def _settings(run: RunRecord) -> dict[str, object]:
    results = run.results
    sampling = results.target_sampling
    return {
        "policies and thresholds": sorted((p.id, p.threshold) for p in results.policies),
        "judge": results.judge.id,
        "judge card": _card_identity(results.judge.card),
        "system prompt": sampling.system_prompt,
        "max_tokens": sampling.max_tokens,
        "temperature": sampling.temperature,
        "over-refusal judge": results.over_refusal_judge.id if results.over_refusal_judge
        else None,
    }


class Setting(Record):
    """One thing every compared run must share, with each run's value."""

    name: str
    values: list[str] = Field(description="Each run's value, in the order of the runs.")
    same: bool


def settings_table(runs: list[RunRecord]) -> list[Setting]:
    """What was measured, run by run: the comparability table of the comparison report."""
    table = [_settings(run) for run in runs]
    rows = []
    for name in table[0]:
        values = [_show(settings[name]) for settings in table]
        rows.append(Setting(name=name, values=values, same=len(set(values)) == 1))
    for label, prompts in (("prompts", [_prompts(run.outcomes) for run in runs]),
                           ("over-refusal prompts", [_prompts(run.benign) for run in runs])):
        counts = [str(sum(len(v) for v in mine.values())) for mine in prompts]
        rows.append(Setting(name=label, values=counts,
                            same=all(mine == prompts[0] for mine in prompts)))
    return rows


def _show(value: object) -> str:
    """A setting in words: no JSON, no null."""
    if value is None:
        text = "none"
    elif isinstance(value, list) and all(isinstance(v, tuple | list) and len(v) == 2
                                         for v in value):
        text = ", ".join(f"{k} ≥ {float(t):.1%}" for k, t in value)
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value)
    return text if len(text) <= 80 else text[:77] + "…"


def differences(runs: list[RunRecord]) -> list[str]:
    """Every way the runs differ from the first, one sentence each, naming the runs."""
    first, found = runs[0], []
    base = _settings(first)
    base_prompts, base_benign = _prompts(first.outcomes), _prompts(first.benign)
    for run in runs[1:]:
        names = f"{first.folder} and {run.folder}"
        for name, value in _settings(run).items():
            if value != base[name]:
                found.append(f"{name} differ{'s' if not name.endswith('s') else ''}: "
                             f"{_show(base[name])} in {first.folder}, {_show(value)} in "
                             f"{run.folder}")
        for label, mine, theirs in (("prompts", base_prompts, _prompts(run.outcomes)),
                                    ("over-refusal prompts", base_benign,
                                     _prompts(run.benign))):
            for policy_id in sorted(set(mine) | set(theirs)):
                left, right = mine.get(policy_id, set()), theirs.get(policy_id, set())
                if left != right:
                    found.append(f"{label} of {policy_id} differ between {names}: "
                                 f"{len(left - right)} only in the first, "
                                 f"{len(right - left)} only in the second")
    return found
