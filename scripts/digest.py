"""make digest: this week in plain words per account, for cron's mail and data/digest.md (scripts/outputs/digest.py)."""
import click

from scripts.core.cli import finish_step, quiet_option, root_option
from scripts.outputs.digest import digest


@click.command()
@root_option
@quiet_option
def cli(ws, quiet: bool) -> None:
    """Print what to decide, what changed and what earlier changes did, per account; write data/digest.md."""
    finish_step(ws, "digest", digest, ws, quiet=quiet)


if __name__ == "__main__":
    cli()
