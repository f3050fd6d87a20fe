"""The SQLite data layer: tables and views come from sql/, applied idempotently on every open."""
from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import sqlite_utils

from scripts.core.workspace import SQL_DIR

TABLES_DIR = SQL_DIR / "tables"
CONSTANT = re.compile(r"^(-?\d+(\.\d+)?|'[^']*'|NULL)$", re.IGNORECASE)
VIEWS_DIR = SQL_DIR / "views"


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
    conn = sqlite3.connect(str(path), timeout=30)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA foreign_keys = ON")
    db = sqlite_utils.Database(conn)
    if schema:
        ensure_schema(db)
    return db
