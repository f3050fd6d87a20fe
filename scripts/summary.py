"""The short summary `make demo` ends with: what is in the workspace and what to try next."""
from __future__ import annotations

import click
from rich.console import Console
from rich.table import Table

from scripts.db import open_db
from scripts.workspace import Workspace

ACCOUNT_SQL = """
SELECT p.account_name, p.platform, COUNT(DISTINCT p.post_id) AS posts,
       (SELECT COUNT(*) FROM metrics_snapshots ms JOIN posts q ON q.post_id = ms.post_id
         WHERE q.account_name = p.account_name AND q.platform = p.platform) AS snapshots,
       (SELECT followers FROM profile_snapshots ps WHERE ps.account_name = p.account_name
         AND ps.platform = p.platform ORDER BY scraped_at DESC LIMIT 1) AS followers,
       (SELECT MAX(scraped_at) FROM raw_files r WHERE r.account_name = p.account_name
         AND r.platform = p.platform) AS last_scrape
FROM posts p GROUP BY p.account_name, p.platform ORDER BY p.account_name, p.platform
"""


def accounts_table(db) -> Table:
    table = Table(title="Workspace")
    for column in ("account", "platform", "posts", "snapshots", "followers", "last scrape"):
        table.add_column(column, justify="right" if column in ("posts", "snapshots", "followers") else "left")
    for row in db.execute(ACCOUNT_SQL).fetchall():
        table.add_row(row[0], row[1], str(row[2]), str(row[3]), f"{row[4]:,}" if row[4] else "-", row[5] or "-")
    return table


def next_commands(ws: Workspace) -> list[str]:
    root = "" if str(ws.root) in (".", "") else f" ROOT={ws.root}"
    return [
        f"datasette {ws.db_path} -m metadata.yml      # browse tables, views and canned queries",
        f"make report{root} ACCOUNT=mymomskills FOCUS=formats",
        f"ls {ws.rec_dir('pending')}/                 # proposals; approve with git mv into approved/",
        f"make apply{root}                             # apply approved proposals to performance_context.json",
        f"open {ws.dashboard_dir}/all.html",
    ]


@click.command()
@click.option("--root", default=".", type=click.Path(file_okay=False), help="Workspace root (ROOT)")
def cli(root: str) -> None:
    """Print what the pipeline produced and the next commands to try."""
    ws = Workspace(root)
    console = Console(width=None if Console().is_terminal else 120)
    console.print(accounts_table(open_db(ws.db_path)))
    print("\nNext:")
    for line in next_commands(ws):
        print(f"  {line}")


if __name__ == "__main__":
    cli()
