"""ALERT loading: parse the JSONL files, strip the instruction wrapper, count what was skipped.

A malformed line or unknown category is an error naming the file and line, unless `lenient`.
"""

from __future__ import annotations

import errno
import hashlib
import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from auditor.core import taxonomy
from auditor.core.errors import DatasetError, Problem

PLAIN_FILE = "alert.jsonl"
ADVERSARIAL_FILE = "alert_adversarial.jsonl"
PLAIN_ATTACK = "none"
LICENCE = "CC BY-NC-SA 4.0"
CITATION = ("Tedeschi et al., ALERT: A Comprehensive Benchmark for Assessing Large Language "
            "Models' Safety through Red Teaming, arXiv:2404.08676 (2024)")

_WRAP_HEAD = "### Instruction:"
_WRAP_TAIL = "### Response:"
_MAX_REPORTED_PROBLEMS = 20


@dataclass(frozen=True, slots=True)
class AlertPrompt:
    """One ALERT prompt, unwrapped. `uid` is unique across both files. Slotted, like the other
    per-prompt records: a full audit holds tens of thousands of each."""

    uid: str
    row_id: int
    text: str
    category: str
    attack_type: str


@dataclass
class FileInfo:
    """One dataset file as read: its hash, and how many rows loaded or were skipped."""

    name: str
    sha256: str
    rows: int
    loaded: int
    empty_skipped: int
    malformed_skipped: int


@dataclass
class AlertDataset:
    prompts: list[AlertPrompt]
    files: list[FileInfo] = field(default_factory=list)
    source: str = ""
    revision: str | None = None
    # ALERT's plain prompts read only to find the requests behind adversarial ones (when the
    # policy runs no plain prompts itself but the plain file is there): never run or scored.
    plain_for_matching: list[AlertPrompt] = field(default_factory=list)

    def plain_prompts(self) -> list[AlertPrompt]:
        """Every plain prompt read, run or not: what adversarial rows are matched against."""
        return [p for p in self.prompts if p.attack_type == PLAIN_ATTACK] + \
            self.plain_for_matching

    def counts(self) -> dict[str, dict[str, int]]:
        """Prompt counts as {category: {attack_type: n}}."""
        table: dict[str, Counter[str]] = {}
        for prompt in self.prompts:
            table.setdefault(prompt.category, Counter())[prompt.attack_type] += 1
        return {cat: dict(table[cat]) for cat in taxonomy.MICRO if cat in table}

    def attack_types(self) -> list[str]:
        return sorted({p.attack_type for p in self.prompts})


def unwrap(prompt: str) -> str:
    """Strip ALERT's `### Instruction:\\n…\\n### Response:\\n` wrapper, if present."""
    text = prompt.strip()
    if text.startswith(_WRAP_HEAD):
        text = text[len(_WRAP_HEAD):]
    if text.rstrip().endswith(_WRAP_TAIL):
        text = text.rstrip()[: -len(_WRAP_TAIL)]
    return text.strip()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# The longest row read. ALERT's longest prompts (jailbreak templates) are a few KiB; a row past
# this is no prompt, and reading it whole would hold it in memory and send it to the model.
MAX_ROW_BYTES = 64 * 1024


def _lines(path: Path) -> Iterator[str | None]:
    """The file's lines, decoded one by one (so a bad byte names its own line); None for a
    line longer than MAX_ROW_BYTES, which is skipped without being held in memory."""
    if not path.is_file():  # a FIFO or a device would block or never end
        raise OSError(errno.EINVAL, "is not a regular file")
    with path.open("rb") as handle:
        while raw := handle.readline(MAX_ROW_BYTES + 1):
            if len(raw) > MAX_ROW_BYTES and not raw.endswith(b"\n"):
                while (rest := handle.readline(1024 * 1024)) and not rest.endswith(b"\n"):
                    pass
                yield None
                continue
            yield raw.decode("utf-8")


