"""The SQLite data layer: tables and views come from sql/, applied idempotently on every open."""
from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from pathlib import Path

import sqlite_utils

from scripts.core.workspace import SQL_DIR, Workspace

TABLES_DIR = SQL_DIR / "tables"
CONSTANT = re.compile(r"^(-?\d+(\.\d+)?|'[^']*'|NULL)$", re.IGNORECASE)
VIEWS_DIR = SQL_DIR / "views"
# how long a step waits for another process's write lock before it reports the database busy
BUSY_SECONDS = float(os.environ.get("ANALYTICS_DB_BUSY_SECONDS") or 30)


def table_sql_files() -> list[Path]:
    return sorted(TABLES_DIR.glob("*.sql"))


def view_sql_files() -> list[Path]:
    return sorted(VIEWS_DIR.glob("*.sql"))


def _declared_columns(create_sql: str) -> dict[str, dict[str, str]]:
    """Columns each CREATE TABLE in a file declares, read by SQLite itself (no SQL parsing here)."""
    scratch = sqlite3.connect(":memory:")
    scratch.executescript(create_sql)
    tables = [r[0] for r in scratch.execute("SELECT name FROM sqlite_master WHERE type = 'table' "
                                             "AND name NOT LIKE 'sqlite_%'")]
    declared = {}
    for table in tables:
        declared[table] = {row[1]: (row[2], row[4]) for row in scratch.execute(f"PRAGMA table_info([{table}])")}
    scratch.close()
    return declared


def _add_missing_columns(db: sqlite_utils.Database, create_sql: str) -> None:
    """A database made by an older version gains the columns a newer sql/ file declares."""
    for table, columns in _declared_columns(create_sql).items():
        if not db[table].exists():
            continue
        existing = {c.name for c in db[table].columns}
        for name, (col_type, default) in columns.items():
            if name not in existing:
                # ALTER TABLE accepts only constant defaults; expressions are left out
                default_sql = f" DEFAULT {default}" if default and CONSTANT.match(default) else ""
                db.execute(f"ALTER TABLE [{table}] ADD COLUMN [{name}] {col_type}{default_sql}")


def ensure_schema(db: sqlite_utils.Database) -> None:
    """Create tables (and any newly declared columns), indexes and views. Safe to repeat:
    a second run with the same files leaves PRAGMA schema_version unchanged."""
    for path in table_sql_files():
        sql = path.read_text(encoding="utf-8")
        _add_missing_columns(db, sql)  # first, so indexes on new columns can be created
        db.executescript(sql)
    for path in view_sql_files():
        db.create_view(path.stem, path.read_text(encoding="utf-8").strip().rstrip(";"), replace=True)


def open_db(path: Path | str, schema: bool = True) -> sqlite_utils.Database:
    """Open (creating if needed) the analytics database with WAL and foreign keys, schema applied."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), timeout=BUSY_SECONDS)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    db = sqlite_utils.Database(conn)
    if schema:
        ensure_schema(db)
    return db


def missing_data(ws: Workspace) -> str | None:
    """Why the database cannot be trusted as the steps' input, or None: it is missing, or holds
    no loaded file while data/raw/ holds envelopes (deleted, or replaced by an empty one). Then a
    step refuses rather than write empty insights or dashboards over the good ones; the next
    load rebuilds a missing database from data/raw/, and make reload rebuilds an empty one."""
    db_path = ws.db_path
    if not db_path.exists():
        return f"{db_path}: missing (run make load, which rebuilds it from data/raw/)" if ws.has_raw_files() else None
    with contextlib.closing(sqlite3.connect(db_path, timeout=BUSY_SECONDS)) as conn:
        try:
            loaded = conn.execute("SELECT 1 FROM raw_files LIMIT 1").fetchone()
        except sqlite3.DatabaseError:  # no raw_files table, or not a database at all
            loaded = None
    if loaded is None and ws.has_raw_files():
        return (f"{db_path}: holds no loaded data although data/raw/ holds envelopes "
                "(run make reload to rebuild it from data/raw/)")
    return None
