"""make report: terminal reports of one account or all of them, overall or on one analysis focus.

    python -m scripts.report --root R --account mymomskills              # overview
    python -m scripts.report --root R --account mymomskills --focus formats
    python -m scripts.report --root R --all [--focus hooks]

The tables are the canned queries (sql/queries/) run with the same :account, so the terminal,
Datasette and the dashboard always show the same numbers; the findings (their claims carry n,
effect, interval and q) come from data/insights/, the proposals from recommendations/pending/.
"""
from __future__ import annotations

import json
import os

from rich.console import Console
from rich.table import Table
from rich.text import Text

from scripts.analysis.headlines import label
from scripts.core.config import load_accounts
from scripts.core.db import open_db
from scripts.core.problems import Problems
from scripts.proposals.recommend import read_insights
from scripts.core.findings import CONFIDENCE_RANK, finding_rank
from scripts.proposals.recfiles import RecError, RecFile, read_states
from scripts.core.textsafety import printable
from scripts.outputs import charts, week
from scripts.outputs.queries import Result, run_query
from scripts.core.workspace import SCHEMA_DIR, Workspace, WorkspaceError, check_account_name, is_account_name

# the ten analysis dimensions, as the insights contract names them
DIMENSIONS = tuple(json.loads((SCHEMA_DIR / "insights.schema.json").read_text())
                   ["$defs"]["finding"]["properties"]["dimension"]["enum"])
# each focus report shows these canned queries (sql/queries/), then that dimension's findings
FOCUS_QUERIES = {
    "formats": ("formats",),
    "failures": ("worst_posts",),
    "pillars": ("pillars",),
    "save_vs_share": ("save_vs_share", "save_vs_share_by_cta"),
    "hooks": ("hooks",),
    "slide_count": ("slide_count",),
    "timing": ("timing",),
    "growth": ("follower_growth", "growth_curves"),
    "cross_account": (),  # its table is the findings' own per-account comparison (cross_account_table)
    "exploration": ("exploration",),
}
OVERVIEW_QUERY = "account_overview"
TOP_FINDINGS = 5
SHORT_TEXT = 24  # text columns up to this wide never wrap (names, dates); longer ones wrap
TERMINAL_HIDDEN = {"post_url", "series"}  # links are for clicking (Datasette and the dashboard); series names Datasette's chart lines
# what a dash in any table means (the reason per post and metric: the v_missing_metrics view)
MISSING_LEGEND = ("- = not known: the platform does not publish it, the scraper did not deliver it, or the "
                  "owner hid it (why, post by post: the v_missing_metrics view); never counted as 0")
NO_DATA = "no data yet: run make daily (or make load with envelopes in data/raw/), or make demo to try it on demo data"


class ReportError(ValueError):
    """A request the report cannot answer (unknown account or focus); one line."""


# --- findings and proposals -----------------------------------------------------------------

def read_insights_file(path, problems: Problems) -> dict | None:
    """One insights file as written (findings, and follow-ups when the analyzer writes them); None if it
    does not exist yet. A broken file is one problem line and an empty file's worth of findings."""
    if not path.exists():
        return None
    try:
        return read_insights(path)
    except RecError as exc:
        problems.add(str(exc))
        return {"account": path.stem, "findings": []}


def tagged_findings(insights: dict | None) -> list[dict] | None:
    """An insights file's findings, each tagged with its account ('all' for all.json), surest first."""
    if insights is None:
        return None
    owner = insights["account"]
    return sorted(({**f, "account": f.get("account") or owner} for f in insights["findings"]), key=finding_rank)


def read_findings_file(path, problems: Problems) -> list[dict] | None:
    """One insights file's findings, each tagged with its account ('all' for all.json), surest
    first; None if the file does not exist yet. A broken file is one problem line, no findings."""
    return tagged_findings(read_insights_file(path, problems))


def read_findings(ws: Workspace, accounts: list[str], problems: Problems) -> tuple[list[dict], bool]:
    """Findings of these accounts' insights files plus all.json; whether any file existed at all."""
    found = [read_findings_file(p, problems) for p in [ws.insights_path(a) for a in accounts] + [ws.all_insights_path]]
    findings = [f for part in found if part for f in part]
    return sorted(findings, key=finding_rank), any(part is not None for part in found)


