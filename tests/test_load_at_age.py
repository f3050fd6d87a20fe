"""metrics_at_age kept by load, one statement per raw file (issue 18), against the rule it replaced: the
per-snapshot trigger that kept it until then, replayed over the same snapshots in the order they were
inserted, and the fill-once rule a database from before the table gets (sql/tables/metrics_snapshots.sql).
And each post's latest snapshot, which v_post_performance finds through posts.last_seen_at, against the
design's rule, in databases with either order of the snapshots' index."""
from __future__ import annotations

import contextlib
import sqlite3

from scripts.core.db import TABLES_DIR
from tests.conftest import build_demo, run_step

# the trigger of sql/tables/metrics_snapshots.sql before issue 18, here on a replay table
OLD_TRIGGER = """
CREATE TRIGGER replay_at_age AFTER INSERT ON replay
BEGIN
    INSERT INTO metrics_at_age (post_id, age_day, scraped_at, age_hours, views, plays, likes, comments, shares,
                                saves, engagement_rate, follower_rate)
    SELECT NEW.post_id, a.age_day, NEW.scraped_at, NEW.age_hours, NEW.views, NEW.plays, NEW.likes, NEW.comments,
           NEW.shares, NEW.saves, NEW.engagement_rate, NEW.follower_rate
    FROM metric_ages a
    WHERE NEW.age_hours >= a.age_day * 24 AND NEW.age_hours < a.age_day * 24 + 36
    ON CONFLICT (post_id, age_day) DO UPDATE SET
        scraped_at = excluded.scraped_at, age_hours = excluded.age_hours, views = excluded.views,
        plays = excluded.plays, likes = excluded.likes, comments = excluded.comments, shares = excluded.shares,
        saves = excluded.saves, engagement_rate = excluded.engagement_rate, follower_rate = excluded.follower_rate
    WHERE excluded.age_hours < metrics_at_age.age_hours;
END;
"""
AT_AGE = "SELECT * FROM metrics_at_age ORDER BY post_id, age_day"


def at_age(db_path) -> list[tuple]:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        return conn.execute(AT_AGE).fetchall()


def by_the_trigger(db_path, tmp_path) -> list[tuple]:
    """metrics_at_age as the old trigger made it: every stored snapshot inserted again, in id order
    (the order load inserted them in), into an empty copy of the table."""
    copy = tmp_path / "trigger.db"
    with contextlib.closing(sqlite3.connect(db_path)) as source, contextlib.closing(sqlite3.connect(copy)) as conn:
        source.backup(conn)
        conn.execute("DELETE FROM metrics_at_age")
        conn.execute("CREATE TABLE replay AS SELECT * FROM metrics_snapshots WHERE 0")
        conn.executescript(OLD_TRIGGER)
        conn.execute("INSERT INTO replay SELECT * FROM metrics_snapshots ORDER BY id")
        conn.commit()
        return conn.execute(AT_AGE).fetchall()


def by_the_fill_rule(db_path, tmp_path) -> list[tuple]:
    copy = tmp_path / "rule.db"
    with contextlib.closing(sqlite3.connect(db_path)) as source, contextlib.closing(sqlite3.connect(copy)) as conn:
        source.backup(conn)
        conn.execute("DELETE FROM metrics_at_age")
        conn.commit()
        conn.executescript((TABLES_DIR / "metrics_snapshots.sql").read_text(encoding="utf-8"))
        return conn.execute(AT_AGE).fetchall()


