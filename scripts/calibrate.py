"""make calibrate: the analyzer's power and honesty on generated worlds (scripts/dev/calibrate.py)."""
import click

from scripts.dev.calibrate import run


@click.command()
@click.option("--seeds", default=10, show_default=True, help="Worlds per row (seeds 1..N)")
@click.option("--out", default=None, type=click.Path(dir_okay=False), help="Also write the tables to this file")
def cli(seeds: int, out: str | None) -> None:
    """Signal worlds (1.5x, 2x, 0.6x at ~30 posts a group) and null worlds: the share of planted
    effects found, and every claim and proposal where nothing differs. Exit 2 when a target fails."""
    raise SystemExit(run(seeds, out))
if __name__ == "__main__":
    cli()
