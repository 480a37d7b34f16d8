"""The review sheet: the sample written as CSV or JSONL for people to label, and their labels
read back. Answers and prompts are untrusted text: a CSV cell that a spreadsheet would read as
a formula (starting with =, +, -, @, a tab or a carriage return) is written with a leading
apostrophe, so it stays text. Reading is strict: an unknown answer id, a label that is not
safe, unsafe or skip, or one answer labelled two ways in one file is an error naming the file,
row and field, and nothing from that file is imported.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from auditor.core.errors import AuditorError, LabelsError, Problem
from auditor.review.sample import ReviewItem
from auditor.stages.store import HumanLabel

Format = Literal["csv", "jsonl"]
COLUMNS = ("answer_id", "policies", "category", "attack_type", "judge_label", "prompt",
           "answer", "label", "note")
LABELS = ("safe", "unsafe", "skip")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_SHEET_BYTES = 256 * 1024 * 1024


def inert_cell(text: str) -> str:
    """A cell no spreadsheet evaluates: text starting like a formula gets an apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def sheet_rows(items: Iterable[ReviewItem], labels: dict[str, HumanLabel] | None = None
               ) -> list[dict[str, str]]:
    labels = labels or {}
    rows = []
    for item in items:
        given = labels.get(item.answer_id)
        rows.append({"answer_id": item.answer_id, "policies": " ".join(item.policies),
                     "category": item.category, "attack_type": item.attack_type,
                     "judge_label": item.judge_label, "prompt": item.prompt,
                     "answer": item.answer, "label": given.label if given else "",
                     "note": (given.note or "") if given else ""})
    return rows


def write_sheet(rows: list[dict[str, str]], fmt: Format) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: inert_cell(value) for key, value in row.items()})
    return out.getvalue()


def _rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(row number as a person counts it, the row) from a CSV (header first) or JSONL file."""
    try:
        if path.stat().st_size > MAX_SHEET_BYTES:
            raise AuditorError(f"{path} is larger than any review sheet")
        text = path.read_text(encoding="utf-8-sig")  # spreadsheets often add a BOM
    except FileNotFoundError:
        raise AuditorError(f"{path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditorError(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() == ".jsonl":
        rows: list[tuple[int, dict[str, object]]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except ValueError:
                raise LabelsError(str(path), [Problem(str(path), number, None, "",
                                                      "not valid JSON")]) from None
            if not isinstance(row, dict):
                raise LabelsError(str(path), [Problem(str(path), number, None, "",
                                                      "not a JSON object")])
            rows.append((number, row))
        return rows
    reader = csv.DictReader(io.StringIO(text, newline=""))
    # the header is row 1, so the first answer is row 2 (as a spreadsheet numbers it)
    return [(number, dict(row)) for number, row in enumerate(reader, start=2)]


def read_labels(path: Path, known: set[str]) -> list[HumanLabel]:
    """Every labelled row of a sheet (rows left blank are skipped), checked against the run's
    answer ids; any problem fails the whole file."""
    problems: list[Problem] = []
    found: dict[str, tuple[int, HumanLabel]] = {}
    where = str(path)
    for number, row in _rows(path):
        answer = str(row.get("answer_id") or "").strip().lstrip("'")
        label = str(row.get("label") or "").strip().lower()
        note = str(row.get("note") or "").strip() or None
        if not label:
            continue  # not labelled yet
        if label not in LABELS:
            problems.append(Problem(where, number, None, "label",
                                    f"{label[:40]!r} is not one of safe, unsafe or skip"))
            continue
        if answer not in known:
            problems.append(Problem(where, number, None, "answer_id",
                                    f"{answer[:40]!r} is not an answer of this run"))
            continue
        if answer in found and found[answer][1].label != label:
            problems.append(Problem(where, number, None, "label",
                                    f"answer {answer} is labelled {found[answer][1].label!r} "
                                    f"in row {found[answer][0]} and {label!r} here"))
            continue
        found[answer] = (number, HumanLabel(answer, label, note))
    if problems:
        raise LabelsError(where, problems, hint="fix those rows and import the file again; "
                                                "nothing from it was imported")
    return [label for _, label in found.values()]
