"""The short summary `make demo` ends with: what is in the workspace and what to try next."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from scripts.core.db import open_db
from scripts.core.files import read_json
from scripts.core.workspace import Workspace

# snapshots counted in one pass over them (their index leads with the scrape time, not the post)
ACCOUNT_SQL = """
WITH snapshots AS MATERIALIZED (
    SELECT q.account_name, q.platform, COUNT(*) AS n
    FROM metrics_snapshots ms JOIN posts q ON q.post_id = ms.post_id
    GROUP BY q.account_name, q.platform
)
SELECT p.account_name, p.platform, COUNT(DISTINCT p.post_id) AS posts,
       SUM(p.output_folder IS NOT NULL) AS matched,
       (SELECT n FROM snapshots s WHERE s.account_name = p.account_name AND s.platform = p.platform) AS snapshots,
       (SELECT followers FROM profile_snapshots ps WHERE ps.account_name = p.account_name
         AND ps.platform = p.platform ORDER BY scraped_at DESC LIMIT 1) AS followers,
       (SELECT MAX(scraped_at) FROM raw_files r WHERE r.account_name = p.account_name
         AND r.platform = p.platform) AS last_scrape
FROM posts p GROUP BY p.account_name, p.platform ORDER BY p.account_name, p.platform
"""


NUMBERS = ("posts", "matched", "snapshots", "followers", "findings hi/med", "pending")


def findings_count(ws: Workspace, account: str) -> str:
    """'high/medium' findings in the account's insights file, or '-' before analyze ran."""
    path = ws.insights_path(account)
    if not path.exists():
        return "-"
    levels = [f.get("confidence") for f in read_json(path).get("findings", [])]
    return f"{levels.count('high')}/{levels.count('medium')}"


def pending_count(ws: Workspace, account: str) -> int:
    return len(list(ws.rec_dir("pending").glob(f"{account}--*.json")))


def accounts_table(db, ws: Workspace) -> Table:
    table = Table(title="Workspace")
    for column in ("account", "platform", *NUMBERS, "last scrape"):
        table.add_column(column, justify="right" if column in NUMBERS else "left")
    shown: set[str] = set()
    for account, platform, posts, matched, snapshots, followers, last in db.execute(ACCOUNT_SQL).fetchall():
        # findings and proposals are per account: shown once, on its first platform row
        first = account not in shown
        shown.add(account)
        table.add_row(account, platform, str(posts), str(matched or 0), str(snapshots),
                      f"{followers:,}" if followers else "-",
                      findings_count(ws, account) if first else "", str(pending_count(ws, account)) if first else "",
                      last[:16].replace("T", " ") if last else "-")
    return table


def next_commands(ws: Workspace) -> list[tuple[str, str]]:
    root = "" if str(ws.root) in (".", "") else f" ROOT={ws.root}"
    account = next(iter(ws.account_names()), "<account>")
    return [
        (f"make report{root} ACCOUNT={account}", "this week's proposals with their approve commands, then findings"),
        (f"make report{root} ACCOUNT={account} FOCUS=formats", "one dimension (formats, hooks, timing, ...)"),
        (f"make review{root} ACCOUNT={account}", "approve / reject proposals, one key each"),
        (f"make apply{root}", "approved proposals -> performance_context.json"),
        (f"make digest{root}", "this week in plain words, as cron mails it"),
        (f"make datasette{root}", "browse tables, views, canned queries and charts"),
        (f"open {ws.dashboard_dir}/all.html", "the offline dashboard"),
    ]


def print_summary(ws: Workspace) -> None:
    console = Console(width=None if Console().is_terminal else 140)
    console.print(accounts_table(open_db(ws.db_path), ws))
    print("\nNext:")
    commands = next_commands(ws)
    width = max(len(command) for command, _ in commands)
    for command, what in commands:
        print(f"  {command:<{width}}  # {what}")
