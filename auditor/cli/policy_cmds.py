"""Commands about policy files: taxonomy, schema, validate, plan."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from auditor.cli.output import console, inert, print_json, print_table_or_list, user_errors
from auditor.config.loader import load_policy_file
from auditor.config.policy import DEMO_MODEL, PolicyFile
from auditor.config.schema import schema_text
from auditor.core import taxonomy
from auditor.core.identity import Confusion
from auditor.data.for_policy import load_for_policy
from auditor.data.plan import build_plan
from auditor.data.selection import Plan, select_benign
from auditor.judges.build import make_judge
from auditor.judges.cards import read_card, resolve_card_path
from auditor.stats.outlook import Outlook, anytime_review, outlook
from auditor.targets import estimate_run
from auditor.targets.cpu_dtype import DtypeChoice, demo_dtype
from auditor.targets.demo_model import demo_model_dir, is_built
from auditor.targets.run_estimate import RunEstimate

POLICY_ARG = typer.Argument(..., exists=False, dir_okay=False, help="The policy YAML file.")


def register(app: typer.Typer) -> None:
    app.command("taxonomy")(taxonomy_cmd)
    app.command("schema")(schema_cmd)
    app.command("validate")(validate_cmd)
    app.command("plan")(plan_cmd)


@user_errors
def taxonomy_cmd(as_json: bool = typer.Option(False, "--json", metavar="", help="Machine-readable output.")
                 ) -> None:
    """List ALERT's 6 macro and 32 micro categories, with the names a policy may use."""
    if as_json:
        print_json({
            "macro": [{"key": m.key, "name": m.display_name, "micro": list(m.micro_labels)}
                      for m in taxonomy.MACRO.values()],
            "micro": [{"label": m.label, "macro": m.macro, "name": m.display_name,
                       "description": m.description} for m in taxonomy.MICRO.values()],
            "aliases": taxonomy.ALIASES,
        })
        return
    # The labels are what users type into policy files: they never wrap or get cut (at 80
    # columns the descriptions wrap instead).
    table = Table(title="ALERT taxonomy")
    longest = max(len(label) for label in taxonomy.MICRO)
    table.add_column("macro", no_wrap=True)
    table.add_column("micro label", no_wrap=True, min_width=longest)
    table.add_column("name", ratio=1)
    table.add_column("description", ratio=2)
    for macro in taxonomy.MACRO.values():
        for index, label in enumerate(macro.micro_labels):
            micro = taxonomy.MICRO[label]
            table.add_row(macro.key if index == 0 else "",
                          escape(label), micro.display_name, micro.description,
                          end_section=index == len(macro.micro_labels) - 1)
    console.print(table)
    console.print("Macro keys: " + "; ".join(f"{escape(m.key)} = {escape(m.display_name)}"
                                             for m in taxonomy.MACRO.values()) + ".")
    aliases = ", ".join(f"{a} → {t}" for a, t in taxonomy.ALIASES.items())
    console.print(f"[dim]Aliases: {escape(aliases)}. A macro key selects all its micro labels.[/]")


def schema_cmd() -> None:
    """Print the policy file's JSON Schema (for editors: yaml-language-server)."""
    typer.echo(schema_text(), nl=False)


@user_errors
def validate_cmd(policy: Path = POLICY_ARG) -> None:
    """Check a policy file and list every problem at once (exit 2 if any).

    Also checks what it can without a model: a local dataset loads and gives every policy
    prompts, a judge card file exists and parses, and so does an over_refusal prompts file.
    """
    policy_file = load_policy_file(policy)
    if policy_file.dataset.path is not None:  # a Hub dataset would need the network
        plan = build_plan(policy_file, load_for_policy(policy_file, policy.parent),
                          policy.parent)  # also reads the benign prompts file, if any
        shortfall = plan.shortfall_warning()
        if shortfall:
            console.print(f"[yellow]warning:[/] {escape(shortfall)}.")
    else:
        select_benign(policy_file, policy.parent)  # a benign prompts file exists and parses
    if policy_file.judge.card:
        read_card(resolve_card_path(policy_file.judge.card, policy.parent))
    count = len(policy_file.policies)
    console.print(f"[green]✓[/] {escape(str(policy))}: {count} "
                  f"polic{'y' if count == 1 else 'ies'}, valid")


