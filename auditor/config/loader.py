"""Reading a policy file: YAML with positions, bounded expansion, and every problem at once.

`load_policy_file` → `parse_policy_text` → `validate_policy_data`, so tests need no disk.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from auditor.config.policy import PolicyFile
from auditor.core.errors import PolicyError, Problem

# A policy file has a few hundred nodes. Anything far beyond that is an alias bomb
# ("billion laughs"), which we must refuse before PyYAML expands it in memory.
MAX_EXPANDED_NODES = 20_000
MAX_DEPTH = 50
# Real policy files are a few kilobytes. The caps are checked before anything is built in
# memory: the size before reading, the depth and node count on PyYAML's event stream, which
# is iterative (its composer recurses, so 3,000 nested brackets would overflow the stack).
MAX_POLICY_BYTES = 1024 * 1024
MAX_EVENTS = MAX_EXPANDED_NODES

Position = tuple[int, int]
Loc = tuple[str | int, ...]


class _Walk:
    """Walks a composed YAML node graph, counting expansions and recording positions."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.count = 0
        self.positions: dict[Loc, Position] = {}
        self.key_positions: dict[Loc, Position] = {}
        self.problems: list[Problem] = []

    def visit(self, node: yaml.Node, loc: Loc, depth: int) -> None:
        self.count += 1
        if self.count > MAX_EXPANDED_NODES or depth > MAX_DEPTH:
            raise _TooBig(node)
        if loc not in self.positions:
            self.positions[loc] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    self.problems.append(Problem(
                        self.path, key_node.start_mark.line + 1, key_node.start_mark.column + 1,
                        _dotted((*loc, key)), "duplicate key; the later value would silently win"))
                seen.add(key)
                self.key_positions[(*loc, key)] = (
                    key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                self.visit(value_node, (*loc, key), depth + 1)
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self.visit(item, (*loc, index), depth + 1)


class _TooBig(Exception):
    def __init__(self, node: yaml.Node) -> None:
        self.node = node


def _dotted(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def load_policy_file(path: Path) -> PolicyFile:
    """Read and validate a policy file, raising PolicyError listing every problem."""
    if path.exists() and not path.is_file():  # a folder, or a FIFO that would block forever
        raise PolicyError(str(path), [Problem(str(path), None, None, "",
                                              "is not a regular file")],
                          hint="give the policy YAML file itself")
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_POLICY_BYTES + 1)  # never more, whatever the file's size
        if len(raw) > MAX_POLICY_BYTES:
            raise _too_large(str(path))
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise PolicyError(
            str(path), [Problem(str(path), None, None, "", "file not found")],
            hint="check the path; `auditor validate` takes the policy YAML file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(
            str(path), [Problem(str(path), None, None, "", f"cannot read: {exc}")]) from exc
    return parse_policy_text(text, str(path))


def _too_large(path: str) -> PolicyError:
    return PolicyError(path, [Problem(
        path, None, None, "", f"the file is larger than {MAX_POLICY_BYTES // 1024} KiB, the most "
        "a policy file may be")], hint="a policy file lists policies and categories; prompts "
        "and answers belong in the dataset, not here")


def _check_shape(text: str, path: str) -> None:
    """Refuse documents nested too deep or with too many nodes, before composing them."""
    loader = yaml.SafeLoader(text)
    depth = events = 0
    try:
        while loader.check_event():
            event = loader.get_event()  # type: ignore[no-untyped-call]
            events += 1
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
            if depth > MAX_DEPTH or events > MAX_EVENTS:
                mark = event.start_mark
                what = (f"is nested deeper than {MAX_DEPTH} levels" if depth > MAX_DEPTH
                        else f"has more than {MAX_EVENTS} YAML nodes")
                raise PolicyError(path, [Problem(path, mark.line + 1, mark.column + 1, "",
                                                 f"the document {what}")],
                                  hint="a policy file is a short list of policies; "
                                  "check for runaway brackets or a pasted data file")
    finally:
        loader.dispose()


# The tags plain YAML data may carry (what a safe loader resolves by itself).
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}" for name in (
    "str", "int", "float", "bool", "null", "map", "seq", "timestamp", "binary", "merge",
    "value", "set", "omap", "pairs")}


