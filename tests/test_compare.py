"""Paired comparison of two runs: Newcombe's interval and the `compare` command."""

from __future__ import annotations

import glob
import json
import shlex
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from auditor.cli import app
from auditor.outputs.compare import newcombe_paired
from tests.conftest import ROOT, SAMPLES
from tests.fake_openai import COMPLIANCE, REFUSAL, FakeOpenAIServer
from tests.pdf_layout import decimal_shares, overlapping_labels


def test_newcombe_symmetry_and_bounds() -> None:
    delta, low, high = newcombe_paired(40, 10, 2, 8)
    assert delta == pytest.approx(8 / 60)
    assert low < delta < high
    swapped = newcombe_paired(40, 2, 10, 8)
    assert swapped == pytest.approx((-delta, -high, -low))
    assert newcombe_paired(0, 0, 0, 0) == (0.0, -1.0, 1.0)


def test_newcombe_has_the_continuity_corrected_correlation_term() -> None:
    # Table (40, 5, 0, 5): Newcombe (1998) method 10 with max(AD - BC - N/2, 0)
    delta, low, high = newcombe_paired(40, 5, 0, 5)
    assert delta == pytest.approx(0.1)
    assert (low, high) == pytest.approx((0.0053, 0.2077), abs=1e-4)


def test_better_needs_mcnemar_too() -> None:
    from auditor.outputs.compare import paired_difference

    # 40 both safe, 5 only A safe, 0 only B safe, 5 neither: interval excludes 0, p = 0.0625
    pairs = [(True, True)] * 40 + [(True, False)] * 5 + [(False, False)] * 5
    difference = paired_difference(pairs, 0.95)
    assert difference.low > 0 and difference.mcnemar_p == pytest.approx(0.0625)
    assert difference.larger_is_a is None


def test_newcombe_coverage_by_simulation() -> None:
    """Nominal 95 %: over many simulated paired samples the interval covers the truth."""
    rng = np.random.default_rng(0)
    probabilities = [0.6, 0.15, 0.05, 0.2]  # both safe, only A, only B, neither
    truth = probabilities[1] - probabilities[2]
    covered = 0
    trials = 2000
    for _ in range(trials):
        a, b, c, d = rng.multinomial(60, probabilities)
        _, low, high = newcombe_paired(int(a), int(b), int(c), int(d))
        covered += low <= truth <= high
    assert 0.93 <= covered / trials <= 0.975


def run_policy(base_url: str) -> str:
    return f"""\
version: 1
organisation: {{name: Procurement}}
dataset: {{path: {SAMPLES}}}
target: {{backend: openai, model: fake-model, base_url: "{base_url}", max_tokens: 16}}
sampling: {{per_category: 6}}
judge: {{kind: refusal}}
policies:
  - {{id: CRIME, title: Crime, categories: [crime]}}
  - {{id: HATE, title: Hate, categories: [hate]}}
"""


def refuser_and_complier(runner: CliRunner, tmp_path: Path, extra: str = "") -> dict[str, Path]:
    """Run folders of model A, which refuses everything, and B, which complies with everything."""
    runs = {}
    for name, answer in (("a", REFUSAL), ("b", COMPLIANCE)):
        with FakeOpenAIServer() as server:
            server.answer = lambda prompt, answer=answer: answer
            policy = tmp_path / f"{name}.yaml"
            policy.write_text(run_policy(server.base_url) + extra)
            runs[name] = tmp_path / name
            runner.invoke(app, ["check", str(policy), "--out", str(runs[name]), "--quiet"])
    return runs


def test_compare_command(runner: CliRunner, tmp_path: Path) -> None:
    runs = refuser_and_complier(runner, tmp_path)
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", str(runs["a"]), str(runs["b"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text())
    names = [m["name"] for m in comparison["models"]]
    assert names == ["fake-model (a)", "fake-model (b)"]  # same model name: told apart
    [crime] = [t for t in comparison["pairs"]
               if t["policy_id"] == "CRIME" and t["axis"] == "safety"]
    assert crime["n_shared"] == 48 and crime["better"] == "fake-model (a)"
    assert crime["difference"] == pytest.approx(1.0) and crime["low"] > 0.8
    assert crime["mcnemar_p"] < 1e-6 and crime["p_adjusted"] < 1e-6
    text = PdfReader(out / "comparison.pdf").pages[0].extract_text()
    assert "Model comparison" in text and "Decision" in text and "fake-model (a)" in text
    assert "Model A" not in text


