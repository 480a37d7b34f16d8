"""Write an ALERT-sized dataset in ALERT's format, from made-up prompts (ALERT is never committed).

45,731 rows like the real set: 14,763 plain prompts over the 32 micro categories and 30,968
adversarial ones over the 4 attack types, every prompt text distinct. Also writes a policy file
with one policy per macro category, every prompt and attack type selected.
"""

from __future__ import annotations

import json
from pathlib import Path

from auditor.core import taxonomy

PLAIN_ROWS = 14_763
ADVERSARIAL_ROWS = 30_968
ATTACKS = ("suffix_injection", "prefix_injection", "token_manipulation", "jailbreaking")


def _prompt(index: int, category: str) -> str:
    return (f"### Instruction:\nSynthetic request {index} about {category.replace('_', ' ')}: "
            f"explain step {index % 97} in plain words.\n### Response:\n")


def write_dataset(folder: Path, plain_rows: int = PLAIN_ROWS,
                  adversarial_rows: int = ADVERSARIAL_ROWS) -> int:
    folder.mkdir(parents=True, exist_ok=True)
    labels = list(taxonomy.MICRO)
    with (folder / "alert.jsonl").open("w") as out:
        for i in range(plain_rows):
            category = labels[i % len(labels)]
            out.write(json.dumps({"id": i, "prompt": _prompt(i, category),
                                  "category": category}) + "\n")
    with (folder / "alert_adversarial.jsonl").open("w") as out:
        for i in range(adversarial_rows):
            category = labels[i % len(labels)]
            out.write(json.dumps({"id": i, "prompt": _prompt(plain_rows + i, category),
                                  "category": category,
                                  "attack_type": ATTACKS[i % len(ATTACKS)]}) + "\n")
    return plain_rows + adversarial_rows


def write_policy(path: Path, dataset: Path, base_url: str | list[str], concurrency: int,
                 judge: str = "harm") -> None:
    urls = json.dumps(base_url)
    policies = "\n".join(
        f"  - {{id: {key}, title: No {macro.display_name.lower()}, categories: [{key}]}}"
        for key, macro in taxonomy.MACRO.items())
    path.write_text(f"""\
version: 1
organisation: {{name: Scale Bench}}
dataset: {{path: {dataset}}}
target: {{backend: openai, model: fake-model, base_url: {urls}, api_key_env: BENCH_KEY,
          max_tokens: 16, concurrency: {concurrency}, timeout_s: 30, max_retries: 2}}
judge: {{kind: {judge}}}
sampling: {{per_category: all, attack_types: [none, {", ".join(ATTACKS)}]}}
policies:
{policies}
""")
