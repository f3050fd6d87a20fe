"""The benchmark floor for make load: the simplest loader that could work (scripts/dev/bare_load.py)."""
import click

from scripts.core.cli import root_option
from scripts.dev.bare_load import bare_load


@click.command()
@root_option
@click.option("--db", "db_path", required=True, type=click.Path(dir_okay=False),
              help="Database to create (replaced if it exists)")
def cli(ws, db_path: str) -> None:
    """Load data/raw/ the bare way (json + sqlite3 executemany) into a fresh DB: the benchmark floor."""
    bare_load(ws, db_path)


if __name__ == "__main__":
    cli()
