"""Rich progress bars for the pipeline's progress callback, or silence in quiet mode."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from auditor.cli.output import err_console
from auditor.core.progress import ProgressFn
from auditor.targets.run_estimate import DEMO_BUILD_MINUTES

LABELS = {"build": f"Building demo model (~{DEMO_BUILD_MINUTES})",
          "load": "Loading the model", "connect": "Checking the server",
          "generate": "Generating answers",
          "judge": "Judging answers",
          "over-refusal": "Judging benign answers"}


@contextmanager
def progress_bars(quiet: bool) -> Iterator[ProgressFn]:
    if quiet:
        yield lambda stage, done, total: None
        return
    # Fits 80 columns whole with the longest label (no "0:…" cut figures).
    columns = (TextColumn("{task.description:<22}"), BarColumn(bar_width=8),
               MofNCompleteColumn(), TextColumn("{task.fields[rate]:>7}"),
               TimeElapsedColumn(), TextColumn("eta"), TimeRemainingColumn())
    # No redirect of sys.stdout/stderr: other libraries' prints must reach the file
    # descriptors (and so the run's log, cli/third_party.py), not the bars' console.
    with Progress(*columns, console=err_console, transient=False, redirect_stdout=False,
                  redirect_stderr=False) as bars:
        tasks: dict[str, TaskID] = {}
        start_done: dict[str, int] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks and total == 0:
                return  # nothing to do in this stage: no empty 0/0 bar
            if stage not in tasks:
                if stage == "build":
                    bars.console.print("First run: building the demo model from its packaged "
                                       f"file (first run only, about {DEMO_BUILD_MINUTES}); "
                                       "later runs reuse it.")
                tasks[stage] = bars.add_task(LABELS.get(stage, stage), total=total, rate="")
                start_done[stage] = done
            task = bars.tasks[tasks[stage]]
            elapsed = task.elapsed or 0.0
            fresh = done - start_done[stage]
            rate = f"{fresh / elapsed:.1f}/s" if elapsed > 0 and fresh > 0 else ""
            bars.update(tasks[stage], completed=done, total=total, rate=rate)

        yield update
