"""sql/ is applied on every open: idempotent, and older databases gain new columns."""
import sqlite_utils

from scripts.core.db import ensure_schema, open_db, table_sql_files, view_sql_files


def test_every_table_and_view_exists(tmp_path):
    db = open_db(tmp_path / "a.db")
    assert {p.stem for p in table_sql_files()} <= set(db.table_names())
    assert {p.stem for p in view_sql_files()} == set(db.view_names())
    for view in db.view_names():  # every view compiles against the tables
        db.execute(f"select * from [{view}] limit 1").fetchall()


def test_reapplying_the_schema_changes_nothing(tmp_path):
    db = open_db(tmp_path / "a.db")
    version = db.execute("PRAGMA schema_version").fetchone()[0]
    ensure_schema(db)
    open_db(tmp_path / "a.db")
    assert db.execute("PRAGMA schema_version").fetchone()[0] == version


def test_old_database_gains_declared_columns(tmp_path):
    old = sqlite_utils.Database(tmp_path / "old.db")
    old.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, account_name TEXT NOT NULL,"
                " platform TEXT NOT NULL, post_id TEXT NOT NULL UNIQUE)")
    old.execute("INSERT INTO posts (account_name, platform, post_id) VALUES ('a', 'tiktok', '1')")
    old.conn.commit()
    db = open_db(tmp_path / "old.db")
    columns = {c.name for c in db["posts"].columns}
    assert {"hook_style", "cta", "match_score", "published_local", "is_pinned"} <= columns
    assert list(db.query("select post_id, is_pinned from posts")) == [{"post_id": "1", "is_pinned": 0}]
