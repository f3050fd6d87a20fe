"""make digest (the end of make weekly): a short plain-text summary per account for cron's mail.

Per account, at most about fifteen lines: what to decide (each proposal in words, with the command
that approves it on a line of its own), what changed since last week, and what happened to earlier
changes (the analyzer's follow-ups, when it writes them). Plain ASCII words, no colour, no tables, so it
reads the same in a mail client, a terminal and data/digest.md, which gets the same text (atomically).
The words come from the same places as the dashboard's: headlines.py and outputs/week.py.
"""
from __future__ import annotations

from scripts.analysis.headlines import proposal_action
from scripts.core.db import open_db
from scripts.core.files import write_text_atomic
from scripts.core.problems import Problems
from scripts.core.timeutil import parse_utc, to_iso, utc_now
from scripts.core.workspace import Workspace
from scripts.outputs import week
from scripts.outputs.report import known_accounts, pending_recs, read_insights_file, tagged_findings

MAX_DECISIONS = 5
MAX_CHANGES = 3
MAX_FOLLOWUPS = 3


def ascii_words(text: str) -> str:
    """The digest is plain ASCII for any mail client: the few non-ASCII signs the headlines use, spelled."""
    return (text.replace("×", "x").replace("–", "-").replace("—", "-").replace("½", "1/2").replace("¼", "1/4")
            .replace("⅛", "1/8").encode("ascii", "replace").decode("ascii"))


def day(iso) -> str:
    moment = parse_utc(iso)
    return f"{moment.day} {moment:%b %Y}" if moment else "-"


def decision_lines(items: list[week.Decision], recs, account: str | None, root: str = "") -> list[str]:
    if not items:
        return ["Nothing to decide this week (no pending proposals)."]
    sure = sum(1 for i in items if i.confidence == "high")
    lines = [f"DECIDE: {len(items)} proposal{'s' if len(items) != 1 else ''} ({sure} confident)"]
    for item, rec in list(zip(items, recs))[:MAX_DECISIONS]:
        lines.append(f"#{item.short} [{week.TAGS[item.confidence]}] {proposal_action(rec.data, item.finding)}")
        lines.append(item.approve)
    more = f"{len(items) - MAX_DECISIONS} more and " if len(items) > MAX_DECISIONS else ""
    lines.append(f"Reject: make reject{root} ID=<id>. {more.capitalize()}{'the' if more else 'The'} reasons: "
                 f"make report{root}{' ACCOUNT=' + account if account else ''}")
    return lines


def change_lines(changes: list[week.Change] | None, since: str | None) -> list[str]:
    if changes is None:
        return ["CHANGED: first analysis on record; next week's digest compares with it."]
    if not changes:
        return [f"CHANGED: no finding changed since {since}."]
    lines = [f"CHANGED since {since}:"]
    lines += [f"  {c.words}: {c.headline}" for c in changes[:MAX_CHANGES]]
    if len(changes) > MAX_CHANGES:
        lines.append(f"  ... and {len(changes) - MAX_CHANGES} more on the dashboard")
    return lines


def followup_lines(items: list[dict] | None) -> list[str]:
    if items is None:
        return []  # the analyzer writes no follow-ups (yet): nothing to say
    if not items:
        return ["EARLIER CHANGES: none applied yet (approve one, then make apply)."]
    return ["EARLIER CHANGES:"] + [f"  {week.followup_line(f)}" for f in items[:MAX_FOLLOWUPS]]


def account_digest(ws: Workspace, account: str, insights: dict | None, recs, known: dict[str, dict]) -> list[str]:
    findings = tagged_findings(insights) or []
    known = {**known, **{f["id"]: f for f in findings}}
    items = [week.decision(r, known, week.root_arg(ws)) for r in recs]
    lines = [f"== {account} ==" if account != "all" else "== all accounts (one proposal for every account) =="]
    if insights is None and account != "all":
        lines.append("No findings yet: run make weekly.")
    lines += decision_lines(items, recs, account if account != "all" else None, week.root_arg(ws))
    if account != "all" and insights is not None:
        before = week.earlier_run(week.read_history(week.history_path(ws, account)), insights.get("generated_at"))
        lines += change_lines(None if before is None else week.changes_since(findings, before),
                              day(before["generated_at"]) if before else None)
        lines += followup_lines(week.followups(insights))
        lines.append(f"Details: {ws.dashboard_dir / (account + '.html')}")
    return [ascii_words(line) for line in lines]


def digest_text(ws: Workspace, problems: Problems) -> str:
    db = open_db(ws.db_path) if ws.db_path.exists() else None
    accounts = known_accounts(ws, db)
    recs = pending_recs(ws, None, problems)
    if not accounts:
        return "account-analytics weekly digest\nNo accounts yet: add accounts/<name>/config.yml, or run make demo.\n"
    cross = read_insights_file(ws.all_insights_path, problems)
    known = {f["id"]: f for f in tagged_findings(cross) or []}
    blocks = [f"account-analytics weekly digest, {day(to_iso(utc_now()))}"]
    if db is None:
        blocks.append("No data yet: run make daily (or make demo to try it on demo data).")
    for account in accounts + (["all"] if any(r.account == "all" for r in recs) else []):
        insights = read_insights_file(ws.insights_path(account), problems) if account != "all" else cross
        mine = [r for r in recs if r.account == account]
        blocks.append("\n".join(account_digest(ws, account, insights, mine, known)))
    blocks.append(f"Review everything at once, one key each: make review{week.root_arg(ws)} ACCOUNT=<name>")
    return "\n\n".join(blocks) + "\n"


def digest(ws: Workspace, quiet: bool = False) -> Problems:
    """Print the digest and write it to data/digest.md."""
    problems = Problems("digest")
    text = digest_text(ws, problems)
    ws.data_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(ws.digest_path, text)
    if not quiet:
        print(text, end="")
    return problems
