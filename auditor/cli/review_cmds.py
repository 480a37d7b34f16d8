"""Commands for human review of a run's answers: `review sample`, `review export`,
`review import`, `review status`."""

from __future__ import annotations

import shlex
from collections import Counter
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from auditor.cli.output import console, err_console, inert, print_table_or_list, user_errors
from auditor.config.policy import printable
from auditor.core.errors import AuditorError
from auditor.core.outcome import Outcome
from auditor.outputs.evidence.pack import run_instructions
from auditor.outputs.files import RESULTS, atomic_write, read_outcomes, read_results
from auditor.outputs.records import Results
from auditor.review.checks import grow_checks, with_checks
from auditor.review.pool_plans import plan_policy, plans_meta
from auditor.review.sample import (
    STRATA,
    ReviewItem,
    choose,
    choose_pooled,
    looked_at,
    reviewable,
)
from auditor.review.sheet import read_labels, sheet_rows, write_sheet, write_workbook
from auditor.stages.review_labels import review_budgets, review_plans, settle
from auditor.stages.store import HumanLabel, RunStore
from auditor.stats.scoring import PolicyRecord

review_app = typer.Typer(help="People review a sample of a run's answers: sample, export the "
                         "sheet, import the labels.", no_args_is_help=True)

DEFAULT_THRESHOLD = 0.99  # a policy's threshold when the run has no results to read it from
RUN_ARG = typer.Argument(..., file_okay=False, help="The --out folder of a run.")


def register(app: typer.Typer) -> None:
    app.add_typer(review_app, name="review")


def _items(run_dir: Path) -> dict[str, ReviewItem]:
    return _items_of(read_outcomes(run_dir), run_dir)


def _items_of(outcomes: list[Outcome], run_dir: Path) -> dict[str, ReviewItem]:
    items = reviewable(outcomes)
    if not items:
        raise AuditorError(f"{run_dir} holds no answers to review",
                           hint="run `auditor check` first; errors have no answer")
    return items


