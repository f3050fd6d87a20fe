"""make apply: approved patches into performance_context.json, all or nothing per file."""
from __future__ import annotations

import json

import jsonschema
import pytest

from scripts.core.config import load_config
from scripts.core.db import open_db
from scripts.proposals.recfiles import CONTEXT_SCHEMA, default_context
from scripts.core.workspace import Workspace
from tests.conftest import build_demo, copy_workspace, run_step
from tests.test_recommend import WEEK1, git, write_insights

APPLY_AT = "2026-11-24T10:00:00Z"


@pytest.fixture(scope="module")
def proposed(tmp_path_factory) -> Workspace:
    """Two demo accounts with week-1 proposals pending."""
    ws = build_demo(tmp_path_factory.mktemp("apply") / "ws", days=30, accounts=2)
    write_insights(ws)
    run_step("recommend", ws.root, "--now", WEEK1)
    return ws


@pytest.fixture
def ws(proposed, tmp_path) -> Workspace:
    return copy_workspace(proposed, tmp_path)


def approve(ws: Workspace, account: str, category: str) -> dict:
    """Approve by moving the file, as a user without git would."""
    [path] = ws.rec_dir("pending").glob(f"{account}--*--{category}.json")
    ws.rec_dir("approved").mkdir(parents=True, exist_ok=True)
    path.rename(ws.rec_dir("approved") / path.name)
    return json.loads((ws.rec_dir("approved") / path.name).read_text())


def errors(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("apply: error:")]


def test_first_apply_creates_a_valid_context_from_the_config_default(ws):
    account = ws.account_names()[0]
    assert not ws.context_path(account).exists()
    rec = approve(ws, account, "format_weight")
    run_step("apply", ws.root, "--now", APPLY_AT)
    context = json.loads(ws.context_path(account).read_text())
    jsonschema.validate(context, CONTEXT_SCHEMA)
    changed = {op["path"]: op["value"] for op in rec["patch"] if op["op"] == "replace"}
    for path, value in changed.items():
        assert context["format_weights"][path.rsplit("/", 1)[1]] == value
    untouched = set(context["format_weights"]) - {p.rsplit("/", 1)[1] for p in changed}
    assert untouched and all(context["format_weights"][f] == 1.0 for f in untouched)
    assert context["approved_recommendations"] == [
        {"id": rec["id"], "category": "format_weight", "insight": rec["insight"], "approved_at": "2026-11-24"}]
    assert (ws.rec_dir("applied") / f"{rec['id']}.json").exists()
    assert not list(ws.rec_dir("approved").glob("*.json"))
    assert not ws.context_path(ws.account_names()[1]).exists()  # no approval, no context


def test_stale_patch_is_refused_and_the_others_still_apply(ws):
    first, second = ws.account_names()
    stale = approve(ws, first, "format_weight")
    fresh = approve(ws, second, "format_weight")
    # someone changed the context after the proposal was written
    context_path = ws.context_path(first)
    hand_edited = default_context(load_config(ws.config_path(first)))
    tested = next(op for op in stale["patch"] if op["op"] == "test")
    hand_edited["format_weights"][tested["path"].rsplit("/", 1)[1]] = 0.9
    context_path.write_text(json.dumps(hand_edited, indent=2))
    before = context_path.read_bytes()

    result = run_step("apply", ws.root, "--now", APPLY_AT, check=False)
    assert result.returncode == 1
    [line] = errors(result)
    assert f"recommendations/approved/{stale['id']}.json" in line and "stale patch" in line
    assert context_path.read_bytes() == before
    assert (ws.rec_dir("approved") / f"{stale['id']}.json").exists()
    assert (ws.rec_dir("applied") / f"{fresh['id']}.json").exists()
    assert json.loads(ws.context_path(second).read_text())["approved_recommendations"][0]["id"] == fresh["id"]
    rows = {r["id"]: r["status"] for r in open_db(ws.db_path).query("SELECT id, status FROM recommendations")}
    assert rows[stale["id"]] == "approved" and rows[fresh["id"]] == "applied"


@pytest.mark.parametrize("edit, expected", [
    (lambda patch: patch[1].update(value=9.0), "maximum"),                       # out of range
    (lambda patch: patch.append({"op": "add", "path": "/format_weights/viral_dance", "value": 1.2}),
     "viral_dance"),                                                              # unknown key
    (lambda patch: patch.append({"op": "replace", "path": "/sample_size", "value": 10**6}),
     "apply maintains it"),                                                       # apply's own field
])
def test_a_patch_that_would_break_the_context_writes_nothing(ws, edit, expected):
    account = ws.account_names()[0]
    rec = approve(ws, account, "format_weight")
    edit(rec["patch"])
    path = ws.rec_dir("approved") / f"{rec['id']}.json"
    path.write_text(json.dumps(rec))
    result = run_step("apply", ws.root, "--now", APPLY_AT, check=False)
    assert result.returncode == 1
    [line] = errors(result)
    assert rec["id"] in line and expected in line
    assert not ws.context_path(account).exists()
    assert path.exists()


def test_a_broken_file_is_reported_and_kept(ws):
    account = ws.account_names()[0]
    good = approve(ws, account, "format_weight")
    broken = ws.rec_dir("approved") / f"{account}--2026-11-23--slide_count.json"
    broken.write_text('{"id": ')
    result = run_step("apply", ws.root, "--now", APPLY_AT, check=False)
    assert result.returncode == 1
    [line] = errors(result)
    assert broken.name in line and "not valid JSON" in line
    assert broken.exists() and (ws.rec_dir("applied") / f"{good['id']}.json").exists()


def test_rejected_files_are_recorded_and_git_mv_is_used_in_a_work_tree(ws):
    git(ws.root, "init", "-q")
    git(ws.root, "add", "recommendations")
    git(ws.root, "commit", "-qm", "proposals")
    account = ws.account_names()[0]
    [approved] = ws.rec_dir("pending").glob(f"{account}--*--format_weight.json")
    [rejected] = ws.rec_dir("pending").glob(f"{account}--*--hook_style.json")
    git(ws.root, "mv", str(approved.relative_to(ws.root)), "recommendations/approved/")
    git(ws.root, "mv", str(rejected.relative_to(ws.root)), "recommendations/rejected/")
    git(ws.root, "commit", "-qm", "approve one, reject one")
    run_step("apply", ws.root, "--now", APPLY_AT)
    status = git(ws.root, "status", "--porcelain")
    assert f"R  recommendations/approved/{approved.name} -> recommendations/applied/{approved.name}" in status
    rows = {r["id"]: r for r in open_db(ws.db_path).query("SELECT * FROM recommendations")}
    assert rows[rejected.stem]["status"] == "rejected"
    assert rows[approved.stem]["status"] == "applied" and rows[approved.stem]["approved_at"] == APPLY_AT
    assert rows[approved.stem]["file"] == f"recommendations/applied/{approved.name}"


def test_nothing_approved_is_a_quiet_success(ws):
    result = run_step("apply", ws.root, "--now", APPLY_AT)
    assert "0 applied" in result.stdout and not errors(result)
