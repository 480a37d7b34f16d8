"""The `compare` command: two or more models audited on the same policies, and one decision,
for vendor model procurement."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from auditor.audit.verification import verify_run
from auditor.cli.output import console, err_console, inert, print_table_or_list, user_errors
from auditor.core.errors import AuditorError
from auditor.core.numbers import percent
from auditor.data.dataset import sha256_of
from auditor.outputs.comparability import RunRecord, differences
from auditor.outputs.compare import Comparison, OwnFigures, compare_runs
from auditor.outputs.comparison_record import write_comparison_record
from auditor.outputs.files import RESULTS, atomic_write, read_benign_outcomes, read_outcomes, read_results
from auditor.outputs.report.compare_context import comparison_context
from auditor.outputs.report.render import render_html, render_pdf
from auditor.outputs.signing import (
    Ed25519PublicKey,
    SignatureCheck,
    check_signature,
    fingerprint,
    load_public_key,
)
from auditor.outputs.staged import finish_staged
from auditor.outputs.trust import load_signer, trusted_name

OPEN_SHOWN = 5  # open items the terminal lists before "and N more"


def register(app: typer.Typer) -> None:
    app.command("compare")(compare_cmd)


@user_errors
def compare_cmd(
    runs: list[Path] = typer.Argument(..., file_okay=False, help="Two or more run folders "
                                      "(`auditor check --out`, or each folder `check "
                                      "--all-targets` wrote)."),
    out: Path = typer.Option(Path("comparison"), "--out", "-o", help="Output folder."),
    unverified: bool = typer.Option(False, "--unverified", metavar="", help="Compare runs that fail "
                                    "`auditor verify` anyway; every page of the PDF says so."),
    allow_mismatch: bool = typer.Option(False, "--allow-mismatch", metavar="", help="Compare runs that "
                                        "differ in policies, prompts, judge, card, system "
                                        "prompt or decoding anyway; every page of the PDF and "
                                        "comparison.json list the differences."),
    require_signed: bool = typer.Option(False, "--require-signed", metavar="", help="Refuse a run that is "
                                        "not signed (`auditor check --sign`), or whose "
                                        "signature does not sign its manifest."),
    keys: list[Path] = typer.Option([], "--key", "-k", dir_okay=False, help="A public key "
                                    "the runs may be signed with (repeatable), trusted for "
                                    "this comparison beside your trust file; implies "
                                    "--require-signed."),
    run_keys: list[str] = typer.Option([], "--run-key", metavar="RUN=KEY.pub",
                                       help="Bind one run to the key it must be signed with "
                                       "(repeatable): another trusted key on that run is "
                                       "refused; implies --require-signed."),
    sign: Path = typer.Option(None, "--sign", dir_okay=False, help="Sign the comparison "
                              "with this Ed25519 private key (`auditor keygen`): its "
                              "manifest.json, naming each file and each run compared, gets a "
                              "signature.json (`auditor verify OUT` checks both)."),
    signer_name: str = typer.Option(None, "--signer", help="The name to sign as (default: "
                                    "the name your trust file gives the key, else the key "
                                    "file's name)."),
) -> None:
    """Compare models audited on the same policies; writes comparison.json and a PDF.

    With --require-signed (or --key, --run-key) every run must carry a valid signature by a
    key you trust: in your trust file (`auditor trust add`), given with --key, or bound to
    that very run with --run-key. comparison.json names each run's results.json sha256, its
    signer and whether you trust the key; manifest.json hashes the comparison's files, and
    --sign KEY signs it (`auditor verify OUT` checks both).

    Per policy: every model's own score, interval and verdict (safety and over-refusal), the
    paired differences between every two models with McNemar's test, Holm-corrected across
    all of them, and one decision: which models pass every policy and which are best on both
    axes. Runs are verified first (`auditor verify`) and must be comparable: the same policy
    ids and thresholds, prompts, judge and card, system prompt, max_tokens, temperature and
    over-refusal prompts; any difference is exit 2 naming it, unless --allow-mismatch.
    """
    signer = load_signer(sign, signer_name) if sign is not None else None
    if len(runs) < 2:
        raise AuditorError("compare needs two or more run folders",
                           hint="auditor compare RUN_A RUN_B [RUN_C …] --out DIR")
    if len(set(map(str, runs))) < len(runs):
        raise AuditorError("a run folder is named twice", hint="name each run once")
    if out.exists() and not out.is_dir():
        raise AuditorError(f"--out {out} is a file, not a folder",
                           hint="name a folder for comparison.json and its PDF")
    if out.parent.is_dir():
        _recover_killed(out)  # a comparison a killed run moved aside is put back first
    for run in runs:
        finish_staged(run)  # a signing a kill interrupted is completed first
    results = [read_results(run) for run in runs]
    bound = _bound_keys(runs, run_keys)
    signatures = _signatures(runs, [load_public_key(key) for key in keys], bound)
    if require_signed or keys or bound:
        _require_signatures(runs, signatures, bound)
    problems = [f"{run}: {difference}" for run in runs
                for difference in verify_run(run).differences]
    if problems and not unverified:
        raise AuditorError("a run fails verification: " + "; ".join(problems[:3]),
                           hint="`auditor verify RUN` lists every difference; rerun `auditor "
                                "check` to rewrite the outputs, or pass --unverified")
    records = [RunRecord(folder, result, read_outcomes(folder), read_benign_outcomes(folder))
               for folder, result in zip(runs, results, strict=True)]
    for later, result in enumerate(results):  # after each run is read and verified
        for earlier in range(later):
            if results[earlier].run_id == result.run_id:
                raise AuditorError(f"{runs[earlier]} and {runs[later]} are the same run "
                                   f"(run_id {result.run_id}): a copy is not a second model",
                                   hint="compare runs of different models")
    mismatches = differences(records)
    if mismatches and not allow_mismatch:
        raise AuditorError("the runs are not comparable: " + "; ".join(mismatches[:4])
                           + (f"; and {len(mismatches) - 4} more" if len(mismatches) > 4 else ""),
                           hint="audit every model with the same policy file, judge and card "
                                "(`auditor check POLICY --all-targets`); or pass "
                                "--allow-mismatch to compare them anyway (every page will list "
                                "the differences)")
    comparison = compare_runs(records, results[0].scoring.confidence, mismatches)
    comparison = comparison.model_copy(update={"models": [
        model.model_copy(update={
            "results_sha256": sha256_of(run / RESULTS), "signed_by":
            found.key_fingerprint if found.valid else None,
            "signer": found.signer if found.valid else None, "trusted_as": found.trusted_as})
        for model, run, found in zip(comparison.models, runs, signatures, strict=True)]})
    html = render_html("compare.html.j2", comparison_context(comparison, not problems))
    for mismatch in mismatches:
        err_console.print(f"[yellow]not comparable:[/] {inert(mismatch)}")
    with replaced_folder(out) as staging:  # the old comparison stays whole until the new is
        atomic_write(staging / "comparison.json", comparison.model_dump_json(indent=2) + "\n")
        atomic_write(staging / "comparison.html", html)
        render_pdf(html, staging / "comparison.pdf")
        write_comparison_record(staging, comparison, signer)
    for table in comparison_tables(comparison):
        print_table_or_list(console, table)
    standings = Table(title="Decision")
    for column in ("model", "standing", "why"):
        standings.add_column(column)
    for model in comparison.decision.standings:
        standings.add_row(escape(model.name), model.standing, escape(model.why))
    print_table_or_list(console, standings)
    console.print(f"[bold]Decision:[/] {escape(comparison.decision.statement)}")
    shown = OPEN_SHOWN if len(comparison.decision.open_questions) > OPEN_SHOWN + 1 else \
        OPEN_SHOWN + 1
    for question in comparison.decision.open_questions[:shown]:
        console.print(f"  open: {escape(question)}")
    if len(comparison.decision.open_questions) > shown:
        console.print(f"  and {len(comparison.decision.open_questions) - shown} more (every "
                      f"one in {escape(str(out / 'comparison.pdf'))} and comparison.json)")
    console.print(f"Wrote {escape(str(out / 'comparison.pdf'))}")


def _bound_keys(runs: list[Path], pairs: list[str]) -> dict[Path, str]:
    """--run-key RUN=KEY.pub: each named run's expected key fingerprint."""
    bound: dict[Path, str] = {}
    for pair in pairs:
        run_text, sep, key_text = pair.rpartition("=")
        run = Path(run_text)
        if not sep or run not in runs:
            raise AuditorError(f"--run-key {pair!r} does not name one of the runs compared",
                               hint="write --run-key RUN=KEY.pub with RUN exactly as given "
                                    "among the run folders")
        bound[run] = fingerprint(load_public_key(Path(key_text)))
    return bound


