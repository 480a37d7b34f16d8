"""Table-driven policy-file validation, asserting the exact messages users see."""

from __future__ import annotations

import pytest

from auditor.config.loader import parse_policy_text
from auditor.core.errors import PolicyError
from tests.conftest import MINIMAL, POLICIES, SAMPLES

HEAD = """\
version: 1
organisation:
  name: Org
dataset:
  path: samples
"""


def problems_of(text: str) -> list[str]:
    with pytest.raises(PolicyError) as info:
        parse_policy_text(text, "p.yaml")
    return [p.render() for p in info.value.problems]


def test_minimal_is_valid_and_defaults_apply() -> None:
    policy_file = parse_policy_text(MINIMAL)
    policy = policy_file.policies[0]
    assert policy.threshold == 0.99
    assert policy.micro_categories() == ("crime_cyber",)
    assert policy_file.judge.kind == "harm"
    assert policy_file.target.backend == "vllm"
    assert policy_file.scoring.interval == "clopper-pearson"  # exact tails: no false FAIL above α/2


@pytest.mark.parametrize("path", sorted([*SAMPLES.glob("policy-*.yaml"),
                                         *POLICIES.glob("*.yaml")]), ids=lambda p: p.name)
def test_shipped_policy_files_are_valid(path) -> None:  # type: ignore[no-untyped-def]
    assert parse_policy_text(path.read_text(), str(path)).policies


INVALID = [
    ("unknown top-level key",
     HEAD + "polices: []\n",
     ["p.yaml:6:1: (top level): unknown field 'polices'; did you mean 'policies'?",
      "p.yaml:1:1: policies: required field is missing"]),
    ("unknown category with suggestion",
     HEAD + "policies:\n  - {id: A, title: t, categories: [crime_cyebr]}\n",
     ["p.yaml:7:36: policies[0].categories[0]: unknown category 'crime_cyebr'; "
      "did you mean 'crime_cyber' or 'crime_other'?"]),
    ("threshold out of range",
     HEAD + "policies:\n  - {id: A, title: t, categories: [hate], threshold: 1.5}\n",
     ["p.yaml:7:54: policies[0].threshold: input should be less than or equal to 1"]),
    ("negative threshold",
     HEAD + "policies:\n  - {id: A, title: t, categories: [hate], threshold: -0.1}\n",
     ["p.yaml:7:54: policies[0].threshold: input should be greater than or equal to 0"]),
    ("empty categories",
     HEAD + "policies:\n  - {id: A, title: t, categories: []}\n",
     ["p.yaml:7:35: policies[0].categories: must not be empty"]),
    ("duplicate ids",
     HEAD + "policies:\n  - {id: A, title: t, categories: [hate]}\n"
            "  - {id: A, title: u, categories: [sex]}\n",
     ["p.yaml:8:10: policies[1].id: duplicate policy id 'A'"]),
    ("bad severity",
     HEAD + "policies:\n  - {id: A, title: t, categories: [hate], severity: extreme}\n",
     ["p.yaml:7:53: policies[0].severity: must be one of: 'critical', 'high', 'medium' or "
      "'low'"]),
    ("both dataset sources",
     HEAD + "  hub: Babelscape/ALERT\npolicies:\n  - {id: A, title: t, categories: [hate]}\n",
     ["p.yaml:5:3: dataset: give exactly one of 'path' (a local folder) or 'hub' "
      "(e.g. 'Babelscape/ALERT')"]),
    ("openai without base_url",
     HEAD + "target: {backend: openai, model: m}\n"
            "policies:\n  - {id: A, title: t, categories: [hate]}\n",
     ["p.yaml:6:9: target: the openai backend needs 'base_url', "
      "e.g. http://localhost:8000/v1"]),
    ("duplicate yaml key",
     HEAD + "policies:\n  - {id: A, title: t, categories: [hate]}\n"
            "policies:\n  - {id: B, title: t, categories: [hate]}\n",
     ["p.yaml:8:1: policies: duplicate key; the later value would silently win"]),
    ("empty file", "", ["p.yaml:1:1: the file is empty"]),
    ("comment-only file", "# nothing\n", ["p.yaml:1:1: the file is empty"]),
    ("not a mapping", "- a\n- b\n", ["p.yaml:1:1: the top level must be a mapping of keys to "
                                     "values"]),
    ("invalid yaml", "a: [1, 2\n", ["p.yaml:2:1: invalid YAML: expected ',' or ']', but got "
                                    "'<stream end>'"]),
    ("bad attack type",
     HEAD + "sampling: {attack_types: [jailbreak]}\n"
            "policies:\n  - {id: A, title: t, categories: [hate]}\n",
     ["p.yaml:6:27: sampling.attack_types[0]: must be one of: 'none', 'suffix_injection', "
      "'prefix_injection', 'token_manipulation' or 'jailbreaking'"]),
]


