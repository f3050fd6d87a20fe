"""The SQL views against numbers computed by hand from a small, fully known scrape history."""
import json
from datetime import datetime, timezone

import pytest
import sqlite_utils

from scripts.core.db import open_db
from scripts.core.workspace import Workspace
from tests.conftest import run_step

# three TikTok posts; daily scrapes at 08:00Z on Jan 2..12 except Jan 9 and 10 (a gap)
POSTS = {"P1": ("2026-01-01T10:00:00Z", 1000, True), "P2": ("2026-01-03T20:00:00Z", 500, False),
         "P3": ("2026-01-04T10:00:00Z", 200, True)}
SCRAPE_DAYS = [d for d in range(2, 13) if d not in (9, 10)]


def item(post_id, day):
    published, per_day, has_saves = POSTS[post_id]
    views = per_day * day
    data = {"id": post_id, "createTimeISO": published, "playCount": views, "diggCount": views // 10,
            "commentCount": 1, "shareCount": 0, "isSlideshow": True,
            "slideshowImageLinks": [{"tiktokLink": "x"}] * 4}
    if has_saves:
        data["collectCount"] = views // 100
    return data


def write_scrapes(ws: Workspace, days, hour: int = 8) -> None:
    """The envelopes of the given scrape days, scraped at `hour` UTC (config included)."""
    ws.config_path("acme").parent.mkdir(parents=True, exist_ok=True)
    ws.config_path("acme").write_text("platform_profiles: {tiktok: acme}\ntimezone: UTC\n")
    for day in days:
        scraped = datetime(2026, 1, day, hour, tzinfo=timezone.utc)
        live = [p for p, (published, _, _) in POSTS.items() if published <= scraped.strftime("%Y-%m-%dT%H:%M:%SZ")]
        envelope = {"account": "acme", "platform": "tiktok", "scraped_at": scraped.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "profile": {"followers": 1000 + 10 * day}, "items": [item(p, day) for p in live]}
        path = ws.raw_path("tiktok", "acme", scraped.strftime("%Y%m%dT%H%M%SZ"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(envelope))


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    ws = Workspace(tmp_path_factory.mktemp("views"))
    write_scrapes(ws, SCRAPE_DAYS)
    run_step("load", ws.root)
    db = sqlite_utils.Database(ws.db_path)
    for post_id, fmt in (("P1", "step_guide"), ("P2", "step_guide"), ("P3", "habit_list")):
        db["posts"].update(db.execute("select id from posts where post_id = ?", [post_id]).fetchone()[0],
                           {"format": fmt})
    return db


def query(db, sql):
    return [dict(r) for r in db.query(sql)]


def test_post_performance_is_the_latest_snapshot(db):
    assert query(db, "select post_id, views, saves, scraped_at, age_days from v_post_performance order by post_id") == [
        {"post_id": "P1", "views": 12000, "saves": 120, "scraped_at": "2026-01-12T08:00:00Z", "age_days": 10.92},
        {"post_id": "P2", "views": 6000, "saves": None, "scraped_at": "2026-01-12T08:00:00Z", "age_days": 8.5},
        {"post_id": "P3", "views": 2400, "saves": 24, "scraped_at": "2026-01-12T08:00:00Z", "age_days": 7.92},
    ]


def test_post_performance_looks_each_post_up_in_the_snapshots_index(db):
    """One index lookup per post, never a scan of the snapshots (a million rows at 50 accounts)."""
    plan = [row["detail"] for row in db.query("explain query plan select * from v_post_performance")]
    assert any(d.startswith("SEARCH ms USING INDEX") for d in plan) and not any(d.startswith("SCAN ms") for d in plan)


def test_metrics_at_age_take_the_first_snapshot_within_36_hours(db):
    rows = query(db, "select post_id, age_day, views, scraped_at from v_metrics_at_age"
                     " where age_day in (1, 7) order by age_day, post_id")
    assert rows == [
        {"post_id": "P1", "age_day": 1, "views": 3000, "scraped_at": "2026-01-03T08:00:00Z"},   # 46 h
        {"post_id": "P2", "age_day": 1, "views": 2500, "scraped_at": "2026-01-05T08:00:00Z"},   # 36 h
        {"post_id": "P3", "age_day": 1, "views": 1200, "scraped_at": "2026-01-06T08:00:00Z"},   # 46 h
        # P1 has no day-7 value: 166 h on Jan 8, then 238 h on Jan 11 (the gap), too late
        {"post_id": "P2", "age_day": 7, "views": 5500, "scraped_at": "2026-01-11T08:00:00Z"},   # 180 h
        {"post_id": "P3", "age_day": 7, "views": 2400, "scraped_at": "2026-01-12T08:00:00Z"},   # 190 h
    ]


AT_AGE = "select * from v_metrics_at_age order by post_id, age_day"


def rows_by_the_rule(db_path, tmp_path) -> list[dict]:
    """v_metrics_at_age as a database made before the age table would get it: filled once from
    all its snapshots by the rule (sql/tables/metrics_snapshots.sql), not kept file by file by load
    (and without the trigger that kept it until issue 18, if the database still has it)."""
    copy = sqlite_utils.Database(tmp_path / "old.db")
    sqlite_utils.Database(db_path).conn.backup(copy.conn)
    copy.execute("DROP TRIGGER IF EXISTS metrics_at_age_from_snapshot")
    copy.execute("DROP TABLE metrics_at_age")
    copy.conn.commit()
    return query(open_db(tmp_path / "old.db"), AT_AGE)


def test_a_database_from_before_the_age_table_gets_it_filled_by_the_same_rule(db, tmp_path):
    assert rows_by_the_rule(db.conn.execute("PRAGMA database_list").fetchone()[2], tmp_path) == query(db, AT_AGE)


def test_metrics_at_age_do_not_depend_on_the_order_scrapes_arrive_in(tmp_path):
    """Load keeps the rows as snapshots arrive: an earlier scrape loaded after a later one
    (a late file, a recovered history) still takes the age it is first at."""
    ws = Workspace(tmp_path / "ws")
    write_scrapes(ws, [d for d in SCRAPE_DAYS if d >= 7])
    run_step("load", ws.root)
    write_scrapes(ws, SCRAPE_DAYS)
    write_scrapes(ws, [6], hour=20)  # P2 at 72 h: its day-3 window also holds Jan 7 08:00 (84 h)
    run_step("load", ws.root)
    rows = query(sqlite_utils.Database(ws.db_path), AT_AGE)
    assert {"post_id": "P2", "age_day": 3, "scraped_at": "2026-01-06T20:00:00Z"}.items() <= \
        next(r for r in rows if (r["post_id"], r["age_day"]) == ("P2", 3)).items()
    assert rows == rows_by_the_rule(ws.db_path, tmp_path)


def test_post_day7_joins_metadata(db):
    assert query(db, "select post_id, format, views, saves, slide_count from v_post_day7 order by post_id") == [
        {"post_id": "P2", "format": "step_guide", "views": 5500, "saves": None, "slide_count": 4},
        {"post_id": "P3", "format": "habit_list", "views": 2400, "saves": 24, "slide_count": 4},
    ]


def test_format_comparison_averages_skip_unknown_saves(db):
    assert query(db, "select format, post_count, avg_views, avg_saves from v_format_comparison order by format") == [
        {"format": "habit_list", "post_count": 1, "avg_views": 2400.0, "avg_saves": 24.0},
        {"format": "step_guide", "post_count": 2, "avg_views": 9000.0, "avg_saves": 120.0},
    ]


def test_account_summary(db):
    assert query(db, "select * from v_account_summary") == [{
        "account_name": "acme", "platform": "tiktok", "total_posts": 3, "avg_views": 6800.0,
        "avg_engagement_rate": pytest.approx((1200 + 1 + 0 + 120) / 12000 / 3 + (600 + 1) / 6000 / 3
                                             + (240 + 1 + 24) / 2400 / 3),
        "total_views": 20400, "best_views": 12000, "followers": 1120}]


def test_follower_growth_counts_change_since_previous_scrape(db):
    rows = query(db, "select scraped_at, followers, followers_change from v_follower_growth order by scraped_at")
    assert rows[0] == {"scraped_at": "2026-01-02T08:00:00Z", "followers": 1020, "followers_change": None}
    assert rows[7] == {"scraped_at": "2026-01-11T08:00:00Z", "followers": 1110, "followers_change": 30}


def test_timing_buckets_use_local_time(db):
    assert query(db, "select weekday, hour, post_count from v_timing order by weekday") == [
        {"weekday": 0, "hour": 10, "post_count": 1},   # P3: Sunday 2026-01-04 10:00 UTC
        {"weekday": 6, "hour": 20, "post_count": 1},   # P2: Saturday 2026-01-03 20:00 UTC
    ]