@review_app.command("sample")
@user_errors
def sample_cmd(
    run_dir: Path = RUN_ARG,
    budget: int = typer.Option(None, "--budget", min=1, help="How many of each policy's own "
                               "answers people label (shared answers once; a policy with "
                               "fewer gets all). Default: for each undecided policy, what the "
                               "run's last `check` said would decide it (a decided policy gets "
                               "none)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random choice."),
    reviewers: int = typer.Option(1, "--reviewers", min=1, max=5, help="How many people label "
                                  "each sampled answer; an answer counts once that many have "
                                  "(any one's unsafe stands). Two catch most of what one "
                                  "misses; the report gives their agreement."),
    scoring: str = typer.Option(None, "--scoring", help="anytime (the default): score the labels as "
                                "they arrive, rerunning `check` as often as you like (a "
                                "one-sided test on each side; for a model about as safe as "
                                "planned, 1.05-1.6x a fixed review's labels); fixed: label "
                                "the whole sample, then score once (exact bounds; `check` "
                                "does not score it before; it cannot be grown once scored). "
                                "Kept for later samples of the run."),
) -> None:
    """Choose the answers people review, seeded. Each policy's review is planned from what
    the judge flagged and its card, as the design projected to decide it on the fewest
    labels: its answers in a seeded random order (simple); every answer the judge flagged
    first, then the rest (flagged first: a census where the judge concentrates the unsafe
    answers); or, with a card that shows the judge informs, a sample of the flagged beside
    one of the rest (stratified). The budget is per policy: each gets its own first answers in
    its order, an answer shared by several policies chosen once. Sampling again keeps the
    plans, the seed and every answer already chosen. Known-unsafe answers are mixed in,
    blind, to measure each reviewer's misses (one per five sampled answers, at least 20).
    `review export` writes the sheet."""
    outcomes = read_outcomes(run_dir)
    items = _items_of(outcomes, run_dir)
    results = read_results(run_dir) if (run_dir / RESULTS).exists() else None
    card = results.judge.card.confusion if results and results.judge.card else None
    card_pair = (card.sensitivity, card.specificity) if card else None
    confidence = results.scoring.confidence if results else 0.95
    policies = sorted({p for item in items.values() for p in item.policies})
    with RunStore(run_dir) as store:
        already = store.review_sample()
        design = store.get_meta("review_design") if already else None
        first_seed = store.get_meta("review_seed", 0)
        if already and seed != first_seed:
            raise AuditorError(f"this run's review sample was drawn with --seed {first_seed}; "
                               f"another seed would choose other answers and drop the ones "
                               "already chosen (and their labels)",
                               hint=f"sample again with --seed {first_seed} (a larger --budget "
                                    "keeps every answer chosen)")
        scoring = _review_scoring(scoring, store.get_meta("review_scoring") if already
                                  else None, results)
        plans = review_plans(store) if already else {}
        # Pooled per policy (0.4.0 on) with micro weighting; equal weighting, and samples
        # drawn before, keep the category-by-verdict designs.
        pooled = plans is not None and (results is None or results.scoring.weighting == "micro")
        if design == "stratified":  # drawn before scoring was chosen: stays what it was
            scoring = "fixed"
        if scoring == "anytime" and not pooled:
            design = "simple"  # the confidence sequence pools one simple random sample
        before = review_budgets(store) if already else None
        had = {p: before.of(p) if before else 0 for p in policies}
        if already and before is None:  # drawn before budgets were kept: as many as it has
            had = {p: sum(p in items[a].policies for a in already if a in items)
                   for p in policies}
        fresh: dict[str, int | None] = {}
        if pooled:
            plans = dict(plans or {})
            thresholds = {p.id: p.threshold for p in results.policies} if results else {}
            for policy in policies:
                if policy not in plans:
                    planned = plan_policy([o for o in outcomes if o.policy_id == policy],
                                          thresholds.get(policy, DEFAULT_THRESHOLD),
                                          card_pair, scoring == "anytime", confidence)
                    plans[policy] = planned.plan
                    fresh[policy] = planned.labels_needed
        looked = looked_at(items, seed, had, {r.answer_id for r in store.reviews()},
                           plans if pooled else None) \
            if already and scoring == "fixed" else []
        if budget:
            asked = {p: budget for p in policies}
        elif already and not _undecided(results, looked):
            if looked and reviewers <= int(store.get_meta("review_reviewers", 1) or 1):
                raise AuditorError(_SCORED_ONCE.format(", ".join(looked)),
                                   hint=_SCORED_ONCE_HINT)
            asked = {}  # e.g. only --reviewers changes: the sample stays as it is
        elif pooled and not already:
            asked = _first_budgets(results, fresh)  # for the design and scoring just chosen
        else:
            asked = _default_budgets(results, looked)
        budgets = {p: max(asked.get(p, 0), had[p]) for p in policies}  # a sample only grows:
        grown = [p for p in looked if budgets[p] > had[p]]  # no label is ever dropped
        if grown:
            raise AuditorError(_SCORED_ONCE.format(", ".join(grown)), hint=_SCORED_ONCE_HINT)
        if pooled:
            plan = choose_pooled(items, budgets, plans or {}, seed)
        else:
            plan = choose(items, budgets, seed,
                          (card.sensitivity, card.specificity) if card else None,
                          confidence, design)
        missing = set(already) - {item.answer_id for item in plan.chosen}
        assert not missing, "a larger sample of the same seed keeps every answer chosen"
        store.set_review_sample([item.answer_id for item in plan.chosen])
        store.set_meta("review_design", plan.design)
        store.set_meta("review_seed", seed)
        store.set_meta("review_scoring", scoring)
        store.set_meta("review_budgets", budgets)
        if pooled:
            store.set_meta("review_plans", plans_meta(plans or {}))
        # known-unsafe answers mixed in blind, to measure each reviewer's misses; only added to
        store.set_meta("review_checks", grow_checks(store.get_meta("review_checks") or [],
                                                    len(plan.chosen), seed))
        store.set_meta("review_reviewers", max(reviewers,
                                               int(store.get_meta("review_reviewers", 1) or 1)))
        target = store.target()
        if target is not None and store.get_meta("review_target") is None:
            # the labels are for this model's answers: a check of another model is refused
            store.set_meta("review_target", target.id)
        if results is not None:  # a stratified sample is scored only under this judge
            store.set_meta("review_judge", results.judge.id)
    chosen = plan.chosen
    table = Table(title=f"Review sample ({scoring} scoring): "
                  f"{len(chosen)} of {len(items)} answers to label")
    table.add_column("policy")
    table.add_column("design")
    table.add_column("its budget", justify="right")
    for stratum in STRATA:
        table.add_column(f"{stratum} (sampled / all)", justify="right")
    table.add_column("labels likely to decide it")
    picked = {item.answer_id for item in chosen}
    records = {p.id: p for p in results.policies} if results else {}
    for policy in policies:
        mine = [i for i in items.values() if policy in i.policies]
        own = (plans or {}).get(policy) if pooled else None
        table.add_row(escape(policy), _design_words(own.design if own else plan.design, pooled),
                      str(budgets[policy]) if budgets[policy] else "not reviewed", *(
            f"{sum(i.answer_id in picked for i in mine if i.judge_label == s)} / "
            f"{sum(i.judge_label == s for i in mine)}" for s in STRATA),
            _labels_wanted(records.get(policy), fresh.get(policy)))
    print_table_or_list(console, table)
    console.print(f"Next: label in the terminal (auditor review label {escape(str(run_dir))} "
                  f"--reviewer NAME), or export a sheet (auditor review export "
                  f"{escape(str(run_dir))} --out review.xlsx) and import it; then rerun "
                  "`auditor check` with the same policy and --out to score the labels.")


