"""Security: secrets never written, hostile text inert, Claude's patches held to their fields, and
no name from the outside can point outside its folder. (Datasette on loopback only:
tests/test_datasette.py::test_make_datasette_serves_on_localhost_only.)"""
from __future__ import annotations

import json
import re
import shutil
import sqlite3
from pathlib import Path

import pytest

from scripts.core.files import read_json
from scripts.proposals.recfiles import APPLY_FIELDS, CATEGORY_FIELDS
from scripts.core.workspace import Workspace
from tests.conftest import build_demo, copy_workspace, run_step
from tests.fake_anthropic import FakeAnthropic, tool_use_message
from tests.test_faults import make
from tests.test_recommend import WEEK1, write_insights

APPLY_AT = "2026-11-24T10:00:00Z"
STEP_GUIDE = "formats/tiktok/views_d7/step_guide-vs-rest"
NUMBER_HOOKS = "hooks/tiktok/views_d7/number_specific-vs-rest"


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file under root with its size and mtime: what a step wrote, moved or changed."""
    return {str(p.relative_to(root)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in root.rglob("*") if p.is_file()}


def changed(before: dict, after: dict) -> set[str]:
    return {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory) -> Workspace:
    """Two small demo accounts, loaded and backfilled, with analyzer-shaped insights. Read-only:
    tests copy it."""
    ws = build_demo(tmp_path_factory.mktemp("security") / "ws", days=30, accounts=2, steps=("load", "backfill"))
    write_insights(ws)
    return ws


@pytest.fixture
def ws(loaded, tmp_path) -> Workspace:
    return copy_workspace(loaded, tmp_path)


@pytest.fixture(scope="module")
def proposed(loaded, tmp_path_factory) -> Workspace:
    """The same, with the rules' week-1 proposals pending. Read-only."""
    root = tmp_path_factory.mktemp("proposed") / "ws"
    shutil.copytree(loaded.root, root)
    run_step("recommend", root, "--now", WEEK1)
    return Workspace(root)


# --- secrets are never written ---------------------------------------------------------------------

APIFY_TOKEN = "apify_api_FAKE_9f8e7d6c5b4a39281706"
ANTHROPIC_KEY = "sk-ant-FAKE-api03-Zq8xV2mN4bR7tY1uW5eA0sD3fG6hJ9kL"


def claude_suggests_an_experiment(body: dict) -> dict:
    """One proposal resting on the first finding the request carries."""
    text = body["messages"][0]["content"]
    text = text if isinstance(text, str) else "".join(block["text"] for block in text)
    findings = json.loads(re.search(r"<findings>\n(.*)\n</findings>", text, re.S).group(1))
    return tool_use_message([{"finding_id": f["id"], "category": "cta_strategy", "confidence": "low",
                              "insight": "Try a save_this CTA on the next five posts.",
                              "patch": [{"op": "add", "path": "/experiment_suggestions/-",
                                         "value": "CTA save_this on five posts"}]} for f in findings[:1]],
                            body["model"])


