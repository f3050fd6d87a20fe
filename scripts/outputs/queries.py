"""The canned queries, the one reader of sql/queries/<name>.sql (one file per query).

The terminal report, the dashboard and Datasette run the same SQL with the same :account ('' means
every account), so all three show the same numbers. A file opens with its Datasette keys as YAML in
`-- ` comment lines (title, description and any other key of a Datasette canned query, such as
datasette-vega's chart `fragment` or `hide_sql`); the lines after that block are the SQL. Datasette
reads the queries from metadata.yml, whose queries section `make metadata` (scripts/dev/metadata.py)
writes from these files; tests/test_queries.py fails when it is out of date.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml

from scripts.core.workspace import PROJECT_DIR, SQL_DIR

QUERIES_DIR = SQL_DIR / "queries"
METADATA_PATH = PROJECT_DIR / "metadata.yml"
DATABASE = "analytics"  # Datasette names the database after data/analytics.db
COMMENT = "--"


def read_query(path: Path) -> dict:
    """{<the keys of the leading comment block>..., "sql": the rest of the file}."""
    lines = path.read_text(encoding="utf-8").splitlines()
    end = next((i for i, line in enumerate(lines) if not line.startswith(COMMENT)), len(lines))
    try:
        keys = yaml.safe_load("\n".join(line[len(COMMENT):].removeprefix(" ") for line in lines[:end])) or {}
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: the leading {COMMENT} block is not YAML: {exc}") from None
    if not isinstance(keys, dict) or "sql" in keys:
        raise ValueError(f"{path}: the leading {COMMENT} block must be YAML keys (other than sql)")
    return {**keys, "sql": "\n".join(lines[end:]).strip()}


@lru_cache(maxsize=1)
def canned_queries() -> dict[str, dict]:
    """name (the file's stem) -> {title, description, ..., sql}, in file-name order."""
    return {path.stem: read_query(path) for path in sorted(QUERIES_DIR.glob("*.sql"))}


@dataclass
class Result:
    name: str
    title: str
    columns: list[str]
    rows: list[tuple]


def stream_query(db, name: str, account: str | None = None):
    """One canned query as (columns, a cursor of its rows), read as they are used (the dashboard
    takes one account's rows at a time: its queries are ordered by account); account None means
    every account (the query's :account = '')."""
    cursor = db.execute(canned_queries()[name]["sql"], {"account": account or ""})
    return [c[0] for c in cursor.description], cursor


def run_query(db, name: str, account: str | None) -> Result:
    """One canned query, its rows read whole."""
    columns, cursor = stream_query(db, name, account)
    return Result(name, canned_queries()[name].get("title", name), columns, cursor.fetchall())
