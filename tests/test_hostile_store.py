"""Hostile variants of the files load and backfill read (raw envelopes, generator folders), made
by hypothesis: whatever a file holds, it is accepted or it is that file's rejection, in one line
naming it, and every other file and account is processed. Never a traceback."""
from __future__ import annotations

import functools
import json
import shutil
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scripts.core.config import AccountConfig
from scripts.core.workspace import Workspace
from scripts.store.backfill import read_folders
from scripts.store.load import load_workspace
from scripts.core.problems import Problems
from tests.conftest import raw_envelope, recorded_items, write_raw

ACCOUNTS = ("mymomskills", "slumbersongs")
CONFIG = "platform_profiles: {tiktok: %s, instagram: %s}\ntimezone: America/New_York\n"
DEEP = functools.reduce(lambda inner, _: [inner], range(80), [])  # past read_json's depth cap
HOSTILE_VALUES = st.one_of(
    st.sampled_from([10**20, -10**20, 2**63, float("nan"), float("inf"), 1e308, True, None, [], {}, "",
                     "2026-13-45T99:99:99Z", "2099-01-01T00:00:00Z", "0000-00-00", "\x1b]52;c;aGk=\x07",
                     "x" * 100_000, DEEP]),
    st.integers(), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=50),
    st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5), st.integers(), max_size=3))
ENVELOPE_PATHS = [("scraped_at",), ("account",), ("platform",), ("profile",), ("profile", "followers"),
                  ("items",), ("items", 0), ("items", 0, "playCount"), ("items", 0, "id"),
                  ("items", 0, "createTimeISO"), ("items", 1, "diggCount"), ("source",),
                  ("source", "usage_total_usd"), ("source", "charged_events")]
BREAKAGES = st.sampled_from(["truncate", "not utf-8", "nan literal", "deep nesting", "device", "dangling"])


@pytest.fixture(scope="module")
def good_world(tmp_path_factory) -> Workspace:
    """Two accounts, two scrapes each on TikTok, from the recorded items."""
    ws = Workspace(tmp_path_factory.mktemp("hostile") / "ws")
    for account in ACCOUNTS:
        (ws.accounts_dir / account).mkdir(parents=True)
        ws.config_path(account).write_text(CONFIG % (account, account))
        for hour in ("08", "09"):
            items = recorded_items("tiktok")
            for item in items:
                item["id"] = f"{account}-{item.get('id')}"
            write_raw(ws, raw_envelope("tiktok", items, account=account, scraped_at=f"2026-06-25T{hour}:00:00Z",
                                       profile={"followers": 100}))
    return ws


def fresh_copy(good_world: Workspace, tmp_path_factory) -> Workspace:
    target = Workspace(tmp_path_factory.mktemp("case") / "ws")
    shutil.copytree(good_world.root, target.root)
    return target


def set_path(document, path: tuple, value) -> bool:
    """Put value at path in document; False if the path does not exist in this document."""
    node = document
    for key in path[:-1]:
        if isinstance(node, dict) and key in node or isinstance(node, list) and isinstance(key, int) \
                and key < len(node):
            node = node[key]
        else:
            return False
    if isinstance(node, list) and not (isinstance(path[-1], int) and path[-1] < len(node)):
        return False
    if not isinstance(node, (dict, list)):
        return False
    node[path[-1]] = value
    return True


