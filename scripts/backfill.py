"""make backfill: match posts to generator output folders and classify them (scripts/store/backfill.py)."""
import click

from scripts.core.cli import finish_step, quiet_option, root_option
from scripts.store.backfill import MIN_SCORE, WINDOW_DAYS, Settings, backfill_workspace


@click.command()
@root_option
@click.option("--full", is_flag=True, help="Redo every account, even those unchanged since the last run")
@click.option("--window-days", default=WINDOW_DAYS, show_default=True, type=click.FloatRange(min=0.1),
              help="Latest publication after a folder's generated_at that can still match it")
@click.option("--min-score", default=MIN_SCORE, show_default=True, type=click.FloatRange(0, 100),
              help="Lowest match score (0-100) accepted as a match")
@quiet_option
def cli(ws, full: bool, window_days: float, min_score: float, quiet: bool) -> None:
    """Match posts to generator output folders (accounts/<name>/output/**/meta.json) and classify
    every post's hook style, CTA and content pillar, into data/analytics.db."""
    finish_step(ws, "backfill", backfill_workspace, ws, Settings(window_days, min_score), full=full, quiet=quiet)


if __name__ == "__main__":
    cli()