def test_at_age_rows_equal_what_the_trigger_gave_with_scrapes_loaded_out_of_order(tmp_path):
    """A demo world whose newer half is loaded first, then the older half (late files, a recovered
    history): the rows load keeps are those the trigger kept, and those the fill-once rule finds."""
    ws = build_demo(tmp_path / "ws", days=45, accounts=2, steps=())
    files = ws.raw_files()
    older = files[: len(files) // 2]
    aside = tmp_path / "aside"
    for path in older:
        target = aside / path.relative_to(ws.root)
        target.parent.mkdir(parents=True, exist_ok=True)
        path.rename(target)
    run_step("load", ws.root)
    for path in older:
        (aside / path.relative_to(ws.root)).rename(path)
    run_step("load", ws.root)
    rows = at_age(ws.db_path)
    assert len(rows) > 100 and {r[1] for r in rows} == {1, 3, 7, 14, 21, 30}
    assert rows == by_the_trigger(ws.db_path, tmp_path)
    assert rows == by_the_fill_rule(ws.db_path, tmp_path)
    assert_latest_is_the_designs(ws.db_path)


# the design's rule for a post's latest snapshot (account-analytics-design.md), which
# v_post_performance finds through posts.last_seen_at instead
DESIGNS_LATEST = """
SELECT p.post_id, ms.scraped_at, ms.views, ms.likes FROM posts p
JOIN metrics_snapshots ms ON p.post_id = ms.post_id
WHERE ms.scraped_at = (SELECT MAX(scraped_at) FROM metrics_snapshots WHERE post_id = p.post_id)
ORDER BY p.post_id
"""


def assert_latest_is_the_designs(db_path) -> None:
    with contextlib.closing(sqlite3.connect(db_path)) as conn:
        latest = conn.execute("SELECT post_id, scraped_at, views, likes FROM v_post_performance "
                              "ORDER BY post_id").fetchall()
        assert latest == conn.execute(DESIGNS_LATEST).fetchall()
        assert len(latest) == conn.execute("SELECT count(*) FROM posts").fetchone()[0]


def test_a_database_with_the_old_snapshot_index_gives_the_same_latest_snapshots(tmp_path):
    """Until issue 18 the snapshots' index led with post_id; a database loaded then keeps that order
    (CREATE TABLE IF NOT EXISTS leaves it) and must read the same, and go on loading."""
    ws = build_demo(tmp_path / "ws", days=20, accounts=1, steps=())
    files = ws.raw_files()
    aside = tmp_path / "aside" / files[-1].name
    aside.parent.mkdir()
    files[-1].rename(aside)
    run_step("load", ws.root)
    create = (TABLES_DIR / "metrics_snapshots.sql").read_text(encoding="utf-8").split(");")[0] + ");"
    old_order = create.replace("UNIQUE (scraped_at, post_id)", "UNIQUE (post_id, scraped_at)") \
        .replace("metrics_snapshots (", "old_snapshots (", 1)
    assert old_order != create
    with contextlib.closing(sqlite3.connect(ws.db_path)) as conn:  # the views come back at the next open
        views = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'view'")]
        conn.executescript("".join(f"DROP VIEW {v};" for v in views) + f"""PRAGMA foreign_keys = OFF; {old_order}
            INSERT INTO old_snapshots SELECT * FROM metrics_snapshots; DROP TABLE metrics_snapshots;
            ALTER TABLE old_snapshots RENAME TO metrics_snapshots;""")
    aside.rename(files[-1])
    run_step("load", ws.root)
    with contextlib.closing(sqlite3.connect(ws.db_path)) as conn:
        index = conn.execute("SELECT name FROM pragma_index_list('metrics_snapshots') WHERE origin = 'u'").fetchone()[0]
        assert [r[2] for r in conn.execute(f"PRAGMA index_info('{index}')")] == ["post_id", "scraped_at"]
        assert conn.execute("SELECT count(*) FROM metrics_snapshots WHERE raw_file = ?",
                            [str(files[-1].relative_to(ws.root))]).fetchone()[0] > 0
    assert_latest_is_the_designs(ws.db_path)
    with contextlib.closing(sqlite3.connect(ws.db_path)) as conn:  # a row edited by hand: the design's rule
        conn.execute("UPDATE posts SET last_seen_at = NULL WHERE id = 1")
        conn.commit()
    assert_latest_is_the_designs(ws.db_path)


def test_a_file_loaded_again_changes_no_at_age_row(tmp_path):
    """load --full reads every file again; its snapshots are duplicates (ignored), so no age row moves."""
    ws = build_demo(tmp_path / "ws", days=20, accounts=1)
    before = at_age(ws.db_path)
    run_step("load", ws.root, "--full")
    assert at_age(ws.db_path) == before and before


def test_the_old_trigger_is_dropped_from_an_existing_database(tmp_path):
    ws = build_demo(tmp_path / "ws", days=10, accounts=1)
    with contextlib.closing(sqlite3.connect(ws.db_path)) as conn:
        conn.executescript(OLD_TRIGGER.replace("replay_at_age", "metrics_at_age_from_snapshot")
                           .replace("ON replay", "ON metrics_snapshots"))
    run_step("load", ws.root)
    with contextlib.closing(sqlite3.connect(ws.db_path)) as conn:
        assert conn.execute("SELECT name FROM sqlite_master WHERE type = 'trigger'").fetchall() == []