def _short_tag(tag: str) -> str:
    return "!!" + tag.removeprefix("tag:yaml.org,2002:") if tag.startswith("tag:yaml.org,") \
        else tag


def _first_foreign_tag(root: yaml.Node) -> yaml.Node | None:
    """The first node (in document order) whose tag is not plain data, e.g. !!python/object."""
    stack: list[yaml.Node] = [root]
    seen: set[int] = set()
    while stack:
        node = stack.pop()
        if id(node) in seen:  # aliases share nodes
            continue
        seen.add(id(node))
        if node.tag not in _PLAIN_TAGS:
            return node
        if isinstance(node, yaml.MappingNode):
            stack += [item for pair in reversed(node.value) for item in reversed(pair)]
        elif isinstance(node, yaml.SequenceNode):
            stack += list(reversed(node.value))
    return None


def parse_policy_text(text: str, path: str = "<policy>") -> PolicyFile:
    if len(text) > MAX_POLICY_BYTES:
        raise _too_large(path)
    try:
        # reading the text already checks its characters (a NUL byte, say)
        loader = yaml.SafeLoader(text)
    except yaml.reader.ReaderError as exc:
        at_line = text.count("\n", 0, exc.position) + 1
        at_column = exc.position - (text.rfind("\n", 0, exc.position) + 1) + 1
        raise PolicyError(path, [Problem(path, at_line, at_column, "", f"character U+{exc.character:04X} "
                                 "is not allowed in a YAML file")],
                          hint="remove it: a policy file is plain text (a NUL byte or another "
                               "control character often comes from a copy out of a binary "
                               "file)") from None
    try:
        _check_shape(text, path)
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problem = f"invalid YAML: {exc.problem or exc}"
        raise PolicyError(path, [Problem(path, line, col, "", problem)],
                          hint="check indentation and quoting around that line") from None
    except yaml.YAMLError as exc:
        raise PolicyError(path, [Problem(path, None, None, "", f"invalid YAML: {exc}")]) from None
    finally:
        loader.dispose()
    if node is None:
        raise PolicyError(path, [Problem(path, 1, 1, "", "the file is empty")],
                          hint="start from samples/policy-bank.yaml or `auditor schema`")
    tagged = _first_foreign_tag(node)
    if tagged is not None:
        raise PolicyError(path, [Problem(
            path, tagged.start_mark.line + 1, tagged.start_mark.column + 1, "",
            f"the YAML tag {_short_tag(tagged.tag)!r} is not allowed: a policy file holds plain "
            "mappings, lists, strings and numbers")],
            hint="remove the tag (tags such as !!python/… ask a loader to build objects or run "
                 "code; auditor never does)")
    if not isinstance(node, yaml.MappingNode):
        raise PolicyError(path, [Problem(path, node.start_mark.line + 1, 1, "",
                                         "the top level must be a mapping of keys to values")])
    walk = _Walk(path)
    try:
        walk.visit(node, (), 0)
    except _TooBig as big:
        raise PolicyError(path, [Problem(
            path, big.node.start_mark.line + 1, big.node.start_mark.column + 1, "",
            f"the document expands to more than {MAX_EXPANDED_NODES} nodes or deeper than "
            f"{MAX_DEPTH} levels (YAML alias bomb?)")]) from None
    data = yaml.SafeLoader(text).get_single_data()  # safe now: expansion is bounded
    return validate_policy_data(data, path, walk)


def validate_policy_data(data: Any, path: str = "<policy>", walk: _Walk | None = None
                         ) -> PolicyFile:
    walk = walk or _Walk(path)
    problems = list(walk.problems)
    problems += _duplicate_policy_ids(data, path, walk)
    problems += _target_names(data, path, walk)
    try:
        policy_file = PolicyFile.model_validate(data)
    except ValidationError as exc:
        problems += [_problem_from(error, path, walk) for error in exc.errors()]
        policy_file = None
    if problems or policy_file is None:
        problems.sort(key=lambda p: (p.line or 0, p.column or 0))
        raise PolicyError(path, problems, hint="`auditor schema` prints every allowed field")
    return policy_file


