"""make report: the terminal tables against the SQL views, every focus, and the one-line errors."""
from __future__ import annotations

import io
import re
import shutil
import subprocess

import pytest
import sqlite_utils
import yaml

from rich.console import Console

from scripts.analysis.headlines import METRIC_LABELS
from scripts.proposals.decide import short_id
from scripts.proposals.recfiles import read_states
from scripts.outputs.queries import METADATA_PATH
from scripts.outputs.report import DIMENSIONS, FOCUS_QUERIES, OVERVIEW_QUERY
from scripts.outputs.report import report as run_report
from scripts.core.workspace import PROJECT_DIR, Workspace
from tests.browser import outputs_world
from tests.conftest import run_step

WIDE = {"COLUMNS": "400"}
SURE = ("●●● confident", "●●○ probably", "●○○ hint")  # surest first  # one table row per line, so the test can read the columns


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Workspace:
    return outputs_world(tmp_path_factory)


@pytest.fixture(scope="module")
def db(world):
    return sqlite_utils.Database(world.db_path)


def report(ws: Workspace, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    return run_step("report", ws.root, *args, "--limit", "1000", env=WIDE, check=check)


@pytest.fixture(scope="module")
def shown(world):
    """The report's text for (account or None, focus or None), run in this process and once per
    module: the tables are the step's own code; the CLI itself is tested through subprocesses below."""
    cache = {}

    def text(account: str | None = None, focus: str | None = None) -> str:
        if (account, focus) not in cache:
            console = Console(file=io.StringIO(), width=400, color_system=None)
            assert not run_report(world, account, focus, 1000, console).lines
            cache[(account, focus)] = console.file.getvalue()
        return cache[(account, focus)]
    return text


def column_name(heading: str) -> str:
    """A heading back to its column: the report labels columns with the glossary (headlines.label)."""
    for name in METRIC_LABELS:
        if METRIC_LABELS[name] == heading:
            return name
    aged = re.fullmatch(r"(.+) after (\d+) days", heading)
    return f"{aged[1].replace(' ', '_')}_d{aged[2]}" if aged else heading.replace(" ", "_")


def tables(text: str) -> dict[str, list[dict[str, str]]]:
    """Rich tables in the output: title -> rows as {column: cell text} (columns by their SQL names)."""
    lines = text.splitlines()
    found, i = {}, 0
    while i < len(lines):
        if lines[i].startswith("┏"):
            title = lines[i - 1].strip()
            header = [column_name(c.strip()) for c in lines[i + 1].strip("┃").split("┃")]
            rows, i = [], i + 3
            while lines[i].startswith("│"):
                cells = [c.strip() for c in lines[i].strip("│").split("│")]
                if rows and not cells[0]:  # a wrapped cell continues on the next line
                    for column, more in zip(header, cells):
                        rows[-1][column] = f"{rows[-1][column]} {more}".strip()
                else:
                    rows.append(dict(zip(header, cells)))
                i += 1
            found[title] = rows
        i += 1
    return found


def title(name: str) -> str:
    return yaml.safe_load(METADATA_PATH.read_text())["databases"]["analytics"]["queries"][name]["title"]


def number(text: str) -> float | None:
    return None if text == "-" else float(text.replace(",", ""))


def assert_close(shown: str, expected, places: int) -> None:
    """The report rounds to `places`; NULL must show as '-', never as 0."""
    if expected is None:
        assert shown == "-"
    else:
        assert number(shown) == pytest.approx(expected, abs=0.5 * 10 ** -places + 1e-9)


def first_account(ws: Workspace) -> str:
    return ws.account_names()[0]


def test_every_dimension_has_a_focus_backed_by_canned_queries():
    queries = yaml.safe_load(METADATA_PATH.read_text())["databases"]["analytics"]["queries"]
    assert set(FOCUS_QUERIES) == set(DIMENSIONS) and len(DIMENSIONS) == 10
    for names in FOCUS_QUERIES.values():
        assert all(name in queries for name in names)
    assert OVERVIEW_QUERY in queries


def test_overview_numbers_match_the_account_summary_view(world, db, shown):
    account = first_account(world)
    overview = tables(shown(account))[title(OVERVIEW_QUERY)]
    expected = {r["platform"]: r for r in db.query("select * from v_account_summary where account_name = ?",
                                                    [account])}
    assert {row["platform"] for row in overview} == set(expected) == {"tiktok", "instagram"}
    for row in overview:
        view = expected[row["platform"]]
        assert number(row["posts"]) == view["total_posts"]
        assert_close(row["avg_views"], view["avg_views"], 0)
        assert_close(row["engagement_pct"], view["avg_engagement_rate"] * 100, 2)
        assert number(row["total_views"]) == view["total_views"]
        assert number(row["followers"]) == view["followers"]


def test_overview_shows_top_findings_with_confidence_and_pending_recommendations(world, shown):
    account = first_account(world)
    out = shown(account)
    findings = tables(out)["What we're learning (surest first)"]
    assert findings and all(f["how_sure"] in SURE for f in findings)
    assert all(f["finding"].endswith(")") and " q = " not in f["finding"] for f in findings)  # words, no statistics
    pending = [r for r in read_states(world, ("pending",))[0] if r.account == account]
    assert pending, "the chain should have proposed something"
    recs = tables(out)[next(t for t in tables(out) if t.startswith("This week: "))]
    assert sorted(r["id"] for r in recs) == sorted(short_id(r.data["id"]) for r in pending)
    for rec in pending:  # each approve command on a line of its own, whole
        assert f"\nmake approve ROOT={world.root} ID={short_id(rec.data['id'])}\n" in out
    # with details, the numbers and the file names come along
    console = Console(file=io.StringIO(), width=400, color_system=None)
    assert not run_report(world, account, None, 1000, console, details=True).lines
    detailed = tables(console.file.getvalue())
    recs = detailed[next(t for t in detailed if t.startswith("This week: "))]
    assert sorted(r["file"].replace(" ", "") for r in recs) == sorted(r.path.name for r in pending)
    assert all(" q = " in f["finding"] or "q =" in f["finding"] for f in detailed["What we're learning (surest first)"])


@pytest.mark.parametrize("focus, view, key, columns", [
    ("formats", "v_format_comparison", "format",
     {"posts": ("post_count", 0), "avg_views": ("avg_views", 0), "avg_likes": ("avg_likes", 0),
      "avg_saves": ("avg_saves", 0), "engagement_pct": ("avg_engagement_rate", 2)}),
    ("pillars", "v_pillar_comparison", "content_pillar",
     {"posts_d7": ("post_count", 0), "avg_views_d7": ("avg_views_d7", 0), "avg_likes_d7": ("avg_likes_d7", 0),
      "engagement_pct_d7": ("avg_engagement_rate_d7", 2)}),
    ("hooks", "v_hook_style_comparison", "hook_style",
     {"posts_d7": ("post_count", 0), "avg_views_d7": ("avg_views_d7", 0), "avg_saves_d7": ("avg_saves_d7", 1)}),
    ("slide_count", "v_slide_count_comparison", "slide_count",
     {"posts_d7": ("post_count", 0), "avg_views_d7": ("avg_views_d7", 0), "avg_shares_d7": ("avg_shares_d7", 1)}),
])
def test_focus_tables_match_their_views(world, db, shown, focus, view, key, columns):
    account = first_account(world)
    table = tables(shown(account, focus))[title(FOCUS_QUERIES[focus][0])]
    rows = list(db.query(f"select * from {view} where account_name = ?", [account]))
    assert len(table) == len(rows) > 0
    expected = {(r["platform"], ("unmatched" if key != "slide_count" else "-") if r[key] is None else str(r[key])): r
                for r in rows}
    for row in table:
        source = expected[(row["platform"], row[key])]
        for column, (view_column, places) in columns.items():
            value = source[view_column]
            if view_column.startswith("avg_engagement"):
                value = None if value is None else value * 100
            assert_close(row[column], value, places)


def test_timing_and_growth_match_their_views(world, db, shown):
    account = first_account(world)
    out = tables(shown(account, "timing"))[title("timing")]
    slots = {(r["platform"], r["weekday"], r["hour"], r["post_count"], r["avg_views_d7"])
             for r in db.query("select * from v_timing where account_name = ? and post_count >= 2", [account])}
    days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    assert len(out) == len(slots) > 0
    for row in out:
        match = [s for s in slots if (s[0], days[s[1]], s[2], s[3]) ==
                 (row["platform"], row["weekday"], int(row["hour"]), number(row["posts_d7"]))]
        assert len(match) == 1
        assert_close(row["avg_views_d7"], match[0][4], 0)
    growth = tables(shown(account, "growth"))[title("follower_growth")]
    for row in growth:
        latest = list(db.query("select followers from v_follower_growth where account_name = ? and platform = ? "
                               "order by scraped_at desc limit 1", [account, row["platform"]]))[0]
        assert number(row["followers"]) == latest["followers"]


@pytest.mark.parametrize("focus", DIMENSIONS)
def test_every_focus_runs_and_shows_its_tables_and_findings(world, shown, focus):
    out = shown(first_account(world), focus)
    for name in FOCUS_QUERIES[focus]:
        assert title(name) in out
    assert f"Findings: {focus}" in out or f"No {focus} findings" in out


def test_all_accounts_overview_and_focus(world, shown):
    out = tables(shown())
    assert {r["account_name"] for r in out[title(OVERVIEW_QUERY)]} == set(world.account_names())
    formats = tables(shown(None, "formats"))[title("formats")]
    assert {r["account_name"] for r in formats} == set(world.account_names())


@pytest.mark.parametrize("args, words", [
    (("--account", "nobody"), "unknown account 'nobody'"),
    (("--account", "../etc"), "invalid account name"),
    (("--focus", "vibes"), "unknown focus 'vibes'"),
    (("--account", "x", "--all"), "exclude each other"),
])
def test_bad_requests_are_one_line_errors(world, args, words):
    result = report(world, *args, check=False)
    assert result.returncode != 0
    assert result.stderr.strip().count("\n") == 0 and words in result.stderr
    assert result.stderr.startswith("report: error: ")


def test_empty_workspace_names_the_next_command(tmp_path):
    result = report(Workspace(tmp_path))
    assert "no data yet: run make daily" in result.stdout and "make demo" in result.stdout
    assert not (tmp_path / "data").exists(), "a report never creates the database"
    config = Workspace(tmp_path).config_path("newaccount")
    config.parent.mkdir(parents=True)
    config.write_text("platform_profiles: {tiktok: newaccount}\n")
    assert "newaccount: no data yet: run make daily" in report(Workspace(tmp_path), "--account", "newaccount").stdout


def test_make_report_target(world):
    account = first_account(world)
    result = subprocess.run(["make", "-s", "-o", ".venv/.installed", "report", f"ROOT={world.root}",
                             f"ACCOUNT={account}", "FOCUS=formats"], cwd=PROJECT_DIR, capture_output=True,
                            text=True, env={**__import__("os").environ, **WIDE})
    assert result.returncode == 0, result.stderr
    assert title("formats") in result.stdout and f"{account}: formats" in result.stdout


def test_findings_are_listed_surest_first(shown):
    out = tables(shown())["What we're learning (surest first)"]
    ranks = [SURE.index(r["how_sure"]) for r in out]
    assert ranks and ranks == sorted(ranks)


def test_cli_prints_the_same_report(world, shown):
    """`python -m scripts.report` (what make runs) prints exactly what the tests above read."""
    account = first_account(world)
    assert report(world, "--account", account).stdout == shown(account)


def test_a_broken_insights_file_is_one_line_and_the_report_goes_on(world, tmp_path):
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(world.root, ws.root, ignore=shutil.ignore_patterns("raw", "dashboard"))
    account = first_account(ws)
    ws.insights_path(account).write_text('{"account": ')
    result = report(ws, "--account", account, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and str(ws.insights_path(account)) in result.stderr
    assert title(OVERVIEW_QUERY) in result.stdout and "This week: " in result.stdout


def test_a_dash_is_explained_wherever_a_table_shows_one(world):
    """Instagram publishes no saves: the formats table shows '-' there, and says what it means."""
    text = report(world, "--account", world.account_names()[0], "--focus", "formats").stdout
    assert " - " in text or "│ -" in text
    assert "- = not known: the platform does not publish it" in " ".join(text.split())


def test_the_cross_account_table_shows_the_findings_own_ratios(world, shown):
    """The per-account cells are the ratios the cross-account findings state, never raw averages."""
    import json
    cross = json.loads(world.all_insights_path.read_text())["findings"]
    table = tables(shown(None, "cross_account"))
    cells = table[next(t for t in table if t.startswith("Across accounts: each account"))]
    stated = {(a, f"{c['ratio']:.2g}× ({c['n']})") for f in cross if isinstance(f.get("details", {}).get("per_account"), dict)
              for a, c in f["details"]["per_account"].items()}
    shown_cells = {(a, v) for row in cells for a, v in row.items() if a not in ("posts",) and v != "-"}
    account_cells = {c for c in shown_cells if c[0] != "all_accounts"}
    assert account_cells and account_cells <= stated


def test_make_report_details_passes_the_flag():
    dry = subprocess.run(["make", "-n", "-o", ".venv/.installed", "report", "DETAILS=1", "ACCOUNT=x"],
                         cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout
    assert "--details" in dry and "--account x" in dry
    plain = subprocess.run(["make", "-n", "-o", ".venv/.installed", "report"], cwd=PROJECT_DIR,
                           capture_output=True, text=True, check=True).stdout
    assert "--details" not in plain
