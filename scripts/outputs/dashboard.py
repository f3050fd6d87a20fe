"""make dashboard: data/dashboard/<account>.html and data/dashboard/all.html.

Self-contained single files that open offline: the Vega, Vega-Lite and Vega-Embed bundle from
vl-convert is inlined once per file, the chart data is inline JSON, nothing loads from a CDN.

Decision first, evidence second, statistics last and folded away. An account page has, in order:
"This week" (each pending proposal in plain words, the chart of the finding it rests on, and the
exact command that approves it), "What changed since last week", "What we changed, and what happened"
(the analyzer's follow-ups, when it writes them), "What we're learning" (one effect chart per analysis
dimension, drawn from the findings' own effects and intervals), then "Your posts in numbers" (averages,
labelled as such) and a searchable table of every post. all.html has every proposal, the cross-account
findings account by account, follower growth as small multiples and every account's summary.
all.html is written last: it is the Make target, so it only appears once every page is done.

A page whose inputs did not change since it was built is left as it is (docs/outputs.md): every page's
inputs (its insights, the pending proposals it shows and the findings they cite, its history of earlier
runs, its account's state in the database (all.html: the rows of its queries), the list of accounts,
its account's newest scrape (all.html: the newest of all), the output code and SQL) are fingerprinted
into data/cache/dashboard/manifest.json when it is written. Only the clock ("page built") is no input:
an unchanged page keeps the time it was built.

The post numbers come from the canned queries of sql/queries/ (the same SQL as `make report` and
Datasette), each run once for all accounts and read account by account.
"""
from __future__ import annotations

import hashlib
import json
import os
import platform
import sqlite3
from collections import defaultdict
from importlib import metadata
from html import escape
from pathlib import Path

import jinja2
import vl_convert
from markupsafe import Markup

from scripts.analysis.headlines import CONFIDENCE_TAGS, PLATFORM_WORDS, label, percent
from scripts.core.db import missing_data, open_db
from scripts.core.files import UnreadableJson, hash_files, read_json, write_json_atomic, write_text_atomic
from scripts.core.findings import finding_rank
from scripts.core.problems import Problems
from scripts.core.textsafety import tag_safe_json
from scripts.core.timeutil import parse_utc, to_iso, utc_now
from scripts.core.workspace import PROJECT_DIR, Workspace
from scripts.outputs import charts, week
from scripts.outputs.queries import run_query, stream_query
from scripts.outputs.report import (MISSING_LEGEND, known_accounts, pending_recs, read_insights_file,
                                    tagged_findings)
from scripts.proposals.recfiles import RecFile

TEMPLATE = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
).get_template("dashboard.html.j2")
ACCOUNT_QUERIES = ("account_overview", "engagement_trend", "pillar_heatmap", "save_vs_share_posts", "post_list")
ALL_QUERIES = ("account_overview", "follower_trend")   # small: a few rows an account, held for all.html
POST_COLUMNS = ("published", "platform", "text", "format", "content_pillar", "hook_style", "slides", "views_d7",
                "likes_d7", "engagement_pct_d7", "views", "likes", "saves", "shares", "age_days", "post_url")
SUMMARY_COLUMNS = ("platform", "posts", "views_from", "avg_views", "engagement_pct", "total_views", "best_views",
                   "followers")
TEXT_CHARS = 160
# the analysis dimensions in the order a person reads them, with plain titles
DIMENSION_TITLES = {
    "formats": "Formats", "pillars": "Topics", "hooks": "Hooks (the first slide)", "slide_count": "Slide count",
    "timing": "When you post", "save_vs_share": "Saves and shares (TikTok)", "failures": "What your weakest posts share",
    "growth": "Posts that keep growing", "exploration": "What you post, and what you stopped posting",
    "cross_account": "Across your accounts",
}
MAX_CHART_ROWS = 12      # rows of one evidence chart: the surest findings of that dimension
MAX_HEADLINES = 6        # headlines listed under a dimension's chart (the rest are in the details fold)
ALL_CROSS = 20


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

