"""make bench: how the pipeline scales, on a generated world under bench/ (scripts/dev/bench.py)."""
import sys

import click

from scripts.dev.bench import run_bench


@click.command()
@click.option("--dir", "bench_dir", default="bench", show_default=True, type=click.Path(file_okay=False),
              help="Where the world (<dir>/ws), the logs and results.json go")
@click.option("--accounts", default=50, show_default=True, help="Accounts in the generated world")
@click.option("--days", default=365, show_default=True, help="Days of daily scrapes, both platforms")
@click.option("--seed", default=7, show_default=True, help="Random seed of the world")
def cli(bench_dir: str, accounts: int, days: int, seed: int) -> None:
    """Measure load throughput (vs a bare loader), step times, a no-op make weekly and peak memory.
    Exit 0 when every target passed, 2 when a target failed, 1 when a step failed."""
    sys.exit(run_bench(bench_dir, accounts, days, seed))


if __name__ == "__main__":
    cli()
