"""Commands about judges: `judge validate` and `judge train`."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import cast

import typer
from pydantic import ValidationError
from rich.markup import escape
from rich.table import Table

from auditor.cli.output import console, print_json, user_errors
from auditor.config.policy import JudgeConfig, ModelEndpoint
from auditor.config.registry import JUDGES
from auditor.core.errors import AuditorError
from auditor.core.identity import Metric
from auditor.data.labelled_sets import load_labelled_set, seen_in_training
from auditor.data.labels import XStestRows, load_labels
from auditor.judges import Judge, make_judge
from auditor.judges.validation import train_refusal_judge, validate_judge
from auditor.outputs.files import atomic_write

judge_app = typer.Typer(help="Measure a judge against human labels, or train a refusal judge.",
                        no_args_is_help=True)


def register(app: typer.Typer) -> None:
    app.add_typer(judge_app, name="judge")


# The judge options `judge validate`, `judge agree` and `rejudge` share, declared once.
JUDGE_KINDS = " | ".join(JUDGES.names())
MODEL_OPTION = typer.Option(None, "--model", help="Judge model (harmbench, llama-guard, "
                            "rubric): a folder or the name a server serves.")
BACKEND_OPTION = typer.Option("vllm", "--backend", help="Judge backend: vllm or openai.")
BASE_URL_OPTION = typer.Option(None, "--base-url", help="Judge server URL (openai backend).")
API_KEY_ENV_OPTION = typer.Option(None, "--api-key-env", help="Name of the environment "
                                  "variable holding the judge server's API key.")
MODEL_FILE_OPTION = typer.Option(None, "--model-file", help="harm or refusal: a model file "
                                 "(refusal: from `judge train`).")
LLAMA_GUARD_VERSION_OPTION = typer.Option(3, "--llama-guard-version", help="1, 3 or 4.")


def judge_config_from_options(kind: str, model: str | None, backend: str,
                              base_url: str | None, model_file: Path | None,
                              llama_guard_version: int, api_key_env: str | None = None
                              ) -> JudgeConfig:
    """The judge block the options describe, as a policy file would give it (only the options
    the kind reads; an unknown kind is an error naming the known ones)."""
    if kind not in JUDGES:
        raise AuditorError(f"invalid judge options: --judge: unknown judge kind {kind!r}",
                           hint=f"--judge is one of: {', '.join(JUDGES.names())}")
    try:
        reads = JUDGES.get(kind).reads
        options: dict[str, object] = {"kind": kind}
        if "endpoint" in reads:
            options["endpoint"] = ModelEndpoint.model_validate({
                "backend": backend, "model": model or "demo", "base_url": base_url,
                "api_key_env": api_key_env})
        if "llama_guard_version" in reads:
            options["llama_guard_version"] = llama_guard_version
        if "model_file" in reads and model_file:
            options["model_file"] = str(model_file)
        return JudgeConfig.model_validate(options)
    except ValidationError as exc:
        details = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'judge'}: {e['msg']}"
                            for e in exc.errors())
        raise AuditorError(f"invalid judge options: {details}",
                           hint="see `auditor judge validate --help`") from None


def build_judge_from_options(kind: str, model: str | None, backend: str, base_url: str | None,
                             model_file: Path | None, llama_guard_version: int,
                             api_key_env: str | None = None) -> Judge:
    return make_judge(judge_config_from_options(kind, model, backend, base_url, model_file,
                                                llama_guard_version, api_key_env))


METRIC_NAMES = ("accuracy", "kappa", "sensitivity", "specificity", "precision", "recall",
                "f1")


def _row(name: str, metric: Metric | None) -> tuple[str, str, str]:
    def fmt(x: float) -> str:
        return "—" if x != x else f"{x:.3f}"  # NaN where undefined

    if metric is None:
        return name, "—", "—"
    return name, fmt(metric.value), f"{fmt(metric.low)} – {fmt(metric.high)}"


@judge_app.command("validate")
@user_errors
def validate_cmd(
    labels: str = typer.Option(..., "--labels", help="JSONL file of prompt, response, label "
                               "(safe|unsafe), optionally HarmBench's behavior and context "
                               "(HarmBench's own files work as they are), a CSV file in "
                               "XSTest's format, or a built-in set: "
                               "builtin:harmbench (harm, "
                               "3 human raters), builtin:xstest (answers to unsafe prompts), "
                               "builtin:xstest-safe (answers to safe prompts: over-refusal), or "
                               "the harm sets builtin:pyrit-objective, builtin:pyrit-harm, "
                               "builtin:gptfuzz, builtin:harmbench-multimodal."),
    judge: str = typer.Option("harm", "--judge", help=JUDGE_KINDS),
    xstest_rows: str = typer.Option(
        None, "--xstest-rows", help="For a CSV file in XSTest's format (type, prompt, "
        "completion, final_label): take the answers to its unsafe prompts (where a compliance "
        "is harm), its safe prompts, or all. Default: all for the refusal judge, else unsafe."),
    model: str = MODEL_OPTION,
    backend: str = BACKEND_OPTION,
    base_url: str = BASE_URL_OPTION,
    api_key_env: str = API_KEY_ENV_OPTION,
    model_file: Path = MODEL_FILE_OPTION,
    llama_guard_version: int = LLAMA_GUARD_VERSION_OPTION,
    card: Path = typer.Option(None, help="Save the judge card to this file (nothing is "
                              "written without it)."),
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print the metrics as one JSON object."),
) -> None:
    """Measure a judge against human labels: accuracy, kappa, sensitivity, specificity…

    With --card FILE, saves a judge card; point `judge.card` in a policy file at it to
    correct scores for the judge's measured error.
    """
    rows = xstest_rows or ("all" if judge == "refusal" else "unsafe")
    if rows not in ("unsafe", "safe", "all"):
        raise AuditorError(f"--xstest-rows must be unsafe, safe or all, not {rows!r}",
                           hint="unsafe: answers to XSTest's unsafe prompts (harm); safe: to "
                                "its safe prompts (over-refusal); all: both")
    labelled = load_labelled_set(labels, cast(XStestRows, rows))  # checked just above
    built = build_judge_from_options(judge, model, backend, base_url, model_file,
                                     llama_guard_version, api_key_env)
    seen = seen_in_training(labelled, built.trained_on)
    in_sample = seen > 0
    if in_sample and card is not None:
        raise AuditorError(f"the packaged {judge} judge was trained on {seen} of the "
                           f"{len(labelled.answers)} answers in {labels}: a card measured there "
                           "would overstate its accuracy",
                           hint="its packaged card already holds held-out figures and is used "
                                "by default; measure it on labels of your own for a card")
    result = validate_judge(built, labelled)
    if card is not None:
        atomic_write(card, result.model_dump_json(indent=2) + "\n")
    metrics = result.metrics
    figures = {name: getattr(metrics, name) for name in METRIC_NAMES}
    if as_json:
        print_json({name: figure.value if figure else None for name, figure in figures.items()}
                   | {"n": metrics.n, "unscored": metrics.unscored,
                      "confusion": asdict(metrics.confusion)}
                   | {"intervals": {name: [figure.low, figure.high] if figure else None
                                    for name, figure in figures.items() if name != "recall"},
                      "card": str(card) if card else None,
                      "construct": result.measures, "labels": result.labels,
                      "labels_n": result.labels_n, "in_sample": in_sample,
                      "seen_in_training": seen})
        return
    if in_sample:
        _print_in_sample_lead(judge, built, seen, len(labelled.answers), labelled.name)
    table = Table(title=f"Judge {escape(judge)} ({result.measures}) on "
                  f"{escape(labelled.name)}, {len(labelled.answers)} answers "
                  f"({metrics.confidence or 0.95:.0%} intervals)"
                  + (": in-sample, optimistic" if in_sample else ""))
    for column in ("metric", "value", "interval"):
        table.add_column(column)
    for name in ("accuracy", "kappa", "precision", "recall", "f1", "sensitivity", "specificity"):
        table.add_row(*_row(name, figures[name]))
    console.print(table)
    c = metrics.confusion
    console.print(f"Confusion (positive = unsafe): TP {c.tp} · FN {c.fn} · TN {c.tn} · "
                  f"FP {c.fp} · n {metrics.n} · unscored {metrics.unscored}")
    if card is not None:
        console.print(f"Saved judge card to {escape(str(card))}")
    elif not in_sample:
        console.print("No card saved; pass --card FILE to save one for `judge.card`.")


def _print_in_sample_lead(judge: str, built: Judge, seen: int, total: int,
                          labels: str) -> None:
    """Lead with the warning and the held-out figures the judge's card carries: the in-sample
    table that follows overstates what the judge does on answers it has not seen."""
    console.print(f"[bold yellow]warning:[/] the packaged {escape(judge)} judge was trained on "
                  f"{seen} of these {total} answers, so the figures below are in-sample and "
                  "optimistic. No card can be saved from them (--card is refused).")
    packaged = built.card()
    if not packaged:
        return
    held_out = Table(title=f"What the {escape(judge)} judge's own card carries (held out: "
                     f"{escape(packaged.method or packaged.source or '')})")
    for column in ("metric", "value", "interval"):
        held_out.add_column(column)
    for name in ("accuracy", "kappa", "sensitivity", "specificity"):
        if getattr(packaged, name) is not None:
            held_out.add_row(*_row(name, getattr(packaged, name)))
    console.print(held_out)
    own = next((s for s in packaged.confusion.held_out if s.source == labels), None)
    if own is not None:
        c = own.confusion()
        console.print(f"Its card's figure held out, on {escape(labels)} (trained on every "
                      f"other source): sensitivity {c.sensitivity:.3f}, specificity "
                      f"{c.specificity:.3f}, accuracy "
                      f"{(c.tp + c.tn) / max(1, c.tp + c.fn + c.tn + c.fp):.3f}.")
    console.print("That card is used by default in `auditor check`. To measure the judge "
                  "on answers it has not seen, pass labels of your own (e.g. your model's "
                  "answers, human-labelled).")


@judge_app.command("train")
@user_errors
def train_cmd(
    labels: Path = typer.Option(..., "--labels", help="JSONL: prompt, response, label "
                                "(safe = refusal, unsafe = compliance)."),
    out: Path = typer.Option(Path("refusal-judge.json"), "--out", help="Model file to write."),
    seed: int = typer.Option(0, help="Seed for the cross-validation split and the classifier."),
) -> None:
    """Train a refusal judge on your own labels; saves a versioned model file with metrics."""
    labelled = load_labels(labels)
    try:
        model = train_refusal_judge(labelled, labels, seed=seed)
    except ValueError as exc:
        raise AuditorError(f"cannot train on {labels}: {exc}") from None
    model.save(out)
    validation = model.metadata["validation"]
    console.print(f"Trained on {len(labelled)} answers; {validation['method']}: accuracy "
                  f"{validation['accuracy']['value']:.3f}, sensitivity "
                  f"{validation['sensitivity']['value']:.3f}, specificity "
                  f"{validation['specificity']['value']:.3f}")
    console.print(f"Saved {escape(str(out))}; use it with judge.model_file in a policy file.")


@judge_app.command("agree")
@user_errors
def agree_cmd(
    run_dir: Path = typer.Argument(..., file_okay=False, help="The --out folder of a run."),
    judges: list[str] = typer.Option(..., "--judge", help="Two judge kinds to compare, e.g. "
                                     "--judge harm --judge refusal."),
    policy: Path = typer.Option(None, "--policy", "-p", help="The run's policy file (default: "
                                "the one recorded in results.json)."),
    model: str = MODEL_OPTION,
    backend: str = BACKEND_OPTION,
    base_url: str = BASE_URL_OPTION,
    api_key_env: str = API_KEY_ENV_OPTION,
    llama_guard_version: int = LLAMA_GUARD_VERSION_OPTION,
    as_json: bool = typer.Option(False, "--json", metavar="", help="Print one JSON object."),
    quiet: bool = typer.Option(False, "--quiet", "-q", metavar="", help="No progress bars."),
) -> None:
    """How far two judges agree on a run's own answers: kappa, the 2×2 table, and the score
    each judge gives each policy. Judges nothing that is already stored."""
    from auditor.audit.agreement import agreement, judge_run
    from auditor.cli.progress import progress_bars
    from auditor.outputs.files import read_results

    if len(judges) != 2:
        raise AuditorError("give exactly two judges", hint="--judge harm --judge refusal")
    recorded = read_results(run_dir)
    policy = policy or Path(recorded.config.path)
    outcomes = []
    for kind in judges:
        built = build_judge_from_options(kind, model, backend, base_url, None,
                                         llama_guard_version, api_key_env)
        with progress_bars(quiet or as_json) as progress:
            outcomes.append(judge_run(run_dir, policy, built, progress, recorded.target.name))
    result = agreement(outcomes[0], outcomes[1])
    result.judges = {"a": judges[0], "b": judges[1]}
    if as_json:
        print_json(result.model_dump(mode="json"))
        return
    kappa = _row("kappa", result.kappa)
    agreed = result.raw_agreement.value if result.raw_agreement else float("nan")
    console.print(f"A = {escape(judges[0])}, B = {escape(judges[1])}: {result.n} answers "
                  f"both scored; kappa {kappa[1]} [{kappa[2]}], raw agreement {agreed:.3f}")
    t = result.table
    table = Table(title="Where they disagree")
    for column in ("", "B unsafe", "B safe"):
        table.add_column(column)
    table.add_row("A unsafe", str(t.both_unsafe), str(t.only_a_unsafe))
    table.add_row("A safe", str(t.only_b_unsafe), str(t.both_safe))
    console.print(table)
    scores = Table(title="Score each judge gives")
    for column in ("policy", "n", f"A: {judges[0]}", f"B: {judges[1]}"):
        scores.add_column(escape(column))
    for row in result.policies:
        scores.add_row(escape(row.policy_id), str(row.n),
                       *(f"{s.score:.1%} [{s.low:.1%}, {s.high:.1%}]"
                         if s.score is not None else "—" for s in (row.a, row.b)))
    console.print(scores)
