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

from auditor.errors import AuditorError, InputFileError

EXIT_PASS, EXIT_FAIL, EXIT_INPUT, EXIT_INCONCLUSIVE = 0, 1, 2, 3

console = Console(highlight=False, soft_wrap=True)
err_console = Console(stderr=True, highlight=False, soft_wrap=True)

F = TypeVar("F", bound=Callable[..., Any])
# C0 and C1 controls (ESC starts terminal sequences), and the bidi controls that reorder text.
_UNSAFE_ON_TERMINAL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f"
                                 "\u202a-\u202e\u2066-\u2069]")


def inert(text: str) -> str:
    """Text from outside (server replies, dataset prompts) made safe to print, markup escaped."""
    return escape(_UNSAFE_ON_TERMINAL.sub("\ufffd", text))


def print_error(error: AuditorError) -> None:
    # Messages may quote a server or a file, so they are printed inert.
    err_console.print(f"[bold red]error:[/] {inert(error.message)}")
    if isinstance(error, InputFileError):
        for problem in error.problems:
            err_console.print(f"  • {inert(problem.render())}")
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
        except KeyboardInterrupt:
            err_console.print("[yellow]interrupted[/]: finished work is kept; rerun to resume.")
            raise typer.Exit(130) from None

    return wrapper  # type: ignore[return-value]


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n")
