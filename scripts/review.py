"""make review ACCOUNT=x: approve or reject pending recommendations (scripts/proposals/review.py)."""
import click

from scripts.core.cli import account_option, finish, root_option
from scripts.proposals.review import review


@click.command()
@root_option
@account_option("Only this account's recommendations")
def cli(ws, account: str | None) -> None:
    """Approve [y], reject [n] or skip [s] each pending recommendation."""
    finish(review(ws, account))


if __name__ == "__main__":
    cli()
