"""The package layout reads in pipeline order, and no module reaches forward.

Each sub-package of `auditor` is one stage; a module may import from its own stage and from
earlier ones, never from a later one (lazy imports and `TYPE_CHECKING` imports included), so a
newcomer can read the code in the order the audit runs.
"""

from __future__ import annotations

import ast
from pathlib import Path

import auditor

PACKAGE = Path(auditor.__file__).resolve().parent

# The stages, in the order an audit passes through them.
STAGES = ["core", "config", "data", "targets", "judges", "stages", "stats", "outputs", "review",
          "audit", "cli"]
TOP_LEVEL = {"__init__": "core", "__main__": "cli"}


def stage_of(module: str) -> str:
    parts = module.split(".")
    assert parts[0] == "auditor", module
    if len(parts) == 1:
        return "core"
    return TOP_LEVEL.get(parts[1], parts[1])


def module_name(path: Path) -> str:
    relative = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(relative.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from auditor import x` imports the sub-package x
            if node.module == "auditor":
                found += [(node.lineno, f"auditor.{alias.name}") for alias in node.names
                          if (PACKAGE / alias.name).is_dir()]
    return [(line, name) for line, name in found if name.split(".")[0] == "auditor"]


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def test_every_module_sits_in_a_known_stage() -> None:
    unknown = {module_name(p) for p in modules() if stage_of(module_name(p)) not in STAGES}
    assert not unknown, f"modules outside the stage packages: {sorted(unknown)}"


def test_no_module_imports_from_a_later_stage() -> None:
    forward = []
    for path in modules():
        mine = STAGES.index(stage_of(module_name(path)))
        for line, name in imported_modules(path):
            theirs = STAGES.index(stage_of(name))
            if theirs > mine:
                forward.append(f"{path.relative_to(PACKAGE.parent)}:{line} imports {name}")
    assert not forward, "imports from a later stage:\n" + "\n".join(forward)


def test_each_stage_says_what_it_owns() -> None:
    for stage in STAGES:
        init = PACKAGE / stage / "__init__.py"
        doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
        assert doc and "may import" in doc.lower(), f"{init} needs a docstring saying what it owns " \
                                             "and what it may import"


def test_the_check_flags_a_forward_import(tmp_path: Path) -> None:
    """The rule is not vacuous: a core module importing the CLI is caught."""
    fake = tmp_path / "probe.py"
    fake.write_text("from auditor.cli import app\n")
    assert imported_modules(fake) == [(1, "auditor.cli")]
    assert STAGES.index(stage_of("auditor.cli")) > STAGES.index(stage_of("auditor.core.errors"))
