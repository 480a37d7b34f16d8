"""Commands that run or re-render audits: check, report, rejudge."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from auditor.audit.check import rejudge, run_check
from auditor.audit.verification import resign, verify_run
from auditor.cli.judge_cmds import (
    API_KEY_ENV_OPTION,
    BACKEND_OPTION,
    BASE_URL_OPTION,
    JUDGE_KINDS,
    LLAMA_GUARD_VERSION_OPTION,
    MODEL_FILE_OPTION,
    MODEL_OPTION,
    judge_config_from_options,
)
from auditor.cli.output import (
    EXIT_FAIL,
    EXIT_INCONCLUSIVE,
    EXIT_PASS,
    console,
    err_console,
    inert,
    print_table_or_list,
    user_errors,
)
from auditor.cli.progress import progress_bars
from auditor.cli.third_party import LOG_NAME, log_note, third_party_output_to
from auditor.config.loader import load_policy_file
from auditor.core.errors import AuditorError
from auditor.core.verdicts import Verdict, combined
from auditor.judges import build_judge
from auditor.outputs.comparability import RunRecord, differences
from auditor.outputs.comparison_record import is_comparison, verify_comparison
from auditor.outputs.files import (
    HTML,
    PDF,
    RESULTS,
    read_benign_outcomes,
    read_outcomes,
    read_results,
)
from auditor.outputs.headline import score_basis
from auditor.outputs.manifest import SIGNATURE, read_manifest, write_manifest
from auditor.outputs.records import Results
from auditor.outputs.report.write import render_reports
from auditor.outputs.signing import Ed25519PublicKey, Signer, load_public_key
from auditor.outputs.staged import finish_staged
from auditor.outputs.trust import load_signer
from auditor.stats.over_refusal import OverRefusalRecord

EXIT_BY_VERDICT = {"PASS": EXIT_PASS, "FAIL": EXIT_FAIL, "INCONCLUSIVE": EXIT_INCONCLUSIVE}
VERDICT_STYLE = {"PASS": "bold blue", "FAIL": "bold red", "INCONCLUSIVE": "bold yellow"}


def register(app: typer.Typer) -> None:
    app.command("check")(check_cmd)
    app.command("report")(report_cmd)
    app.command("rejudge")(rejudge_cmd)
    app.command("verify")(verify_cmd)


def print_summary(results: Results, out_dir: Path, rejudged: bool = False) -> None:
    # Two narrow tables rather than one wide one: each fits an 80-column terminal whole, and
    # verdicts, ids and counts never wrap (no "INCON…").
    table = Table(title=f"Audit of {inert(results.target.name or results.target.model)} for "
                  f"{inert(results.organisation.name)}")
    table.add_column("policy", no_wrap=True)
    table.add_column("rests on", justify="right", no_wrap=True)
    table.add_column("score", justify="right", no_wrap=True)
    table.add_column("interval", no_wrap=True)
    table.add_column("threshold", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    for policy in results.policies:
        estimate = policy.deciding
        unusable = estimate.score is None  # no score: the card cannot correct, or misfits
        score = "—" if unusable else f"{estimate.score:.1%}"
        interval = "—" if unusable else f"{estimate.low:.1%} – {estimate.high:.1%}"
        table.add_row(escape(policy.id), score_basis(policy, compact=True), score, interval,
                      f"{policy.threshold:.1%}",
                      f"[{VERDICT_STYLE[policy.verdict]}]{policy.verdict}[/]")
    print_table_or_list(console, table)
    if any(p.decided_on == "judge-corrected" for p in results.policies):
        console.print("flagged: answers the judge called unsafe; a score resting on them is "
                      "corrected for the judge's measured error.")
    if any(p.over_refusal for p in results.policies):
        refusals = Table(title="Over-refusal: benign look-alike prompts refused")
        for column in ("policy", "n", "refused", "interval", "max", "verdict"):
            refusals.add_column(column, justify="right" if column in ("n", "refused") else "left",
                                no_wrap=True)
        for policy in results.policies:
            refusals.add_row(escape(policy.id), *over_refusal_cells(policy.over_refusal))
        print_table_or_list(console, refusals)
    gen = results.counts.generate
    made = f"none made ({gen.total} stored answers re-judged, {gen.errors} of them " \
        "errors)" if rejudged else f"{gen.total} ({gen.cached} cached, {gen.errors} errors)"
    overall = results.overall.verdict
    console.print(f"Generations: {made} · unscored: {results.counts.judge.unscored} · "
                  f"overall: [{VERDICT_STYLE[overall]}]{overall}[/]")
    for policy in results.policies:
        if policy.verdict != "PASS" and policy.next_step:
            console.print(f"{escape(policy.id)} {policy.verdict}: "
                          f"{escape(policy.in_short or policy.reason)}. Next: "
                          f"{escape(with_run_folder(policy.next_step, out_dir))}.")
        if policy.warning:
            console.print(f"[yellow]warning:[/] {escape(policy.id)}: {escape(policy.warning)}")
    for caveat in results.caveats:
        console.print(f"[yellow]caveat:[/] {escape(caveat)}.")
    console.print(f"Wrote {escape(str(out_dir / RESULTS))} and {escape(str(out_dir / PDF))}")


def with_run_folder(advice: str, out_dir: Path) -> str:
    """Advice with the run's folder where the record writes the placeholder RUN (the record
    keeps RUN: a folder may be moved, and verify recomputes the words)."""
    return re.sub(r"\bRUN\b", lambda _: shlex.quote(str(out_dir)), advice)


def over_refusal_cells(refusal: OverRefusalRecord | None) -> list[str]:
    """Benign prompts, refusal rate, its interval, max_rate and verdict, for the summary."""
    if refusal is None:
        return ["—", "—", "", "", "not measured"]
    rate = "—" if refusal.rate is None else f"{refusal.rate:.1%}"
    interval = "—" if refusal.rate is None else f"{refusal.low:.1%} – {refusal.high:.1%}"
    limit = "—" if refusal.max_rate is None else f"{refusal.max_rate:.1%}"
    verdict = refusal.verdict
    shown = "reported" if verdict is None else f"[{VERDICT_STYLE[verdict]}]{verdict}[/]"
    return [str(refusal.n), rate, interval, limit, shown]


def free_folder(base: Path) -> Path:
    """`base`, or base-2, base-3… : the first that does not exist yet."""
    candidate, number = base, 1
    while candidate.exists():
        number += 1
        candidate = base.with_name(f"{base.name}-{number}")
    return candidate


@user_errors
def check_cmd(
    policy: Path = typer.Argument(..., dir_okay=False, help="The policy YAML file."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Output folder; rerunning with "
                             "the same folder resumes and reuses cached answers. With "
                             "--all-targets, one folder per target is made inside it."),
    target: str = typer.Option(None, "--target", "-t", help="Audit this one of the policy "
                               "file's `targets` (by name)."),
    all_targets: bool = typer.Option(False, "--all-targets", metavar="", help="Audit every one of the "
                                     "policy file's `targets` on the same plan, one after the "
                                     "other, each in OUT/NAME/ (NAME: the target's folder name); then "
                                     "`auditor compare` them."),
    quiet: bool = typer.Option(False, "--quiet", "-q", metavar="", help="No progress bars (for CI)."),
    verbose: bool = typer.Option(False, "--verbose", "-v", metavar="", help="Show vLLM's and other "
                                 "libraries' own output on the terminal (by default it goes "
                                 f"to {LOG_NAME} in --out)."),
    sign: Path = typer.Option(None, "--sign", dir_okay=False, help="Sign the run with this "
                              "Ed25519 private key (`auditor keygen`): signature.json, and the "
                              "key's fingerprint in results.json and the report."),
    signer_name: str = typer.Option(None, "--signer", help="The name to sign as (page 1 "
                                    "prints it; default: the name your trust file gives the "
                                    "key, else the key file's name)."),
) -> None:
    """Run the whole audit: plan → generate → judge → score → report.

    Writes results.json, outcomes.jsonl, generations.jsonl, junit.xml, report.html and
    report.pdf to --out (and over_refusal.jsonl when a policy measures over-refusal). Exit
    code: 0 all policies pass, 1 a policy fails (safety or over-refusal), 2 bad input or an
    unreachable backend, 3 inconclusive. With --all-targets: the worst over every target.
    """
    # a bad key or name: before any work
    signer = load_signer(sign, signer_name) if sign is not None else None
    if all_targets:
        if target is not None:
            raise AuditorError("give --target or --all-targets, not both")
        check_every_target(policy, out, quiet, verbose, signer)
        return
    with third_party_output_to(out / LOG_NAME, verbose) as log, \
            progress_bars(quiet) as progress:
        summary = run_check(policy, out, progress, target, signer)
    print_summary(summary.results, out)
    note = log_note(log)
    if note:
        err_console.print(f"[dim]{escape(note)}[/]")
    raise typer.Exit(EXIT_BY_VERDICT[summary.results.overall.verdict])


def check_every_target(policy: Path, out: Path, quiet: bool, verbose: bool,
                       signer: Signer | None = None) -> None:
    """Every target of the policy file on the same plan, one after the other (each run
    releases its model before the next loads); a rerun resumes, every finished run cached."""
    targets = load_policy_file(policy).targets
    if not targets:
        raise AuditorError(f"{policy} has no `targets` list",
                           hint="list the models to compare under `targets:`, each with a "
                                "`name`; or run without --all-targets")
    verdicts: list[Verdict] = []
    folders = []
    for config in targets:
        folder = out / config.folder_name()
        err_console.print(f"[bold]{escape(config.name or config.model)}[/] → "
                          f"{escape(str(folder))}")
        with third_party_output_to(folder / LOG_NAME, verbose), \
                progress_bars(quiet) as progress:
            summary = run_check(policy, folder, progress, config.name, signer)
        print_summary(summary.results, folder)
        verdicts.append(summary.results.overall.verdict)
        folders.append(folder)
    table = Table(title=f"{len(targets)} targets on the same plan")
    for column in ("target", "overall", "run folder"):
        table.add_column(column)
    for config, verdict, folder in zip(targets, verdicts, folders, strict=True):
        table.add_row(escape(config.name or config.model),
                      f"[{VERDICT_STYLE[verdict]}]{verdict}[/]", escape(str(folder)))
    print_table_or_list(console, table)
    console.print(escape(compare_command(out, folders)))
    raise typer.Exit(EXIT_BY_VERDICT[combined(verdicts)])


def compare_command(out: Path, folders: list[Path]) -> str:
    """The `compare` command for these runs, as it can be run: the comparison beside the
    study folder (not inside it, where `study/*/` would take it for a run), and
    --allow-mismatch, saying why, where the runs differ in what they hold the same."""
    records = [RunRecord(f, read_results(f), read_outcomes(f), read_benign_outcomes(f))
               for f in folders]
    mismatches = differences(records)
    command = (f"Compare them: auditor compare {shlex.quote(str(out))}/*/ --out "
               f"{shlex.quote(str(out) + '-comparison')}")
    if not mismatches:
        return command
    return (command + " --allow-mismatch\n(the runs differ in " + "; ".join(mismatches[:3])
            + (" …" if len(mismatches) > 3 else "") + ": every page of the comparison will "
            "say so)")


@user_errors
def report_cmd(
    run_dir: Path = typer.Argument(..., file_okay=False, help="The --out folder of a run."),
    sign: Path = typer.Option(None, "--sign", dir_okay=False, help="Sign the run again with "
                              "this private key: a signed run's new report needs it."),
    signer_name: str = typer.Option(None, "--signer", help="The name to sign as (default: "
                                    "the name your trust file gives the key, else the key "
                                    "file's name)."),
) -> None:
    """Re-render report.html and report.pdf from stored results, running nothing.

    The run is verified first (as `auditor verify` does, the report files aside). A run that
    fails verification still gets its report, with every page marked NOT VERIFIED. A signed
    run is re-rendered only with --sign KEY (the new report is then signed again).
    """
    finish_staged(run_dir)
    results = read_results(run_dir)
    signer = load_signer(sign, signer_name) if sign is not None else None
    if signer is None and (run_dir / SIGNATURE).exists():
        raise AuditorError(f"{run_dir} is signed: a new report would void its signature",
                           hint="pass --sign KEY with the signing key to sign it again")
    found = verify_run(run_dir, include_report=False)
    if found.ok and signer is not None:
        resign(run_dir, signer)
        console.print(f"Wrote {escape(str(run_dir / HTML))} and {escape(str(run_dir / PDF))}, "
                      f"signed as {inert(signer.name)} with key {signer.fingerprint}")
        return
    render_reports(run_dir, results, verified=found.ok)
    if found.ok:  # the re-rendered report joins the verified set
        manifest = read_manifest(run_dir)
        write_manifest(run_dir, run_dir / (manifest.store if manifest else "."),
                       manifest.store_sha256 if manifest else None)
    else:
        for difference in found.differences[:5]:
            err_console.print(f"[yellow]not verified:[/] {inert(difference)}")
        err_console.print("[yellow]warning:[/] every page of the report is marked NOT VERIFIED;"
                          " `auditor verify` lists every difference.")
    console.print(f"Wrote {escape(str(run_dir / HTML))} and "
                  f"{escape(str(run_dir / PDF))}")


@user_errors
def verify_cmd(
    run_dir: Path = typer.Argument(..., file_okay=False, help="The --out folder of a run."),
    key: Path = typer.Option(None, "--key", "-k", dir_okay=False, help="The public key "
                             "(PEM, `auditor keygen`'s .pub) the run must be signed with."),
) -> None:
    """Check that a run's outputs are whole and untouched, and agree with its store.

    Re-checks the manifest (every file the run writes listed, each one's sha256, the store's
    content digest), each outcome against the prompt, answer and verdict in the store, and
    recomputes every policy's record, over-refusal, the overall verdict, the review record,
    junit.xml and the evidence pack (evidence.json, assessment-results.json). A signed run
    is verified only when its key is one you trust: in your trust file (`auditor trust add
    NAME KEY.pub`) or given with --key; signed by any other key it is reported as signed by
    an untrusted key. An unsigned run shows its files agree with its
    store, not who made them. Exit code: 0 verified, 1 a difference was found or the signer
    is not trusted, 2 the run cannot be read.
    """
    trusted_key = load_public_key(key) if key is not None else None
    if is_comparison(run_dir):
        _verify_comparison(run_dir, trusted_key)
        return
    finish_staged(run_dir)  # a signing a kill interrupted is completed first
    found = verify_run(run_dir, key=trusted_key)
    for check in found.checked:
        console.print(f"checked: {inert(check)}")
    if found.results_sha256:
        console.print(f"results.json sha256 {found.results_sha256}")
    signature = found.signature
    if found.ok and signature is not None and signature.valid and not signature.trusted:
        claimed = f" (signing as {inert(signature.signer)})" if signature.signer else ""
        console.print(f"[red]✗[/] {escape(str(run_dir))}: signed by an untrusted key "
                      f"{signature.key_fingerprint}{claimed}. Its files agree with its "
                      "store, but who made them is not established.")
        console.print("Confirm the key's fingerprint with its holder, then `auditor trust add "
                      "NAME KEY.pub` (or pass --key KEY.pub).")
        raise typer.Exit(1)
    if found.ok:
        how = ("" if signature is None or not signature.present else
               f", signed by {inert(signature.trusted_as)}" if signature.trusted_as else
               ", signed by the key given")
        unsigned = " (not signed: its files agree with its store; who made them is not shown)" \
            if signature is None or not signature.present else ""
        console.print(f"[green]✓[/] {escape(str(run_dir))}: verified{how}{unsigned}")
        return
    for difference in found.differences:
        console.print(f"[red]✗[/] {inert(difference)}")
    console.print(f"{escape(str(run_dir))}: NOT VERIFIED ({len(found.differences)} "
                  "difference(s))")
    if found.made_by is not None:
        console.print(f"This run was made by auditor {inert(found.made_by)}: a difference in "
                      "how a figure is computed may be this version's own. Verify it with the "
                      "version that made it as well.")
    raise typer.Exit(1)


def _verify_comparison(folder: Path, key: Ed25519PublicKey | None) -> None:
    """`verify` of a comparison folder: its files against its manifest, and its signature
    against the keys you trust."""
    differences, checked, signature = verify_comparison(folder, key)
    for check in checked:
        console.print(f"checked: {inert(check)}")
    for difference in differences:
        console.print(f"[red]✗[/] {inert(difference)}")
    if differences:
        console.print(f"{escape(str(folder))}: NOT VERIFIED ({len(differences)} "
                      "difference(s))")
        raise typer.Exit(1)
    if signature.valid and not signature.trusted:
        console.print(f"[red]✗[/] {escape(str(folder))}: signed by an untrusted key "
                      f"{signature.key_fingerprint}. Confirm it with its holder, then "
                      "`auditor trust add NAME KEY.pub` (or pass --key KEY.pub).")
        raise typer.Exit(1)
    how = (f", signed by {inert(signature.trusted_as or 'the key given')}" if signature.valid
           else " (not signed: its files are the ones its manifest lists; who made them is "
                "not shown)")
    console.print(f"[green]✓[/] {escape(str(folder))}: comparison verified{how}")


@user_errors
def rejudge_cmd(
    run_dir: Path = typer.Argument(..., file_okay=False, help="The --out folder of a run."),
    policy: Path = typer.Option(None, "--policy", "-p", help="The run's policy file (default: "
                                "the one recorded in the run's results.json)."),
    judge: str = typer.Option(None, "--judge", help=f"{JUDGE_KINDS} (default: the run's own "
                              "judge, from its policy file)"),
    model: str = MODEL_OPTION,
    backend: str = BACKEND_OPTION,
    base_url: str = BASE_URL_OPTION,
    api_key_env: str = API_KEY_ENV_OPTION,
    model_file: Path = MODEL_FILE_OPTION,
    llama_guard_version: int = LLAMA_GUARD_VERSION_OPTION,
    card: Path = typer.Option(None, help="Judge card from `auditor judge validate`, to correct "
                              "scores for this judge's error."),
    force_card: bool = typer.Option(False, metavar="", help="Use --card even if it was measured on "
                                    "another judge."),
    out: Path = typer.Option(None, "--out", "-o", file_okay=False, help="Where to write the "
                             "re-judged results and report (default: a new folder "
                             "RUN_DIR/rejudged-KIND, -2, -3…, so earlier results are kept)."),
    quiet: bool = typer.Option(False, "--quiet", "-q", metavar="", help="No progress bars."),
    verbose: bool = typer.Option(False, "--verbose", "-v", metavar="", help="Show judge libraries' own "
                                 f"output on the terminal (by default: {LOG_NAME} in --out)."),
) -> None:
    """Re-judge a run's stored answers with another judge, without generating again.

    The run's own results.json and report are never replaced: the re-judged ones go to --out
    (default: a new folder inside the run). The new verdicts are cached in the run's store.
    """
    recorded = read_results(run_dir)
    policy = policy or Path(recorded.config.path)
    # The run's own judge (from its policy file), or the one the options describe; its card
    # is --card, else the policy's judge.card (for its own judge), else the packaged one.
    config = load_policy_file(policy).judge if judge is None else judge_config_from_options(
        judge, model, backend, base_url, model_file, llama_guard_version, api_key_env)
    built = build_judge(config, policy.parent, card, force_card)
    out = out or free_folder(run_dir / f"rejudged-{judge or built.judge.name}")
    with third_party_output_to(out / LOG_NAME, verbose), progress_bars(quiet) as progress:
        summary = rejudge(run_dir, policy, built, progress, out, recorded.target.name)
    print_summary(summary.results, out, rejudged=True)
    err_console.print("[dim]Re-judged from stored generations; the model under test was not "
                      "called.[/]")
    raise typer.Exit(EXIT_BY_VERDICT[summary.results.overall.verdict])
