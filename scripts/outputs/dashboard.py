"""make dashboard: data/dashboard/<account>.html and data/dashboard/all.html.

Self-contained single files that open offline: the Vega, Vega-Lite and Vega-Embed bundle from
vl-convert is inlined once per file, the chart data is inline JSON, nothing loads from a CDN.
Per account: summary, engagement trend, format bars, pillar heatmap, save-vs-share scatter (TikTok),
top findings, pending recommendations and a sortable post table. all.html: the summary of every
account, the cross-account panel (format lift, follower growth), findings and proposals of all.
all.html is written last: it is the Make target, so it only appears once every page is done.

The numbers come from the canned queries of sql/queries/ (the same SQL as `make report` and
Datasette), each run once for all accounts and split by account, so 50 accounts cost 50 page
writes, not 50 x the queries.
"""
from __future__ import annotations

import os
from html import escape
from collections import defaultdict
from pathlib import Path

import jinja2
import vl_convert
from markupsafe import Markup

from scripts.outputs import charts
from scripts.core.db import missing_data, open_db
from scripts.core.findings import finding_rank
from scripts.core.files import write_text_atomic
from scripts.core.textsafety import tag_safe_json
from scripts.core.problems import Problems
from scripts.proposals.decide import short_id
from scripts.proposals.recfiles import RecFile, describe_patch
from scripts.outputs.queries import run_query
from scripts.outputs.report import MISSING_LEGEND, TOP_FINDINGS, known_accounts, pending_recs, platform_label, read_findings_file
from scripts.core.timeutil import to_iso, utc_now
from scripts.core.workspace import Workspace

TEMPLATE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
).get_template("dashboard.html.j2")
ACCOUNT_QUERIES = ("account_overview", "engagement_trend", "formats", "pillar_heatmap", "save_vs_share_posts", "post_list")
ALL_QUERIES = ("account_overview", "cross_account", "follower_trend")
POST_COLUMNS = ("published", "platform", "format", "content_pillar", "hook_style", "slides", "views_d7",
                "likes_d7", "engagement_pct_d7", "views", "likes", "saves", "shares", "age_days", "text",
                "post_url")
TEXT_CHARS = 120
ALL_FINDINGS = 20


# --- the inline Vega bundle ---------------------------------------------------------------

def vega_bundle() -> str:
    """vl-convert's JS bundle (~0.9 MB). Building it takes seconds, so it is cached per version
    in the user's cache folder; without a writable cache it is simply built each run."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "account-analytics"
    path = cache / f"vega-bundle-{vl_convert.__version__}.js"
    try:
        bundle = path.read_text(encoding="utf-8")
    except OSError:
        bundle = vl_convert.javascript_bundle()
        try:
            write_text_atomic(path, bundle)
        except OSError:
            pass
    # the bundle goes inside <script>: nothing in it may close the element early
    return bundle.replace("</script", "<\\/script")


def bundle_versions() -> str:
    return (f"vega {vl_convert.get_vega_version()}, vega-lite {vl_convert.get_vegalite_versions()[-1]}, "
            f"vega-embed {vl_convert.get_vega_embed_version()}")


# --- data ---------------------------------------------------------------------------------

def rows_by_account(db, names: tuple[str, ...]) -> dict[str, dict[str, list[dict]]]:
    """query name -> account -> rows (dicts), each query run once for every account."""
    grouped: dict[str, dict[str, list[dict]]] = {}
    for name in names:
        result = run_query(db, name, None)
        per_account = defaultdict(list)
        for row in result.rows:
            record = dict(zip(result.columns, row))
            per_account[record["account_name"]].append(record)
        grouped[name] = per_account
    return grouped


def cell_html(column: str, value, title: str | None = None) -> str:
    """One escaped table cell: a link (only http(s), never javascript:), a number (sorted by its
    data-v value) or text (shortened; the whole text, or `title`, shows on hover)."""
    if column == "post_url":
        ok = isinstance(value, str) and value.startswith(("https://", "http://"))
        return f'<td><a href="{escape(value)}" rel="noopener noreferrer">open</a></td>' if ok else "<td>-</td>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num" data-v="{value}">{value:,}</td>'
    text = "-" if value is None else " ".join(str(value).split())
    short = text if len(text) <= TEXT_CHARS else text[:TEXT_CHARS - 1] + "…"
    hover = title if title is not None else (text if short != text else None)
    return f'<td class="text" title="{escape(hover)}">{escape(short)}</td>' if hover else \
        f'<td class="text">{escape(short)}</td>'


def table_html(rows: list[dict], columns, table_id: str | None = None, titles: dict | None = None) -> Markup:
    """A plain HTML table, escaped here (html.escape); with an id it is sortable by clicking a
    heading. titles: column -> row field whose text shows on hover (the caption behind a hook).
    Built in Python rather than a template loop: 50 accounts' post tables are ~0.5 M cells."""
    titles = titles or {}
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(cell_html(c, r.get(c), hover_text(r, titles.get(c))) for c in columns)
                     + "</tr>" for r in rows)
    attributes = f' class="sortable" id="{escape(table_id)}"' if table_id else ""
    return Markup(f"<table{attributes}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>")


def hover_text(row: dict, field: str | None) -> str | None:
    if field is None:
        return None
    return " ".join((row.get(field) or "").split()) or None


def finding_view(finding: dict, with_account: bool) -> dict:
    return {"account": finding.get("account") or "all", "confidence": finding["confidence"],
            "platform": platform_label(finding, with_account), "claim": finding["claim"]}


