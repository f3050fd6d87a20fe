"""make dashboard: self-contained pages, every chart drawn in real headless Chromium, offline,
escaped text, sortable and searchable table, decision first at 1280 and 390 px wide, charts that
draw the findings' own statistics, and the numbers of the views.

Screenshots of every page at both widths are kept under the test's tmp folder, and copied to
$ARTIFACTS_DIR/screenshots/ when ARTIFACTS_DIR is set."""
from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest
import sqlite_utils

from scripts.core.workspace import Workspace
from tests.browser import browser_test, chromium, needs_chromium, outputs_world, session
from tests.conftest import run_step

HOSTILE = "<script>alert(1)</script>"
HOSTILE_HOOK = "</script><script>alert(2)</script><img src=x onerror=alert(3)>"
# charts every account page of the shared world draws (evidence charts come on top, one per proposal
# and per dimension), and those of all.html
ACCOUNT_CHARTS = {"chart-trend", "chart-pillars-0", "chart-save-share", "chart-evidence-0", "chart-formats-ratio"}
ALL_CHARTS = {"chart-lift", "chart-followers-0", "chart-evidence-0"}
WIDTHS = (1280, 390)
# every writer of the shared world has closed the database (its WAL is checkpointed), so a copy needs
# only the database file; a reader closing meanwhile removes these under copytree's feet
SQLITE_SIDE_FILES = shutil.ignore_patterns("*-wal", "*-shm")
OFFLINE = ("file://", "data:", "blob:", "about:")


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> Workspace:
    ws = outputs_world(tmp_path_factory)
    run_step("dashboard", ws.root)
    return ws


@pytest.fixture(scope="module")
def hostile(world, tmp_path_factory) -> tuple[Workspace, str]:
    """A copy whose newest TikTok post has a script tag as caption and hook, dashboards rebuilt."""
    ws = Workspace(tmp_path_factory.mktemp("hostile") / "ws")
    shutil.copytree(world.root, ws.root, ignore=SQLITE_SIDE_FILES)
    db = sqlite_utils.Database(ws.db_path)
    account = ws.account_names()[0]
    post_id = db.execute("select post_id from posts where account_name = ? and platform = 'tiktok' "
                         "order by published_at limit 1", [account]).fetchone()[0]
    with db.conn:
        db.execute("update posts set caption = ?, hook_text = ? where post_id = ?", [HOSTILE, HOSTILE_HOOK, post_id])
    run_step("dashboard", ws.root)
    return ws, account


@pytest.fixture(scope="module")
def browser():
    with chromium() as instance:
        yield instance


def page_url(ws: Workspace, name: str) -> str:
    return (ws.dashboard_dir / f"{name}.html").resolve().as_uri()


def open_page(s, url: str) -> dict:
    s.page.goto(url)
    s.page.wait_for_function("window.dashboard && window.dashboard.done", timeout=30000)
    return s.page.evaluate("window.dashboard")


MARKS = """(id) => document.querySelectorAll('#' + id + ' svg .role-mark > *').length"""


def test_one_file_per_account_and_all_html_last(world):
    pages = {p.stem: p for p in world.dashboard_dir.glob("*.html")}
    assert set(pages) == set(world.account_names()) | {"all"}
    newest_account_page = max(pages[a].stat().st_mtime_ns for a in world.account_names())
    assert pages["all"].stat().st_mtime_ns >= newest_account_page  # the Make stamp comes last
    for page in pages.values():
        html = page.read_text()
        assert not re.search(r"<(script|link|img)[^>]+(src|href)=[\"']?(https?:)?//", html), page.name
        assert html.count("vegaEmbed") >= 1 and len(html) < 3_000_000
        assert "- = not known: the platform does not publish it" in html  # what a dash means


@browser_test
@needs_chromium
def test_every_chart_draws_marks_offline_without_errors(world, browser):
    for name, expected in [(a, ACCOUNT_CHARTS) for a in world.account_names()] + [("all", ALL_CHARTS)]:
        with session(browser) as s:
            state = open_page(s, page_url(world, name))
            assert expected <= set(state["charts"]), (name, state["charts"])
            assert state["rendered"] == len(state["charts"]) and not state["errors"], (name, state)
            for chart in state["charts"]:
                assert s.page.evaluate(MARKS, chart) > 0, f"{name}: {chart} drew no marks"
            assert not s.errors, (name, s.errors)
            assert not s.warnings, (name, s.warnings[:3])
            assert all(url.startswith(OFFLINE) for url in s.requests), (name, s.requests)