def _design_words(design: str, pooled: bool) -> str:
    if design == "stratified" and not pooled:
        return "stratified by category and verdict"
    return {"flagged-first": "flagged first, then random",
            "simple": "random order",
            "stratified": "stratified by verdict"}.get(design, design)


_SCORED_ONCE = ("{}: this fixed review is already complete, and a fixed review is scored "
                "once; scoring a larger sample would be a second look at the same question, "
                "a second chance at a false PASS, so its verdict stands")
_SCORED_ONCE_HINT = ("a review that may need to grow is drawn with `--scoring anytime` (in a "
                     "new run's --out folder); policies not yet complete may still grow: run "
                     "`check`, then sample without --budget")


def _read_key() -> str:
    """One key press; the end of input (a closed pipe, no terminal) is a stop, never a loop
    that waits for a key that cannot come."""
    try:
        key = typer.getchar()
    except (OSError, EOFError):
        return "q"
    return key.lower() if key else "q"


def _undecided(results: Results | None, looked: list[str]) -> bool:
    return bool(results) and any(
        p.verdict == "INCONCLUSIVE" and p.labels_needed is not None and p.id not in looked
        for p in (results.policies if results else []))


def _default_budgets(results: Results | None, looked: list[str]) -> dict[str, int]:
    """Each undecided policy's own budget: the labels the run's last scoring said would
    likely decide it (for a model as safe as the judge suggests). Decided policies, and a
    fixed review's policies already scored once, get none."""
    wanted = {p.id: p.labels_needed for p in results.policies if p.verdict == "INCONCLUSIVE"
              and p.labels_needed is not None and p.id not in looked} if results else {}
    if not wanted:
        raise AuditorError("no budget given, and the run's last `check` names no number of "
                           "labels that would decide a policy"
                           + (" (a fixed review's policies are scored once)" if looked else ""),
                           hint="pass --budget N: how many of each policy's answers to label")
    return {p: n for p, n in wanted.items() if n is not None}


def _first_budgets(results: Results | None, planned: dict[str, int | None]) -> dict[str, int]:
    """A first pooled sample's budgets: for each policy the last `check` left undecided, the
    labels its plan likely needs for the scoring chosen now (a fixed review needs fewer than
    the anytime number `check` quoted)."""
    undecided = {p.id for p in results.policies if p.verdict == "INCONCLUSIVE"} \
        if results else set(planned)
    wanted = {p: n for p, n in planned.items() if p in undecided and n is not None}
    if not wanted:
        raise AuditorError("no budget given, and no undecided policy of this run would likely "
                           "be decided by labelling its answers",
                           hint="pass --budget N: how many of each policy's answers to label")
    return wanted


def _review_scoring(asked: str | None, before: str | None, results: Results | None) -> str:
    """The review's scoring: as asked (else as the run's review already has it, else
    anytime), and fixed with equal weighting (whose weighted labels the confidence sequence
    does not pool)."""
    asked = asked or before or "anytime"
    if asked not in ("anytime", "fixed"):
        raise AuditorError(f"unknown --scoring {asked!r}", hint="--scoring anytime or fixed")
    if before is not None and before != asked:
        raise AuditorError(f"this run's review is scored {before}; a sample cannot change "
                           "that once drawn (scoring an anytime review as fixed would be one "
                           "more look)", hint=f"sample again with --scoring {before}")
    if asked == "anytime" and results is not None and results.scoring.weighting != "micro":
        err_console.print("[yellow]note:[/] equal weighting: the review is scored fixed (label "
                          "the whole sample, then score once)")
        return "fixed"
    return asked


