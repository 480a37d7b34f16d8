"""The crosswalk from framework clauses to a run's records (`crosswalk.yaml`), and how each
clause stands on one run: answered (with the values found), empty (the clause's `if_empty`
words), or not addressed by any run (and why).

A field is named `results:a.b[].c`: the file (results.json or evidence.json), then a path where
`[]` takes every element of a list. A field is *empty* when it resolves to nothing or to
null, "", [] or {} anywhere along the list.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, model_validator

from auditor.core.identity import Record

CROSSWALK_FILE = Path(__file__).with_name("crosswalk.yaml")
SOURCES = ("results", "evidence")


class Framework(Record):
    id: str
    name: str
    edition: str
    source: str


class Clause(Record):
    framework: str
    id: str
    title: str
    asks: str
    section: str | None = None
    fields: list[str] = Field(default_factory=list)
    if_empty: str | None = None
    not_addressed: str | None = None

    @model_validator(mode="after")
    def _answered_or_not(self) -> Clause:
        if (self.not_addressed is None) == (not self.fields):
            raise ValueError(f"{self.id}: give either fields (with a section) or not_addressed")
        if self.fields and self.section is None:
            raise ValueError(f"{self.id}: a clause with fields names the report section too")
        for name in self.fields:
            if name.split(":", 1)[0] not in SOURCES or ":" not in name:
                raise ValueError(f"{self.id}: field {name!r} must start with one of "
                                 f"{', '.join(s + ':' for s in SOURCES)}")
        return self


class Crosswalk(Record):
    version: Literal[1]
    frameworks: list[Framework]
    clauses: list[Clause]

    @model_validator(mode="after")
    def _known_frameworks(self) -> Crosswalk:
        known = {f.id for f in self.frameworks}
        for clause in self.clauses:
            if clause.framework not in known:
                raise ValueError(f"{clause.id}: unknown framework {clause.framework!r}")
        return self

    def of(self, framework: str) -> list[Clause]:
        return [c for c in self.clauses if c.framework == framework]


@cache
def load_crosswalk() -> Crosswalk:
    return Crosswalk.model_validate(yaml.safe_load(CROSSWALK_FILE.read_text(encoding="utf-8")))


class MissingField(LookupError):
    """A field path that does not exist in the record at all (not merely empty)."""


def resolve(path: str, documents: dict[str, Any]) -> list[Any]:
    """Every value at `path` ("results:policies[].verdict") in `documents` (name → JSON)."""
    source, _, rest = path.partition(":")
    values: list[Any] = [documents[source]]
    for part in rest.split("."):
        each = part.endswith("[]")
        key = part.removesuffix("[]")
        found: list[Any] = []
        for value in values:
            if value is None:
                found.append(None)
                continue
            if not isinstance(value, dict) or key not in value:
                raise MissingField(f"{path}: no field {key!r}")
            item = value[key]
            if each:
                if item is not None and not isinstance(item, list):
                    raise MissingField(f"{path}: {key!r} is not a list")
                found.extend(item or [])
            else:
                found.append(item)
        values = found
    return values


def is_empty(values: list[Any]) -> bool:
    return not values or any(v is None or v == "" or v == [] or v == {} for v in values)


@dataclass(frozen=True)
class ClauseStatus:
    clause: Clause
    state: Literal["answered", "empty", "not addressed"]
    says: str  # what the report prints for it
    values: dict[str, list[Any]]


def records(fields: list[str]) -> str:
    """"results.json: a, b; evidence.json: c": where a reader finds the fields."""
    by_file: dict[str, list[str]] = {}
    for name in fields:
        source, _, path = name.partition(":")
        by_file.setdefault(f"{source}.json", []).append(path)
    return "; ".join(f"{file}: {', '.join(paths)}" for file, paths in by_file.items())


def assess(crosswalk: Crosswalk, documents: dict[str, Any]) -> list[ClauseStatus]:
    """How each clause stands on one run. MissingField if a clause names a field the run's
    records do not have (a crosswalk that points nowhere is a bug, not a finding)."""
    statuses = []
    for clause in crosswalk.clauses:
        if clause.not_addressed is not None:
            statuses.append(ClauseStatus(clause, "not addressed", clause.not_addressed, {}))
            continue
        values = {name: resolve(name, documents) for name in clause.fields}
        empty = [name for name, found in values.items() if is_empty(found)]
        if empty:
            says = clause.if_empty or f"empty: {', '.join(empty)}"
            statuses.append(ClauseStatus(clause, "empty", says, values))
        else:
            statuses.append(ClauseStatus(clause, "answered",
                                         f"{clause.section}; {records(clause.fields)}", values))
    return statuses
