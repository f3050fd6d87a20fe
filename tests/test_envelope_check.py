"""Load checks each envelope (without its items) against schemas/raw_envelope.schema.json with a
compiled copy of the schema first (fastjsonschema, a tenth of the time) and asks jsonschema only
when that refuses it: the compiled check must never accept what jsonschema refuses."""
from __future__ import annotations

import copy

import pytest

from scripts.store.load import _envelope_problem, _fast_validate, _validator

BASE = {"account": "mymomskills", "platform": "tiktok", "scraped_at": "2026-06-25T08:00:00Z",
        "source": {"actor": "x", "run_id": "r", "dataset_id": "d", "status": "SUCCEEDED", "item_count": 3,
                   "usage_total_usd": 0.1, "charged_events": {"result": 3}},
        "profile": {"followers": 1, "following": 2, "likes_total": 3, "posts_total": 4}, "items": []}
VALUES = [10**20, -10**20, 2**63, float("nan"), float("inf"), 1e308, 1.0, 1.5, True, False, None, [], {}, "", "x",
          "2026-13-45T99:99:99Z", "2026-06-25T08:00:00Z\n", "2026-06-25 08:00:00", "mymomskills\n", "MyMom",
          "../x", "tiktok", "youtube", "a" * 1000, [1], {"a": 1}, 0, -1]
PATHS = [("account",), ("platform",), ("scraped_at",), ("source",), ("profile",), ("items",)] + \
    [("source", k) for k in BASE["source"]] + [("profile", k) for k in BASE["profile"]]


def fast_accepts(document) -> bool:
    try:
        _fast_validate(document)
        return True
    except Exception:
        return False


@pytest.mark.parametrize("path", PATHS, ids="/".join)
def test_the_compiled_check_accepts_nothing_the_schema_refuses(path):
    for value in VALUES:
        document = copy.deepcopy(BASE)
        node = document
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
        if fast_accepts(document):
            assert _validator.is_valid(document), (path, value)
        assert (_envelope_problem(document) is None) == _validator.is_valid(document), (path, value)


def test_missing_fields_and_other_tops_are_refused_with_jsonschemas_words():
    for field in ("account", "platform", "scraped_at", "items"):
        document = {k: v for k, v in BASE.items() if k != field}
        assert _envelope_problem(document) == f"(top level): '{field}' is a required property"
    for top in ([], "x", None, 1):
        assert _envelope_problem(top) is not None and not fast_accepts(top)
    assert _envelope_problem(BASE) is None
