"""Build the synthetic demo workspace (scripts/dev/demo.py) for make demo, the tests and the bench."""
import sys
from datetime import date

import click

from scripts.dev.demo import DemoExists, create_demo, make_repository


@click.command()
@click.option("--root", default="demo", type=click.Path(file_okay=False), help="Workspace to create")
@click.option("--seed", default=7, show_default=True, help="Random seed (same seed, same world)")
@click.option("--days", default=120, show_default=True, help="Days of daily scrapes")
@click.option("--end", default="2026-11-23", show_default=True, type=date.fromisoformat,
              help="Last day of the world (YYYY-MM-DD)")
@click.option("--accounts", default=4, show_default=True, help="Accounts (more than 4 adds synthetic ones)")
@click.option("--null", "null", is_flag=True, help="No planted effects: every group is the same")
@click.option("--force", is_flag=True, help="Replace an existing workspace at --root")
@click.option("--repository", is_flag=True, help="Only make the existing workspace a git repository (make demo)")
def cli(root, seed, days, end, accounts, null, force, repository):
    """Generate a synthetic workspace for the demo, the tests and the benchmark."""
    if repository:
        return print(make_repository(root))
    try:
        print(create_demo(root, seed, days, end, accounts, null, force))
    except DemoExists as exc:
        sys.exit(f"demo: {exc}")


if __name__ == "__main__":
    cli()
