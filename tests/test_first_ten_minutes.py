"""What a new user meets first: endpoint checks, what the prompts are, sampling shortfalls,
page 1's decisions, and commands that fit an 80-column terminal."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

import pytest
from pypdf import PdfReader
from rich.console import Console
from typer.testing import CliRunner

from auditor.cli import app, output
from auditor.cli.output import print_table_or_list
from auditor.cli.third_party import third_party_output_to
from auditor.config.policy import Scoring
from auditor.core.errors import TargetError
from auditor.data.dataset import load_folder
from auditor.data.provenance import provenance_of
from auditor.outputs.caveats import short_answer_caveat
from auditor.stats.decision import PolicyFigures, explain
from auditor.stats.estimators import Stratum
from auditor.stats.scoring import Counts, assess
from auditor.targets import ChatRequest, DecodingConfig
from auditor.targets.cpu_dtype import cpu_flags, demo_dtype
from tests.conftest import SAMPLES, write_policy
from tests.fake_openai import FakeOpenAIServer, started_target
from tests.local_server import LocalServer


def check_policy(base_url: str, per_category: int = 2) -> str:
    return f"""\
version: 1
organisation: {{name: First Ten Minutes Org}}
dataset: {{path: {SAMPLES}}}
target: {{backend: openai, model: fake-model, base_url: "{base_url}", max_tokens: 16,
          concurrency: 2, timeout_s: 3, max_retries: 1}}
sampling: {{per_category: {per_category}, attack_types: [none]}}
judge: {{kind: refusal}}
policies:
  - {{id: CYBER-POLICY-WITH-A-LONG-NAME, title: No cyber-crime, categories: [crime_cyber]}}
"""


def check(runner: CliRunner, policy: Path, out: Path) -> Any:
    return runner.invoke(app, ["check", str(policy), "--out", str(out), "--quiet"])


# --- endpoints that answer but are not the model -------------------------------------------


class _PlainWebServer(BaseHTTPRequestHandler):
    """A web server that is not an API: pages for GET, 501 for POST (http.server's own)."""

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = b"<html><body>It works</body></html>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_a_plain_web_server_stops_the_run_before_any_prompt(runner: CliRunner,
                                                            tmp_path: Path) -> None:
    web = LocalServer(_PlainWebServer)
    try:
        policy = write_policy(tmp_path, check_policy(web.url))
        result = check(runner, policy, tmp_path / "run")
    finally:
        web.close()
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert "HTTP 501" in result.output and "/v1" in result.output  # the hint about base_url
    assert not (tmp_path / "run" / "report.pdf").exists()


@pytest.mark.parametrize("fault", ["404", "html"])
def test_a_probe_that_is_not_an_openai_answer_is_exit_2(runner: CliRunner, tmp_path: Path,
                                                        fault: str) -> None:
    with FakeOpenAIServer() as server:
        server.probe_faults.extend([fault])
        policy = write_policy(tmp_path, check_policy(server.base_url))
        result = check(runner, policy, tmp_path / "run")
        assert server.chat_requests() == []  # no prompt spent
    assert result.exit_code == 2, result.output
    assert "does it" in result.output or "ends in /v1" in result.output
    assert not (tmp_path / "run" / "report.pdf").exists()


def test_the_probe_is_retried_like_any_request() -> None:
    with FakeOpenAIServer() as server:
        server.probe_faults.extend(["500"])
        started_target(server, max_retries=1)
        assert len(server.probe_requests()) == 2


def test_a_streak_of_not_found_during_the_run_stops_it() -> None:
    with FakeOpenAIServer() as server:
        target = started_target(server, max_retries=0, concurrency=1)
        server.faults.extend(["404"] * 40)
        requests = [ChatRequest(f"k{i}", f"prompt {i}") for i in range(40)]
        answered = []
        with pytest.raises(TargetError) as info:
            for batch in target.generate(requests, DecodingConfig(max_tokens=4)):
                answered += batch
    assert "/v1" in (info.value.hint or "")
    assert len(server.chat_requests()) < 40  # stopped early, not after every prompt


