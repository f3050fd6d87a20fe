"""Every schema check (scripts/core/schemas.py, Checker) asks a compiled copy of the schema first
(fastjsonschema, a tenth to a fiftieth of the time) and jsonschema only when that refuses: the
compiled check must never accept what jsonschema refuses. Load checks each envelope (without its
items) so; the readers of the insights files and of the contexts too."""
from __future__ import annotations

import copy

import pytest

from scripts.core.config import AccountConfig
from scripts.core.schemas import INSIGHTS_VALIDATOR, Checker, schema_problem
from scripts.proposals.generator_context import _CONTEXT_VALIDATOR
from scripts.proposals.recfiles import _rec_validator, default_context
from scripts.store.load import _checker, _envelope_problem
from tests.test_recommend import sample_findings

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
    return _checker.passes_fast(document)


def replaced(base: dict, path: tuple, value) -> dict:
    """A copy of base with the value at path replaced."""
    document = copy.deepcopy(base)
    node = document
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return document


@pytest.mark.parametrize("path", PATHS, ids="/".join)
def test_the_compiled_check_accepts_nothing_the_schema_refuses(path):
    for value in VALUES:
        document = replaced(BASE, path, value)
        if fast_accepts(document):
            assert _checker.judge.is_valid(document), (path, value)
        assert (_envelope_problem(document) is None) == _checker.judge.is_valid(document), (path, value)


def test_missing_fields_and_other_tops_are_refused_with_jsonschemas_words():
    for field in ("account", "platform", "scraped_at", "items"):
        document = {k: v for k, v in BASE.items() if k != field}
        assert _envelope_problem(document) == f"(top level): '{field}' is a required property"
    for top in ([], "x", None, 1):
        assert _envelope_problem(top) is not None and not fast_accepts(top)
    assert _envelope_problem(BASE) is None


INSIGHTS = {"account": "mymomskills", "generated_at": "2026-11-23T09:00:00Z", "data_through": "2026-11-23T08:00:04Z",
            "sample_size": 119, "findings": [{**f, "account": "mymomskills"} for f in sample_findings()]}
CONTEXT = default_context(AccountConfig(name="mymomskills", platform_profiles={"tiktok": "mymomskills"},
                                        timezone="UTC", content_pillars={"sleep": ["sleep"]},
                                        formats=["habit_list", "step_guide"]))


def every_path(node, prefix=()):
    yield prefix
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, child in children:
        yield from every_path(child, (*prefix, key))


@pytest.mark.parametrize("checker, base", [(INSIGHTS_VALIDATOR, INSIGHTS), (_CONTEXT_VALIDATOR, CONTEXT)],
                         ids=["insights", "context"])
def test_no_compiled_check_accepts_what_jsonschema_refuses(checker, base):
    assert checker.passes_fast(base) and checker.judge.is_valid(base)
    tried = 0
    for path in list(every_path(base))[1:]:
        for value in VALUES:
            document = replaced(base, path, value)
            tried += 1
            if checker.passes_fast(document):
                assert checker.judge.is_valid(document), (path, value)
    assert tried > 300


def test_a_schema_with_a_keyword_draft_7_does_not_know_is_checked_by_jsonschema_alone():
    # recommendation.schema.json uses prefixItems, which a Draft 7 compiler would ignore
    assert _rec_validator._fast is None and not _rec_validator.passes_fast({})


def test_a_ref_beside_other_rules_is_checked_by_jsonschema_alone():
    """Draft 7 ignores what stands beside a $ref (fastjsonschema accepts "y" here); 2020-12 does not."""
    schema = {"$defs": {"name": {"type": "string"}},
              "properties": {"a": {"$ref": "#/$defs/name", "enum": ["x"]}}}
    checker = Checker(schema)
    assert checker._fast is None
    assert schema_problem(checker, {"a": "y"}) == "a: 'y' is not one of ['x']"
    assert schema_problem(checker, {"a": "x"}) is None
    # only notes beside it: the compiled check is used
    assert Checker({"$defs": {"n": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/n", "title": "A"}}})._fast