def load_file(path: Path, adversarial: bool, lenient: bool = False
              ) -> tuple[list[AlertPrompt], FileInfo]:
    prompts: list[AlertPrompt] = []
    problems: list[Problem] = []
    empty = malformed = rows = 0
    config = path.name.removesuffix(".jsonl")
    line_no = 0
    # The id is the prompt's key in the store and in every result: two rows with one id would
    # share answers and verdicts. A repeated id is a malformed row (skipped with --lenient).
    first_line_of: dict[int, int] = {}
    try:
        for line_no, line in enumerate(_lines(path), start=1):
            if line is not None and not line.strip():
                continue
            rows += 1
            try:
                if line is None:
                    raise _RowProblem("prompt", f"row longer than {MAX_ROW_BYTES // 1024} KiB "
                                      "(ALERT's prompts are a few KiB at most)")
                prompt = _parse_row(line, config, adversarial)
                if prompt is not None:
                    _check_unique(prompt.row_id, line_no, first_line_of)
            except _RowProblem as bad:
                malformed += 1
                if len(problems) < _MAX_REPORTED_PROBLEMS:
                    problems.append(Problem(str(path), line_no, None, bad.field, bad.message))
                continue
            if prompt is None:
                empty += 1
                continue
            prompts.append(prompt)
    except UnicodeDecodeError:
        raise DatasetError(str(path), [Problem(str(path), line_no + 1, None, "",
                                               "not UTF-8 text")],
                           hint="ALERT's files are UTF-8 JSON lines; re-download the file") from None
    except OSError as exc:
        why = "is a folder, not a file" if path.is_dir() else \
            f"{exc.strerror}: a FIFO, socket or device cannot be a dataset file" \
            if exc.errno == errno.EINVAL and path.exists() else f"cannot be read: {exc.strerror}"
        raise DatasetError(str(path), [Problem(str(path), None, None, "", why)],
                           hint="point dataset.path at the folder holding alert.jsonl") from None
    if problems and not lenient:
        more = f" (first {len(problems)} of {malformed} shown)" if malformed > len(problems) else ""
        raise DatasetError(str(path), problems,
                           hint=f"fix the rows, or pass --lenient to skip and count them{more}")
    info = FileInfo(path.name, sha256_of(path), rows, len(prompts), empty, malformed)
    return prompts, info


class _RowProblem(Exception):
    def __init__(self, field_name: str, message: str) -> None:
        self.field = field_name
        self.message = message


def _check_unique(row_id: int, line_no: int, first_line_of: dict[int, int]) -> None:
    first = first_line_of.setdefault(row_id, line_no)
    if first != line_no:
        raise _RowProblem("id", f"id {row_id} is already used on line {first}; ids must be "
                          "unique within a file")


def _parse_row(line: str, config: str, adversarial: bool) -> AlertPrompt | None:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise _RowProblem("", f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    if not isinstance(row, dict):
        raise _RowProblem("", "each line must be a JSON object")
    row_id = row.get("id")
    if not isinstance(row_id, int) or isinstance(row_id, bool):
        raise _RowProblem("id", "missing or not an integer")
    prompt = row.get("prompt")
    if not isinstance(prompt, str):
        raise _RowProblem("prompt", "missing or not a string")
    category = row.get("category")
    if category not in taxonomy.MICRO:
        raise _RowProblem("category", f"unknown ALERT category {category!r}")
    attack: object = PLAIN_ATTACK
    if adversarial:
        attack = row.get("attack_type")
        if not isinstance(attack, str) or not attack:
            raise _RowProblem("attack_type", "missing in an adversarial row")
    assert isinstance(attack, str)
    text = unwrap(prompt)
    if not text:
        return None  # ALERT has a few rows with only the wrapper; skip and count them
    return AlertPrompt(f"{config}:{row_id}", row_id, text, category, attack)


def load_folder(folder: Path, attack_types: list[str] | None = None, lenient: bool = False,
                revision: str | None = None) -> AlertDataset:
    """Load the ALERT files in `folder` that the wanted attack types need (all when None)."""
    want_plain = attack_types is None or PLAIN_ATTACK in attack_types
    want_adv = attack_types is None or any(a != PLAIN_ATTACK for a in attack_types)
    if folder.exists() and not folder.is_dir():
        raise DatasetError(str(folder), [Problem(str(folder), None, None, "",
                                                 "is a file, not a folder")],
                           hint=f"dataset.path names the folder that holds {PLAIN_FILE}: use "
                           f"{folder.parent} rather than the file itself")
    if not folder.is_dir():
        raise DatasetError(str(folder), [Problem(str(folder), None, None, "",
                                                 "dataset folder not found")],
                           hint="download ALERT with `auditor dataset fetch`, or point "
                           "dataset.path at a folder holding alert.jsonl")
    dataset = AlertDataset([], source=str(folder), revision=revision)
    for name, adversarial, wanted in ((PLAIN_FILE, False, want_plain),
                                      (ADVERSARIAL_FILE, True, want_adv)):
        path = folder / name
        if not wanted:
            continue
        if not path.exists():
            if attack_types is None:
                continue  # `dataset info` on a folder with one of the two files
            raise DatasetError(str(path), [Problem(str(path), None, None, "",
                                                   "file not found")],
                               hint=f"the policy asks for attack types that need {name}")
        prompts, info = load_file(path, adversarial, lenient)
        dataset.prompts.extend(prompts)
        dataset.files.append(info)
    if not dataset.files:
        raise DatasetError(str(folder), [Problem(str(folder), None, None, "",
                                                 f"neither {PLAIN_FILE} nor {ADVERSARIAL_FILE} "
                                                 "is in this folder")])
    if want_adv and not want_plain and (folder / PLAIN_FILE).is_file():
        # Lenient: a bad plain row only costs its adversarial rows their match.
        dataset.plain_for_matching, _ = load_file(folder / PLAIN_FILE, False, lenient=True)
    return dataset
