"""The options every step shares, so each entry point in scripts/ is its options and one call."""
from __future__ import annotations

import sys
from datetime import datetime

import click

from scripts.core.problems import Problems
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


def finish(problems: Problems) -> None:
    """Exit 1 when the step recorded any problem (cron reports it), else 0."""
    sys.exit(problems.exit_code())
