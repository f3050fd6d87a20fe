"""make simulate: the learning loop on a simulated world, with its checks (scripts/dev/simulate.py)."""
import sys

import click

from scripts.dev.simulate import APPROVE, SEEDS, WEEKS, WORLDS, approve_levels, run_simulation


@click.command()
@click.option("--dir", "folder", default="simulate", show_default=True, type=click.Path(file_okay=False),
              help="Where the simulated workspaces go (<dir>/<world>-<seed>, replaced each run)")
@click.option("--seeds", default=",".join(map(str, SEEDS)), show_default=True, help="Comma-separated seeds")
@click.option("--weeks", default=WEEKS, show_default=True, help="Simulated weeks")
@click.option("--accounts", default=2, show_default=True, type=click.IntRange(1, 2), help="Simulated accounts")
@click.option("--worlds", default=",".join(WORLDS), show_default=True, help="planted, null or both")
@click.option("--approve", default=",".join(APPROVE), show_default=True,
              help="The confidence levels the simulated person approves (the rest are rejected)")
def cli(folder: str, seeds: str, weeks: int, accounts: int, worlds: str, approve: str) -> None:
    """Run the simulated generator and the real pipeline week by week; print the checks' table.
    Exit 0 when every check passed, 2 when one failed."""
    sys.exit(run_simulation(folder, [int(s) for s in seeds.split(",")], weeks, accounts, worlds.split(","),
                            approve_levels(approve)))


if __name__ == "__main__":
    cli()