def test_compare_missing_run_is_a_clear_error(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(app, ["compare", str(tmp_path / "x"), str(tmp_path / "y")])
    assert result.exit_code == 2 and "results.json not found" in result.output


def test_compare_shows_both_axes_paired(runner: CliRunner, tmp_path: Path) -> None:
    """A refuses everything (safer, but refuses benign prompts); B helps with everything."""
    runs = refuser_and_complier(runner, tmp_path,
                                "over_refusal: {per_category: 5, xstest: false}\n")
    out = tmp_path / "cmp"
    result = runner.invoke(app, ["compare", str(runs["a"]), str(runs["b"]), "--out", str(out)])
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text())
    crime = {t["axis"]: t for t in comparison["pairs"] if t["policy_id"] == "CRIME"}
    assert crime["safety"]["better"] == "fake-model (a)"  # safer
    refusal = crime["over-refusal"]
    assert refusal["n_shared"] == 8 * 5  # five for each of the eight crime micro categories
    assert refusal["rate_a"] == 1.0 and refusal["rate_b"] == 0.0
    assert refusal["better"] == "fake-model (b)" and refusal["low"] > 0.8  # refuses less
    # each is better on one axis, but b FAILs its safety policies: excluded, not a choice,
    # so a alone is on the front of the eligible
    standing = {m["name"]: m["standing"] for m in comparison["decision"]["standings"]}
    assert standing["fake-model (b)"] == "excluded"
    assert comparison["decision"]["pareto"] == ["fake-model (a)"]
    text = " ".join(p.extract_text() for p in PdfReader(out / "comparison.pdf").pages)
    assert "refuses fewer benign requests than" in text.replace("\n", " ")
    assert "over-refusal" in result.output


def run_with(runner: CliRunner, tmp_path: Path, name: str, edit: Any = lambda text: text
             ) -> Path:
    with FakeOpenAIServer() as server:
        policy = tmp_path / f"{name}.yaml"
        policy.write_text(edit(run_policy(server.base_url)))
        out = tmp_path / name
        result = runner.invoke(app, ["check", str(policy), "--out", str(out), "--quiet"])
        assert result.exit_code in (0, 1, 3), result.output
    return out


@pytest.mark.parametrize(("edit", "named"), [
    (lambda text: text.replace("kind: refusal", "kind: harm"), "judge"),
    (lambda text: text.replace("max_tokens: 16", "max_tokens: 32"), "max_tokens"),
    (lambda text: text.replace("per_category: 6", "per_category: 3"), "prompts of CRIME"),
])
def test_runs_that_differ_in_what_was_measured_are_refused(runner: CliRunner, tmp_path: Path,
                                                           edit: Any, named: str) -> None:
    base = run_with(runner, tmp_path, "base")
    other = run_with(runner, tmp_path, "other", edit)
    out = tmp_path / "cmp"
    refused = runner.invoke(app, ["compare", str(base), str(other), "--out", str(out)])
    assert refused.exit_code == 2, refused.output
    assert "not comparable" in refused.output and named in refused.output
    assert str(base) in refused.output.replace("\n", "") and not (out / "comparison.pdf").exists()
    forced = runner.invoke(app, ["compare", str(base), str(other), "--out", str(out),
                                 "--allow-mismatch"])
    assert forced.exit_code == 0, forced.output
    comparison = json.loads((out / "comparison.json").read_text())
    assert any(named in m for m in comparison["mismatches"])
    pages = [page.extract_text() for page in PdfReader(out / "comparison.pdf").pages]
    assert all("NOT COMPARABLE" in text for text in pages)
    assert named in pages[0].replace("\n", " ")


def test_runs_of_the_same_setup_are_comparable(runner: CliRunner, tmp_path: Path) -> None:
    from auditor.outputs.comparability import RunRecord, differences
    from auditor.outputs.files import read_benign_outcomes, read_outcomes, read_results

    runs = refuser_and_complier(runner, tmp_path)
    records = [RunRecord(path, read_results(path), read_outcomes(path),
                         read_benign_outcomes(path)) for path in runs.values()]
    assert differences(records) == []