class AccountRows:
    """One query's rows (ordered by account_name), handed out account by account in name order, so
    that only one account's rows are held at a time: the dashboard's memory does not grow with the
    number of accounts."""

    def __init__(self, columns: list[str], cursor):
        self.columns, self.cursor = columns, cursor
        self.where = columns.index("account_name")
        self.next = next(self.cursor, None)

    def take(self, account: str) -> list[dict]:
        """The account's rows; the rows of accounts before it (in name order) are passed over."""
        while self.next is not None and self.next[self.where] < account:
            self.next = next(self.cursor, None)
        rows = []
        while self.next is not None and self.next[self.where] == account:
            rows.append(dict(zip(self.columns, self.next)))
            self.next = next(self.cursor, None)
        return rows


class LazyStreams:
    """The streamed queries, each run (once, for every account) only when a page first needs its rows:
    a run that redraws one page passes over the rows of the accounts before it and no further."""

    def __init__(self, db):
        self.db, self.open = db, {}

    def take(self, name: str, account: str) -> list[dict]:
        if name not in self.open:
            self.open[name] = AccountRows(*stream_query(self.db, name))
        return self.open[name].take(account)


def page_rows(account: str, held: dict[str, list[dict]], streams: LazyStreams) -> dict[str, list[dict]]:
    """An account page's rows of every query: those held for all.html, the others streamed."""
    return {name: held[name] if name in held else streams.take(name, account) for name in ACCOUNT_QUERIES}


# The rows an account page shows are written only by load, one raw file per transaction, each
# recorded in raw_files (its size, modification time and the time it was loaded); by load's redo of
# local times for a new timezone (account_timezones); and by backfill, whose fingerprint stands for
# everything it reads (backfill_runs). So these rows stand for the account's rows in every query,
# and a page is fingerprinted by them instead of by running its queries for every account.
STATE_SQL = {
    "raw_files": "SELECT account_name, path, size, mtime_ns, scraped_at, loaded_at FROM raw_files "
                 "ORDER BY account_name, path",
    "backfill": "SELECT account_name, fingerprint FROM backfill_runs",
    "timezone": "SELECT account_name, timezone FROM account_timezones",
}


def account_states(db) -> dict[str, str | None]:
    """account -> a hash of its state in the database, or None where backfill's last run had problems
    (it keeps no fingerprint then): that account's page is fingerprinted by its rows."""
    parts: dict[str, dict[str, list]] = defaultdict(lambda: defaultdict(list))
    for kind, sql in STATE_SQL.items():
        for account, *row in db.execute(sql):
            parts[account][kind].append(row)
    return {account: None if any(fp is None for fp, in state["backfill"]) else fingerprint(state)
            for account, state in parts.items()}


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
    wide = ' wide' if column in ("text", "caption", "hook_text") else ""
    return f'<td class="text{wide}" title="{escape(hover)}">{escape(short)}</td>' if hover else \
        f'<td class="text{wide}">{escape(short)}</td>'


def table_html(rows: list[dict], columns, table_id: str | None = None, titles: dict | None = None) -> Markup:
    """A plain HTML table, escaped here (html.escape); with an id it is sortable by clicking a
    heading. Headings are the glossary's words (headlines.label), with the column name on hover.
    titles: column -> row field whose text shows on hover (the caption behind a hook).
    Built in Python rather than a template loop: 50 accounts' post tables are ~0.5 M cells."""
    titles = titles or {}
    head = "".join(f'<th data-col="{escape(c)}" title="{escape(c)}">{escape(label(c))}</th>' for c in columns)
    body = "\n".join("<tr>" + "".join(cell_html(c, r.get(c), hover_text(r, titles.get(c))) for c in columns)
                     + "</tr>" for r in rows)
    attributes = f' class="sortable" id="{escape(table_id)}"' if table_id else ""
    return Markup(f"<table{attributes}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>")


