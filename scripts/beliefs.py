"""make beliefs: the analyzer's beliefs into performance_context.json (scripts/proposals/beliefs.py)."""
import click

from scripts.core.cli import finish_step, now_option, root_option
from scripts.proposals.beliefs import beliefs_workspace


@click.command()
@root_option
@now_option
def cli(ws, now) -> None:
    """Copy each account's format and pillar beliefs from data/insights/ into its context."""
    finish_step(ws, "beliefs", beliefs_workspace, ws, now)


if __name__ == "__main__":
    cli()