def pending_recs(ws: Workspace, account: str | None, problems: Problems) -> list[RecFile]:
    recs, bad_files = read_states(ws, ("pending",))
    for line in bad_files:
        problems.add(line)
    recs = [r for r in recs if account is None or account in r.patches]   # cross-account files too
    return sorted(recs, key=lambda r: (-CONFIDENCE_RANK[r.data["confidence"]], r.path.name))


# --- rendering ------------------------------------------------------------------------------

def cell(value) -> str:
    """How a number reads in every table: thousands separated, NULL as a dash (never 0)."""
    if value is None:
        return "-"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def result_table(result: Result, limit: int, one_account: bool) -> Table:
    """The query's rows as a table; one account's report leaves out the account_name column."""
    keep = [i for i, c in enumerate(result.columns)
            if c not in TERMINAL_HIDDEN and not (one_account and c == "account_name")]
    table = Table(title=result.title, title_justify="left", caption_justify="left")
    for i in keep:
        values = [row[i] for row in result.rows if row[i] is not None]
        numeric = all(isinstance(v, (int, float)) for v in values)
        short = numeric or all(len(str(v)) <= SHORT_TEXT for v in values)
        table.add_column(label(result.columns[i]), justify="right" if numeric else "left", no_wrap=short)
    for row in result.rows[:limit]:
        table.add_row(*(Text(printable(cell(row[i]))) for i in keep))  # Text: brackets in captions are not markup
    notes = [MISSING_LEGEND] if any(row[i] is None for row in result.rows[:limit] for i in keep) else []
    if len(result.rows) > limit:
        notes.append(f"... {len(result.rows) - limit} more rows: --limit {len(result.rows)}, "
                     f"or the canned query '{result.name}' in Datasette")
    table.caption = ("\n".join(notes) or None) if result.rows else "no rows"
    return table


def findings_table(title: str, findings: list[dict], with_account: bool, details: bool = False) -> Table:
    """How sure, the platform and the finding in plain words; with details, also its statistical
    sentence (groups, n, effect, interval and q, as the analyzer wrote it)."""
    table = Table(title=title, title_justify="left")
    if with_account:
        table.add_column("account")
    for column in ("how sure", "platform", "finding"):
        table.add_column(column, no_wrap=column != "finding")
    for f in findings:
        text = week.headline(f) + (f"\n{f['claim']}" if details else "")
        row = [f"{week.GLYPHS[f['confidence']]} {week.TAGS[f['confidence']]}", platform_label(f, with_account), text]
        table.add_row(*(Text(printable(v)) for v in ([f.get("account") or "all"] if with_account else []) + row))
    return table


def platform_label(finding: dict, with_account: bool) -> str:
    """The finding's platform; on one account's page a cross-account finding says so."""
    label = finding.get("platform") or "both"
    return label if with_account or finding.get("account") != "all" else f"{label}, all accounts"


def recs_table(recs: list[RecFile], with_account: bool, findings: dict[str, dict], details: bool = False,
               root: str = "") -> Table:
    """Each pending proposal in plain words with its short id; with details, its numbers and file."""
    table = Table(title=f"This week: {len(recs)} proposal(s) to decide", title_justify="left")
    table.add_column("id", no_wrap=True)
    if with_account:
        table.add_column("account")
    for column in ("how sure", "proposal", "what changes") + (("numbers", "file") if details else ()):
        table.add_column(column, no_wrap=column == "how sure", ratio=3 if column == "proposal" else None,
                         overflow="fold" if column == "file" else "ellipsis")
    for rec in recs:
        item = week.decision(rec, findings, root)
        row = [f"{week.GLYPHS[item.confidence]} {week.TAGS[item.confidence]}", item.headline, "; ".join(item.change)]
        row += [item.insight, item.file] if details else []
        table.add_row(*(Text(printable(v)) for v in [item.short] + ([rec.account] if with_account else []) + row))
    return table


