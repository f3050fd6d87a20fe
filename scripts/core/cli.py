"""The options every step shares, so each entry point in scripts/ is its options and one call."""
from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from datetime import datetime
from typing import NoReturn

import click

from scripts.core.files import WriteFailed
from scripts.core.problems import Problems, record
from scripts.core.timeutil import clock
from scripts.core.workspace import Workspace, WorkspaceError, check_account_name


def _workspace(ctx, param, value: str) -> Workspace:
    return Workspace(value)


def _moment(ctx, param, value: str | None) -> datetime:
    try:
        return clock(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc)) from None


def _account(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return check_account_name(value)
    except WorkspaceError as exc:
        raise click.BadParameter(str(exc)) from None


root_option = click.option("--root", "ws", default=".", type=click.Path(file_okay=False), callback=_workspace,
                           help="Workspace root (ROOT)")
quiet_option = click.option("--quiet", is_flag=True, help="Only print problems")
now_option = click.option("--now", "now", default=None, callback=_moment,
                          help="Pretend it is this UTC time (ISO-8601); default ANALYTICS_NOW or the clock")


def account_option(help: str):
    return click.option("--account", default=None, callback=_account, help=help)


def finish(problems: Problems) -> NoReturn:
    """Exit 1 when the step found any problem (cron reports it), else 0."""
    sys.exit(problems.exit_code())


def finish_step(ws: Workspace, step: str, work: Callable[..., Problems], *args, **kwargs) -> NoReturn:
    """Run a pipeline step and keep its problems open in data/problems.json until it runs clean.
    A database another process keeps locked past SQLite's wait is one line, not a traceback: what
    the step committed so far stays, and the next run goes on from there."""
    try:
        problems = work(*args, **kwargs)
    except sqlite3.OperationalError as exc:
        busy = "locked" in str(exc) or "busy" in str(exc)
        why = "another process kept it busy" if busy else "run make reload if it persists"
        problems = Problems(step)
        problems.add(f"{ws.db_path}: {exc} ({why}); nothing stored was lost, run again")
    try:
        record(ws.problems_path, step, problems.lines)
    except WriteFailed as exc:
        problems.add(str(exc))
    finish(problems)