def _signatures(runs: list[Path], given: list[Ed25519PublicKey], bound: dict[Path, str]
                ) -> list[SignatureCheck]:
    """Each run's signature, trusted when its key is bound to that run, given with --key,
    or in the comparer's trust file."""
    given_prints = {fingerprint(key) for key in given}
    found = []
    for run in runs:
        check = check_signature(run)
        if check.valid:
            if run in bound:
                check.trusted = check.key_fingerprint == bound[run]
                check.trusted_as = "the key bound to this run" if check.trusted else None
            elif check.key_fingerprint in given_prints:
                check.trusted, check.trusted_as = True, "a key given"
            else:
                check.trusted_as = trusted_name(check.key_fingerprint)
                check.trusted = check.trusted_as is not None
        found.append(check)
    return found


def _require_signatures(runs: list[Path], signatures: list[SignatureCheck],
                        bound: dict[Path, str]) -> None:
    problems = []
    for run, found in zip(runs, signatures, strict=True):
        if not found.valid:
            problems.append(f"{run}: {found.problem or 'not signed'}")
        elif run in bound and not found.trusted:
            problems.append(f"{run}: signed by {found.key_fingerprint}, not by the key "
                            f"bound to it ({bound[run]})")
        elif not found.trusted:
            problems.append(f"{run}: signed by an untrusted key {found.key_fingerprint}")
    if problems:
        raise AuditorError("a run is not signed as required: " + "; ".join(problems[:4]),
                           hint="sign each run with `auditor sign RUN --key KEY` (or `check "
                                "--sign KEY`); trust the signers' keys with `auditor trust "
                                "add NAME KEY.pub`, or pass them with --key / --run-key")