def print_commands(console: Console, recs: list[RecFile], account: str | None, root: str = "") -> None:
    """The approve command of each proposal, flush left on its own line, so it can be copied whole."""
    if not recs:
        console.print(Text("Nothing to decide: no pending proposals (make recommend writes this week's)."))
        return
    console.print(Text(f"Approve one (then make apply{root}), or reject it with make reject{root} ID=<id>:"),
                  soft_wrap=True)
    for rec in recs:
        console.print(Text(week.decision(rec, {}, root).approve), soft_wrap=True)
    console.print(Text(f"Or all of them, one key each: make review{root}{' ACCOUNT=' + account if account else ''}"),
                  soft_wrap=True)


def cross_account_table(findings: list[dict], details: bool) -> Table:
    """The cross-account findings account by account: each account's own ratio and n from the finding
    (the statistic its sentence states), and the pooled effect under 'all accounts'."""
    cells = week.cross_cells([f for f in findings if f["dimension"] == "cross_account"], charts.row_label)
    accounts = list(dict.fromkeys(c["account"] for c in sorted(cells, key=lambda c: (c["account"] == "all accounts",
                                                                                        c["account"]))))
    table = Table(title="Across accounts: each account against its own usual post (× ; n posts)", title_justify="left")
    table.add_column("posts")
    for account in accounts:
        table.add_column(account, justify="right", no_wrap=True)
    for name in dict.fromkeys(c["label"] for c in cells):
        mine = {c["account"]: c for c in cells if c["label"] == name}
        table.add_row(Text(printable(name)), *(Text(f"{mine[a]['ratio']:.2g}× ({mine[a]['n']})") if a in mine
                                                else Text("-") for a in accounts))
    table.caption = "no cross-account comparison yet" if not cells else \
        "1× = the account's usual post; fewer than 5 posts in a cell is too few to read" + (
            "" if details else "; make report DETAILS=1 for the statistics")
    return table


# --- the reports ----------------------------------------------------------------------------

def data_through(db) -> str | None:
    return db.execute("SELECT max(scraped_at) FROM raw_files").fetchone()[0]


def known_accounts(ws: Workspace, db) -> list[str]:
    """Accounts with a config or with posts; only valid names (a page is written per name)."""
    stored = [r[0] for r in db.execute("SELECT DISTINCT account_name FROM posts")] if db else []
    return sorted(name for name in set(ws.account_names()) | set(stored)
                  if is_account_name(name))


def overview(console: Console, ws: Workspace, db, account: str | None, limit: int, problems: Problems,
             details: bool = False) -> None:
    accounts = [account] if account else known_accounts(ws, db)
    findings, seen = read_findings(ws, accounts, problems)
    recs = pending_recs(ws, account, problems)
    root = week.root_arg(ws)
    console.print(recs_table(recs, account is None, {f["id"]: f for f in findings}, details, root))
    print_commands(console, recs, account, root)
    top = [f for f in findings if f.get("direction") != "none"][:TOP_FINDINGS if account else 2 * TOP_FINDINGS]
    if not seen:
        console.print("No findings yet: run make analyze.")
    else:
        console.print(findings_table("What we're learning (surest first)", top, account is None, details))
    console.print(result_table(run_query(db, OVERVIEW_QUERY, account), limit, account is not None))
    if not details:
        console.print(Text(f"The statistics behind each line: make report{root}{' ACCOUNT=' + account if account else ''} "
                           "DETAILS=1"), soft_wrap=True)
    followup_lines(console, ws, accounts)
    target = f"ACCOUNT={account}" if account else ""
    console.print(Text(f"Focused reports: make report{root} {target} FOCUS=<{'|'.join(DIMENSIONS)}>".replace("  ", " ")),
                  soft_wrap=True)


def followup_lines(console: Console, ws: Workspace, accounts: list[str]) -> None:
    """What we changed, and what happened: one line per applied change (insights `followups`)."""
    lines = []
    for name in accounts:
        try:
            followups = read_insights(ws.insights_path(name)).get("followups") or []
        except RecError:  # missing or broken: the findings above have said so
            continue
        for f in followups:
            effect = f"{f['effect']:.2f}x" if isinstance(f.get("effect"), (int, float)) else "-"
            lever = ", ".join(f"{k}={v}" for k, v in f["lever"].items()) or "-"
            lines.append(f"  {f['status']:<9} {name} {f['applied_at'][:10]} {f['category']} ({lever}): {effect}. "
                         f"{printable(f['claim'])}")
    if lines:
        console.print(Text("What we changed, and what happened (follow-ups):", style="bold"))
        for line in lines:
            console.print(Text(line))


