"""make analyze: findings per account and across accounts into data/insights/ (scripts/analysis/)."""
import click

from scripts.analysis.analyze import analyze_workspace
from scripts.core.cli import finish_step, quiet_option, root_option


@click.command()
@root_option
@quiet_option
def cli(ws, quiet: bool) -> None:
    """Analyze every account into data/insights/<account>.json and data/insights/all.json."""
    finish_step(ws, "analyze", analyze_workspace, ws, quiet=quiet)


if __name__ == "__main__":
    cli()