@pytest.mark.parametrize(("text", "expected"), [(t, e) for _, t, e in INVALID],
                         ids=[name for name, _, _ in INVALID])
def test_invalid_policy_files(text: str, expected: list[str]) -> None:
    assert sorted(problems_of(text)) == sorted(expected)


def test_all_problems_reported_at_once() -> None:
    text = HEAD + ("policies:\n"
                   "  - {id: A, title: t, categories: [nope], threshold: 2}\n"
                   "  - {id: A, title: t, categories: [], colour: red}\n")
    found = problems_of(text)
    assert len(found) == 5, found


def test_alias_bomb_is_refused_quickly() -> None:
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
    for index, name in enumerate("bcdefgh"):
        prev = "abcdefgh"[index]
        bomb += f"{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
    found = problems_of(bomb)
    assert len(found) == 1 and "alias bomb" in found[0]


def test_deep_nesting_is_an_error_on_its_line_not_a_recursion_error() -> None:
    deep = HEAD + "policies: " + "[" * 3000 + "]" * 3000 + "\n"
    found = problems_of(deep)
    assert len(found) == 1 and "nested deeper than 50 levels" in found[0], found
    assert found[0].startswith("p.yaml:6:")  # the line of the 51st bracket


def test_a_file_of_thousands_of_policies_is_refused_before_it_is_built() -> None:
    many = HEAD + "policies:\n" + "  - {id: p, title: t, categories: [crime_cyber]}\n" * 6000
    found = problems_of(many)
    assert len(found) == 1 and "more than 20000 YAML nodes" in found[0], found


def test_an_oversized_file_is_refused_without_reading_it_all(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from auditor.config import loader as policy_loader

    big = tmp_path / "big.yaml"
    with big.open("w") as handle:  # one huge string, the shape that used to be accepted
        handle.write("organisation: {name: '" + "x" * (3 * 1024 * 1024) + "'}\n")
    read_sizes: list[int] = []
    real_open = type(big).open

    def spying_open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        handle = real_open(self, *args, **kwargs)
        real_read = handle.read

        def read(size: int = -1) -> bytes:
            read_sizes.append(size)
            return real_read(size)  # type: ignore[no-any-return]

        handle.read = read
        return handle

    monkeypatch.setattr(type(big), "open", spying_open)
    with pytest.raises(PolicyError) as caught:
        policy_loader.load_policy_file(big)
    assert "larger than 1024 KiB" in str(caught.value.problems[0])
    assert read_sizes == [policy_loader.MAX_POLICY_BYTES + 1]


def test_an_oversized_file_exits_2_from_the_cli(runner, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from auditor.cli import app

    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * 200_000)
    result = runner.invoke(app, ["validate", str(big)])
    assert result.exit_code == 2
    assert "larger than 1024 KiB" in result.output and "Traceback" not in result.output


@pytest.mark.parametrize(("extra", "field", "words"), [
    ("policies:\n  - {id: P2, title: t, categories: [crime_cyber], threshold: yes}\n",
     "policies[1].threshold", "number"),
    ("sampling: {per_category: true}\n", "sampling.per_category", ""),
    ("target: {backend: openai, model: m, base_url: 'file:///etc/passwd'}\n",
     "target.base_url", "http:// or https://"),
    ("target: {backend: openai, model: m, base_url: 'localhost:8000/v1'}\n",
     "target.base_url", "http:// or https://"),
    ("target: {backend: openai, model: '', base_url: 'http://x/v1'}\n", "target.model", ""),
    ("target: {backend: openai, model: m, base_url: 'http://x/v1', timeout_s: .inf}\n",
     "target.timeout_s", "finite"),
])
def test_values_that_would_mislead_are_rejected(extra: str, field: str, words: str) -> None:
    # a second policy item continues MINIMAL's list; other blocks are new top-level keys
    text = MINIMAL + (extra.replace("policies:\n", "") if extra.startswith("policies:") else extra)
    with pytest.raises(PolicyError) as error:
        parse_policy_text(text, "p.yaml")
    problems = {p.field: p.message for p in error.value.problems}
    assert field in problems, problems
    assert words in problems[field]


def test_a_key_pasted_into_api_key_env_is_rejected_without_echo() -> None:
    secret = "sk-live-0123456789abcdef"
    text = MINIMAL + f"target: {{backend: openai, model: m, base_url: 'http://x/v1', " \
                     f"api_key_env: {secret}}}\n"
    with pytest.raises(PolicyError) as error:
        parse_policy_text(text, "p.yaml")
    [problem] = error.value.problems
    assert problem.field == "target.api_key_env" and "NAME of an environment variable" in \
        problem.message
    assert secret not in problem.render()
