"""Datasette on data/analytics.db with metadata.yml: descriptions, every canned query, and the
datasette-vega chart UI in real headless Chromium (Datasette 0.65 + datasette-vega 0.6.2)."""
from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request

import pytest
import yaml
from datasette.app import Datasette

from scripts.outputs.queries import DATABASE, METADATA_PATH
from scripts.core.workspace import PROJECT_DIR
from tests.browser import browser_test, chromium, needs_chromium, outputs_world, session

METADATA = yaml.safe_load(METADATA_PATH.read_text())
PLUGINS_DIR = PROJECT_DIR / "scripts" / "outputs" / "datasette_plugins"
QUERIES = METADATA["databases"][DATABASE]["queries"]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return outputs_world(tmp_path_factory)


def get_all(ws, paths: list[str]) -> dict[str, tuple[int, str]]:
    """path -> (status, body) from an in-process Datasette configured as `make datasette` does."""
    async def fetch():
        datasette = Datasette([str(ws.db_path)], metadata=METADATA, plugins_dir=str(PLUGINS_DIR))
        await datasette.invoke_startup()
        answers = {}
        for path in paths:
            response = await datasette.client.get(path)
            answers[path] = (response.status_code, response.text)
        return answers
    return asyncio.run(fetch())


def test_the_database_is_named_as_metadata_expects(world):
    assert world.db_path.stem == DATABASE


def test_every_table_and_view_is_described(world):
    import sqlite_utils
    db = sqlite_utils.Database(world.db_path)
    described = METADATA["databases"][DATABASE]["tables"]
    names = [n for n in db.table_names() + db.view_names() if not n.startswith("sqlite_")]
    missing = [n for n in names if not (described.get(n) or {}).get("description")]
    assert not missing, f"metadata.yml describes no {missing}"
    for name, meta in described.items():  # no description of something that does not exist
        assert name in names, name
        assert set(meta.get("columns", {})) <= {c.name for c in db[name].columns}, name


# empty until a change has been applied and followed up: test_the_followups_query_answers_after_an_apply
AFTER_APPLY = {"what_we_changed"}


def test_every_canned_query_answers_for_one_account(world):
    account = world.account_names()[0]
    paths = {name: f"/{DATABASE}/{name}.json?account={account}&_shape=array" for name in QUERIES
             if name not in AFTER_APPLY}
    answers = get_all(world, list(paths.values()))
    for name, path in paths.items():
        status, body = answers[path]
        assert status == 200, f"{name}: {body[:300]}"
        rows = json.loads(body)
        assert rows, f"canned query {name} returned no rows for {account}"
        assert {r["account_name"] for r in rows} == {account}, name
        assert QUERIES[name].get("title"), f"{name} has no title"


def test_an_empty_account_parameter_means_every_account(world):
    path = f"/{DATABASE}/account_overview.json?account=&_shape=array"
    rows = json.loads(get_all(world, [path])[path][1])
    assert {r["account_name"] for r in rows} == set(world.account_names())


def test_pages_answer_and_carry_the_chart_plugin(world):
    account = world.account_names()[0]
    pages = ["/", f"/{DATABASE}", f"/{DATABASE}/posts", f"/{DATABASE}/v_post_day7",
             f"/{DATABASE}/formats?account={account}", "/-/metadata.json", "/-/plugins.json"]
    answers = get_all(world, pages)
    for page in pages:
        assert answers[page][0] == 200, page
    assert "datasette-vega" in {p["name"] for p in json.loads(answers["/-/plugins.json"][1])}
    query_page = answers[f"/{DATABASE}/formats?account={account}"][1]
    assert "/-/static-plugins/datasette_vega/" in query_page and QUERIES["formats"]["title"] in query_page
    # the database page links each canned query with its chart preset (datasette-vega's URL fragment)
    assert f'/{DATABASE}/formats#{QUERIES["formats"]["fragment"]}'.replace("&", "&amp;") in answers[f"/{DATABASE}"][1]


def test_make_datasette_serves_on_localhost_only():
    dry = subprocess.run(["make", "-n", "-o", ".venv/.installed", "datasette", "ROOT=somewhere"],
                         cwd=PROJECT_DIR, capture_output=True, text=True, check=True).stdout
    assert "--host 127.0.0.1" in dry and "somewhere/data/analytics.db" in dry and "metadata.yml" in dry
    assert "sql_time_limit_ms" in dry  # the day-7 views outgrow Datasette's 1 s default on big workspaces
    assert f"--plugins-dir {PLUGINS_DIR.relative_to(PROJECT_DIR)}" in dry  # the post links


def test_no_canned_query_shadows_a_table_or_view(world):
    import sqlite_utils
    db = sqlite_utils.Database(world.db_path)
    assert not set(QUERIES) & set(db.table_names() + db.view_names())