def screenshot_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("screenshots")


def keep_screenshot(path: Path) -> None:
    """Copy a screenshot to $ARTIFACTS_DIR/screenshots/ (CI keeps it) when that is set."""
    if os.environ.get("ARTIFACTS_DIR"):
        target = Path(os.environ["ARTIFACTS_DIR"]) / "screenshots"
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target / path.name)


VISIBLE_TOP = """(selector) => { const e = document.querySelector(selector); if (!e) return null;
  const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0 ? r.top + scrollY : null; }"""


@browser_test
@needs_chromium
@pytest.mark.parametrize("width", WIDTHS)
def test_every_page_reads_decision_first_at_both_widths(world, browser, width, tmp_path_factory):
    """At 1280 and 390 px: nothing overflows sideways, no console errors, "This week" is visible above
    what we are learning, with each proposal's headline, its evidence chart and its approve command."""
    shots = screenshot_dir(tmp_path_factory)
    pending = {p.stem: json.loads(p.read_text()) for p in world.rec_dir("pending").glob("*.json")}
    for name in world.account_names() + ["all"]:
        with session(browser, width=width) as s:
            state = open_page(s, page_url(world, name))
            assert not state["errors"] and not s.errors, (name, width, state["errors"], s.errors)
            overflow = s.page.evaluate("[document.scrollingElement.scrollWidth, innerWidth]")
            assert overflow[0] <= overflow[1], f"{name} at {width} px scrolls sideways: {overflow}"
            this_week = s.page.get_by_role("heading", name=re.compile("^This week"))
            assert this_week.is_visible(), name
            week_top = s.page.evaluate(VISIBLE_TOP, "#this-week")
            later = s.page.evaluate(VISIBLE_TOP, "#learning" if name != "all" else "#across")
            assert week_top is not None and later is not None and week_top < later, (name, week_top, later)
            mine = [r for r in pending.values() if name == "all" or r["account"] == name]
            assert mine, name
            for rec in mine:
                card = s.page.locator(f'.card[data-id="{short(rec["id"])}"]')
                # run from the repository, the command names the workspace (the tests' is a tmp folder)
                assert card.locator(".cmd.approve").inner_text() == f"make approve ROOT={world.root} ID={short(rec['id'])}"
                assert card.locator(".cmd.approve").is_visible() and card.locator("h3").is_visible()
                assert "(" in card.locator("h3").inner_text()  # the confidence words close the headline
                box = card.locator(".cmd.approve").bounding_box()
                assert box["x"] >= 0 and box["x"] + box["width"] <= width
            charts = s.page.locator(".card .chart.evidence svg")
            assert charts.count() >= 1 and charts.first.is_visible(), name
            assert not s.page.locator("details .claims").first.is_visible()  # the statistics stay folded
            path = shots / f"{name}-{width}.png"
            s.page.screenshot(path=str(path), full_page=True)
            keep_screenshot(path)
            assert path.stat().st_size > 10_000


def short(rec_id: str) -> str:
    from scripts.proposals.decide import short_id
    return short_id(rec_id)


@browser_test
@needs_chromium
def test_post_search_filters_rows_and_the_header_stays_in_view(world, browser):
    account = world.account_names()[0]
    with session(browser) as s:
        open_page(s, page_url(world, account))
        total = s.page.locator("#posts tbody tr").count()
        day = s.page.locator("#posts tbody tr >> nth=0").locator("td >> nth=0").inner_text()[:10]  # a date
        s.page.fill("#post-search", day)
        assert not s.errors, s.errors
        shown = s.page.locator("#posts tbody tr:not([hidden])")
        assert 0 < shown.count() < total
        assert all(day in t for t in shown.all_inner_texts())
        s.page.fill("#post-search", "zzzz-no-such-post")
        assert s.page.locator("#posts tbody tr:not([hidden])").count() == 0
        s.page.fill("#post-search", "")
        s.page.locator("#posts").scroll_into_view_if_needed()
        s.page.evaluate("document.querySelector('#posts').parentElement.scrollTop = 600")
        head = s.page.locator("#posts thead th >> nth=0").bounding_box()
        box = s.page.locator(".scroll:has(#posts)").bounding_box()
        assert abs(head["y"] - box["y"]) < 3, "the header scrolls away with the rows"
        hook = s.page.locator('#posts thead th[data-col="text"]').bounding_box()
        assert hook["width"] >= 250, f"the hook column is {hook['width']:.0f} px wide"