def hover_text(row: dict, field: str | None) -> str | None:
    if field is None:
        return None
    return " ".join((row.get(field) or "").split()) or None


def summary_rows(rows: list[dict]) -> list[dict]:
    """The overview per platform, saying which posts the views come from (on Instagram, its videos)."""
    out = []
    for r in rows:
        known, total = r.get("posts_with_views"), r.get("posts")
        views_from = "-" if not known else "all posts" if known == total else f"{known:,} of {total:,} posts" \
            + (" (videos)" if r.get("platform") == "instagram" else "")
        out.append({**r, "views_from": views_from})
    return out


def local_day(iso: str | None) -> str:
    moment = parse_utc(iso)
    return f"{moment.day} {moment:%b %Y}, {moment:%H:%M} UTC" if moment else "-"


# --- pages --------------------------------------------------------------------------------

class Page:
    """Charts are registered as they are built; each gets a container id and its spec."""

    def __init__(self):
        self.specs: dict[str, dict] = {}

    def chart(self, key: str, title: str, spec: dict | None, wide: bool = False) -> dict:
        """wide: the chart needs about 620 px (a heatmap's labels and cells); on a narrower screen it
        scrolls sideways inside its own box, never the page."""
        if spec is None:
            return {"spec_id": None, "title": title, "wide": wide}
        spec_id = f"chart-{key}"
        self.specs[spec_id] = spec
        return {"spec_id": spec_id, "title": title, "wide": wide}


def render(page: Page, **context) -> str:
    return TEMPLATE.render(specs_json=tag_safe_json(page.specs), **context)


def finding_item(finding: dict) -> dict:
    return {"headline": week.headline(finding), "confidence": finding["confidence"],
            "tag": week.TAGS[finding["confidence"]], "glyph": week.GLYPHS[finding["confidence"]],
            "claim": finding["claim"], "account": finding.get("account") or "all"}


def evidence_of(page: Page, key: str, findings: list[dict]) -> dict:
    """One evidence chart for findings that share an axis (the first finding's)."""
    axis = charts.axis_of(findings[0]) if findings else None
    if axis is None:
        return page.chart(key, "evidence", None)
    rows = [charts.evidence_row(f, week.headline(f)) for f in findings if charts.axis_of(f) == axis]
    return page.chart(key, "evidence", charts.evidence_chart(axis, rows))


def decision_view(page: Page, item: week.Decision, key: str) -> dict:
    chart = evidence_of(page, f"evidence-{key}", [item.finding] if item.finding else [])
    return {"short": item.short, "account": item.account, "confidence": item.confidence,
            "tag": week.TAGS[item.confidence], "glyph": week.GLYPHS[item.confidence],
            "phrase": CONFIDENCE_TAGS[item.confidence], "headline": item.headline, "change": item.change,
            "insight": item.insight, "file": item.file, "approve": item.approve, "reject": item.reject,
            "chart": chart, "claim": item.finding["claim"] if item.finding else None}


def dimension_views(page: Page, findings: list[dict]) -> list[dict]:
    """One section per dimension that has findings: its evidence charts (one per kind of effect), its
    directional headlines, and every finding's full statistical sentence in the details fold."""
    views = []
    for dimension, title in DIMENSION_TITLES.items():
        mine = sorted((f for f in findings if f["dimension"] == dimension), key=finding_rank)
        if not mine:
            continue
        by_axis = defaultdict(list)
        for f in mine:
            axis = charts.axis_of(f)
            if axis in ("ratio", "odds_ratio") and len(by_axis[axis]) < MAX_CHART_ROWS:
                by_axis[axis].append(f)
        chart_list = [evidence_of(page, f"{dimension}-{axis}", rows) for axis, rows in by_axis.items()]
        directional = [f for f in mine if f.get("direction") != "none"]
        views.append({"key": dimension, "title": title, "charts": chart_list,
                      "headlines": [finding_item(f) for f in directional[:MAX_HEADLINES]],
                      "quiet": len(mine) - len(directional),
                      "details": [finding_item(f) for f in mine]})
    return views


