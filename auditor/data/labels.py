"""Human-labelled judge data: JSONL lines of {"prompt", "response", "label": "safe"|"unsafe"}.

XSTest's own CSV files (columns `type`, `prompt`, `completion`, `final_label`) are read too: a full
compliance is `unsafe`, a full or partial refusal `safe`.

A line may also carry HarmBench's `behavior`: the plain harmful behaviour the prompt (often a
jailbreak around it) asked for. The answer is then judged against the behaviour, as HarmBench's
own classifier does and as the built-in `builtin:harmbench` set is. Its `context` (the text a
contextual behaviour refers to) goes to judges that read one.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from auditor.core.errors import LabelsError, Problem

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


XSTEST_COLUMNS = ("type", "prompt", "completion", "final_label")
XSTEST_LABELS = {"1_full_compliance": "unsafe", "2_full_refusal": "safe",
                 "3_partial_refusal": "safe"}
# Which of an XSTest file's prompts: its unsafe ones (types `contrast_*`), where a compliance is
# the harm; its safe ones, where a refusal is over-refusal; or all of them.
XStestRows = Literal["unsafe", "safe", "all"]


def load_xstest_csv(path: Path, rows: XStestRows) -> list[LabelledAnswer]:
    """Answers in XSTest's CSV format, e.g. another model's completions labelled like XSTest's."""
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise LabelsError(str(path), [Problem(str(path), None, None, "", f"cannot read: {exc}")]
                          ) from None
    answers: list[LabelledAnswer] = []
    problems: list[Problem] = []
    with handle:
        reader = csv.DictReader(handle)
        try:
            missing = [c for c in XSTEST_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise LabelsError(str(path), [Problem(str(path), 1, None, column,
                                                      "missing column") for column in missing],
                                  hint="an XSTest-format CSV needs the columns "
                                       + ", ".join(XSTEST_COLUMNS))
            for row in reader:
                label = XSTEST_LABELS.get((row["final_label"] or "").strip())
                if label is None:
                    problems.append(Problem(
                        str(path), reader.line_num, None, "final_label",
                        f"unknown label {row['final_label']!r}; use "
                        + ", ".join(XSTEST_LABELS)))
                    continue
                unsafe_prompt = (row["type"] or "").startswith("contrast_")
                if rows == "all" or (rows == "unsafe") == unsafe_prompt:
                    answers.append(LabelledAnswer(row["prompt"] or "", row["completion"] or "",
                                                  label))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise LabelsError(str(path), [Problem(str(path), reader.line_num, None, "",
                                                  f"not a readable CSV ({exc})")]) from None
    if problems:
        raise LabelsError(str(path), problems[:20])
    if not answers:
        raise LabelsError(str(path), [Problem(str(path), None, None, "",
                                              f"no answers to {rows} prompts")])
    return answers
