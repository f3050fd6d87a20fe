"""make import: an Apify dataset export (JSON or CSV) into raw envelopes under data/raw/ (scripts/sources/)."""
import click

from scripts.core.cli import account_option, finish, now_option, root_option
from scripts.core.workspace import PLATFORMS
from scripts.sources.export_import import ImportRequest, import_export


@click.command()
@root_option
@click.option("--file", "export", default=None, help="The export: a JSON array of dataset items, or a .csv (FILE)")
@account_option("Import only this account's items (ACCOUNT)")
@click.option("--platform", type=click.Choice(PLATFORMS), default=None,
              help="The items' platform, if it cannot be told from them (PLATFORM)")
@click.option("--scraped-at", default=None,
              help="When the export's run scraped (ISO-8601), used if the items do not say (SCRAPED_AT)")
@now_option
def cli(ws, export, account, platform, scraped_at, now) -> None:
    """Split an Apify dataset export by owner into data/raw/<platform>/<account>/<stamp>.json.gz.

    Then run `make load`. Nothing is overwritten; items of no configured account are only counted."""
    finish(import_export(ws, ImportRequest(export, account, platform, scraped_at, now)))


if __name__ == "__main__":
    cli()
