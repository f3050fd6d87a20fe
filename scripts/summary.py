"""The short summary `make demo` ends with (scripts/outputs/summary.py)."""
import click

from scripts.core.cli import root_option
from scripts.outputs.summary import print_summary


@click.command()
@root_option
def cli(ws) -> None:
    """Print what the pipeline produced and the next commands to try."""
    print_summary(ws)


if __name__ == "__main__":
    cli()
