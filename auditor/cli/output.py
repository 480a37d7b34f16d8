"""Console objects and the one place user errors become messages and exit code 2."""

from __future__ import annotations

import functools
import json
import re
import sys
from collections.abc import Callable
from typing import Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.measure import Measurement
from rich.table import Table

from auditor.core.errors import AuditorError, InputFileError
from auditor.core.secrets import redact

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])
# C0 and C1 controls (ESC starts terminal sequences), and the bidi controls that reorder text.
_UNSAFE_ON_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                                 "\u202a-\u202e\u2066-\u2069]")


SHOWN_PROBLEMS = 50  # of an input file's problems; the rest are counted


def inert(text: str) -> str:
    """Text from outside (server replies, dataset prompts) made safe to print: secrets
    redacted, terminal controls replaced, markup escaped."""
    return escape(_UNSAFE_ON_TERMINAL.sub("\ufffd", redact(text)))


def print_error(error: AuditorError) -> None:
    # Messages may quote a server or a file, so they are printed inert.
    err_console.print(f"[bold red]error:[/] {inert(error.message)}")
    if isinstance(error, InputFileError):
        for problem in error.problems[:SHOWN_PROBLEMS]:
            err_console.print(f"  • {inert(problem.render())}")
        if len(error.problems) > SHOWN_PROBLEMS:
            err_console.print(f"  … and {len(error.problems) - SHOWN_PROBLEMS} more problems")
    if error.hint:
        err_console.print(f"[dim]hint:[/] {inert(error.hint)}")


def user_errors(func: F) -> F:
    """Turn AuditorError into a short message and exit code 2, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except AuditorError as error:
            print_error(error)
            raise typer.Exit(EXIT_INPUT) from None
        except KeyboardInterrupt as stop:  # Ctrl-C, or SIGTERM (cli.Terminated)
            from auditor.cli import stop_message

            message, code = stop_message(stop)
            err_console.print(f"[yellow]{message}[/]")
            raise typer.Exit(code) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")


def print_table_or_list(target: Console, table: Table) -> None:
    """Print `table` whole when it fits the terminal; otherwise as a list, one block per row,
    so that no id, figure or verdict is ever cut (rich would shorten cells with "…")."""
    for column in table.columns:
        column.no_wrap = True
    unbounded = target.options.update_width(100_000)  # its natural width, not one clamped
    if Measurement.get(target, unbounded, table).maximum <= target.width:
        target.print(table)
        return
    if table.title:
        target.print(f"[bold]{table.title}[/]")
    headers = [str(column.header) for column in table.columns]
    cells = [list(column.cells) for column in table.columns]
    for index in range(len(cells[0]) if cells else 0):
        values = [column_cells[index] for column_cells in cells]
        target.print(f"[bold]{values[0]}[/]")
        for header, value in zip(headers[1:], values[1:], strict=True):
            if str(value).strip():
                target.print(f"  {header}: {value}")