@user_errors
def plan_cmd(
    policy: Path = POLICY_ARG,
    as_json: bool = typer.Option(False, "--json", metavar="", help="Machine-readable output."),
    tokens_per_second: float = typer.Option(
        None, min=0.001, help="vLLM target: throughput for the time estimate (default 120, "
        "vLLM on 2 CPU cores with the demo model in float32)."),
    seconds_per_answer: float = typer.Option(
        None, min=0.0, help="OpenAI-compatible target: seconds one answer takes on your "
        "server (default: max_tokens at 40 tokens/s)."),
    show_prompts: bool = typer.Option(False, "--prompts", metavar="", help="List every selected prompt."),
) -> None:
    """Show which ALERT prompts each policy will run, before spending any compute."""
    policy_file = load_policy_file(policy)
    # Shown even where a policy selects nothing: the plan is where a user sees that.
    dataset = load_for_policy(policy_file, policy.parent)
    plan = build_plan(policy_file, dataset, policy.parent, require=False)
    plain_file_read = any(Path(f.name).name == "alert.jsonl" for f in dataset.files)
    benign_prompts = plan.benign_prompts()
    unique = plan.unique_prompt_count() + len(benign_prompts)
    # Every target runs the same plan, one after the other: their estimates add up.
    targets = policy_file.targets or [policy_file.target]
    demos = [t for t in targets if t.backend == "vllm" and t.model == DEMO_MODEL]
    built = is_built(demo_model_dir()) if demos else True
    estimates = [estimate_run(t, unique, tokens_per_second, seconds_per_answer,
                              t in demos and not built and i == targets.index(demos[0]))
                 for i, t in enumerate(targets)]
    estimate = estimates[0] if len(estimates) == 1 else RunEstimate(
        sum(e.seconds for e in estimates),
        f"for {len(targets)} targets one after the other; the first {estimates[0].basis}",
        sum(e.setup_seconds for e in estimates), f"each target's set-up ({estimates[0].setup})")
    dtype = demo_dtype_choice() if any(t.dtype == "auto" for t in demos) else None
    if as_json:
        print_json({
            "policies": [{"id": p.policy_id, "prompts": len(p.uids()),
                          "cells": [{"category": c.category, "attack_type": c.attack_type,
                                     "prompts": uids} for c, uids in p.cells.items()]}
                         for p in plan.policies],
            "prompts": {uid: prompt.text for uid, prompt in sorted(plan.prompts.items())},
            "over_refusal": {policy_id: [p.uid for p in prompts]
                             for policy_id, prompts in plan.benign.items()},
            "benign_prompts": {uid: p.text for uid, p in sorted(benign_prompts.items())},
            "unique_generations": unique,
            "scored": plan.scored_count(),
            "estimated_seconds": round(estimate.seconds, 1),
            "estimate_basis": estimate.basis,
            "estimated_setup_seconds": round(estimate.setup_seconds, 1),
            "estimate_setup": estimate.setup,
            "dtype": None if dtype is None else {"dtype": dtype.dtype, "reason": dtype.reason},
            "warnings": [w for w in [plan.shortfall_warning()] if w],
            "plain_requests": plan.plain_match_counts(),
            "certification": [
                {"policy": policy_id, "threshold": threshold, "prompts": prompts,
                 "judge_can_pass": view.judge_can_pass,
                 "judge_best_lower_bound": round(view.judge_best_low, 4),
                 "labels_for_safe_model": view.labels_for_safe_model,
                 "enough_answers_to_label": view.enough_answers}
                for policy_id, threshold, prompts, view in outlooks(policy_file, policy.parent,
                                                                    plan)],
        })
        return
    table = Table(title=f"Plan for {escape(policy_file.organisation.name)}")
    for column in ("policy", "category", "attack type", "prompts"):
        table.add_column(column, justify="right" if column == "prompts" else "left")
    for policy_plan in plan.policies:
        for index, (cell, uids) in enumerate(policy_plan.cells.items()):
            style = "red" if not uids else ""
            table.add_row(escape(policy_plan.policy_id) if index == 0 else "",
                          escape(cell.category), cell.attack_type, str(len(uids)), style=style)
        table.add_section()
    console.print(table)
    if show_prompts:
        for uid, prompt in sorted(plan.prompts.items()):
            console.print(f"[dim]{inert(uid)}[/] [{inert(prompt.category)}/"
                          f"{inert(prompt.attack_type)}] {inert(prompt.text[:100])}")
        for uid, benign_prompt in sorted(benign_prompts.items()):
            console.print(f"[dim]{inert(uid)}[/] [{inert(benign_prompt.category)}/benign] "
                          f"{inert(benign_prompt.text[:100])}")
    if plan.benign:
        sizes = ", ".join(f"{escape(k)} {len(v)}" for k, v in plan.benign.items())
        console.print(f"Over-refusal: benign look-alike prompts per policy: {sizes}.")
    console.print(f"{unique} unique generations, scored {plan.scored_count()} times across "
                  f"{len(plan.policies)} policies.")
    console.print(f"Estimated time: ~{_duration(estimate.seconds)}: "
                  f"{escape(estimate.setup)}, then generation {escape(estimate.basis)}.")
    if dtype is not None:
        console.print(f"The demo model runs in {dtype.dtype}: {escape(dtype.reason)}.")
    shortfall = plan.shortfall_warning()
    if shortfall:
        console.print(f"[yellow]warning:[/] {escape(shortfall)}.")
    _print_plain_matches(plan, plain_file_read)
    _print_outlook(policy_file, policy.parent, plan)
    empty = [f"{p.policy_id}/{c.category}/{c.attack_type}" for p in plan.policies
             for c, u in p.cells.items() if not u]
    if empty:
        console.print(f"[yellow]warning:[/] {len(empty)} cells have no prompts in this dataset: "
                      f"{escape(', '.join(empty[:5]))}{' …' if len(empty) > 5 else ''}")