def test_tokens_are_never_written_anywhere(tmp_path):
    """make daily, weekly and apply with both keys, against the fake Apify and Anthropic servers;
    then neither key may appear in any file of the workspace or in anything the runs printed."""
    from tests.fake_apify import (FakeApify, instagram_post_scraper, instagram_profile_record,
                                  instagram_profile_scraper, instagram_reel_scraper, tiktok_profile_scraper)
    from tests.test_scrape import IG_POSTS, IG_PROFILE, IG_REELS, TIKTOK, latest_items
    ws = build_demo(tmp_path / "ws", days=30, accounts=2, steps=())
    accounts = ws.account_names()
    outputs = []
    with FakeApify(APIFY_TOKEN) as apify, FakeAnthropic() as claude:
        apify.actors[TIKTOK] = tiktok_profile_scraper({a: latest_items(ws, "tiktok", a) for a in accounts})
        instagram = {a: latest_items(ws, "instagram", a) for a in accounts}
        apify.actors[IG_POSTS] = instagram_post_scraper(instagram)
        apify.actors[IG_REELS] = instagram_reel_scraper(instagram)
        apify.actors[IG_PROFILE] = instagram_profile_scraper({a: instagram_profile_record(a, 900) for a in accounts})
        claude.answers = [(529, {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
                          (200, claude_suggests_an_experiment)]
        env = {"APIFY_TOKEN": APIFY_TOKEN, "APIFY_API_BASE_URL": apify.url, "ANTHROPIC_API_KEY": ANTHROPIC_KEY,
               "ANTHROPIC_BASE_URL": claude.url, "ANTHROPIC_MODEL": "claude-sonnet-5", "RECOMMEND_MAX_RETRIES": "0"}
        for target in ("daily", "weekly"):
            result = make(target, ws, env=env)
            outputs.append(result.stdout + result.stderr)
            assert result.returncode == 0, outputs[-1][-3000:]
        assert len(apify.runs_started()) == 4 and len(claude.requests) == len(accounts)
    assert "Claude unavailable" in outputs[-1]   # the first account fell back to the rules
    [claude_rec] = [p for p in ws.rec_dir("pending").glob("*.json") if read_json(p)["source"].startswith("claude:")]
    claude_rec.rename(ws.rec_dir("approved") / claude_rec.name)
    applied = make("apply", ws, env=env)
    outputs.append(applied.stdout + applied.stderr)
    assert applied.returncode == 0
    assert ws.context_path(read_json(ws.rec_dir("applied") / claude_rec.name)["account"]).exists()

    for secret in (APIFY_TOKEN, ANTHROPIC_KEY):
        assert not [text for text in outputs if secret in text]
        leaked = [p for p in ws.root.rglob("*") if p.is_file() and secret.encode() in p.read_bytes()]
        assert leaked == []


def test_an_api_error_quoting_the_key_is_not_printed(ws):
    with FakeAnthropic() as claude:
        claude.answers = [(401, {"type": "error", "error": {"type": "authentication_error",
                                                           "message": f"invalid x-api-key {ANTHROPIC_KEY}"}})]
        result = run_step("recommend", ws.root, "--now", WEEK1,
                          env={"ANTHROPIC_API_KEY": ANTHROPIC_KEY, "ANTHROPIC_BASE_URL": claude.url,
                               "RECOMMEND_MAX_RETRIES": "0"})
    assert "falling back to the rules" in result.stdout
    assert ANTHROPIC_KEY not in result.stdout + result.stderr


# --- Claude cannot widen its patch paths ----------------------------------------------------------

# (category, op): each tries to reach a field its category may not change, or one apply owns
PATH_TRICKS = [
    ("format_weight", {"op": "replace", "path": "/format_weights/../approved_recommendations", "value": []}),
    ("format_weight", {"op": "add", "path": "/format_weights~1step_guide", "value": 3.0}),
    ("format_weight", {"op": "add", "path": "/format_weights/~1..~1..~1etc~1passwd", "value": 1.0}),
    ("format_weight", {"op": "add", "path": "/format_weights/..", "value": 2.0}),
    ("format_weight", {"op": "add", "path": "/approved_recommendations/-",
                       "value": {"id": "forged", "insight": "forged", "approved_at": "2026-11-24"}}),
    ("format_weight", {"op": "replace", "path": "/sample_size", "value": 1}),
    ("format_weight", {"op": "replace", "path": "", "value": {}}),
    ("format_weight", {"op": "replace", "path": "/", "value": {}}),
    ("format_weight", {"op": "move", "from": "/top_pillars", "path": "/format_weights/step_guide"}),
    ("hook_style", {"op": "add", "path": "/hook_insights/../format_weights/habit_list", "value": 3.0}),
    ("hook_style", {"op": "replace", "path": "/format_weights/habit_list", "value": 3.0}),
]


def tricky_answer(body: dict) -> dict:
    recommendations = [{"finding_id": STEP_GUIDE if category == "format_weight" else NUMBER_HOOKS,
                        "category": category, "confidence": "high", "insight": f"trick {i}", "patch": [op]}
                       for i, (category, op) in enumerate(PATH_TRICKS)]
    return tool_use_message(recommendations, body["model"])


def test_claude_cannot_widen_its_patch_paths(ws):
    before = tree(ws.root)
    with FakeAnthropic() as fake:
        fake.answers = [(200, tricky_answer)]
        result = run_step("recommend", ws.root, "--now", WEEK1,
                          env={"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": fake.url,
                               "ANTHROPIC_MODEL": "claude-sonnet-5", "RECOMMEND_MAX_RETRIES": "0"})
    assert len(fake.requests) == len(ws.account_names())
    assert result.stdout.count("dropped claude:claude-sonnet-5 proposal") == len(PATH_TRICKS) * len(ws.account_names())
    recs = [read_json(p) for p in ws.rec_dir("pending").glob("*.json")]
    assert recs and {r["source"] for r in recs} == {"rules"}  # every trick dropped; the rules topped up
    for rec in recs:
        for op in rec["patch"]:
            top = op["path"].split("/")[1]
            assert top in CATEGORY_FIELDS[rec["category"]] and top not in APPLY_FIELDS
            assert ".." not in op["path"] and "~" not in op["path"]
    written = changed(before, tree(ws.root))
    assert all(p.startswith(("recommendations/pending/", "data/analytics.db")) for p in written), written


# the same tricks written by hand into an approved file (the schema's path pattern lets them through)
APPROVED_TRICKS = [
    ({"op": "add", "path": "/approved_recommendations/-",
      "value": {"id": "forged", "insight": "forged", "approved_at": "2026-11-24"}}, "apply maintains it"),
    ({"op": "replace", "path": "/sample_size", "value": 5}, "apply maintains it"),
    ({"op": "add", "path": "/format_weights~1step_guide", "value": 2.0}, "break the schema"),
    ({"op": "add", "path": "/format_weights/..", "value": 2.0}, "break the schema"),
    ({"op": "add", "path": "/format_weights/~1..~1..~1etc~1passwd", "value": 2.0}, "break the schema"),
    ({"op": "replace", "path": "/format_weights/../sample_size", "value": 2.0}, "patch does not apply"),
]


@pytest.mark.parametrize("op, reason", APPROVED_TRICKS, ids=[op["path"] for op, _ in APPROVED_TRICKS])
def test_a_hand_edited_approved_patch_cannot_reach_other_fields(proposed, tmp_path, op, reason):
    ws = copy_workspace(proposed, tmp_path)
    account = ws.account_names()[0]
    [pending] = ws.rec_dir("pending").glob(f"{account}--*--format_weight.json")
    rec = read_json(pending)
    rec["patch"].append(op)
    approved = ws.rec_dir("approved") / pending.name
    approved.write_text(json.dumps(rec))
    pending.unlink()
    before = tree(ws.accounts_dir)
    result = run_step("apply", ws.root, "--now", APPLY_AT, check=False)
    assert result.returncode == 1
    [line] = [l for l in result.stderr.splitlines() if l.startswith("apply: error:")]
    assert approved.name in line and reason in line
    assert tree(ws.accounts_dir) == before and approved.exists()


# --- raw envelopes cannot point outside data/ ------------------------------------------------------

def envelope(account: str, platform: str) -> dict:
    return {"account": account, "platform": platform, "scraped_at": "2026-11-24T08:00:00Z",
            "source": None, "profile": {"followers": 1}, "items": [{"id": "7000000000000000001", "playCount": 5}]}


@pytest.mark.parametrize("account, platform", [
    ("../x", "tiktok"), ("../../accounts/x", "tiktok"), ("x/../../..", "tiktok"), ("..", "tiktok"),
    ("mymomskills", "../tiktok"), ("dreamtimelullabies", "tiktok"), ("mymomskills", "instagram"),
], ids=["dotdot", "into-accounts", "nested", "bare-dotdot", "platform", "other-account", "other-platform"])
def test_an_envelope_cannot_point_outside_its_folder(ws, account, platform):
    """The file lies under tiktok/mymomskills/; its content claims somewhere else. Rejected and
    moved aside with its reason; nothing else in the workspace is written."""
    path = ws.raw_path("tiktok", "mymomskills", "20261124T080000Z")
    path.write_text(json.dumps(envelope(account, platform)))
    before = tree(ws.root)
    result = run_step("load", ws.root, check=False)
    assert result.returncode == 1
    assert "data/raw/tiktok/mymomskills/20261124T080000Z.json" in result.stderr
    rejected = ws.rejected_dir / "tiktok/mymomskills/20261124T080000Z.json"
    assert json.loads(rejected.read_text()) == envelope(account, platform)
    written = changed(before, tree(ws.root)) - {str(path.relative_to(ws.root))}
    moved_aside = {str(p.relative_to(ws.root)) for p in (rejected, rejected.with_suffix(".reason.txt"))}
    assert written <= moved_aside | {"data/analytics.db", "data/analytics.db-wal", "data/analytics.db-shm",
                                     "data/problems.json"}, written  # the open problem, kept until fixed
    conn = sqlite3.connect(ws.db_path)
    assert conn.execute("SELECT count(*) FROM posts WHERE post_id = '7000000000000000001'").fetchone() == (0,)
    conn.close()


# --- hostile text in reports, review and the dashboard -------------------------------------------

# a caption, hook or Claude-written insight that tries HTML, rich markup and terminal escapes
# (clear the screen; OSC 52 writes the user's clipboard)
HOSTILE = "<script>alert(1)</script> [bold red]boom[/] \x1b[2J\x1b]52;c;ZXZpbA==\x07 end"
CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def hostile_claude(body: dict) -> dict:
    return tool_use_message([{"finding_id": STEP_GUIDE, "category": "format_weight", "confidence": "high",
                              "insight": HOSTILE, "patch": [{"op": "replace", "path": "/format_weights/step_guide",
                                                             "value": 1.4}]}], body["model"])


@pytest.fixture(scope="module")
def hostile(loaded, tmp_path_factory) -> tuple[Workspace, str]:
    """Every post of the first account carries HOSTILE as caption and hook; Claude wrote it into
    a pending recommendation's insight. The tests only read it (the dashboard writes its own files)."""
    ws = Workspace(tmp_path_factory.mktemp("hostile") / "ws")
    shutil.copytree(loaded.root, ws.root)
    account = ws.account_names()[0]
    conn = sqlite3.connect(ws.db_path)
    with conn:
        conn.execute("UPDATE posts SET caption = ?, hook_text = ? WHERE account_name = ?", [HOSTILE, HOSTILE, account])
    conn.close()
    with FakeAnthropic() as fake:
        fake.answers = [(200, hostile_claude)]
        run_step("recommend", ws.root, "--now", WEEK1,
                 env={"ANTHROPIC_API_KEY": "sk-ant-test", "ANTHROPIC_BASE_URL": fake.url,
                      "ANTHROPIC_MODEL": "claude-sonnet-5", "RECOMMEND_MAX_RETRIES": "0"})
    assert any(read_json(p)["insight"] == " ".join(HOSTILE.split()) for p in ws.rec_dir("pending").glob("*.json"))
    return ws, account


def test_hostile_text_reaches_the_terminal_as_plain_text(hostile):
    ws, account = hostile
    wide = {"COLUMNS": "400"}
    shown = {" ".join(args) or "overview": run_step("report", ws.root, "--account", account, *args, env=wide).stdout
             for args in ((), ("--focus", "failures"), ("--focus", "hooks"))}
    shown["review"] = run_step("review", ws.root, "--account", account, input="s\n" * 10).stdout
    assert "[bold red]boom[/]" in shown["overview"] + shown["--focus failures"]  # text, not markup
    for name, text in shown.items():
        assert not CONTROL.search(text), f"{name}: {CONTROL.findall(text)[:3]} reach the terminal"


def test_hostile_text_is_escaped_in_the_dashboard(hostile):
    ws, account = hostile
    run_step("dashboard", ws.root)
    pages = {page.name: page.read_text(encoding="utf-8") for page in ws.dashboard_dir.glob("*.html")}
    assert f"{account}.html" in pages and "all.html" in pages
    for name, html in pages.items():
        assert "<script>alert(1)" not in html, name
    # the caption in the post table and Claude's insight in the proposals, as text
    assert pages[f"{account}.html"].count("&lt;script&gt;alert(1)&lt;/script&gt; [bold red]boom[/]") >= 2