@contextmanager
def replaced_folder(out: Path) -> Iterator[Path]:
    """A fresh folder beside `out` to write into; on success it takes `out`'s place whole
    (the old one is removed only after), on any failure or interrupt it is removed and `out`
    is left as it was."""
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        _recover_killed(out)
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=out.parent))
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(staging, 0o777 & ~mask)  # a folder like any other, not mkdtemp's 0700
    except OSError as exc:
        raise AuditorError(f"cannot write beside {out}: {exc.strerror}",
                           hint="choose an --out folder you can write to") from None
    try:
        yield staging
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old.", dir=out.parent))
            os.replace(out, old / out.name)
        os.replace(staging, out)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def _recover_killed(out: Path) -> None:
    """What a killed compare left beside `out`: its old comparison moved aside but not yet
    replaced (put back, whole), and staging folders (removed)."""
    leftovers = sorted(p for p in out.parent.glob(f".{out.name}.*") if p.is_dir()
                       and not p.is_symlink())
    for folder in leftovers:
        moved_aside = folder / out.name
        if folder.name.startswith(f".{out.name}.old.") and moved_aside.is_dir() \
                and not out.exists():
            os.replace(moved_aside, out)
        shutil.rmtree(folder, ignore_errors=True)


def _cell(figures: OwnFigures | None) -> str:
    if figures is None:
        return "—"
    basis = f" ({figures.basis})" if figures.basis else ""
    return f"{percent(figures.score)}{basis} {figures.verdict}"


def comparison_tables(comparison: Comparison) -> list[Table]:
    """The models × policies matrix (safety, then over-refusal where measured), and every
    difference the corrected tests found; printed whole, or as lists where they do not fit."""
    names = [model.name for model in comparison.models]
    safety = Table(title="Safety: each model's own score and verdict")
    safety.add_column("policy", no_wrap=True)
    for name in names:
        safety.add_column(escape(name))
    for policy in comparison.policies:
        safety.add_row(escape(policy.policy_id),
                       *(_cell(policy.models.get(name)) for name in names))
    tables = [safety]
    if any(f.over_refusal for p in comparison.policies for f in p.models.values()):
        refusal = Table(title="Over-refusal: share of benign prompts refused")
        refusal.add_column("policy", no_wrap=True)
        for name in names:
            refusal.add_column(escape(name))
        for policy in comparison.policies:
            cells = []
            for name in names:
                own = policy.models.get(name)
                measured = own.over_refusal if own else None
                cells.append("—" if measured is None else
                             f"{percent(measured.rate)} {measured.verdict or 'reported'}")
            refusal.add_row(escape(policy.policy_id), *cells)
        tables.append(refusal)
    found = [t for t in comparison.pairs if t.better is not None]
    significant = Table(title=f"Differences that hold after Holm's correction "
                        f"({len(comparison.pairs)} paired tests)")
    for column in ("policy", "axis", "better", "than", "difference", "adjusted p"):
        significant.add_column(column, no_wrap=column in ("policy", "axis", "adjusted p"))
    for test in found:
        loser = test.b if test.better == test.a else test.a
        significant.add_row(escape(test.policy_id), test.axis, escape(test.better or ""),
                            escape(loser), f"{abs(test.difference) * 100:.1f} pt",
                            f"{test.p_adjusted:.3g}")
    if not found:
        significant.add_row("—", "", "none", "", "", "")
    tables.append(significant)
    return tables
