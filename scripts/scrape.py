"""make scrape: one Apify run per platform for every account into data/raw/ (scripts/sources/)."""
import click

from scripts.core.cli import finish_step, root_option
from scripts.sources.scrape import scrape_workspace


@click.command()
@root_option
def cli(ws) -> None:
    """Scrape every account's profiles through Apify into data/raw/ (needs APIFY_TOKEN).

    Settings: <root>/scrape.yml if present, else the repository's scrape.yml."""
    finish_step(ws, "scrape", scrape_workspace, ws)


if __name__ == "__main__":
    cli()
