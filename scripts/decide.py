"""make approve ID=… / make reject ID=…: move one pending proposal (scripts/proposals/decide.py)."""
import click

from scripts.core.cli import finish, root_option
from scripts.proposals.decide import decide


@click.command()
@root_option
@click.option("--id", "wanted", required=True, help="The proposal's short id, id or file name")
@click.option("--to", "state", required=True, type=click.Choice(["approved", "rejected"]), help="Where it goes")
def cli(ws, wanted: str, state: str) -> None:
    """Approve or reject one pending proposal: `git mv` into approved/ or rejected/ (a plain move
    outside git)."""
    finish(decide(ws, wanted, state))


if __name__ == "__main__":
    cli()
