"""The command line. The only place that prints or exits; everything else returns or raises.

Exit codes: 0 all policies pass · 1 a policy fails · 2 bad input, usage or unreachable backend ·
3 inconclusive · 130 interrupted (Ctrl-C) · 143 terminated (SIGTERM).

`main` installs the signal handling before anything heavy is imported, so Ctrl-C in the first
second, or a SIGTERM at any time, ends with a one-line message and never a traceback.

May import: every stage (it is the last).
"""

from __future__ import annotations

import signal
import sys
from types import FrameType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from auditor.cli.application import app

EXIT_INTERRUPTED, EXIT_TERMINATED = 130, 143


class Terminated(KeyboardInterrupt):
    """SIGTERM, handled as Ctrl-C is: finished work is stored before the process ends."""


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise Terminated()


def stop_message(stop: KeyboardInterrupt) -> tuple[str, int]:
    """What to print, and the exit code, when the user or the system stops a command."""
    if isinstance(stop, Terminated):
        return ("terminated: finished work is kept; rerun the same command to resume.",
                EXIT_TERMINATED)
    return "interrupted: finished work is kept; rerun the same command to resume.", \
        EXIT_INTERRUPTED


def main() -> None:
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        from auditor.cli.application import app

        app()
    except KeyboardInterrupt as stop:  # before a command's own handler, or outside one
        message, code = stop_message(stop)
        sys.stderr.write(message + "\n")
        sys.exit(code)


def __getattr__(name: str) -> Any:
    if name == "app":  # imported on first use: the entry point stays light
        from auditor.cli.application import app

        return app
    raise AttributeError(name)


__all__ = ["Terminated", "app", "main"]
