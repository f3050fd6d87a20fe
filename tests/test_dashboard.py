"""make dashboard: self-contained pages, every chart drawn in real headless Chromium, offline,
escaped text, sortable table, and the numbers of the views."""
from __future__ import annotations

import re
import shutil

import pytest
import sqlite_utils

from scripts.core.workspace import Workspace
from tests.browser import browser_test, chromium, needs_chromium, outputs_world, session
from tests.conftest import run_step

HOSTILE = "<script>alert(1)</script>"
HOSTILE_HOOK = "</script><script>alert(2)</script><img src=x onerror=alert(3)>"
ACCOUNT_CHARTS = {"chart-trend", "chart-formats", "chart-pillars", "chart-save-share"}
ALL_CHARTS = {"chart-lift", "chart-followers"}
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
    shutil.copytree(world.root, ws.root)
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
            assert set(state["charts"]) == expected, name
            assert state["rendered"] == len(expected) and not state["errors"], (name, state)
            for chart in expected:
                assert s.page.evaluate(MARKS, chart) > 0, f"{name}: {chart} drew no marks"
            assert not s.errors, (name, s.errors)
            assert all(url.startswith(OFFLINE) for url in s.requests), (name, s.requests)


@browser_test
@needs_chromium
def test_post_table_sorts_by_a_number_column(world, browser):
    account = world.account_names()[0]
    with session(browser) as s:
        open_page(s, page_url(world, account))
        headers = s.page.locator("#posts thead th").all_inner_texts()
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
    for row in db.query("select account_name, platform, total_posts, followers from v_account_summary"):
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
        assert state["rendered"] == len(ACCOUNT_CHARTS) and not state["errors"]
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
    assert "No data yet, run make load." in page
    assert 'href="newaccount.html"' not in page and not (ws.dashboard_dir / "newaccount.html").exists()
    assert result.returncode == 0


def test_a_bad_input_file_is_reported_and_every_page_still_written(world, tmp_path):
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(world.root, ws.root, ignore=shutil.ignore_patterns("raw", "dashboard"))
    bad = ws.rec_dir("pending") / f"{ws.account_names()[0]}--2026-11-23--slide_count.json"
    bad.write_text("not json")
    result = run_step("dashboard", ws.root, check=False)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and bad.name in result.stderr
    assert {p.stem for p in ws.dashboard_dir.glob("*.html")} == set(ws.account_names()) | {"all"}
