"""make metadata: write the canned queries of metadata.yml from sql/queries/*.sql.

    python -m scripts.dev.metadata

Datasette reads its canned queries only from its metadata, so metadata.yml carries a generated copy;
everything above the MARKER line is written by hand and kept as it is (comments included).
"""
from __future__ import annotations

import sys

import yaml

from scripts.core.files import write_text_atomic
from scripts.outputs.queries import METADATA_PATH, canned_queries

MARKER = "    # generated from sql/queries/*.sql by `make metadata`, to the end of this file: edit those files"
INDENT = "    "  # databases: -> analytics: -> queries:


class _Dumper(yaml.SafeDumper):
    """SQL as a literal block (|-), as a person would write it; other strings as usual."""


_Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


def render_queries(queries: dict[str, dict]) -> str:
    """The generated part of metadata.yml: the MARKER line, then queries: under databases.analytics."""
    text = yaml.dump({"queries": queries}, Dumper=_Dumper, sort_keys=False, allow_unicode=True,
                     width=float("inf"))
    return MARKER + "\n" + "".join(INDENT + line + "\n" for line in text.splitlines())


def updated_metadata(text: str, queries: dict[str, dict]) -> str:
    """metadata.yml's text with everything from the MARKER line on replaced by render_queries."""
    lines = text.splitlines(keepends=True)
    try:
        start = [line.rstrip("\n") for line in lines].index(MARKER)
    except ValueError:
        raise ValueError(f"{METADATA_PATH}: no line {MARKER.strip()!r} to write the queries after") from None
    return "".join(lines[:start]) + render_queries(queries)


def main() -> None:
    try:
        text = updated_metadata(METADATA_PATH.read_text(encoding="utf-8"), canned_queries())
    except ValueError as exc:
        sys.exit(f"metadata: {exc}")
    if text != METADATA_PATH.read_text(encoding="utf-8"):
        write_text_atomic(METADATA_PATH, text)
        print(f"metadata: wrote {len(canned_queries())} canned queries to {METADATA_PATH.name}")


if __name__ == "__main__":
    main()