def test_each_models_own_figures_are_the_ones_in_its_report(runner: CliRunner,
                                                           tmp_path: Path) -> None:
    runs = refuser_and_complier(runner, tmp_path,
                                "over_refusal: {per_category: 5, xstest: false}\n")
    out = tmp_path / "cmp"
    assert runner.invoke(app, ["compare", str(runs["a"]), str(runs["b"]), "--out",
                               str(out)]).exit_code == 0
    comparison = json.loads((out / "comparison.json").read_text())
    for side in ("a", "b"):
        results = json.loads((runs[side] / "results.json").read_text())
        for row in comparison["policies"]:
            policy = next(p for p in results["policies"] if p["id"] == row["policy_id"])
            own = row["models"][f"fake-model ({side})"]
            deciding = policy["corrected"] if policy["decided_on"] == "judge-corrected" \
                else policy["estimate"]
            assert (own["score"], own["low"], own["high"]) == \
                (deciding["score"], deciding["low"], deciding["high"])
            assert own["verdict"] == policy["verdict"]
            assert own["over_refusal"]["rate"] == policy["over_refusal"]["rate"]
    text = " ".join(p.extract_text() for p in PdfReader(out / "comparison.pdf").pages)
    assert "Models × policies" in text


def three_vendor_policy(urls: list[str]) -> str:
    names = ["Vendor A – careful-1", "Vendor B – eager-2", "Vendor C – mostly-careful-3"]
    targets = "".join(f'  - {{name: "{name}", model: model-{i}, base_url: "{url}"}}\n'
                      for i, (name, url) in enumerate(zip(names, urls, strict=True)))
    return f"""\
version: 1
organisation: {{name: Procurement}}
dataset: {{path: {SAMPLES}}}
target: {{backend: openai, max_tokens: 16, system_prompt: "Be helpful."}}
targets:
{targets}sampling: {{per_category: 6}}
judge: {{kind: refusal}}
over_refusal: {{per_category: 5, xstest: false}}
policies:
  - {{id: CRIME, title: Crime, categories: [crime]}}
  - {{id: HATE, title: Hate, categories: [hate]}}
"""


def mostly_refuses(prompt: str) -> str:
    # Refuses nine prompts in ten (deterministically, by the prompt's text).
    return COMPLIANCE if sum(map(ord, prompt)) % 10 == 0 else REFUSAL


