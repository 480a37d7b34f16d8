"""The typer application: command registration and the process entry point."""

from __future__ import annotations

import typer

from auditor import __version__
from auditor.cli import (
    compare_cmds,
    dataset_cmds,
    evidence_cmds,
    judge_cmds,
    policy_cmds,
    review_cmds,
    run_cmds,
    sign_cmds,
    trust_cmds,
)

HELP = (
    "Audit an LLM against your organisation's safety policies, using the ALERT benchmark.\n\n"
    "Write a policy file (see `auditor schema`), check it with `auditor validate`, preview the "
    "prompts with `auditor plan`, then run `auditor check`.\n\n"
    "Exit codes: 0 every policy passes · 1 a policy fails · 2 bad input, usage, or a backend "
    "that cannot be reached · 3 inconclusive (too few prompts, or too many errors, to decide) · "
    "130 interrupted (Ctrl-C) · 143 terminated (SIGTERM); finished work is kept either way."
)

app = typer.Typer(help=HELP, no_args_is_help=True, rich_markup_mode="markdown",
                  pretty_exceptions_enable=False, add_completion=False)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"auditor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", metavar="", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    pass


policy_cmds.register(app)
dataset_cmds.register(app)
run_cmds.register(app)
judge_cmds.register(app)
compare_cmds.register(app)
review_cmds.register(app)
sign_cmds.register(app)
trust_cmds.register(app)
evidence_cmds.register(app)

