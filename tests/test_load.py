"""make load: envelopes into SQLite, one transaction per file, idempotent, incremental, bad files aside."""
import json
import os
from pathlib import Path

import pytest
import sqlite_utils

from scripts.core.workspace import Workspace
from tests.conftest import run_step

FIXTURES = Path(__file__).parent / "fixtures"
CONFIG = """platform_profiles: {tiktok: mymomskills, instagram: mymomskills}
timezone: America/New_York
content_pillars:
  sleep_routines: [sleep, bedtime]
formats: [habit_list, step_guide]
"""


def envelope(account, platform, scraped_at, items, profile=None):
    return {"account": account, "platform": platform, "scraped_at": scraped_at,
            "source": {"actor": "clockworks/tiktok-profile-scraper", "run_id": "r1", "dataset_id": "d1",
                       "status": "SUCCEEDED", "usage_total_usd": 0.1, "charged_events": {"result": 3}},
            "profile": profile, "items": items}


def write_envelope(ws, data, stamp):
    path = ws.raw_path(data["platform"], data["account"], stamp)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


@pytest.fixture
def ws(tmp_path):
    ws = Workspace(tmp_path)
    ws.config_path("mymomskills").parent.mkdir(parents=True)
    ws.config_path("mymomskills").write_text(CONFIG)
    tiktok = json.loads((FIXTURES / "tiktok_items.json").read_text())
    instagram = json.loads((FIXTURES / "instagram_items.json").read_text())
    write_envelope(ws, envelope("mymomskills", "tiktok", "2025-08-13T08:00:04Z", tiktok,
                                {"followers": 18400, "following": 12, "likes_total": 210000, "posts_total": 231}),
                   "20250813T080004Z")
    write_envelope(ws, envelope("mymomskills", "instagram", "2026-06-25T08:00:00Z", instagram,
                                {"followers": 9000}), "20260625T080000Z")
    return ws


def rows(ws, sql):
    return [dict(r) for r in sqlite_utils.Database(ws.db_path).query(sql)]


def test_load_writes_posts_snapshots_profiles_and_runs(ws):
    result = run_step("load", ws.root)
    assert "Loaded 5 items for mymomskills (tiktok), 3 new posts" in result.stdout
    posts = rows(ws, "select post_id, platform, media_type, media_slide_count, is_pinned, published_at,"
                     " published_local from posts order by post_id")
    assert posts == [
        {"post_id": "7535448384170331414", "platform": "tiktok", "media_type": "slideshow",
         "media_slide_count": 3, "is_pinned": 1, "published_at": "2025-08-06T12:28:22Z",
         "published_local": "2025-08-06T08:28:22"},
        {"post_id": "7535500000000000001", "platform": "tiktok", "media_type": "video",
         "media_slide_count": None, "is_pinned": 0, "published_at": "2025-08-07T12:28:22Z",
         "published_local": "2025-08-07T08:28:22"},
        {"post_id": "7535600000000000002", "platform": "tiktok", "media_type": "video",
         "media_slide_count": None, "is_pinned": 0, "published_at": None, "published_local": None},
        {"post_id": "DZ2pYCqgIeq", "platform": "instagram", "media_type": "carousel", "media_slide_count": 5,
         "is_pinned": 0, "published_at": "2026-06-21T16:00:05Z", "published_local": "2026-06-21T12:00:05"},
        {"post_id": "DZ3reelAAAA", "platform": "instagram", "media_type": "video", "media_slide_count": None,
         "is_pinned": 1, "published_at": "2026-06-22T18:30:00Z", "published_local": "2026-06-22T14:30:00"},
        {"post_id": "DZ4imageBBB", "platform": "instagram", "media_type": "image", "media_slide_count": 1,
         "is_pinned": 0, "published_at": "2026-06-23T05:00:00Z", "published_local": "2026-06-23T01:00:00"},
        {"post_id": "DZ5sidecarC", "platform": "instagram", "media_type": "carousel", "media_slide_count": 4,
         "is_pinned": 0, "published_at": "2026-06-24T07:00:00Z", "published_local": "2026-06-24T03:00:00"},
    ]
    snap = rows(ws, "select views, likes, comments, shares, saves, engagement_rate, follower_rate from"
                    " metrics_snapshots where post_id = 'DZ2pYCqgIeq'")
    assert snap == [{"views": None, "likes": 39779, "comments": 135, "shares": None, "saves": None,
                     "engagement_rate": None, "follower_rate": pytest.approx((39779 + 135) / 9000)}]
    assert rows(ws, "select followers, following, scraped_at from profile_snapshots where platform='tiktok'") == \
        [{"followers": 18400, "following": 12, "scraped_at": "2025-08-13T08:00:04Z"}]
    run = rows(ws, "select run_id, status, item_count, new_posts, usage_total_usd, charged_events"
                   " from scrape_runs where platform = 'tiktok'")
    assert run == [{"run_id": "r1", "status": "SUCCEEDED", "item_count": 5, "new_posts": 3,
                    "usage_total_usd": 0.1, "charged_events": '{"result": 3}'}]


def snapshot_counts(ws):
    return rows(ws, "select (select count(*) from posts) p, (select count(*) from metrics_snapshots) s,"
                    " (select count(*) from profile_snapshots) f, (select count(*) from scrape_runs) r")[0]


def test_loading_twice_adds_nothing_and_skips_unchanged_files(ws):
    run_step("load", ws.root)
    before = snapshot_counts(ws)
    second = run_step("load", ws.root)
    assert "0 new or changed raw files" in second.stdout
    forced = run_step("load", ws.root, "--full")
    assert "2 new or changed raw files" in forced.stdout
    assert snapshot_counts(ws) == before == {"p": 7, "s": 7, "f": 2, "r": 2}


