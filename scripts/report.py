"""make report: terminal reports of one account or all, overall or on one focus (scripts/outputs/report.py)."""
import click

from scripts.core.cli import finish, root_option
from scripts.outputs.report import DIMENSIONS, report_command


@click.command()
@root_option
@click.option("--account", default=None, help="One account's report")
@click.option("--all", "all_accounts", is_flag=True, help="Every account (the default without --account)")
@click.option("--focus", default=None, help=f"One analysis dimension: {', '.join(DIMENSIONS)}")
@click.option("--limit", default=25, show_default=True, help="Rows shown per table")
@click.option("--details", is_flag=True, help="Also the statistics behind each finding and proposal")
def cli(ws, account: str | None, all_accounts: bool, focus: str | None, limit: int, details: bool) -> None:
    """Terminal report: this week's proposals, what we're learning, the summary; or one --focus."""
    finish(report_command(ws, account, all_accounts, focus, limit, details))


if __name__ == "__main__":
    cli()