def _labels_wanted(record: PolicyRecord | None, planned: int | None = None) -> str:
    """What labelling can do for a policy, from the run's last scoring (or, for a policy
    planned just now, from its plan under the scoring chosen)."""
    if record is None:
        return "—"
    if record.verdict != "INCONCLUSIVE":
        return f"decided ({record.verdict}, on {record.decided_on})"
    if planned is not None:
        return f"about {planned}"
    if record.labels_needed is not None:
        return f"about {record.labels_needed}"
    if "errored or unscored" in record.reason or record.reason == "no scored answers":
        return "fix the errors first"
    return "no number of this run's answers: run more prompts"


@review_app.command("export")
@user_errors
def export_cmd(
    run_dir: Path = RUN_ARG,
    out: Path = typer.Option(Path("review.csv"), "--out", "-o", dir_okay=False,
                             help="The sheet to write (.xlsx, .csv or .jsonl)."),
    fmt: str = typer.Option(None, "--format", help="xlsx (a drop-down in the label column), "
                            "csv or jsonl (default: from --out)."),
    labelled: bool = typer.Option(False, "--labelled", metavar="", help="Every answer labelled so far, "
                                  "with its label, instead of the sample."),
    reviewer: str = typer.Option(None, "--reviewer", help="With --labelled: this reviewer's "
                                 "labels only."),
    show_judge: bool = typer.Option(False, "--show-judge", metavar="", help="Add the judge's verdict "
                                    "(a column judge_label). Off by default: reviewers who see "
                                    "it tend to agree with it."),
    skipped: bool = typer.Option(False, "--skipped", metavar="", help="Only the sampled answers every "
                                 "reviewer so far skipped, for another reviewer to label (a "
                                 "skipped answer counts as unsafe for a PASS until then)."),
) -> None:
    """Write the review sheet: one row per answer with its policies, category, prompt, answer,
    and empty label (safe | unsafe | skip) and note columns; blind to the judge's verdict
    unless --show-judge. Cells that a spreadsheet would read as formulas are written as
    text."""
    chosen_format = fmt or out.suffix.lstrip(".").lower() or "csv"
    if chosen_format not in ("xlsx", "csv", "jsonl"):
        raise AuditorError(f"unknown format {chosen_format!r}",
                           hint="--format xlsx, csv or jsonl (or an --out ending in one)")
    items = _items(run_dir)
    with RunStore(run_dir, read_only=True) as store:
        reviews = [r for r in store.reviews() if reviewer is None or r.reviewer == reviewer]
        sample = store.review_sample()
        checks = store.get_meta("review_checks") or []
        seed = int(store.get_meta("review_seed", 0) or 0)
        instructions = run_instructions(store)
    labels = {r.answer_id: HumanLabel(r.answer_id, r.label, r.note) for r in reviews}
    ids = [r.answer_id for r in reviews] if labelled else sample
    if skipped:
        ids = skipped_answers(run_dir)
        labels = {}
    if not ids:
        raise AuditorError("nothing to export: " + ("no skipped answers" if skipped else
                                                    "no labels yet" if labelled else
                                                    "no review sample yet"),
                           hint="run `auditor review sample RUN_DIR` first" if not labelled
                           else "import labels with `auditor review import`")
    shown = [items[i] for i in dict.fromkeys(ids) if i in items]
    if not labelled:  # a sheet to label: the known-unsafe checks among the answers, blind
        shown = with_checks(shown, checks, seed)
    rows = sheet_rows(shown, labels, show_judge)
    if chosen_format == "xlsx":
        atomic_write(out, write_workbook(rows))
    else:
        atomic_write(out, write_sheet(rows, "jsonl" if chosen_format == "jsonl" else "csv"))
    console.print(f"Wrote {len(rows)} answers to {escape(str(out))}")
    if not labelled:  # what the reviewers are told: the evidence pack records the same text
        guide = out.with_name(f"{out.stem}-instructions.md")
        atomic_write(guide, instructions.text)
        console.print(f"Give your reviewers the instructions in {escape(str(guide))} "
                      f"({inert(instructions.source)}; the report records them)")