def test_touched_file_is_reread_without_duplicates(ws):
    run_step("load", ws.root)
    before = snapshot_counts(ws)
    path = ws.raw_files()[0]
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 10**9))
    assert "1 new or changed raw files" in run_step("load", ws.root).stdout
    assert snapshot_counts(ws) == before


def test_post_missing_from_a_later_scrape_is_kept(ws):
    run_step("load", ws.root)
    later = envelope("mymomskills", "instagram", "2026-06-26T08:00:00Z",
                     json.loads((FIXTURES / "instagram_items.json").read_text())[:1], {"followers": 9100})
    write_envelope(ws, later, "20260626T080000Z")
    run_step("load", ws.root)
    assert rows(ws, "select count(*) n from posts where platform = 'instagram'") == [{"n": 4}]
    assert rows(ws, "select post_id, last_seen_at from posts where post_id in ('DZ2pYCqgIeq', 'DZ4imageBBB')"
                    " order by post_id") == [
        {"post_id": "DZ2pYCqgIeq", "last_seen_at": "2026-06-26T08:00:00Z"},
        {"post_id": "DZ4imageBBB", "last_seen_at": "2026-06-25T08:00:00Z"}]
    assert rows(ws, "select count(*) n from metrics_snapshots where post_id = 'DZ2pYCqgIeq'") == [{"n": 2}]


@pytest.mark.parametrize("content, reason", [
    ("{not json", "not valid JSON"),
    (json.dumps({"account": "mymomskills", "platform": "tiktok", "scraped_at": "2025-08-14T08:00:00Z"}),
     "'items' is a required property"),
    (json.dumps({"account": "mymomskills", "platform": "instagram", "scraped_at": "2025-08-14T08:00:00Z",
                 "items": []}), "envelope says instagram/mymomskills but the file lies under tiktok/mymomskills"),
    (json.dumps({"account": "../etc", "platform": "tiktok", "scraped_at": "2025-08-14T08:00:00Z",
                 "items": []}), "account: '../etc' does not match"),
    (json.dumps({"account": "mymomskills", "platform": "tiktok", "scraped_at": "yesterday", "items": []}),
     "scraped_at: 'yesterday' does not match"),
    ('{"account": "mymomskills", "platform": "tiktok", "scraped_at": "2025-08-14T08:00:00Z", "items": [{"id"',
     "not valid JSON"),
])
def test_bad_file_is_reported_moved_aside_and_others_still_load(ws, content, reason):
    bad = ws.raw_path("tiktok", "mymomskills", "20250814T080000Z")
    bad.write_text(content)
    result = run_step("load", ws.root, check=False)
    assert result.returncode == 1
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("load: error:")]
    assert len(error_lines) == 1
    assert "data/raw/tiktok/mymomskills/20250814T080000Z.json" in error_lines[0]
    assert reason in error_lines[0]
    assert not bad.exists()
    moved = ws.rejected_dir / "tiktok/mymomskills/20250814T080000Z.json"
    assert moved.read_text() == content
    assert reason in moved.with_suffix(".reason.txt").read_text()
    assert snapshot_counts(ws)["s"] == 7


def test_file_name_must_be_a_utc_stamp(ws):
    data = envelope("mymomskills", "tiktok", "2025-08-14T08:00:00Z", [])
    write_envelope(ws, data, "yesterday")
    result = run_step("load", ws.root, check=False)
    assert result.returncode == 1
    assert "file name is not a UTC stamp" in result.stderr


def test_envelope_cannot_write_onto_another_accounts_post(ws):
    run_step("load", ws.root)
    other = Workspace(ws.root)
    other.config_path("intruder").parent.mkdir(parents=True)
    other.config_path("intruder").write_text(CONFIG)
    stolen = json.loads((FIXTURES / "tiktok_items.json").read_text())[:1]
    stolen[0]["playCount"] = 1
    write_envelope(ws, envelope("intruder", "tiktok", "2025-08-14T08:00:00Z", stolen), "20250814T080000Z")
    result = run_step("load", ws.root, check=False)
    assert result.returncode == 1
    assert "belong to another account's posts" in result.stderr
    assert rows(ws, "select account_name, views from v_post_performance where post_id = '7535448384170331414'") \
        == [{"account_name": "mymomskills", "views": 348100}]


def test_bad_config_is_reported_and_envelopes_still_load_in_utc(ws):
    ws.config_path("mymomskills").write_text("timezone: Mars/Olympus\n")
    result = run_step("load", ws.root, check=False)
    assert result.returncode == 1
    assert "accounts/mymomskills/config.yml: timezone: Value error, unknown IANA timezone 'Mars/Olympus'" \
        in result.stderr
    assert rows(ws, "select published_local from posts where post_id = 'DZ2pYCqgIeq'") == \
        [{"published_local": "2026-06-21T16:00:05"}]


def test_reload_from_raw_rebuilds_the_same_database(demo_copy):
    """The demo was loaded with preparing workers (on a machine with more than one CPU); the
    reload may use one CPU only, so the files are prepared by the writer itself."""
    def content(ws):
        db = sqlite_utils.Database(ws.db_path)
        return {table: sorted(tuple(r.values()) for r in db.query(f"select * from {table}"))
                for table in ("metrics_snapshots", "metrics_at_age", "profile_snapshots")} | {
            "posts": sorted(tuple(r.values()) for r in db.query(
                "select post_id, account_name, platform, caption, published_at, published_local from posts"))}
    before = content(demo_copy)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{demo_copy.db_path}{suffix}").unlink(missing_ok=True)
    run_step("load", demo_copy.root, "--full", "--quiet", cpus={min(os.sched_getaffinity(0))})
    assert content(demo_copy) == before
