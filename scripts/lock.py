"""Run a command while holding the workspace's pipeline lock, so two pipeline runs
(say a cron `make daily` and a hand-started `make weekly`) never write at the same time."""
from __future__ import annotations

import subprocess
import sys

import click

from scripts.core.files import LockBusy, pipeline_lock
from scripts.core.workspace import Workspace


@click.command(context_settings={"ignore_unknown_options": True})
@click.option("--root", default=".", type=click.Path(file_okay=False), help="Workspace root (ROOT)")
@click.option("--wait", default=0.0, show_default=True, help="Seconds to wait for a running pipeline")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def cli(root: str, wait: float, command: tuple[str, ...]) -> None:
    """Hold <root>/data/.pipeline.lock while COMMAND runs; exit 75 if another run holds it."""
    try:
        with pipeline_lock(Workspace(root).lock_path, wait_seconds=wait) as lock_fd:
            # the run inherits the locked descriptor: killing this process cannot free the lock
            # while make or a step it started still runs
            sys.exit(subprocess.call(list(command), pass_fds=(lock_fd,)))
    except LockBusy as exc:
        print(f"lock: {exc}", file=sys.stderr)
        sys.exit(75)  # EX_TEMPFAIL: cron can simply try again later
    except OSError as exc:  # the command cannot be run at all (not found, not executable): one line
        print(f"lock: error: cannot run {command[0]!r}: {exc.strerror or exc}", file=sys.stderr)
        sys.exit(127)


if __name__ == "__main__":
    cli()