@review_app.command("import")
@user_errors
def import_cmd(
    run_dir: Path = RUN_ARG,
    sheet: Path = typer.Argument(..., dir_okay=False, help="A labelled sheet (.xlsx, .csv or "
                                 ".jsonl)."),
    reviewer: str = typer.Option(..., "--reviewer", help="Who labelled it."),
    correct: bool = typer.Option(False, "--correct", metavar="", help="Let this sheet replace the "
                                 "reviewer's own earlier `unsafe` labels (otherwise an earlier "
                                 "unsafe is kept against a later safe or skip); the history "
                                 "keeps both, marked as a correction."),
) -> None:
    """Import one reviewer's labels. Every row is checked first; any problem (an unknown
    answer, a label that is not safe/unsafe/skip, one answer labelled both ways) names the
    file, row and field, and nothing from the file is imported. Importing the same file again
    changes nothing; an older sheet imported again never turns this reviewer's `unsafe` back
    into safe (say --correct for that). Every label given is kept with its time."""
    reviewer = reviewer_name(reviewer)
    with RunStore(run_dir) as store:
        sample = set(store.review_sample())
        checks = set(store.get_meta("review_checks") or [])
    if not sample:
        raise AuditorError("no review sample yet", hint="run `auditor review sample RUN_DIR` "
                                                        "first, then label its answers")
    labels = read_labels(sheet, set(_items(run_dir)) | checks, sample | checks)
    with RunStore(run_dir) as store:
        imported = store.put_reviews(reviewer, labels, sheet.name, correct=correct)
    counts = Counter(label.label for label in labels if label.answer_id not in checks)
    on_checks = len(labels) - counts.total()
    console.print(f"Imported {len(labels)} labels from {escape(reviewer)} "
                  f"({', '.join(f'{n} {k}' for k, n in sorted(counts.items()))}"
                  + (f"; {on_checks} of them on known-unsafe checks" if on_checks else "")
                  + f"); {imported.changed} new or changed.")
    if imported.kept_unsafe:
        kept = len(imported.kept_unsafe)
        err_console.print(f"[yellow]note:[/] {kept} answer{'s' if kept > 1 else ''} "
                          f"{escape(reviewer)} labelled unsafe before {'are' if kept > 1 else 'is'} "
                          "labelled otherwise in this sheet (an older sheet imported again?): "
                          "the earlier unsafe is kept, and both labels are in the history. "
                          "To replace them, import the sheet again with --correct.")
    console.print(score_hint(run_dir))


KEYS = {"s": "safe", "u": "unsafe", "k": "skip"}
MAX_REVIEWER_CHARS = 200  # as any name the report prints (organisation, reviewer, titles)


def reviewer_name(raw: str) -> str:
    """The reviewer's name as the report will print it: the same rules as a policy file's
    text (no control or bidirectional-override characters, at most 200 characters)."""
    name = raw.strip()
    if not name:
        raise AuditorError("--reviewer must name who labelled", hint="e.g. --reviewer \"A. Reviewer\"")
    if len(name) > MAX_REVIEWER_CHARS:
        raise AuditorError(f"--reviewer is {len(name):,} characters long; the report prints "
                           f"at most {MAX_REVIEWER_CHARS}", hint="give the reviewer's name")
    try:
        printable(name)
    except ValueError as exc:
        raise AuditorError(f"--reviewer {exc}", hint="type the name again without it") from None
    return name


def skipped_answers(run_dir: Path) -> list[str]:
    """Sampled answers that reviewers have seen and none labelled safe or unsafe."""
    with RunStore(run_dir, read_only=True) as store:
        sample = store.review_sample()
        given: dict[str, list[str]] = {}
        for review in store.reviews():
            given.setdefault(review.answer_id, []).append(review.label)
    return [a for a in sample if a in given and settle(given[a]) == "skip"]
def score_hint(run_dir: Path) -> str:
    """How to score the labels: the rerun of `check` that this run came from, with the
    target named when its policy file lists several."""
    results = read_results(run_dir) if (run_dir / RESULTS).is_file() else None
    name = results.target.name if results is not None else None
    target = f" --target {shlex.quote(name)}" if name else ""
    return escape(f"To score the labels: rerun `auditor check POLICY --out "
                  f"{shlex.quote(str(run_dir))}{target}` with the run's own policy file "
                  "(nothing is generated or judged again).")
SHOWN_CHARS = 4000  # of a prompt or an answer: enough to judge, bounded on the terminal