@browser_test
@needs_chromium
def test_post_table_sorts_by_a_number_column(world, browser):
    account = world.account_names()[0]
    with session(browser) as s:
        open_page(s, page_url(world, account))
        headers = s.page.evaluate("Array.from(document.querySelectorAll('#posts thead th')).map(th => th.dataset.col)")
        column = headers.index("views_d7")
        s.page.click(f"#posts thead th >> nth={column}")
        values = s.page.evaluate(f"""() => Array.from(document.querySelectorAll('#posts tbody tr'))
            .map(tr => tr.cells[{column}].dataset.v)""")
        numbers = [float(v) for v in values if v is not None]
        assert len(numbers) > 10 and numbers == sorted(numbers, reverse=True)
        assert all(v is None for v in values[len(numbers):]), "empty cells sort last"
        s.page.click(f"#posts thead th >> nth={column}")
        again = s.page.evaluate(f"""() => Array.from(document.querySelectorAll('#posts tbody tr'))
            .map(tr => tr.cells[{column}].dataset.v).filter(v => v !== undefined).map(Number)""")
        assert again == sorted(numbers)


def test_dashboard_numbers_match_the_views(world):
    """The summary table of all.html holds v_account_summary's posts and followers."""
    db = sqlite_utils.Database(world.db_path)
    html = (world.dashboard_dir / "all.html").read_text()
    try:
        rows = list(db.query("select account_name, platform, total_posts, followers from v_account_summary"))
    finally:  # closed now, not whenever it is collected: closing removes the -wal file another test may be copying
        db.close()
    for row in rows:
        cells = rf"<td class=\"text\">{row['account_name']}</td><td class=\"text\">{row['platform']}</td>" \
                rf"<td class=\"num\" data-v=\"{row['total_posts']}\">"
        assert re.search(cells, html), row
        assert f'data-v="{row["followers"]}"' in html


def test_hostile_caption_is_escaped_in_the_file(hostile):
    ws, account = hostile
    html = (ws.dashboard_dir / f"{account}.html").read_text()
    assert HOSTILE not in html and "<img src=x" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html          # the post table, as text
    assert "\\u003c/script\\u003e\\u003cscript\\u003ealert(2)" in html  # inside the chart JSON


@browser_test
@needs_chromium
def test_hostile_caption_shows_as_text_and_never_runs(hostile, browser):
    ws, account = hostile
    with session(browser) as s:
        state = open_page(s, page_url(ws, account))
        assert state["rendered"] == len(state["charts"]) and not state["errors"]
        assert s.page.get_by_text(HOSTILE_HOOK, exact=True).count() == 1      # the post table's hook cell
        assert s.page.locator(f'#posts td[title="{HOSTILE}"]').count() == 1    # the caption, on hover
        assert s.page.evaluate("document.querySelectorAll('img').length") == 0
        assert not s.dialogs and not s.errors, (s.dialogs, s.errors)


def test_empty_workspace_writes_all_html_saying_no_data(tmp_path):
    ws = Workspace(tmp_path)
    ws.config_path("newaccount").parent.mkdir(parents=True)
    ws.config_path("newaccount").write_text("platform_profiles: {tiktok: newaccount}\ntimezone: UTC\n")
    result = run_step("dashboard", tmp_path)
    page = (ws.dashboard_dir / "all.html").read_text()
    assert "No data yet: run <code>make daily</code>" in page and "make demo" in page
    assert 'href="newaccount.html"' not in page and not (ws.dashboard_dir / "newaccount.html").exists()
    assert result.returncode == 0


