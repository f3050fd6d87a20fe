"""make cron: the crontab lines and launchd plists that run the pipeline (scripts/core/schedule.py)."""
import click

from scripts.core.schedule import print_schedule


@click.command()
@click.option("--root", default=".", type=click.Path(file_okay=False), help="Workspace root (ROOT)")
@click.option("--make", "make", default="make", show_default=True, help="The make program to run (GNU make)")
@click.option("--log", type=click.Path(dir_okay=False), help="Log file [default: <root>/data/cron.log]")
@click.option("--plist-dir", type=click.Path(file_okay=False), help="Also write the launchd plists here")
def cli(root: str, make: str, log: str | None, plist_dir: str | None) -> None:
    """Print crontab lines and launchd plists for `make daily` (08:00) and `make weekly` (Mon 09:00)."""
    print_schedule(root, make, log, plist_dir)


if __name__ == "__main__":
    cli()
