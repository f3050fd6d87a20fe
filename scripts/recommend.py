"""make recommend: 3-5 proposals per account into recommendations/pending/ (scripts/proposals/)."""
import click

from scripts.core.cli import finish_step, now_option, root_option
from scripts.proposals.recommend import recommend_workspace


@click.command()
@root_option
@now_option
def cli(ws, now) -> None:
    """Write 3-5 recommendations per account into recommendations/pending/."""
    finish_step(ws, "recommend", recommend_workspace, ws, now)


if __name__ == "__main__":
    cli()