def test_a_bad_input_file_is_reported_and_every_page_still_written(world, tmp_path):
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(world.root, ws.root, ignore=shutil.ignore_patterns("raw", "dashboard", "*-wal", "*-shm"))
    bad = ws.rec_dir("pending") / f"{ws.account_names()[0]}--2026-11-23--slide_count.json"
    bad.write_text("not json")
    result = run_step("dashboard", ws.root, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and bad.name in result.stderr
    assert {p.stem for p in ws.dashboard_dir.glob("*.html")} == set(ws.account_names()) | {"all"}


# --- what changed since last week, and what happened to earlier changes ---------------------------

def test_changes_since_last_week_and_followups_are_shown(world, tmp_path):
    from datetime import timedelta
    from scripts.core.timeutil import parse_utc, to_iso
    from scripts.outputs import week
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(world.root, ws.root, ignore=shutil.ignore_patterns("raw", "dashboard", "*-wal", "*-shm"))
    account = ws.account_names()[0]
    insights = json.loads(ws.insights_path(account).read_text())
    sure = [f for f in insights["findings"] if f["confidence"] != "low" and f["direction"] != "none"]
    assert len(sure) >= 2
    earlier = week.snapshot(insights)
    earlier["generated_at"] = to_iso(parse_utc(insights["generated_at"]) - timedelta(days=7))
    del earlier["findings"][sure[0]["id"]]                                   # new this week
    earlier["findings"][sure[1]["id"]]["confidence"] = "low"                  # surer than last week
    earlier["findings"]["formats/tiktok/views_d7/gone-vs-rest"] = {"confidence": "high", "direction": "better",
                                                                  "headline": "An old pattern that faded"}
    week.history_path(ws, account).parent.mkdir(parents=True, exist_ok=True)
    week.history_path(ws, account).write_text(json.dumps([earlier]))
    insights["followups"] = [
        {"recommendation": f"{account}--2026-11-02--format_weight", "category": "format_weight",
         "applied_at": "2026-11-02T09:00:00Z", "platform": "tiktok", "lever": {"format": "step_guide"},
         "metric": "views_d7", "status": "worked", "posts_before": 20, "posts_after": 14, "posts_needed": None,
         "effect": 1.6, "ci": [1.2, 2.1], "control": None, "claim": "step_guide posts since: 1.6x (CI 1.2x-2.1x)"},
        {"recommendation": f"{account}--2026-11-16--hook_style", "category": "hook_style",
         "applied_at": "2026-11-16T09:00:00Z", "platform": "tiktok", "lever": {"hook_style": "number_specific"},
         "metric": "views_d7", "status": "waiting", "posts_before": 30, "posts_after": 4, "posts_needed": 6,
         "effect": None, "ci": None, "control": None, "claim": "4 posts so far"}]
    ws.insights_path(account).write_text(json.dumps(insights))
    run_step("dashboard", ws.root)
    html = (ws.dashboard_dir / f"{account}.html").read_text()
    changed = html.split('id="changed"')[1].split('id="followups"')[0]
    from markupsafe import escape
    assert "New:</span> " + str(escape(week.headline(sure[0]))) in changed
    assert "Surer now (was: too few posts to tell):</span>" in changed
    assert "No longer holds:</span> An old pattern that faded" in changed
    done = html.split('id="followups"')[1].split('id="learning"')[0]
    assert ("Worked: step-by-step guides (applied 2 Nov): about 1.6× the views after 7 days of the posts before "
            "(14 posts since)") in done
    assert "Waiting: hook style number specific (applied 16 Nov), 6 more posts needed (4 so far)" in done
    runs = json.loads(week.history_path(ws, account).read_text())
    assert len(runs) == 2 and runs[-1]["generated_at"] == insights["generated_at"]
    run_step("dashboard", ws.root)  # the same insights again: the history does not grow
    assert json.loads(week.history_path(ws, account).read_text()) == runs


def test_without_followups_the_page_says_what_will_appear(world):
    account = world.account_names()[0]
    html = (world.dashboard_dir / f"{account}.html").read_text()
    assert "No applied changes to follow up yet" in html
    assert "This is the first analysis this page has seen" in html


def test_earlier_run_is_a_week_old_when_there_is_one():
    from scripts.outputs.week import earlier_run
    runs = [{"generated_at": f"2026-11-{d:02d}T09:00:00Z", "findings": {}} for d in (2, 9, 14, 16)]
    assert earlier_run(runs, "2026-11-16T09:00:00Z")["generated_at"] == "2026-11-09T09:00:00Z"
    assert earlier_run(runs[2:], "2026-11-16T09:00:00Z")["generated_at"] == "2026-11-14T09:00:00Z"
    assert earlier_run(runs[3:], "2026-11-16T09:00:00Z") is None