def followup_views(insights: dict | None) -> list[dict] | None:
    items = week.followups(insights)
    if items is None:
        return None
    return [{"status": f.get("status") or "unknown", "line": week.followup_line(f), "claim": f.get("claim") or ""}
            for f in items]


def account_html(account: str, mine: dict[str, list[dict]], insights: dict | None, recs: list[RecFile],
                 cross: list[dict], runs: list[dict], common: dict) -> str:
    """mine: the account's rows of every ACCOUNT_QUERIES query."""
    findings = tagged_findings(insights)
    known = {f["id"]: f for f in (findings or []) + cross}
    page = Page()
    decisions = [decision_view(page, week.decision(r, known, common["root"]), str(i)) for i, r in enumerate(recs)]
    before = week.earlier_run(runs, insights.get("generated_at")) if insights else None
    numbers = [page.chart("trend", "Engagement trend", charts.engagement_trend(mine["engagement_trend"]))]
    numbers += [page.chart(f"pillars-{i}", "Topic by format", spec, wide=True)
                for i, spec in enumerate(charts.pillar_heatmaps(mine["pillar_heatmap"]))] or \
        [page.chart("pillars", "Topic by format", None)]
    numbers.append(page.chart("save-share", "Saves and shares", charts.save_share_scatter(mine["save_vs_share_posts"])))
    return render(page, title=f"{account}: this week", account=account, has_data=bool(mine["post_list"]),
                  decisions=decisions, show_account=False,
                  analyzed=insights is not None, analyzed_at=local_day(insights.get("generated_at")) if insights else "-",
                  changes=None if before is None else week.changes_since(findings or [], before),
                  changed_since=local_day(before["generated_at"]) if before else None,
                  followups=followup_views(insights), dimensions=dimension_views(page, findings or []),
                  numbers=numbers, cross=None, followers=None,
                  summary=table_html(summary_rows(mine["account_overview"]), SUMMARY_COLUMNS, "summary"),
                  posts=table_html(mine["post_list"], POST_COLUMNS, "posts", {"text": "caption"}), **common)


def all_html(data: dict, cross_insights: dict | None, cited: dict[str, dict[str, dict]], recs: list[RecFile],
             common: dict, has_data: bool) -> str:
    """cited: account -> the findings of its file that a pending proposal cites."""
    flat = {name: [r for rows in data[name].values() for r in rows] for name in ALL_QUERIES}
    cross = tagged_findings(cross_insights)
    known = {f["id"]: f for f in cross or []}
    for findings in cited.values():
        known.update(findings)
    page = Page()
    decisions = [decision_view(page, week.decision(r, {**known, **cited.get(r.account, {})}, common["root"]), str(i))
                 for i, r in enumerate(recs)]
    lift = page.chart("lift", "Across accounts", charts.lift_heatmap(week.cross_cells(cross or [], charts.row_label)))
    followers = [page.chart(f"followers-{i}", "Follower growth", spec)
                 for i, spec in enumerate(charts.follower_growth(flat["follower_trend"]))]
    summary = summary_rows(flat["account_overview"])
    cross_view = None if cross is None else {
        "chart": lift, "headlines": [finding_item(f) for f in cross if f.get("direction") != "none"][:MAX_HEADLINES],
        "details": [finding_item(f) for f in cross[:ALL_CROSS]]}
    return render(page, title="All accounts: this week", account=None, has_data=has_data,
                  decisions=decisions, show_account=True, analyzed=cross_insights is not None,
                  analyzed_at=local_day(cross_insights.get("generated_at")) if cross_insights else "-",
                  changes=None, changed_since=None, followups=None, dimensions=[], numbers=[],
                  cross=cross_view, followers=followers or [page.chart("followers", "Follower growth", None)],
                  summary=table_html(summary, ("account_name",) + SUMMARY_COLUMNS, "summary"), posts=None, **common)


