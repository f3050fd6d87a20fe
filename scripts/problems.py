"""The open problems of a workspace (data/problems.json), printed at the end of every pipeline
target; exit 1 while any is open (scripts/core/problems.py)."""
import click

from scripts.core.cli import root_option
from scripts.core.problems import report_open


@click.command()
@root_option
@click.option("--stopped", nargs=2, type=(str, int), default=None, metavar="STEP EXIT",
              help="Record that STEP stopped with EXIT before it could report why")
def cli(ws, stopped) -> None:
    """Print the open problems and exit 1 if there are any."""
    report_open(ws.problems_path, stopped)


if __name__ == "__main__":
    cli()