def readme_commands(introduced_by: str) -> list[list[str]]:
    """The shell block the README introduces with these words, a command a line."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    after = text[text.index(introduced_by):]
    start = after.index("```sh\n") + len("```sh\n")
    block = after[start:after.index("```", start)]
    return [shlex.split(line.split("#")[0]) for line in block.splitlines() if line.strip()]


def test_three_vendors_from_one_policy_file_to_one_decision(
        runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with FakeOpenAIServer("model-0") as a, FakeOpenAIServer("model-1") as b, \
            FakeOpenAIServer("model-2") as c:
        a.answer = lambda prompt: REFUSAL
        b.answer = lambda prompt: COMPLIANCE
        c.answer = mostly_refuses
        policy = tmp_path / "vendors.yaml"
        policy.write_text(three_vendor_policy([a.base_url, b.base_url, c.base_url]))
        study = tmp_path / "study"
        checked = runner.invoke(app, ["check", str(policy), "--all-targets", "--out",
                                      str(study), "--quiet"])
        assert checked.exit_code in (1, 3), checked.output
        folders = sorted(p for p in study.iterdir() if p.is_dir())
        assert [f.name for f in folders] == ["Vendor-A-careful-1", "Vendor-B-eager-2",
                                             "Vendor-C-mostly-careful-3"]
        calls = [len(s.chat_requests()) for s in (a, b, c)]
        # a rerun of the study resumes: every answer is cached, no model is called again
        again = runner.invoke(app, ["check", str(policy), "--all-targets", "--out",
                                    str(study), "--quiet"])
        assert again.exit_code == checked.exit_code
        assert [len(s.chat_requests()) for s in (a, b, c)] == calls
        # and the README's two commands, from policy to decision, as written (run where the
        # policy file is; every answer is in the study's store by now)
        monkeypatch.chdir(tmp_path)
        (tmp_path / "vendors.yaml").write_text(policy.read_text())
        walk = readme_commands("Then two commands, from policy to decision:")
        assert [command[:2] for command in walk] == [["auditor", "check"], ["auditor", "compare"]]
        for command in walk:
            args = [word for arg in command[1:]
                    for word in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
            done = runner.invoke(app, args)
            assert done.exit_code == (0 if command[1] == "compare" else checked.exit_code), \
                (command, done.output)
        walked = json.loads((tmp_path / "comparison" / "comparison.json").read_text())
        assert {m["name"]: m["standing"] for m in walked["decision"]["standings"]} == {
            "Vendor A – careful-1": "eligible", "Vendor B – eager-2": "excluded",
            "Vendor C – mostly-careful-3": "eligible"}
        # a review of one vendor's run: the hint to score it runs as written
        assert runner.invoke(app, ["review", "sample", str(folders[0]), "--budget", "2"]
                             ).exit_code == 0
        labelled = runner.invoke(app, ["review", "label", str(folders[0]), "--reviewer", "qa"],
                                 input="ss")
        hint = " ".join(labelled.output.split())
        assert "--target 'Vendor A – careful-1'" in hint, hint
        command = shlex.split(hint[hint.index("`auditor check") + 1:hint.index("` with")])
        rerun = runner.invoke(app, [str(policy) if a == "POLICY" else a for a in command[1:]])
        assert rerun.exit_code in (1, 3), rerun.output
    for folder, model in zip(folders, ("model-0", "model-1", "model-2"), strict=True):
        results = json.loads((folder / "results.json").read_text())
        assert results["target"]["model"] == model
        assert results["target"]["name"].startswith("Vendor")
        assert results["target_sampling"]["system_prompt"] == "Be helpful."  # shared
    # the command `check` printed runs as written (its glob expanded as a shell would)
    line = next(x for x in checked.output.splitlines() if x.startswith("Compare them:"))
    printed = shlex.split(line.removeprefix("Compare them: auditor "))
    expanded = [a for arg in printed for a in (sorted(glob.glob(arg)) if "*" in arg else [arg])]
    as_printed = runner.invoke(app, expanded)
    assert as_printed.exit_code == 0, (line, as_printed.output)
    assert (tmp_path / "study-comparison" / "comparison.pdf").is_file()
    out = tmp_path / "decision"
    result = runner.invoke(app, ["compare", *map(str, folders), "--out", str(out)])
    assert result.exit_code == 0, result.output
    comparison = json.loads((out / "comparison.json").read_text())
    from auditor.outputs.compare import SCHEMA_PATH

    jsonschema.validate(comparison, json.loads(SCHEMA_PATH.read_text()))
    names = [m["name"] for m in comparison["models"]]
    assert names == ["Vendor A – careful-1", "Vendor B – eager-2",
                     "Vendor C – mostly-careful-3"]
    # three pairs × two policies × two axes, Holm-corrected together
    assert len(comparison["pairs"]) == 12
    safety = {(t["policy_id"], t["a"], t["b"]): t for t in comparison["pairs"]
              if t["axis"] == "safety"}
    assert safety[("CRIME", names[0], names[1])]["better"] == names[0]
    assert safety[("CRIME", names[1], names[2])]["better"] == names[2]
    # B, which never refuses, FAILs the safety policies: excluded whatever it wins on
    # over-refusal, and never "best on both axes"
    standings = {m["name"]: m for m in comparison["decision"]["standings"]}
    assert standings[names[1]]["standing"] == "excluded"
    assert "FAILs" in standings[names[1]]["why"]
    assert names[1] not in comparison["decision"]["pareto"]
    statement = comparison["decision"]["statement"]
    assert f"Excluded: {names[1]}" in statement
    assert "Vendor A – careful-1" in statement and "Model A" not in statement
    text = " ".join(p.extract_text() for p in PdfReader(out / "comparison.pdf").pages)
    flat = text.replace("\n", " ")
    for needle in ("Decision", "Models × policies", "Differences that hold", "Comparability",
                   "Vendor C – mostly-careful-3", "Holm", "✗ excluded"):
        assert needle in flat, needle
    # the decision table comes first, the reasoning after
    assert flat.index("✗ excluded") < flat.index("Excluded: ")
    # the comparability table is in words: no raw JSON, no null
    assert '{"' not in flat and "null" not in flat and "CRIME ≥" in flat
    assert "Model A" not in flat and "Model B" not in flat
    # drawn as a reader sees it: no label over another, shares written one way
    assert overlapping_labels(out / "comparison.pdf") == []
    assert decimal_shares(out / "comparison.pdf") == []


def test_a_policy_with_targets_needs_a_target_named(runner: CliRunner, tmp_path: Path) -> None:
    policy = tmp_path / "vendors.yaml"
    policy.write_text(three_vendor_policy(["http://127.0.0.1:9/v1"] * 3))
    result = runner.invoke(app, ["check", str(policy), "--out", str(tmp_path / "x")])
    assert result.exit_code == 2 and "names 3 targets" in result.output
    assert "--all-targets" in result.output
    unknown = runner.invoke(app, ["check", str(policy), "--target", "Vendor D"])
    assert unknown.exit_code == 2 and "is not one of the policy file's targets" in unknown.output


def test_a_target_is_found_by_its_folder_name_or_loosely_typed_name(tmp_path: Path) -> None:
    from auditor.config.loader import parse_policy_text
    from auditor.core.errors import AuditorError

    policy = parse_policy_text(three_vendor_policy(["http://a/v1", "http://b/v1",
                                                     "http://c/v1"]), "v.yaml")
    for typed in ("Vendor-C-mostly-careful-3", "vendor c - mostly-careful-3",
                  "VENDOR C – MOSTLY-CAREFUL-3"):
        assert policy.for_target(typed).target.name == "Vendor C – mostly-careful-3", typed
    with pytest.raises(AuditorError) as error:
        policy.for_target("Vendor D")
    assert error.value.hint is not None and "Vendor-A-careful-1" in error.value.hint


def test_targets_need_distinct_names(tmp_path: Path) -> None:
    from auditor.config.loader import parse_policy_text
    from auditor.core.errors import PolicyError

    text = three_vendor_policy(["http://127.0.0.1:9/v1"] * 3)
    with pytest.raises(PolicyError) as same:
        parse_policy_text(text.replace("Vendor B – eager-2", "vendor a – careful 1"), "v.yaml")
    assert "duplicate target name" in str(same.value.problems[0].render())
    with pytest.raises(PolicyError) as unnamed:
        parse_policy_text(text.replace('name: "Vendor C – mostly-careful-3", ', ""), "v.yaml")
    assert "targets[2]: needs a `name`" in unnamed.value.problems[0].render()


def test_a_vendor_that_refuses_everything_is_not_a_choice(runner: CliRunner,
                                                          tmp_path: Path) -> None:
    """Vendor A refuses every request, benign ones included (over-refusal FAIL on a high
    severity policy); vendor C refuses most harmful ones only. A is excluded for its
    over-refusal, as a safety FAIL of that severity would exclude it, and is never named
    best on both axes."""
    with FakeOpenAIServer("model-0") as a, FakeOpenAIServer("model-2") as c:
        a.answer = lambda prompt: REFUSAL
        c.answer = mostly_refuses
        policy = tmp_path / "vendors.yaml"
        text = three_vendor_policy([a.base_url, "http://unused", c.base_url])
        text = "".join(line for line in text.splitlines(keepends=True)
                       if "Vendor B" not in line)
        text = text.replace("xstest: false}", "xstest: false, max_rate: 0.5}").replace(
            "categories: [crime]}", "categories: [crime], severity: high}")
        policy.write_text(text)
        study = tmp_path / "study"
        checked = runner.invoke(app, ["check", str(policy), "--all-targets", "--out",
                                      str(study), "--quiet"])
        assert checked.exit_code in (1, 3), checked.output
    folders = sorted(p for p in study.iterdir() if p.is_dir())
    out = tmp_path / "decision"
    result = runner.invoke(app, ["compare", *map(str, folders), "--out", str(out)])
    assert result.exit_code == 0, result.output
    decision = json.loads((out / "comparison.json").read_text())["decision"]
    standings = {m["name"]: m for m in decision["standings"]}
    careful = standings["Vendor A – careful-1"]
    assert careful["standing"] == "excluded" and "over-refusal" in careful["why"], careful
    assert "Vendor A – careful-1" not in decision["pareto"]


def test_an_eligible_models_standing_names_what_keeps_it_short() -> None:
    """The decision's table says, per model, which policies are inconclusive or FAIL (a FAIL
    of low severity leaves the model eligible)."""
    from auditor.outputs.compare import _short_of

    class Policy:
        def __init__(self, pid: str, verdict: str, severity: str = "high",
                     refusal: str | None = None) -> None:
            self.id, self.verdict, self.severity = pid, verdict, severity
            self.over_refusal = None if refusal is None else type("R", (), {
                "verdict": refusal})()

    run = type("Run", (), {"results": type("Res", (), {"policies": [
        Policy("CYBER", "INCONCLUSIVE"), Policy("TONE", "FAIL", "low"),
        Policy("WEAP", "PASS", refusal="INCONCLUSIVE"), Policy("PRIV", "INCONCLUSIVE")]})()})()
    assert _short_of(run) == ("FAIL on TONE (low); inconclusive on CYBER and PRIV; "
                              "over-refusal inconclusive on WEAP")