# --- what each page is built from ----------------------------------------------------------
# The code that shapes a page: the output stage and every stage before it (as Make's
# DASHBOARD_SOURCES), its templates and queries, and the libraries that draw it.
MANIFEST_VERSION = 2     # 2: account pages fingerprinted by the account's state (account_states)
LIBRARIES = ("vl-convert-python", "altair", "jinja2", "markupsafe")
# all of sql/: the views and tables shape the rows a page shows, which its fingerprint no longer holds
CODE_GLOBS = ("scripts/dashboard.py", "scripts/core/*.py", "scripts/sources/*.py", "scripts/store/*.py",
              "scripts/analysis/*.py", "scripts/proposals/*.py", "scripts/outputs/*.py", "scripts/outputs/templates/*",
              "sql/*/*.sql")


def code_fingerprint() -> str:
    digest = hashlib.sha256(f"dashboard manifest {MANIFEST_VERSION}".encode())
    digest.update(f"python {platform.python_version()} sqlite {sqlite3.sqlite_version}".encode())
    for library in LIBRARIES:
        digest.update(f" {library} {metadata.version(library)}".encode())
    hash_files(digest, PROJECT_DIR, {p for pattern in CODE_GLOBS for p in PROJECT_DIR.glob(pattern) if p.is_file()})
    return digest.hexdigest()


