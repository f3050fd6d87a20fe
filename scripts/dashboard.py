"""make dashboard: self-contained HTML per account and all.html (scripts/outputs/dashboard.py)."""
import click

from scripts.core.cli import finish_step, quiet_option, root_option
from scripts.outputs.dashboard import build_dashboards


@click.command()
@root_option
@quiet_option
def cli(ws, quiet: bool) -> None:
    """Write data/dashboard/<account>.html and all.html (self-contained, open offline)."""
    finish_step(ws, "dashboard", build_dashboards, ws, quiet=quiet)


if __name__ == "__main__":
    cli()