def _print_plain_matches(plan: Plan, plain_file_read: bool) -> None:
    """How many adversarial prompts the judge will see beside their plain request."""
    counts = plan.plain_match_counts()
    if not counts:
        return
    rows = sum(c["rows"] for c in counts.values())
    matched = sum(c["exact"] + c["nearest"] for c in counts.values())
    parts = []
    for attack, c in counts.items():
        nearest = f" ({c['nearest']} by nearest match)" if c["nearest"] else ""
        parts.append(f"{escape(attack)} {c['exact'] + c['nearest']}/{c['rows']}{nearest}")
    detail = "; ".join(parts)
    console.print(f"Plain requests found for {matched} of {rows} adversarial prompts ({detail}); "
                  "the harm judge compares those answers with the plain request.")
    if matched < rows:
        advice = ("their plain requests are not in alert.jsonl" if plain_file_read else
                  "put ALERT's alert.jsonl beside alert_adversarial.jsonl to match more")
        console.print("[dim]The rest are judged against the wrapped prompt, which the judge "
                      f"does less well; {advice}.[/]")


PACKAGED_CARDS = ("harm", "refusal")  # kinds whose card ships inside the package


def planned_card(policy_file: PolicyFile, base_dir: Path) -> Confusion | None:
    """The card the run will correct with, read without loading any model: the policy's
    judge.card, else the card a packaged judge ships with, else none."""
    config = policy_file.judge
    if config.card:
        return read_card(resolve_card_path(config.card, base_dir)).confusion
    if config.kind in PACKAGED_CARDS:
        card = make_judge(config, base_dir).card()
        return card.confusion if card else None
    return None


def outlooks(policy_file: PolicyFile, base_dir: Path, plan: Plan) -> list[tuple[str, float,
                                                                                int, Outlook]]:
    card = planned_card(policy_file, base_dir)
    by_id = {p.id: p for p in policy_file.policies}
    return [(p.policy_id, by_id[p.policy_id].threshold, len(p.uids()),
             outlook(by_id[p.policy_id].threshold, len(p.uids()), card, policy_file.scoring))
            for p in plan.policies]


def _print_outlook(policy_file: PolicyFile, base_dir: Path, plan: Plan) -> None:
    table = Table(title="Can each policy be certified? (for a model whose answers are all safe)")
    for column in ("policy", "threshold", "prompts", "by the judge", "by human review"):
        table.add_column(column, justify="left" if column in ("policy", "by the judge",
                                                              "by human review") else "right")
    for policy_id, threshold, prompts, view in outlooks(policy_file, base_dir, plan):
        judge = "can PASS" if view.judge_can_pass else \
            f"cannot PASS (best lower bound {view.judge_best_low:.1%})"
        labels = view.labels_for_safe_model
        review = "no sample shows 100 %" if labels is None else f"about {labels} labels" \
            if view.enough_answers else f"{labels} labels, more than the {prompts} answers: " \
            "raise sampling.per_category"
        table.add_row(escape(policy_id), f"{threshold:.1%}", str(prompts), judge, review)
    print_table_or_list(console, table)
    anytime = anytime_review(policy_file.scoring)
    console.print("Labels: a random sample of the answers, reviewed with `auditor review` after "
                  "the run; a model that is not wholly safe needs more. "
                  + ("Counted for an anytime review (score as labels arrive, as often as you "
                     "like); a review labelled once and scored once (`review sample --scoring "
                     "fixed`) needs fewer." if anytime else
                     "Counted for a fixed review (equal weighting): label the whole sample, "
                     "then score once."))


def demo_dtype_choice() -> DtypeChoice:
    from auditor.targets.vllm_target import is_cpu_build  # package metadata only: quick

    return demo_dtype(cpu_build=is_cpu_build())


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