def focus_report(console: Console, ws: Workspace, db, account: str | None, focus: str, limit: int,
                 problems: Problems, details: bool = False) -> None:
    for name in FOCUS_QUERIES[focus]:
        console.print(result_table(run_query(db, name, account), limit, account is not None))
    if focus == "exploration":
        untried = untried_formats(ws, db, account)
        if untried:
            console.print(Text("Formats in config.yml never posted: "
                               + "; ".join(f"{a}: {', '.join(fmts)}" for a, fmts in untried.items())))
    accounts = [account] if account else known_accounts(ws, db)
    findings, seen = read_findings(ws, accounts, problems)
    if focus == "cross_account":
        console.print(cross_account_table(findings, details))
    wanted = [f for f in findings if f["dimension"] == focus
              or (focus == "failures" and f.get("direction") == "worse")]
    if not seen:
        console.print("No findings yet: run make analyze.")
    elif not wanted:
        console.print(f"No {focus} findings: nothing the data supports yet.")
    else:
        console.print(findings_table(f"Findings: {focus}", wanted, account is None, details))


def untried_formats(ws: Workspace, db, account: str | None) -> dict[str, list[str]]:
    """Formats an account's config lists that it has never posted (exploration candidates)."""
    configs, _ = load_accounts(ws)  # a broken config is load's to report, not the report's
    untried = {}
    for name, config in configs.items():
        if account and name != account:
            continue
        posted = {r[0] for r in db.execute("SELECT DISTINCT format FROM posts WHERE account_name = ?", [name])}
        missing = [f for f in config.formats if f not in posted]
        if missing:
            untried[name] = missing
    return untried


def check_request(ws: Workspace, db, account: str | None, focus: str | None) -> None:
    if focus is not None and focus not in DIMENSIONS:
        raise ReportError(f"unknown focus {focus!r} (expected one of {', '.join(DIMENSIONS)})")
    if account is None:
        return
    try:
        check_account_name(account)
    except WorkspaceError as exc:
        raise ReportError(str(exc)) from None
    known = known_accounts(ws, db)
    if account not in known:
        raise ReportError(f"unknown account {account!r} (known: {', '.join(known) or 'none yet'}; "
                          f"an account is a folder accounts/<name>/ with a config.yml)")


def report(ws: Workspace, account: str | None, focus: str | None, limit: int, console: Console,
           details: bool = False) -> Problems:
    problems = Problems("report")
    db = open_db(ws.db_path) if ws.db_path.exists() else None
    try:
        check_request(ws, db, account, focus)
    except ReportError as exc:
        problems.add(str(exc))
        return problems
    has_posts = db is not None and db.execute(
        "SELECT 1 FROM posts WHERE ? = '' OR account_name = ? LIMIT 1", [account or "", account or ""]).fetchone()
    if not has_posts:
        console.print(Text(f"{account}: {NO_DATA}" if account else NO_DATA))
        return problems
    heading = account or "All accounts"
    console.print(Text(f"{heading}: {focus or 'overview'} (data through {data_through(db) or '-'})", style="bold"))
    if focus:
        focus_report(console, ws, db, account, focus, limit, problems, details)
    else:
        overview(console, ws, db, account, limit, problems, details)
    return problems


def make_console() -> Console:
    """The terminal's width in a terminal; 160 columns in a pipe or file (unless COLUMNS says)."""
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=160)
    return console


def report_command(ws: Workspace, account: str | None, all_accounts: bool, focus: str | None,
                   limit: int, details: bool = False) -> Problems:
    """`make report`: --account and --all exclude each other; the report goes to the terminal."""
    if account and all_accounts:
        problems = Problems("report")
        problems.add("--account and --all exclude each other")
        return problems
    return report(ws, account, focus, limit, make_console(), details)
