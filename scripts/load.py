"""make load: every raw envelope under data/raw/ into data/analytics.db (scripts/store/load.py)."""
import click

from scripts.core.cli import finish_step, quiet_option, root_option
from scripts.store.load import load_workspace, rebuild_workspace


@click.command()
@root_option
@click.option("--full", is_flag=True, help="Re-read every raw file, loaded or not")
@click.option("--rebuild", is_flag=True, help="Rebuild the database from data/raw/ and copy it in place (make reload)")
@quiet_option
def cli(ws, full: bool, rebuild: bool, quiet: bool) -> None:
    """Load raw envelopes (data/raw/<platform>/<account>/<stamp>.json) into data/analytics.db."""
    if rebuild:
        finish_step(ws, "load", rebuild_workspace, ws, quiet=quiet)
    finish_step(ws, "load", load_workspace, ws, full=full, quiet=quiet)


if __name__ == "__main__":
    cli()
