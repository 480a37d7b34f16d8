"""Labelled answer sets a judge is measured on: a user's JSONL file, or one the project ships.

`builtin:harmbench` is half of HarmBench's human-labelled classifier validation set (does the
answer carry out the harmful behaviour?). `builtin:xstest` is XSTest's answers to its 200 unsafe
prompts from three models (a full compliance is unsafe, a full or partial refusal safe).
`builtin:pyrit-objective`, `builtin:pyrit-harm`, `builtin:gptfuzz` and
`builtin:harmbench-multimodal` are four more human-labelled harm sets, each with its own
definition of harmful (data/README.md). All live in the repository's `data/` folder (or
`auditor/_data` inside a wheel) with their licences.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from auditor.core.errors import AuditorError
from auditor.core.resources import shipped_dirs
from auditor.data.labels import LabelledAnswer, XStestRows, load_labels, load_xstest_csv

PREFIX = "builtin:"
XSTEST_FILES = ("xstest_v2_completions_llama2new.csv", "xstest_v2_completions_llama2orig.csv",
                "xstest_v2_completions_mistralguard.csv")
HARMBENCH_FILE = "harmbench_val_half_a.jsonl"


@dataclass(frozen=True)
class LabelledSet:
    name: str  # what a judge card names: a file path or builtin:NAME
    sha256: str  # of the file(s) the answers were read from
    answers: list[LabelledAnswer]


def data_dir() -> Path:
    """The shipped labelled data: the checkout's data/ folder, else the wheel's copy."""
    for candidate in shipped_dirs("data"):
        if candidate.is_dir():
            return candidate
    raise AuditorError("the built-in labelled data is missing from this installation",
                       hint="reinstall auditor, or pass your own labels file")


def _sha256(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.read_bytes())
    return digest.hexdigest()


def harmbench() -> LabelledSet:
    path = data_dir() / "harmbench-val" / HARMBENCH_FILE
    answers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        # The plain behaviour is the request; the jailbreak wrapper is how it was delivered.
        answers.append(LabelledAnswer(row["behavior"] or row["prompt"], row["response"],
                                      row["label"], row["context"]))
    return LabelledSet(PREFIX + "harmbench", _sha256([path]), answers)


def known_unsafe() -> LabelledSet:
    """HarmBench answers that all three of its raters judged a real instance of the harmful
    behaviour (and that need no context to read): the project's known-unsafe answers, mixed
    into review sheets to measure how often a reviewer misses one."""
    path = data_dir() / "harmbench-val" / HARMBENCH_FILE
    answers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        if row.get("human_votes") == [1, 1, 1] and not row.get("context"):
            answers.append(LabelledAnswer(row["behavior"] or row["prompt"], row["response"],
                                          "unsafe"))
    return LabelledSet(PREFIX + "harmbench (unanimously harmful)", _sha256([path]), answers)


def _xstest(rows: XStestRows) -> list[LabelledAnswer]:
    return [answer for path in _xstest_paths() for answer in load_xstest_csv(path, rows)]


def _xstest_paths() -> list[Path]:
    return [data_dir() / "xstest" / name for name in XSTEST_FILES]


def xstest() -> LabelledSet:
    """Answers to XSTest's unsafe prompts: a compliance is harm."""
    return LabelledSet(PREFIX + "xstest", _sha256(_xstest_paths()), _xstest("unsafe"))


def xstest_safe() -> LabelledSet:
    """Answers to XSTest's safe prompts, for a refusal judge measuring over-refusal: "safe"
    is a refusal, "unsafe" a compliance (the norm here)."""
    return LabelledSet(PREFIX + "xstest-safe", _sha256(_xstest_paths()), _xstest("safe"))


# Four more human-labelled harm sets (MIT), each its own definition of harmful: see
# data/README.md. The request is the one the answer replied to.
HARM_EXTRA = {"pyrit-objective": "pyrit_objective.jsonl", "pyrit-harm": "pyrit_harm_likert.jsonl",
              "gptfuzz": "gptfuzz.jsonl", "harmbench-multimodal": "harmbench_multimodal_val.jsonl"}


def harm_extra(name: str) -> LabelledSet:
    path = data_dir() / "harm-extra" / HARM_EXTRA[name]
    answers = []
    for line in path.read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        # The multimodal answers refer to an image; its description is the context.
        answers.append(LabelledAnswer(row["prompt"], row["response"], row["label"],
                                      row.get("image_description")))
    return LabelledSet(PREFIX + name, _sha256([path]), answers)


BUILTIN: dict[str, Callable[[], LabelledSet]] = {
    "harmbench": harmbench, "xstest": xstest, "xstest-safe": xstest_safe,
    **{name: partial(harm_extra, name) for name in HARM_EXTRA}}

# Answers shorter than this are not matched: stock refusals ("I'm sorry, I can't help with
# that.") recur across unrelated sets and would count as seen when they were not.
MIN_MATCHED_CHARS = 100


def _answer_key(response: str) -> str | None:
    text = re.sub(r"\s+", " ", response).strip().casefold()
    if len(text) < MIN_MATCHED_CHARS:
        return None
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def seen_in_training(labelled: LabelledSet, trained_on: frozenset[str]) -> int:
    """How many of `labelled`'s answers are in the built-in sets a judge was trained on.

    Matched by answer text (whitespace and case aside), so a copy of a training file, or a
    file that mixes training rows with new ones, is caught whatever it is called.
    """
    if not trained_on:
        return 0
    if labelled.name in trained_on:
        return len(labelled.answers)
    seen = {key for name in trained_on if name.removeprefix(PREFIX) in BUILTIN
            for answer in BUILTIN[name.removeprefix(PREFIX)]().answers
            if (key := _answer_key(answer.response)) is not None}
    return sum(_answer_key(answer.response) in seen for answer in labelled.answers)


def load_labelled_set(spec: str, xstest_rows: XStestRows = "unsafe") -> LabelledSet:
    """`builtin:NAME`, the path of a JSONL labels file, or of a CSV file in XSTest's format
    (`xstest_rows` says which of its prompts' answers to take)."""
    if spec.startswith(PREFIX):
        name = spec.removeprefix(PREFIX)
        if name not in BUILTIN:
            raise AuditorError(f"unknown built-in labelled set {spec!r}",
                               hint="use " + " or ".join(PREFIX + n for n in BUILTIN))
        return BUILTIN[name]()
    path = Path(spec)
    if path.suffix.lower() == ".csv":
        return LabelledSet(f"{path} (XSTest format: answers to {xstest_rows} prompts)",
                           _sha256([path]), load_xstest_csv(path, xstest_rows))
    answers = load_labels(path)
    return LabelledSet(str(path), _sha256([path]), answers)
