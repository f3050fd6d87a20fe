"""make bench: how the pipeline scales, on a generated world under bench/ (scripts/dev/bench.py)."""
import sys

import click

from scripts.dev.bench import parse_scales, run_bench


@click.command()
@click.option("--dir", "bench_dir", default="bench", show_default=True, type=click.Path(file_okay=False),
              help="Where the world (<dir>/ws), the logs and results.json go")
@click.option("--accounts", "scales", default="10,25,50", show_default=True, callback=lambda ctx, param, value: parse_scales(value),
              help="The scales: accounts of each world, comma-separated (the largest is generated)")
@click.option("--days", default=365, show_default=True, help="Days of daily scrapes, both platforms")
@click.option("--seed", default=7, show_default=True, help="Random seed of the world")
def cli(bench_dir: str, scales: list[int], days: int, seed: int) -> None:
    """Measure load throughput (vs a bare loader), step times and peak memory at each scale, their
    growth exponents, gzipped raw files, and a no-op make weekly.
    Exit 0 when every target passed, 2 when a target failed, 1 when a step failed."""
    sys.exit(run_bench(bench_dir, scales, days, seed))


if __name__ == "__main__":
    cli()
