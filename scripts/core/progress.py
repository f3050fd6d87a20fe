"""Progress bars for the steps that can take more than a few seconds (load, backfill, compress-raw,
the bench world, waiting for an Apify run): one helper, on stderr, and silent where nobody
watches. A bar is drawn only when stderr is a terminal and the step was not asked to be quiet,
so cron logs, make's captured output and the tests' pipes never see one."""
from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

# ANALYTICS_PROGRESS=0 turns every bar off, whatever stderr is
ENV_SWITCH = "ANALYTICS_PROGRESS"


class Bar:
    """What a step calls as its work goes on: advance(n) after n more units, update(completed=,
    total=, description=) when it knows better. A Bar that draws nothing accepts the same calls."""

    def __init__(self, progress: Progress | None = None, task=None):
        self._progress, self._task = progress, task

    def advance(self, n: float = 1) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def update(self, **fields) -> None:
        if self._progress is not None:
            self._progress.update(self._task, **fields)

    @property
    def drawn(self) -> bool:
        return self._progress is not None


def shown(quiet: bool = False, console: Console | None = None) -> bool:
    """Whether a bar would be drawn: not quiet, not switched off, and stderr (or the console given)
    is a terminal."""
    if quiet or os.environ.get(ENV_SWITCH, "").strip() in ("0", "no", "false"):
        return False
    return console.is_terminal if console is not None else sys.stderr.isatty()


@contextlib.contextmanager
def progress(total: float | None, description: str, quiet: bool = False,
             console: Console | None = None) -> Iterator[Bar]:
    """A bar of `total` units (None: unknown, a pulsing bar) labelled `description`, on stderr, for
    the duration of the block; a Bar that draws nothing when not shown() (console: where to draw,
    for tests; stderr by default). The bar is removed when the block ends, so the step's own lines
    are what stays on the screen."""
    if not shown(quiet, console):
        yield Bar()
        return
    console = console or Console(stderr=True)
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("left"), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=True) as bar:
        yield Bar(bar, bar.add_task(description, total=total))
