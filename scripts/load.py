"""make load: every raw envelope under data/raw/ into data/analytics.db (scripts/store/load.py)."""
import click

from scripts.core.cli import finish, quiet_option, root_option
from scripts.store.load import load_workspace


@click.command()
@root_option
@click.option("--full", is_flag=True, help="Re-read every raw file, loaded or not (make reload)")
@quiet_option
def cli(ws, full: bool, quiet: bool) -> None:
    """Load raw envelopes (data/raw/<platform>/<account>/<stamp>.json) into data/analytics.db."""
    finish(load_workspace(ws, full=full, quiet=quiet))


if __name__ == "__main__":
    cli()
