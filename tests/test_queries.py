"""The canned queries live in sql/queries/*.sql; metadata.yml carries Datasette's generated copy."""
from __future__ import annotations

import pytest
import yaml

from scripts.dev.metadata import MARKER, updated_metadata
from scripts.outputs.queries import DATABASE, METADATA_PATH, canned_queries, read_query

STALE = "run `make metadata` (metadata.yml's queries are generated from sql/queries/)"


def metadata_queries() -> dict:
    return yaml.safe_load(METADATA_PATH.read_text(encoding="utf-8"))["databases"][DATABASE]["queries"]


def test_metadata_holds_every_query_file_with_its_sql_and_datasette_keys():
    in_metadata, in_files = metadata_queries(), canned_queries()
    assert in_files and set(in_metadata) == set(in_files), STALE
    for name, query in in_files.items():
        assert in_metadata[name] == query, f"{name}: {STALE}"
        assert query["title"] and ":account" in query["sql"], name


def test_metadata_is_exactly_what_make_metadata_writes():
    text = METADATA_PATH.read_text(encoding="utf-8")
    assert updated_metadata(text, canned_queries()) == text, STALE


def test_generating_replaces_a_stale_queries_section_and_keeps_the_rest():
    text = METADATA_PATH.read_text(encoding="utf-8")
    stale = text[:text.index(MARKER)] + MARKER + "\n    queries:\n      gone:\n        sql: select 1\n"
    assert updated_metadata(stale, canned_queries()) == text


def test_a_query_file_is_its_comment_keys_then_its_sql(tmp_path):
    path = tmp_path / "q.sql"
    path.write_text("-- title: 'Formats: at day 7'\n-- hide_sql: true\nselect 1\n  -- a comment in the SQL\n")
    assert read_query(path) == {"title": "Formats: at day 7", "hide_sql": True,
                                "sql": "select 1\n  -- a comment in the SQL"}
    path.write_text("select 2\n")
    assert read_query(path) == {"sql": "select 2"}


@pytest.mark.parametrize("header", ["-- just words", "-- sql: select 3", "-- title: [unclosed"])
def test_a_bad_comment_block_names_the_file(tmp_path, header):
    path = tmp_path / "bad.sql"
    path.write_text(f"{header}\nselect 1\n")
    with pytest.raises(ValueError, match="bad.sql"):
        read_query(path)
