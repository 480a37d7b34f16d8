"""The command line. The only place that prints or exits; everything else returns or raises.

Exit codes: 0 all policies pass · 1 a policy fails · 2 bad input, usage or unreachable backend ·
3 inconclusive.
"""

from __future__ import annotations

from auditor.cli.app import app, main

__all__ = ["app", "main"]