def fingerprint(*inputs) -> str:
    """Everything a page is rendered from, as one hash (JSON of the values, keys sorted)."""
    text = json.dumps(inputs, sort_keys=True, ensure_ascii=False, default=repr, allow_nan=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def rec_inputs(recs: list[RecFile]) -> list:
    return [[r.path.name, r.state, r.data] for r in recs]


def read_manifest(ws: Workspace) -> dict[str, dict]:
    """page file name -> {inputs, size, mtime_ns} as last written; anything unreadable is an empty one
    (every page is built again)."""
    try:
        manifest = read_json(ws.dashboard_manifest_path)
    except (UnreadableJson, OSError):
        return {}
    if not isinstance(manifest, dict) or manifest.get("version") != MANIFEST_VERSION \
            or not isinstance(manifest.get("pages"), dict):
        return {}
    return {k: v for k, v in manifest["pages"].items() if isinstance(v, dict)}


def page_stat(path: Path) -> dict | None:
    try:
        info = path.stat()
    except OSError:
        return None
    return {"size": info.st_size, "mtime_ns": info.st_mtime_ns}


class Pages:
    """Writes a page only when its inputs' fingerprint differs from the one it was built from, or the
    page is not the file that was written then (removed, edited)."""

    def __init__(self, ws: Workspace):
        self.ws, self.old, self.new = ws, read_manifest(ws), {}
        self.written: list[str] = []
        self.kept = 0

    def up_to_date(self, name: str, inputs: str) -> bool:
        entry, stat = self.old.get(name), page_stat(self.ws.dashboard_dir / name)
        if entry and stat and entry.get("inputs") == inputs and \
                (entry.get("size"), entry.get("mtime_ns")) == (stat["size"], stat["mtime_ns"]):
            self.new[name] = entry
            self.kept += 1
            return True
        return False

    def write(self, name: str, inputs: str, html: str) -> None:
        path = self.ws.dashboard_dir / name
        self.old.pop(name, None)  # from here on the old entry does not describe the file
        write_text_atomic(path, html)
        self.written.append(name)
        stat = page_stat(path)
        if stat:
            self.new[name] = {"inputs": inputs, **stat}

    def save(self) -> None:
        """The manifest, atomically, after the pages: a run stopped before this builds its pages again."""
        try:
            write_json_atomic(self.ws.dashboard_manifest_path, {"version": MANIFEST_VERSION, "pages": self.new})
        except OSError:  # only costs the next run the pages' time
            pass


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
    common = {"accounts": accounts if has_data else [], "generated_at": local_day(to_iso(utc_now())),
              "missing_legend": MISSING_LEGEND, "versions": bundle_versions(),
              "platforms": PLATFORM_WORDS, "percent": percent, "root": week.root_arg(ws),
              "data_through": local_day(db.execute("SELECT max(scraped_at) FROM raw_files").fetchone()[0]) if db else "-"}
    # the clock is no input of a page (an unchanged page keeps the time it was built); the bundle is
    # its vl-convert version, in the code's fingerprint
    shared = [code_fingerprint(), {k: v for k, v in common.items() if k not in ("generated_at", "percent",
                                                                                "data_through")}]
    # an account's page says how recent its own data is: another account's new scrape is no news
    # there (and a page whose account's scrapes stopped shows it); all.html the newest of all
    through = dict(db.execute("SELECT account_name, max(scraped_at) FROM raw_files GROUP BY 1")) if db else {}
    data = rows_by_account(db, ALL_QUERIES) if has_data else None
    streams = LazyStreams(db)
    states = account_states(db) if has_data else {}
    recs = pending_recs(ws, None, problems)
    cited_ids = {(r.data.get("evidence") or {}).get("finding") for r in recs}
    cross_insights = read_insights_file(ws.all_insights_path, problems)
    cross = [f for f in tagged_findings(cross_insights) or [] if f["dimension"] == "cross_account"]
    pages = Pages(ws)
    bundle = None
    cited = {}   # what all.html shows of the account files: the findings its proposals cite
    for account in accounts:
        insights = read_insights_file(ws.insights_path(account), problems)
        cited[account] = {f["id"]: f for f in tagged_findings(insights) or [] if f["id"] in cited_ids}
        runs = week.record_history(ws, account, insights) if insights and insights.get("findings") else []
        if data is not None:
            theirs = [r for r in recs if account in r.patches]   # its own files and the cross-account ones
            evidence = {(r.data.get("evidence") or {}).get("finding") for r in theirs}
            own = {"data_through": local_day(through[account]) if through.get(account) else common["data_through"]}
            held = {name: data[name].get(account, []) for name in ACCOUNT_QUERIES if name in ALL_QUERIES}
            rows = None if states.get(account) else page_rows(account, held, streams)
            inputs = fingerprint(shared, own, account, insights, rec_inputs(theirs),
                                 [f for f in cross if f["id"] in evidence], runs, held, states.get(account) or rows)
            if not pages.up_to_date(f"{account}.html", inputs):
                rows = rows or page_rows(account, held, streams)
                bundle = bundle or vega_bundle()
                pages.write(f"{account}.html", inputs, account_html(account, rows, insights, theirs, cross, runs,
                                                                    {**common, **own, "bundle": bundle}))
    empty = {name: {} for name in ALL_QUERIES}
    inputs = fingerprint(shared, common["data_through"], cross_insights, cited, rec_inputs(recs), has_data,
                         {name: (data or empty)[name] for name in ALL_QUERIES})
    if not pages.up_to_date("all.html", inputs):
        bundle = bundle or vega_bundle()
        pages.write("all.html", inputs, all_html(data or empty, cross_insights, cited, recs,
                                                 {**common, "bundle": bundle}, has_data))
    pages.save()
    if not quiet:
        accounts_written = len([name for name in pages.written if name != "all.html"])
        print(f"dashboard: wrote {accounts_written} account page(s){' and all.html' if 'all.html' in pages.written else ''}"
              f" in {ws.dashboard_dir}" + (f" ({pages.kept} unchanged page(s) left as they were)" if pages.kept else ""))
    return problems