def _duplicate_policy_ids(data: Any, path: str, walk: _Walk) -> list[Problem]:
    if not isinstance(data, dict) or not isinstance(data.get("policies"), list):
        return []
    problems, seen = [], set()
    for index, policy in enumerate(data["policies"]):
        if isinstance(policy, dict) and isinstance(policy.get("id"), str):
            if policy["id"] in seen:
                line, col = walk.positions.get(("policies", index, "id"), (None, None))
                problems.append(Problem(path, line, col, f"policies[{index}].id",
                                        f"duplicate policy id {policy['id']!r}"))
            seen.add(policy["id"])
    return problems


def _target_names(data: Any, path: str, walk: _Walk) -> list[Problem]:
    """Each of `targets` needs a name of its own: the name labels every output and its run
    folder."""
    if not isinstance(data, dict) or not isinstance(data.get("targets"), list):
        return []
    problems, seen = [], set()
    for index, target in enumerate(data["targets"]):
        if not isinstance(target, dict):
            continue
        name = target.get("name")
        if not isinstance(name, str) or not name.strip():
            line, col = walk.positions.get(("targets", index), (None, None))
            problems.append(Problem(path, line, col, f"targets[{index}]",
                                    "needs a `name`, e.g. 'Vendor B – model-x'"))
            continue
        folder = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.").lower()
        if folder in seen:
            line, col = walk.positions.get(("targets", index, "name"), (None, None))
            problems.append(Problem(path, line, col, f"targets[{index}].name",
                                    f"duplicate target name {name!r} (names must differ in "
                                    "letters or digits: each names a run folder)"))
        seen.add(folder)
    return problems


def _problem_from(error: Any, path: str, walk: _Walk) -> Problem:
    loc: Loc = tuple(part for part in error["loc"] if not _is_union_tag(part))
    kind = error["type"]
    if kind == "extra_forbidden":
        line, col = walk.key_positions.get(loc, _nearest(loc, walk.positions))
        return Problem(path, line, col, _dotted(loc[:-1]) or "(top level)",
                       f"unknown field {loc[-1]!r}{_allowed_fields(loc)}")
    if kind == "missing":
        line, col = _nearest(loc[:-1], walk.positions)
        return Problem(path, line, col, _dotted(loc), "required field is missing")
    line, col = _nearest(loc, walk.positions)
    message = error["msg"]
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    return Problem(path, line, col, _dotted(loc), _readable(message, error))


def _is_union_tag(part: str | int) -> bool:
    # pydantic adds member names like 'int' or "literal['all']" for union members
    return isinstance(part, str) and (part in {"int", "str", "float"} or part.startswith("literal["))


def _nearest(loc: Loc, positions: dict[Loc, Position]) -> tuple[int | None, int | None]:
    for end in range(len(loc), -1, -1):
        if loc[:end] in positions:
            return positions[loc[:end]]
    return (None, None)


def _allowed_fields(loc: Loc) -> str:
    from auditor.config.schema import allowed_fields_at

    allowed = allowed_fields_at(loc[:-1])
    if not allowed:
        return ""
    import difflib

    close = difflib.get_close_matches(str(loc[-1]), allowed, n=1)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; allowed: {', '.join(allowed)}"


# Values an earlier version accepted, and why they are gone.
RETIRED = {"jeffreys": "the Jeffreys interval was removed: its lower bound passes policies "
                       "whose true rate is below the threshold up to 3.4 % of the time, where "
                       "2.5 % is claimed (bench/coverage.py); use wilson or clopper-pearson"}


def _readable(message: str, error: Any) -> str:
    if error["type"] == "literal_error":
        retired = RETIRED.get(str(error.get("input")))
        return retired or message.replace("Input should be", "must be one of:")
    if error["type"] == "too_short":
        return "must not be empty"
    return message[0].lower() + message[1:] if message else message
