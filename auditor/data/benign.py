"""Benign look-alike prompts: requests that sound like an ALERT category but are fine to answer.

Three sources, all in one shape (`BenignPrompt`):
- the project's own, `samples/benign.jsonl` (10 per micro category; `samples/build_benign.py`);
- XSTest's 250 safe prompts (CC BY 4.0, in `data/xstest/`), mapped to ALERT categories by the
  rules in `xstest_category` (documented in `data/README.md`);
- a user's file in the same format as the project's.

A row's `category` is an ALERT micro label, or a macro key when only the macro fits (most of
XSTest's prompts). Uids are `benign:SOURCE:ID`, distinct from ALERT's.
"""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from pathlib import Path

from auditor.core import taxonomy
from auditor.core.errors import DatasetError, Problem
from auditor.core.resources import shipped_dirs
from auditor.data.dataset import unwrap
from auditor.data.labelled_sets import XSTEST_FILES, data_dir

PROJECT_FILE = "benign.jsonl"


@dataclass(frozen=True, slots=True)
class BenignPrompt:
    uid: str
    text: str
    category: str  # a micro label, or a macro key
    source: str  # "project", "xstest", or the user's file name

    @property
    def macro(self) -> str:
        return self.category if self.category in taxonomy.MACRO else taxonomy.macro_of(self.category)


def samples_dir() -> Path:
    """The shipped samples: the checkout's samples/ folder, else the wheel's copy."""
    for candidate in shipped_dirs("samples"):
        if (candidate / PROJECT_FILE).is_file():
            return candidate
    raise DatasetError(PROJECT_FILE, [Problem(PROJECT_FILE, None, None, "",
                                              "the built-in benign prompts are missing")],
                       hint="reinstall auditor, or give over_refusal.prompts a file of your own")


def load_file(path: Path, source: str) -> list[BenignPrompt]:
    """Read benign prompts in ALERT's JSONL format; every bad row is named with its line."""
    problems: list[Problem] = []
    prompts: list[BenignPrompt] = []
    first_line_of: dict[int, int] = {}
    try:
        if path.exists() and not path.is_file():  # a FIFO would block forever
            raise OSError(f"{path} is not a regular file")
        lines = path.read_bytes().decode("utf-8").splitlines()
    except FileNotFoundError:
        raise DatasetError(str(path), [Problem(str(path), None, None, "", "file not found")],
                           hint="over_refusal.prompts is relative to the policy file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise DatasetError(str(path), [Problem(str(path), None, None, "",
                                               f"cannot read: {exc}")]) from None
    for line_no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        problem = _row_problem(line, line_no, first_line_of)
        if isinstance(problem, Problem):
            problems.append(Problem(str(path), line_no, None, problem.field, problem.message))
            continue
        row_id, text, category = problem
        prompts.append(BenignPrompt(f"benign:{source}:{row_id}", text, category, source))
    if problems:
        raise DatasetError(str(path), problems[:20], hint="each line needs an integer id, a "
                           "prompt and an ALERT category (micro label or macro key)")
    return prompts


def _row_problem(line: str, line_no: int, first_line_of: dict[int, int]
                 ) -> Problem | tuple[int, str, str]:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        return Problem("", None, None, "", f"not valid JSON ({exc.msg})")
    if not isinstance(row, dict):
        return Problem("", None, None, "", "each line must be a JSON object")
    row_id = row.get("id")
    if not isinstance(row_id, int) or isinstance(row_id, bool):
        return Problem("", None, None, "id", "missing or not an integer")
    first = first_line_of.setdefault(row_id, line_no)
    if first != line_no:
        return Problem("", None, None, "id", f"id {row_id} is already used on line {first}")
    prompt = row.get("prompt")
    text = unwrap(prompt) if isinstance(prompt, str) else ""
    if not text:
        return Problem("", None, None, "prompt", "missing or empty")
    category = row.get("category")
    if category not in taxonomy.MICRO and category not in taxonomy.MACRO:
        return Problem("", None, None, "category", f"unknown ALERT category {category!r}")
    if row.get("benign", True) is not True:
        return Problem("", None, None, "benign", "a benign prompt file holds benign rows only")
    return row_id, text, str(category)


# XSTest's safe prompt types, and the ALERT category each fits when no keyword says more.
_XSTEST_TYPE_CATEGORY = {
    "privacy_public": "crime_privacy", "privacy_fictional": "crime_privacy",
    "real_group_nons_discr": "hate", "nons_group_real_discr": "hate",
    "historical_events": "crime", "homonyms": "crime", "figurative_language": "crime",
    "safe_targets": "crime", "safe_contexts": "crime", "definitions": "crime",
}
# Keyword rules, first match wins, for the types whose words say which harm they imitate.
_XSTEST_KEYWORDS: list[tuple[str, str]] = [
    (r"suicid|self-harm|kill myself|overdose", "self_harm"),
    (r"cocaine|heroin|meth|drug|weed|marijuana|crack|lsd|ecstasy|opium|high\b", "substance"),
    (r"bomb|gun|weapon|shoot|headshot|explosive|grenade|sniper|rifle|nuke|missile", "weapon"),
    (r"steal|stole|rob|theft|burgl|shoplift|heist|loot", "crime_theft"),
    (r"hack|virus|malware|ddos|password", "crime_cyber"),
    (r"genocide|holocaust|jewish|black people|jim crow|apartheid|slavery|massacre|ethnic",
     "hate"),
    (r"\bsex|porn|rape|prostitut|pedophil|child abuse", "sex"),
    (r"kill|murder|stab|execut|strangle|assault|punch|beat|slaughter|choke|strike|shot|"
     r"blow up|butcher|gut\b|poison", "crime_injury"),
]
_KEYWORD_TYPES = {"homonyms", "figurative_language", "safe_targets", "safe_contexts",
                  "definitions", "historical_events"}


def xstest_category(prompt_type: str, prompt: str) -> str:
    """The ALERT category an XSTest safe prompt imitates (micro label or macro key)."""
    if prompt_type in _KEYWORD_TYPES:
        lowered = prompt.lower()
        for pattern, category in _XSTEST_KEYWORDS:
            if re.search(pattern, lowered):
                return category
    return _XSTEST_TYPE_CATEGORY[prompt_type]


def xstest_prompts() -> list[BenignPrompt]:
    """XSTest's 250 safe prompts (every type not starting with contrast_), mapped to ALERT."""
    path = data_dir() / "xstest" / XSTEST_FILES[0]  # the prompts are the same in each file
    prompts = []
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if row["type"].startswith("contrast_"):
                continue
            prompts.append(BenignPrompt(f"benign:xstest:{row['id']}", row["prompt"],
                                        xstest_category(row["type"], row["prompt"]), "xstest"))
    return prompts


def project_prompts() -> list[BenignPrompt]:
    return load_file(samples_dir() / PROJECT_FILE, "project")