def break_file(path: Path, how: str) -> None:
    text = path.read_text()
    if how == "truncate":
        path.write_text(text[: len(text) // 2])
    elif how == "not utf-8":
        path.write_bytes(b"\xff\xfe" + text.encode()[:100])
    elif how == "nan literal":
        path.write_text(text.replace('"followers": 100', '"followers": NaN'))
    elif how == "deep nesting":
        path.write_text(text.replace('"items": [', '"items": [' + "[" * 50_000 + "]" * 50_000 + ", ", 1))
    elif how == "device":
        path.unlink()
        path.symlink_to("/dev/zero")
    else:
        path.unlink()
        path.symlink_to(path.with_name("gone.json"))


def loaded(ws: Workspace) -> set[str]:
    with sqlite3.connect(ws.db_path) as conn:
        return {row[0] for row in conn.execute("SELECT path FROM raw_files")}


def assert_accepted_or_rejected_alone(ws: Workspace, victim: Path, problems: Problems) -> None:
    others = {str(p.relative_to(ws.root)) for p in ws.raw_files()} - {str(victim.relative_to(ws.root))}
    done = loaded(ws)
    assert others <= done, "another file was not loaded"
    rel = str(victim.relative_to(ws.root))
    if rel in done:  # accepted: nothing to say about it
        assert problems.lines == []
    else:
        assert len(problems.lines) == 1 and victim.name in problems.lines[0], problems.lines
        assert "\n" not in problems.lines[0]


def put_hostile_value(good_world, tmp_path_factory, path, value, account) -> Problems | None:
    ws = fresh_copy(good_world, tmp_path_factory)
    victim = sorted((ws.raw_dir / "tiktok" / account).glob("*.json"))[-1]
    envelope = json.loads(victim.read_text())
    if not set_path(envelope, path, value):
        return None
    victim.write_text(json.dumps(envelope, allow_nan=True))
    problems = load_workspace(ws, quiet=True)
    assert_accepted_or_rejected_alone(ws, victim, problems)
    return problems


# the values every path gets, whatever hypothesis draws besides
WORST = [10**20, float("nan"), "2026-13-45T99:99:99Z", DEEP, []]


@pytest.mark.parametrize("path", ENVELOPE_PATHS, ids=lambda path: "/".join(map(str, path)))
def test_the_worst_values_in_every_envelope_field_are_accepted_or_rejected_alone(good_world, tmp_path_factory,
                                                                                 path):
    for value in WORST:
        put_hostile_value(good_world, tmp_path_factory, path, value, ACCOUNTS[0])


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(ENVELOPE_PATHS), value=HOSTILE_VALUES, account=st.sampled_from(ACCOUNTS))
def test_a_hostile_value_in_an_envelope_is_accepted_or_rejected_alone(good_world, tmp_path_factory, path, value,
                                                                      account):
    put_hostile_value(good_world, tmp_path_factory, path, value, account)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(how=BREAKAGES)
def test_a_broken_envelope_file_is_rejected_alone(good_world, tmp_path_factory, how):
    ws = fresh_copy(good_world, tmp_path_factory)
    victim = sorted((ws.raw_dir / "tiktok" / ACCOUNTS[0]).glob("*.json"))[0]
    break_file(victim, how)
    problems = load_workspace(ws, quiet=True)
    assert_accepted_or_rejected_alone(ws, victim, problems)
    assert str(victim.relative_to(ws.root)) not in loaded(ws)


META_FIELDS = ["topic", "format", "hook_text", "hook_score", "slide_count", "generated_at", "caption"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(field=st.sampled_from(META_FIELDS), value=HOSTILE_VALUES, broken=st.one_of(st.none(), BREAKAGES))
def test_a_hostile_generator_folder_is_read_or_skipped_alone(tmp_path_factory, field, value, broken):
    ws = Workspace(tmp_path_factory.mktemp("folders") / "ws")
    output = ws.output_dir("mymomskills")
    for name in ("2026-06-01-a", "2026-06-02-b", "2026-06-03-c"):
        (output / name).mkdir(parents=True)
        (output / name / "meta.json").write_text(json.dumps({"topic": "bedtime", "hook_text": f"Hook {name}",
                                                             "generated_at": "2026-06-01T09:00:00Z"}))
    victim = output / "2026-06-02-b" / "meta.json"
    if broken:
        break_file(victim, broken)
    else:
        victim.write_text(json.dumps({"topic": "bedtime", field: value}, allow_nan=True))
    files = {f"output/{p.name}": {"meta.json": p / "meta.json"} for p in sorted(output.iterdir())}
    problems = Problems("backfill")
    folders, skipped = read_folders(ws, "mymomskills", files, AccountConfig(timezone="UTC").tz, problems)
    assert {f.rel for f in folders} >= {"output/2026-06-01-a", "output/2026-06-03-c"}
    if skipped:
        assert skipped == {"output/2026-06-02-b"} and len(problems.lines) == 1
        assert "2026-06-02-b" in problems.lines[0] and "\n" not in problems.lines[0]
    else:
        assert problems.lines == [] and len(folders) == 3