def test_post_id_links_resolve_to_the_post(server, world):
    """Datasette's own link for a post_id would be /posts/<integer id>: the plugin links the filtered
    posts table, and following that link from a snapshot row finds exactly that post."""
    import html
    import re
    body = urllib.request.urlopen(f"{server}/{DATABASE}/metrics_snapshots?_size=3").read().decode()
    links = re.findall(r'href="(/' + DATABASE + r'/posts\?post_id=[^"]+)"', body)
    assert len(links) >= 3, body[:2000]
    for link in links[:3]:
        post_id = urllib.parse.unquote(html.unescape(link).split("post_id=", 1)[1])
        rows = json.loads(urllib.request.urlopen(f"{server}{html.unescape(link)}&_shape=array".replace(
            "/posts?", "/posts.json?")).read())
        assert [r["post_id"] for r in rows] == [post_id]
    assert not re.search(r'href="/' + DATABASE + r'/posts/[^"?]+"', body.split("<tbody>", 1)[1])


def test_presets_chart_one_series_per_account_and_platform():
    """With no account chosen, a preset draws one line or dot per account and platform, never one
    line zig-zagging through four accounts or stacked bars of TikTok views on Instagram ones."""
    for name, query in QUERIES.items():
        fragment = dict(part.split("=", 1) for part in query.get("fragment", "").split("&") if "=" in part)
        if not fragment:
            continue
        tiktok_only = "(TikTok)" in query["title"]  # one platform: an account is one series
        grouped = fragment.get("g.color_column") == "series" or fragment.get("g.x_column") == "series" or \
            (tiktok_only and fragment.get("g.color_column") in ("account_name", "format"))
        assert grouped, f"{name}: its chart mixes accounts ({query['fragment']})"
        if fragment["g.mark"] == "bar":
            assert fragment["g.x_column"] == "series", f"{name}: bars would stack accounts and platforms"


# --- datasette-vega in a real browser --------------------------------------------------------

@pytest.fixture(scope="module")
def server(world):
    """`datasette serve` as make runs it, on a free port of 127.0.0.1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen([sys.executable, "-m", "datasette", "serve", str(world.db_path), "--metadata",
                                str(METADATA_PATH), "--host", "127.0.0.1", "--port", str(port),
                                "--plugins-dir", str(PLUGINS_DIR)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=PROJECT_DIR)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            urllib.request.urlopen(f"{base}/-/versions.json", timeout=1)
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail(f"datasette did not start: {process.stderr.read().decode()[:500]}")
            time.sleep(0.2)
    yield base
    process.terminate()
    process.wait(timeout=10)


PAINTED = """(selector) => {
  const canvas = document.querySelector(selector);
  if (!canvas) return 0;
  const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
  let painted = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 0 && !(data[i] > 240 && data[i + 1] > 240 && data[i + 2] > 240)) painted += 1;
  }
  return painted;
}"""


@browser_test
@needs_chromium
def test_datasette_vega_charts_canned_queries(server, world):
    account = world.account_names()[0]
    with chromium() as browser:
        # 1. the database page's link opens a canned query with its chart already drawn
        with session(browser) as s:
            s.page.goto(f"{server}/{DATABASE}")
            s.page.click(f"text={QUERIES['formats']['title']}")
            s.page.fill("input[name=account]", account)
            s.page.click("input[type=submit]")
            s.page.wait_for_selector(".vega-embed canvas", timeout=20000)
            assert QUERIES["formats"]["fragment"].split("&")[0] in s.page.evaluate("location.hash")
            assert s.page.evaluate(PAINTED, ".vega-embed canvas") > 500, "the chart drew nothing"
            box = s.page.locator(".vega-embed canvas").bounding_box()
            assert box["height"] >= 300, f"the chart is {box['height']:.0f} px high: too small to read"
            assert not s.errors
            assert all(url.startswith(server) for url in s.requests), s.requests
        # 2. a query without a preset offers the plugin's chart UI, and a click draws a chart
        with session(browser) as s:
            s.page.goto(f"{server}/{DATABASE}/worst_posts?account={account}")
            s.page.click("text=Show charting options", timeout=20000)
            s.page.check("input[value=circle]")
            s.page.select_option("#graphForm select >> nth=0", "published")
            s.page.wait_for_selector(".vega-embed canvas", timeout=20000)
            assert s.page.evaluate(PAINTED, ".vega-embed canvas") > 100
            assert not s.errors


def test_the_followups_query_answers_after_an_apply(world, tmp_path):
    """Approve one proposal, apply it and analyze again (in-process, on a copy): the follow-up is
    in the followups table, and the canned query shows it for that account only."""
    import shutil
    from datetime import datetime, timezone

    from scripts.analysis.analyze import analyze_workspace
    from scripts.core.workspace import Workspace
    from scripts.proposals.apply import apply_workspace

    ws = Workspace(tmp_path / "ws")
    shutil.copytree(world.root, ws.root)
    account = world.account_names()[0]
    pending = sorted(ws.rec_dir("pending").glob(f"{account}--*.json"))
    shutil.move(pending[0], ws.rec_dir("approved") / pending[0].name)
    assert not apply_workspace(ws, datetime(2026, 11, 23, 12, tzinfo=timezone.utc)).lines
    assert not analyze_workspace(ws, quiet=True).lines
    path = f"/{DATABASE}/what_we_changed.json?account={account}&_shape=array"
    status, body = get_all(ws, [path])[path]
    rows = json.loads(body)
    assert status == 200 and [r["recommendation"] for r in rows] == [pending[0].stem]
    assert rows[0]["status"] in ("waiting", "worked", "no_change", "hurt") and rows[0]["account_name"] == account
