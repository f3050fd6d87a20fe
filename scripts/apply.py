"""make apply: approved recommendations into performance_context.json (scripts/proposals/apply.py)."""
import click

from scripts.core.cli import finish_step, now_option, root_option
from scripts.proposals.apply import apply_workspace


@click.command()
@root_option
@now_option
def cli(ws, now) -> None:
    """Apply recommendations/approved/*.json to each account's performance_context.json."""
    finish_step(ws, "apply", apply_workspace, ws, now)


if __name__ == "__main__":
    cli()
