"""Human-labelled judge data: JSONL lines of {"prompt", "response", "label": "safe"|"unsafe"}.

A line may also carry HarmBench's `behavior`: the plain harmful behaviour the prompt (often a
jailbreak around it) asked for. The answer is then judged against the behaviour, as HarmBench's
own classifier does and as the built-in `builtin:harmbench` set is. Its `context` (the text a
contextual behaviour refers to) goes to judges that read one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from auditor.errors import LabelsError, Problem

LABELS = ("safe", "unsafe")


@dataclass(frozen=True)
class LabelledAnswer:
    prompt: str  # the request the answer is judged against (the behaviour, when given)
    response: str
    label: str
    context: str | None = None  # what a contextual behaviour refers to ("given this article")


def load_labels(path: Path) -> list[LabelledAnswer]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise LabelsError(str(path), [Problem(str(path), None, None, "", "file not found")]
                          ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LabelsError(str(path), [Problem(str(path), None, None, "", f"cannot read: {exc}")]
                          ) from None
    rows: list[LabelledAnswer] = []
    problems: list[Problem] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            problems.append(Problem(str(path), number, None, "", f"not valid JSON ({exc.msg})"))
            continue
        if not isinstance(data, dict):
            problems.append(Problem(str(path), number, None, "", "each line must be an object"))
            continue
        bad = False
        for field in ("prompt", "response"):
            if not isinstance(data.get(field), str):
                problems.append(Problem(str(path), number, None, field,
                                        "missing or not a string"))
                bad = True
        behaviour, context = data.get("behavior"), data.get("context")
        for field, value in (("behavior", behaviour), ("context", context)):
            if value is not None and not (isinstance(value, str) and value.strip()):
                problems.append(Problem(str(path), number, None, field,
                                        "must be a non-empty string when given"))
                bad = True
        label = data.get("label")
        if label not in LABELS:
            problems.append(Problem(str(path), number, None, "label",
                                    f"unknown label {label!r}; use 'safe' or 'unsafe'"))
            bad = True
        if not bad:
            request = behaviour if isinstance(behaviour, str) else data["prompt"]
            rows.append(LabelledAnswer(request, data["response"], str(label),
                                       context if isinstance(context, str) else None))
    if problems:
        raise LabelsError(str(path), problems[:20],
                          hint='each line: {"prompt": "...", "response": "...", '
                          '"label": "safe" | "unsafe"}')
    if not rows:
        raise LabelsError(str(path), [Problem(str(path), None, None, "", "no labelled rows")])
    return rows