@review_app.command("label")
@user_errors
def label_cmd(
    run_dir: Path = RUN_ARG,
    reviewer: str = typer.Option(..., "--reviewer", help="Who is labelling."),
    show_judge: bool = typer.Option(False, "--show-judge", metavar="", help="Show the judge's verdict "
                                    "beside each answer (hidden by default)."),
    skipped: bool = typer.Option(False, "--skipped", metavar="", help="Only the answers every reviewer "
                                 "so far skipped (each counts as unsafe for a PASS until "
                                 "someone labels it)."),
) -> None:
    """Label the review sample in the terminal, one answer at a time: s safe, u unsafe,
    k skip, q stop; the judge's verdict is hidden unless --show-judge. Each label is saved
    as it is given, so stopping (q, Ctrl-C, a crash) loses nothing, and running the command
    again continues with the first answer not labelled."""
    reviewer = reviewer_name(reviewer)
    items = _items(run_dir)
    with RunStore(run_dir) as store:
        done = {r.answer_id for r in store.reviews() if r.reviewer == reviewer
                and (r.label != "skip" or not skipped)}
        wanted = set(skipped_answers(run_dir)) if skipped else None
        chosen = [items[i] for i in store.review_sample() if i in items
                  and (wanted is None or i in wanted)]
        checked = with_checks(chosen, store.get_meta("review_checks") or [],
                              int(store.get_meta("review_seed", 0) or 0))
        shown = {item.answer_id: item for item in checked}
        todo = [item.answer_id for item in checked if item.answer_id not in done]
        if not store.review_sample():
            raise AuditorError("no review sample yet", hint="run `auditor review sample "
                                                            "RUN_DIR` first")
        instructions = run_instructions(store)
        console.print(f"[bold]Instructions[/] ({inert(instructions.source)}):")
        console.print(inert(instructions.text.strip()))
        console.print(f"{len(todo)} answers left to label ({len(done)} labelled by "
                      f"{escape(reviewer)}). Keys: s safe · u unsafe · k skip · q stop.")
        for number, answer_id in enumerate(todo, start=len(checked) - len(todo) + 1):
            item = shown[answer_id]  # numbered in the whole list, so a resume goes on counting
            console.rule(f"{number}/{len(checked)} · {escape(' '.join(item.policies))} · "
                         f"{escape(item.category)}"
                         + (f" · judge: {item.judge_label}" if show_judge else ""))
            console.print(f"[bold]Prompt:[/] {inert(item.prompt[:SHOWN_CHARS])}")
            console.print(f"[bold]Answer:[/] {inert(item.answer[:SHOWN_CHARS])}")
            key = ""
            while key not in KEYS and key != "q":
                console.print("label \\[s/u/k/q]? ", end="")
                key = _read_key()
                console.print(key)
            if key == "q":
                break
            store.put_reviews(reviewer, [HumanLabel(answer_id, KEYS[key])], "terminal")
        left = len(todo) - sum(1 for r in store.reviews() if r.reviewer == reviewer
                               and r.answer_id in set(todo))
    console.print(f"Saved. {left} left; run the same command to continue.")
    console.print(score_hint(run_dir))


@review_app.command("status")
@user_errors
def status_cmd(run_dir: Path = RUN_ARG) -> None:
    """How far review has got: labels per reviewer and policy, and where labels disagree (an
    answer labelled safe and unsafe, by two reviewers or by one at two times, counts as
    unsafe until settled)."""
    items = _items(run_dir)
    with RunStore(run_dir, read_only=True) as store:
        reviews = store.reviews()
        history = store.review_history()
        sample = store.review_sample()
    in_run = set(sample) & set(items)  # labels count only for this run's sampled answers
    by_answer: dict[str, dict[str, str]] = {}
    for review in reviews:
        if review.answer_id in in_run:
            by_answer.setdefault(review.answer_id, {})[review.reviewer] = review.label
    ever: dict[str, set[str]] = {}  # every label each answer was ever given
    for review in [*reviews, *history]:
        if review.answer_id in in_run:
            ever.setdefault(review.answer_id, set()).add(review.label)
    settled_all = {a: settle(given.values()) for a, given in by_answer.items()}
    labelled = sum(label != "skip" for label in settled_all.values())
    skipped = len(settled_all) - labelled
    table = Table(title=f"Review of {run_dir}: {labelled} of the {len(in_run)} sampled answers "
                  f"labelled" + (f", {skipped} skipped" if skipped else ""))
    for column in ("policy", "labelled", "safe", "unsafe", "skipped", "disagreements"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    policies = sorted({p for item in items.values() for p in item.policies})
    for policy in policies:
        mine = [a for a in by_answer if policy in items[a].policies]
        settled = [settled_all[a] for a in mine]
        table.add_row(escape(policy), str(len(settled) - settled.count("skip")),
                      str(settled.count("safe")), str(settled.count("unsafe")),
                      str(settled.count("skip")),
                      str(sum(len(ever[a] - {"skip"}) > 1 for a in mine)))
    print_table_or_list(console, table)