def rec_view(rec: RecFile) -> dict:
    return {"id": short_id(rec.data["id"]), "account": rec.account, "confidence": rec.data["confidence"],
            "category": rec.data["category"],
            "insight": rec.data["insight"], "change": "; ".join(describe_patch(rec.data["patch"])),
            "file": rec.path.name}


def without_account(rows: list[dict]) -> list[str]:
    return [c for c in (rows[0] if rows else {}) if c != "account_name"]


# --- pages --------------------------------------------------------------------------------

class Page:
    """Charts are registered as they are built; each gets a container id and its spec."""

    def __init__(self):
        self.specs: dict[str, dict] = {}

    def chart(self, key: str, title: str, spec: dict | None) -> dict:
        if spec is None:
            return {"spec_id": None, "title": title}
        spec_id = f"chart-{key}"
        self.specs[spec_id] = spec
        return {"spec_id": spec_id, "title": title}


def render(page: Page, **context) -> str:
    return TEMPLATE.render(specs_json=tag_safe_json(page.specs), **context)


def account_html(account: str, data: dict, findings: list[dict] | None, recs: list[RecFile],
                 common: dict) -> str:
    mine = {name: data[name].get(account, []) for name in ACCOUNT_QUERIES}
    page = Page()
    sections = [
        {"title": "Engagement over time", "note": None, "charts": [
            page.chart("trend", "Engagement trend", charts.engagement_trend(mine["engagement_trend"]))]},
        {"title": "Formats and pillars", "note": "Day-7 numbers; hover a bar or cell for the number of posts.",
         "charts": [page.chart("formats", "Format performance", charts.format_bars(mine["formats"])),
                    page.chart("pillars", "Pillar heatmap", charts.pillar_heatmap(mine["pillar_heatmap"]))]},
        {"title": "Save vs share (TikTok)", "note": "Instagram publishes neither saves nor shares.", "charts": [
            page.chart("save-share", "Save vs share", charts.save_share_scatter(mine["save_vs_share_posts"]))]},
    ]
    top = [f for f in findings if f.get("direction") != "none"][:2 * TOP_FINDINGS] if findings is not None else None
    return render(page, title=f"{account}: account analytics", sections=sections, has_data=bool(mine["post_list"]),
                  summary=table_html(mine["account_overview"], without_account(mine["account_overview"]), "summary"),
                  findings=None if top is None else [finding_view(f, False) for f in top], show_account=False,
                  recs=[rec_view(r) for r in recs],
                  posts=table_html(mine["post_list"], POST_COLUMNS, "posts", {"text": "caption"}), **common)


def all_html(data: dict, findings: list[dict] | None, recs: list[RecFile], common: dict, has_data: bool) -> str:
    flat = {name: [r for rows in data[name].values() for r in rows] for name in ALL_QUERIES}
    page = Page()
    sections = [{"title": "Cross-account", "note": "Lift compares each format with the account's own average, "
                                                   "so large and small accounts weigh the same.",
                 "charts": [page.chart("lift", "Format lift", charts.lift_heatmap(flat["cross_account"])),
                            page.chart("followers", "Follower growth", charts.follower_growth(flat["follower_trend"]))]}]
    summary = flat["account_overview"]
    return render(page, title="All accounts: account analytics", sections=sections, has_data=has_data,
                  summary=table_html(summary, list(summary[0]) if summary else [], "summary"),
                  findings=None if findings is None else [finding_view(f, True) for f in findings[:ALL_FINDINGS]],
                  show_account=True, recs=[rec_view(r) for r in recs], posts=None, **common)


def strongest_overall(cross: list[dict] | None, per_account: dict[str, list[dict] | None]) -> list[dict] | None:
    """all.json's findings and every account's directional ones, surest first; None before analyze."""
    if cross is None and all(f is None for f in per_account.values()):
        return None
    own = [f for findings in per_account.values() for f in findings or [] if f.get("direction") != "none"]
    return sorted((cross or []) + own, key=finding_rank)


def build_dashboards(ws: Workspace, quiet: bool = False) -> Problems:
    problems = Problems("dashboard")
    refusal = missing_data(ws)
    if refusal:  # the pages that exist show the last good data; empty ones would hide it
        problems.add(f"{refusal}; no page was replaced")
        return problems
    db = open_db(ws.db_path) if ws.db_path.exists() else None
    accounts = known_accounts(ws, db)
    has_data = db is not None and db.execute("SELECT 1 FROM posts LIMIT 1").fetchone() is not None
    # the nav links only the pages this run writes: no data, no account pages
    common = {"accounts": accounts if has_data else [], "generated_at": to_iso(utc_now()), "bundle": vega_bundle(),
              "missing_legend": MISSING_LEGEND,
              "versions": bundle_versions(),
              "data_through": db.execute("SELECT max(scraped_at) FROM raw_files").fetchone()[0] if db else None}
    data = rows_by_account(db, tuple(dict.fromkeys(ACCOUNT_QUERIES + ALL_QUERIES))) if has_data else None
    recs = pending_recs(ws, None, problems)
    per_account = {}
    for account in accounts:
        per_account[account] = findings = read_findings_file(ws.insights_path(account), problems)
        if data is not None:
            html = account_html(account, data, findings, [r for r in recs if r.account == account], common)
            write_text_atomic(ws.dashboard_dir / f"{account}.html", html)
    strongest = strongest_overall(read_findings_file(ws.all_insights_path, problems), per_account)
    empty = {name: {} for name in ALL_QUERIES}
    write_text_atomic(ws.dashboard_dir / "all.html", all_html(data or empty, strongest, recs, common, has_data))
    if not quiet:
        pages = len(accounts) if data is not None else 0
        print(f"dashboard: wrote {pages} account page(s) and all.html in {ws.dashboard_dir}")
    return problems