def test_a_run_where_every_request_failed_writes_no_report(runner: CliRunner,
                                                           tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        server.faults.extend(["400"] * 100)  # 400 is final: each prompt fails once
        policy = write_policy(tmp_path, check_policy(server.base_url))
        result = check(runner, policy, tmp_path / "run")
    assert result.exit_code == 2, result.output
    assert "every one of the" in result.output and "HTTP 400" in result.output
    assert not (tmp_path / "run" / "report.pdf").exists()
    assert not (tmp_path / "run" / "results.json").exists()


# --- what the prompts are -------------------------------------------------------------------


def test_the_samples_are_named_for_what_they_are_wherever_they_lie(tmp_path: Path) -> None:
    assert provenance_of(load_folder(SAMPLES, ["none"])).kind == "samples"
    copy = tmp_path / "copy"
    copy.mkdir()
    for name in ("alert.jsonl", "alert_adversarial.jsonl"):
        (copy / name).write_bytes((SAMPLES / name).read_bytes())
    assert provenance_of(load_folder(copy, ["none"])).kind == "samples"
    (copy / "alert.jsonl").write_bytes((SAMPLES / "alert.jsonl").read_bytes() + b"\n")
    local = provenance_of(load_folder(copy, ["none"]))
    assert local.kind == "local" and "supplied by the user" in local.description
    hub = load_folder(SAMPLES, ["none"])
    hub.source, hub.revision = "hf://datasets/Babelscape/ALERT", "abc123"
    alert = provenance_of(hub)
    assert alert.kind == "alert" and "abc123" in alert.description
    assert alert.licence == "CC BY-NC-SA 4.0"


# --- asking for more prompts than exist -----------------------------------------------------


def test_asking_for_more_prompts_than_exist_is_a_warning_everywhere(runner: CliRunner,
                                                                   tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        policy = write_policy(tmp_path, check_policy(server.base_url, per_category=20))
        validated = runner.invoke(app, ["validate", str(policy)])
        planned = runner.invoke(app, ["plan", str(policy)])
        planned_json = json.loads(runner.invoke(app, ["plan", str(policy), "--json"]).output)
        checked = check(runner, policy, tmp_path / "run")
    assert validated.exit_code == 0
    for output_text in (validated.output, planned.output, checked.output):
        assert "asks for 20 prompts" in output_text, output_text
    assert any("asks for 20" in w for w in planned_json["warnings"])
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    assert any("asks for 20" in c for c in results["caveats"])
    policy_result = results["policies"][0]
    assert policy_result["prompts_available"] == 6
    # no projection beyond the prompts that exist
    assert policy_result["prompts_needed"] is None or policy_result["prompts_needed"] <= 6


def test_a_projection_never_asks_for_prompts_that_do_not_exist() -> None:
    strata = [Stratum(9, 0)]
    unlimited = assess(strata, Counts(9, 9, 0, 0, 0), 0.9, Scoring(), None)
    assert unlimited.prompts_needed is not None and unlimited.prompts_needed > 12
    capped = assess(strata, Counts(9, 9, 0, 0, 0), 0.9, Scoring(), None, available=12)
    assert capped.prompts_needed is None


def figures(**overrides: Any) -> PolicyFigures:
    values: dict[str, Any] = {"verdict": "INCONCLUSIVE", "reason": "interval [0.5, 1.0] "
                              "contains the threshold 0.9", "scored": 10, "prompts_needed": 40,
                              "available": 100, "sample_data": False}
    values.update(overrides)
    return PolicyFigures(**values)


def test_next_steps_say_what_would_decide_a_policy() -> None:
    assert "30 more scored prompts" in (explain(figures()).next_step or "")
    beyond = explain(figures(prompts_needed=None, available=20)).next_step or ""
    assert "holds only 20" in beyond and "more scored" not in beyond
    samples = explain(figures(prompts_needed=None, available=6, sample_data=True))
    assert "auditor dataset fetch" in (samples.next_step or "")
    judge = explain(figures(reason="this judge cannot certify a 0.990 threshold: ..."))
    assert "no number of prompts" in (judge.next_step or "")
    errors = explain(figures(reason="9 of 10 answers errored or unscored, above the 10% limit"))
    assert "rerun" in (errors.next_step or "")
    assert explain(figures(verdict="PASS")).next_step is None


# --- short answers --------------------------------------------------------------------------


def test_answers_much_shorter_than_the_judges_labels_get_a_caveat() -> None:
    from auditor.core.identity import Confusion, JudgeCard

    confusion = Confusion(tp=1, fn=1, tn=1, fp=1)
    card = JudgeCard(source="builtin:harmbench", confusion=confusion)
    short = short_answer_caveat(["Sure, first you need a plan and then"] * 20, card)
    assert short is not None and "much shorter" in short
    assert short_answer_caveat([" ".join(["word"] * 400)] * 20, card) is None
    measured_short = JudgeCard(answer_words_median=2, confusion=confusion)
    assert short_answer_caveat(["short"], measured_short) is None
    assert short_answer_caveat(["short"], None) is None


# --- the demo model's dtype -----------------------------------------------------------------


def test_the_demo_model_runs_in_float32_where_the_cpu_lacks_bf16(tmp_path: Path) -> None:
    assert demo_dtype(True, frozenset({"avx512f", "avx2"})).dtype == "float32"
    assert demo_dtype(True, frozenset({"avx512f", "avx512_bf16"})).dtype == "bfloat16"
    assert demo_dtype(True, frozenset({"amx_bf16"})).dtype == "bfloat16"
    assert demo_dtype(False, frozenset()).dtype == "bfloat16"  # GPU build
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor : 0\nflags : fpu avx512f avx512_bf16\n")
    assert "avx512_bf16" in cpu_flags(cpuinfo)
    assert cpu_flags(tmp_path / "missing") == frozenset()


def test_plan_says_the_dtype_and_counts_the_first_build(runner: CliRunner, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDITOR_MODEL_CACHE", str(tmp_path / "empty-model-cache"))
    policy = write_policy(tmp_path, f"""\
version: 1
organisation: {{name: Plan Org}}
dataset: {{path: {SAMPLES}}}
target: {{model: demo, max_tokens: 16}}
policies: [{{id: P, title: p, categories: [crime_cyber]}}]
""")
    data = json.loads(runner.invoke(app, ["plan", str(policy), "--json"]).output)
    assert "building the demo model" in data["estimate_setup"]
    assert data["dtype"]["dtype"] in ("float32", "bfloat16") and data["dtype"]["reason"]
    text = runner.invoke(app, ["plan", str(policy)]).output
    assert "The demo model runs in" in text and "first run only" in text


# --- other libraries' output stays out of the terminal --------------------------------------


def test_other_libraries_output_goes_to_the_log(tmp_path: Path,
                                                capfd: pytest.CaptureFixture[str]) -> None:
    log = tmp_path / "run" / "third-party.log"
    with third_party_output_to(log, verbose=False) as where:
        os.write(2, b"Triton is installed, but doesn't include CPU backend\n")
        subprocess.run([sys.executable, "-c", "import sys; sys.stderr.write('child noise\\n');"
                        "print('child stdout')"], check=True)
    captured = capfd.readouterr()
    assert where == log
    assert "Triton" not in captured.err and "child noise" not in captured.err
    assert "child stdout" not in captured.out
    text = log.read_text()
    assert "Triton" in text and "child noise" in text and "child stdout" in text
    with third_party_output_to(log, verbose=True) as where:
        os.write(2, b"shown when verbose\n")
    assert where is None and "shown when verbose" in capfd.readouterr().err


# --- judge validate on its own training answers ---------------------------------------------


def test_judge_validate_in_sample_leads_with_the_warning_and_held_out_figures(
        runner: CliRunner) -> None:
    result = runner.invoke(app, ["judge", "validate", "--judge", "harm", "--labels",
                                 "builtin:harmbench"])
    assert result.exit_code == 0, result.output
    text = result.output
    warning, in_sample = text.index("in-sample"), text.index("accuracy")
    assert warning < in_sample  # the warning comes before any figure
    held_out = text[:text.index("in-sample, optimistic")]
    # the card's pooled held-out accuracy, and this set's own figure held out of training
    assert "0.807" in held_out
    assert "held out, on builtin:harmbench" in " ".join(held_out.split())
    assert "sensitivity 0.985, specificity 0.571" in " ".join(held_out.split())
    assert "--card FILE" not in text  # never suggested where it would be refused


# --- 80 columns -----------------------------------------------------------------------------


def test_taxonomy_names_are_never_cut_at_80_columns(runner: CliRunner,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(output.console, "width", 80)
    with output.console.capture() as captured:
        runner.invoke(app, ["taxonomy"])
    text = captured.get()
    table_lines = [line for line in text.splitlines() if line[:1] in "┏┃┡│└"]
    assert table_lines and max(len(line) for line in table_lines) <= 80
    from auditor.core import taxonomy

    for label in taxonomy.MICRO:
        assert re.search(rf"(?<![\w+]){re.escape(label)}(?![\w+])", text), label
    for macro in taxonomy.MACRO:
        assert macro in text


def test_compare_fits_80_columns_without_cutting_ids(tmp_path: Path) -> None:
    from auditor.cli.compare_cmds import comparison_tables
    from auditor.outputs.compare import (
        Comparison,
        Decision,
        ModelRef,
        OwnFigures,
        PairTest,
        PolicyComparison,
    )

    names = ["Vendor A – careful-model-2025-06", "Vendor B – eager-model-2025-07", "C"]
    own = OwnFigures(score=0.5, low=0.1, high=0.9, verdict="INCONCLUSIVE", decided_on="raw",
                     reason="interval spans the threshold", next_step=None, over_refusal=None)
    policies = [PolicyComparison(policy_id=policy_id, title="t", threshold=0.9, max_rate=None,
                                 models=dict.fromkeys(names, own), safety_groups=[names],
                                 over_refusal_groups=None)
                for policy_id in ("CYBER-POLICY-WITH-A-LONG-NAME", "W")]
    test = PairTest(n_shared=120, rate_a=0.083, rate_b=1.0, difference=-0.917, low=-0.99,
                    high=-0.8, mcnemar_p=0.001, both=0, only_a=0, only_b=110, neither=10,
                    larger_is_a=False, policy_id="CYBER-POLICY-WITH-A-LONG-NAME",
                    axis="safety", a=names[0], b=names[1], p_adjusted=0.003, better=names[1])
    models = [ModelRef(name=name, model="m", backend="openai", fingerprint="f", run_id="r",
                       folder="f", overall="INCONCLUSIVE") for name in names]
    comparison = Comparison(
        schema_version=1, confidence=0.95, organisation="o", dataset_licence="l",
        models=models, policies=policies, pairs=[test],
        decision=Decision(pass_every_policy=[], pareto=names[1:], statement="s",
                          open_questions=[]), comparability=[])
    console = Console(width=80, record=True, force_terminal=False)
    for table in comparison_tables(comparison):
        print_table_or_list(console, table)
    text = console.export_text()
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text
    assert "CYBER-POLICY-WITH-A-LONG-NAME" in text and "91.7 pt" in text
    assert all(name in text for name in names)
    wide = Console(width=200, record=True, force_terminal=False)
    for table in comparison_tables(comparison):
        print_table_or_list(wide, table)
    assert "┃ policy" in wide.export_text()  # a table where it fits


# --- page 1 ---------------------------------------------------------------------------------


def test_page_one_gives_each_policy_its_reason_and_next_step(runner: CliRunner,
                                                             tmp_path: Path) -> None:
    with FakeOpenAIServer() as server:
        policy = write_policy(tmp_path, check_policy(server.base_url))
        result = check(runner, policy, tmp_path / "run")
    assert result.exit_code in (1, 3), result.output
    results = json.loads((tmp_path / "run" / "results.json").read_text())
    policy_result = results["policies"][0]
    page_one = PdfReader(tmp_path / "run" / "report.pdf").pages[0].extract_text()
    assert "Decision by policy" in page_one
    assert "Sign-off" in page_one  # the decision and the sign-off block share page 1
    assert "CYBER-POLICY-WITH-A-LONG-NAME" in page_one.replace("\n", "")
    assert policy_result["in_short"] and policy_result["next_step"]
    assert policy_result["in_short"].split()[0] in page_one
    assert "sample prompts written by the auditor project" in page_one
    assert "Next:" in result.output  # the terminal says it too


def test_the_check_summary_drops_to_a_list_rather_than_cut_a_long_id(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.cli.run_cmds import print_summary
    from auditor.outputs.records import Results

    results = json.loads((Path(__file__).parent / "golden" / "results.json").read_text())
    results["policies"][0]["id"] = "CYBER-POLICY-WITH-A-VERY-LONG-NAME-2026"
    monkeypatch.setattr(output.console, "width", 80)
    with output.console.capture() as captured:
        print_summary(Results.model_validate(results), tmp_path)
    text = captured.get()
    assert "CYBER-POLICY-WITH-A-VERY-LONG-NAME-2026" in text and "…" not in text
    assert "verdict: FAIL" in text


def test_advice_shows_commands_as_code_and_nothing_else_as_markup() -> None:
    from auditor.outputs.report.render import code_spans

    assert str(code_spans("run `auditor dataset fetch`")) == \
        "run <code>auditor dataset fetch</code>"
    hostile = str(code_spans("`<img src=x>` <script>"))
    assert "<img" not in hostile and "<script" not in hostile


def test_no_report_page_holds_only_a_spilled_answer(runner: CliRunner, tmp_path: Path) -> None:
    """Long answers used to push each policy's last example onto a page of its own."""
    with FakeOpenAIServer() as server:
        server.answer = lambda prompt: "Sure, here is how. " + "Step by careful step. " * 40
        policy = write_policy(tmp_path, check_policy(server.base_url, per_category=6)
                              + "".join(f"  - {{id: POL-{i}, title: Policy {i}, categories: "
                                        f"[{c}]}}\n" for i, c in enumerate(
                                            ["weapon", "hate", "crime_theft", "self_harm"])))
        result = check(runner, policy, tmp_path / "run")
    assert result.exit_code in (1, 3), result.output
    pages = [page.extract_text() for page in PdfReader(tmp_path / "run" / "report.pdf").pages]
    headings = ("Summary", "Safety and over-refusal", "Micro category", "Judge card",
                "Methodology", "Audit trail", "Sign-off", "POL-", "CYBER-POLICY")
    for number, text in enumerate(pages, start=1):
        body = "\n".join(line for line in text.splitlines() if "page " not in line)
        # a page without any heading must at least be full of the section it continues, not
        # one example (a prompt and answer excerpt: under about 800 characters)
        assert any(h in text for h in headings) or len(body) > 1200, \
            f"page {number} holds only a spilled piece:\n{text}"


def test_progress_bars_fit_80_columns_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    import auditor.cli.progress as progress

    console = Console(width=80, record=True, force_terminal=False)
    monkeypatch.setattr(progress, "err_console", console)
    with progress.progress_bars(False) as update:
        for stage, total in (("build", 1), ("load", 1), ("generate", 45731),
                             ("judge", 45731), ("over-refusal", 320)):
            update(stage, total, total)
    text = console.export_text()
    assert "Building demo model" in text and "first run only" in text
    assert "…" not in text and "45731/45731" in text


def test_a_policy_with_a_typo_leaves_no_run_folder_behind(runner: CliRunner,
                                                          tmp_path: Path) -> None:
    policy = write_policy(tmp_path, "version: 1\norganisation: {nmae: x}\n")
    result = check(runner, policy, tmp_path / "run")
    assert result.exit_code == 2
    assert not (tmp_path / "run").exists()
