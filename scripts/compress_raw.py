"""make compress-raw: gzip an older workspace's raw envelopes, once (scripts/sources/compress.py)."""
import click

from scripts.core.cli import finish_step, quiet_option, root_option
from scripts.sources.compress import compress_workspace


@click.command()
@root_option
@quiet_option
def cli(ws, quiet: bool) -> None:
    """Gzip every data/raw/<platform>/<account>/<stamp>.json into <stamp>.json.gz, verified before the
    .json is removed; load knows each converted file for the one it loaded. Safe to stop and rerun."""
    finish_step(ws, "compress-raw", compress_workspace, ws, quiet=quiet)


if __name__ == "__main__":
    cli()
