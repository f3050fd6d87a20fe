"""The benchmark floor for `make load`: the simplest loader that could work on the same raw files.

json.load each envelope, pick the post id, caption, publish time and counters straight out of the
items, and executemany them into a fresh two-table SQLite database, one transaction per file as
the SPEC demands of the real loader. No validation, no normalization, no incremental bookkeeping,
no views: whatever `make load` spends beyond this is the price of its guarantees. It is a
yardstick for scripts/bench.py, not a second loader; nothing reads the database it writes.
"""
from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path


from scripts.core.workspace import Workspace

SCHEMA = """
CREATE TABLE posts (post_id TEXT PRIMARY KEY, account_name TEXT, platform TEXT, caption TEXT,
                    published_at TEXT, last_seen_at TEXT);
CREATE TABLE metrics_snapshots (post_id TEXT, scraped_at TEXT, views INTEGER, likes INTEGER,
                                comments INTEGER, shares INTEGER, saves INTEGER, raw_file TEXT,
                                PRIMARY KEY (post_id, scraped_at));
"""
# column -> item field, per platform (the actors' own names; scripts/normalize.py holds the real
# mapping). Instagram publishes no shares or saves.
FIELDS = {
    "tiktok": {"post_id": "id", "caption": "text", "published_at": "createTimeISO", "views": "playCount",
               "likes": "diggCount", "comments": "commentCount", "shares": "shareCount", "saves": "collectCount"},
    "instagram": {"post_id": "shortCode", "caption": "caption", "published_at": "timestamp",
                  "views": "videoViewCount", "likes": "likesCount", "comments": "commentsCount"},
}
METRICS = ("views", "likes", "comments", "shares", "saves")


def fresh_db(path: Path) -> sqlite3.Connection:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.executescript(SCHEMA)
    return conn


def rows(envelope: dict, raw_file: str) -> tuple[list[tuple], list[tuple]]:
    fields = FIELDS[envelope["platform"]]
    seen = envelope["scraped_at"]
    posts, snapshots = [], []
    for item in envelope["items"]:
        post_id = str(item.get(fields["post_id"]))
        posts.append((post_id, envelope["account"], envelope["platform"], item.get(fields["caption"]),
                      item.get(fields["published_at"]), seen))
        metrics = (item.get(fields[m]) if m in fields else None for m in METRICS)
        snapshots.append((post_id, seen, *metrics, raw_file))
    return posts, snapshots


def load_file(conn: sqlite3.Connection, path: Path, raw_file: str) -> int:
    with open(path, encoding="utf-8") as handle:
        envelope = json.load(handle)
    posts, snapshots = rows(envelope, raw_file)
    with conn:  # one transaction per file, like the real loader
        conn.executemany("INSERT INTO posts VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (post_id) DO UPDATE SET "
                         "caption = excluded.caption, last_seen_at = excluded.last_seen_at", posts)
        conn.executemany("INSERT OR IGNORE INTO metrics_snapshots VALUES (?, ?, ?, ?, ?, ?, ?, ?)", snapshots)
    return len(envelope["items"])


def bare_load(ws: Workspace, db_path: str) -> None:
    start = time.perf_counter()
    conn = fresh_db(Path(db_path))
    files = ws.raw_files()
    items = sum(load_file(conn, path, str(path.relative_to(ws.root))) for path in files)
    conn.close()
    print(f"bare_load: {len(files)} files, {items} items in {time.perf_counter() - start:.2f} s into {db_path}")
