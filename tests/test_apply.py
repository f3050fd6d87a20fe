"""make apply: approved patches into performance_context.json, all or nothing per file."""
from __future__ import annotations

import json
import math

import jsonschema
import pytest

from scripts.core.config import load_config
from scripts.core.db import open_db
from scripts.core.files import write_json_atomic
from scripts.core.timeutil import parse_utc
from scripts.proposals.apply import applied
from scripts.proposals.recfiles import CONTEXT_SCHEMA, RecError, default_context, read_rec
from scripts.core.workspace import Workspace
from tests.conftest import build_demo, copy_workspace, run_step
from tests.test_recommend import REC_SCHEMA, WEEK1, git, write_insights

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


# --- what apply refuses, and a run killed half-way ------------------------------------------------------------

def hand_edit(ws: Workspace, rec: dict, patch: list[dict]) -> None:
    """Replace an approved file's patch, as someone editing it by hand would."""
    (ws.rec_dir("approved") / f"{rec['id']}.json").write_text(json.dumps({**rec, "patch": patch}))


def refused_alone(ws: Workspace, rec: dict, other: dict) -> str:
    """Run apply; the one error line, after checking that only `rec` was refused: nothing written for
    its account, the file still in approved/, the other account's file applied, exit 1."""
    result = run_step("apply", ws.root, "--now", APPLY_AT, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = errors(result)
    assert f"recommendations/approved/{rec['id']}.json" in line
    assert not ws.context_path(rec["account"]).exists()
    assert (ws.rec_dir("approved") / f"{rec['id']}.json").exists()
    assert (ws.rec_dir("applied") / f"{other['id']}.json").exists()
    return line


def test_make_apply_writes_nan_into_performance_context_json(ws):
    """It did: the schema's minimum and maximum are both false for NaN. Now the whole result is
    checked before it is written, whoever built the patch."""
    account = ws.account_names()[0]
    rec = read_rec(ws.rec_dir("approved") / f"{approve(ws, account, 'format_weight')['id']}.json", "approved")
    changed = next(op for op in rec.data["patch"] if op["op"] == "replace")
    changed["value"] = math.nan  # no file can hold NaN (the reader refuses it), but a caller in process can
    config = load_config(ws.config_path(account))
    with pytest.raises(RecError, match=f"schema at {changed['path']}: not a finite number"):
        applied(default_context(config), rec, rec.account, config, parse_utc(APPLY_AT), None)


def test_an_approved_file_holding_1e400_is_refused_and_nothing_is_written(ws):
    first, second = ws.account_names()
    rec, other = approve(ws, first, "format_weight"), approve(ws, second, "format_weight")
    path = ws.rec_dir("approved") / f"{rec['id']}.json"
    next(op for op in rec["patch"] if op["op"] == "replace")["value"] = "INFINITY"
    path.write_text(json.dumps(rec).replace('"INFINITY"', "1e400"))  # valid JSON, no float holds it
    assert "number 1e400 is beyond what a float can hold" in refused_alone(ws, rec, other)


def test_an_insights_sample_size_of_1e400_is_no_traceback(ws):
    # int(inf) raised OverflowError; the context keeps its old sample size instead
    account = ws.account_names()[0]
    rec = approve(ws, account, "format_weight")
    insights = json.loads(ws.insights_path(account).read_text())
    ws.insights_path(account).write_text(json.dumps(insights).replace('"sample_size": 119', '"sample_size": 1e400'))
    run_step("apply", ws.root, "--now", APPLY_AT)
    context = json.loads(ws.context_path(account).read_text())
    assert context["sample_size"] == 0 and context["approved_recommendations"][0]["id"] == rec["id"]


@pytest.mark.parametrize("patch", [
    # the test is on step_guide, the change on habit_list
    [{"op": "test", "path": "/format_weights/step_guide", "value": 1.0},
     {"op": "replace", "path": "/format_weights/habit_list", "value": 0.5}],
    # a test after the change tests the new value: it protects nothing
    [{"op": "test", "path": "/format_weights/habit_list", "value": 1.0},
     {"op": "replace", "path": "/format_weights/step_guide", "value": 1.4},
     {"op": "test", "path": "/format_weights/step_guide", "value": 1.4}],
])
def test_apply_applies_a_patch_without_a_test_op_on_the_path_it_changes(ws, patch):
    """It did, so a patch written against an old context clobbered it. Now it is refused."""
    first, second = ws.account_names()
    rec, other = approve(ws, first, "format_weight"), approve(ws, second, "format_weight")
    hand_edit(ws, rec, patch)
    assert "is changed without a test op on it (or a parent) before the change" in refused_alone(ws, rec, other)


@pytest.mark.parametrize("patch, field", [
    ([{"op": "test", "path": "/optimal_slide_count", "value": None},
      {"op": "replace", "path": "/optimal_slide_count", "value": 7}], "/optimal_slide_count"),
    ([{"op": "test", "path": "/hook_insights/best_styles", "value": []},
      {"op": "replace", "path": "/hook_insights/best_styles", "value": ["number_specific"]}], "/hook_insights"),
])
def test_apply_applies_a_patch_outside_its_categorys_fields(ws, patch, field):
    """It did: a format_weight file could move the slide count. Now CATEGORY_FIELDS holds for a
    hand-edited approved file as it does for Claude's proposals."""
    first, second = ws.account_names()
    rec, other = approve(ws, first, "format_weight"), approve(ws, second, "format_weight")
    hand_edit(ws, rec, patch)
    assert f"a format_weight recommendation may not change {field}" in refused_alone(ws, rec, other)


def write_context_as_apply_would(ws: Workspace, rec: dict) -> bytes:
    """The first half of apply for one file: the patched context written, the file not yet moved."""
    config = load_config(ws.config_path(rec["account"]))
    path = ws.rec_dir("approved") / f"{rec['id']}.json"
    recfile = read_rec(path, "approved")
    patched = applied(default_context(config), recfile, recfile.account, config, parse_utc(APPLY_AT), 119)
    write_json_atomic(ws.context_path(rec["account"]), patched)
    return ws.context_path(rec["account"]).read_bytes()


def test_a_kill_9_between_writing_the_context_and_moving_the_file_leaves_the_file_in_approved_for_good(ws):
    """It did: every later run said "already applied" and exited 1. Now the next run sees the change
    is in the context, moves the file on with a note and exits 0."""
    account = ws.account_names()[0]
    rec = approve(ws, account, "format_weight")
    context = write_context_as_apply_would(ws, rec)   # then kill -9
    result = run_step("apply", ws.root, "--now", "2026-11-25T10:00:00Z")
    assert f"apply: note: {rec['id']}: its change is already in accounts/{account}/performance_context.json" \
        in result.stdout and not errors(result)
    assert (ws.rec_dir("applied") / f"{rec['id']}.json").exists()
    assert not (ws.rec_dir("approved") / f"{rec['id']}.json").exists()
    assert ws.context_path(account).read_bytes() == context   # applied once, not twice
    rows = {r["id"]: r["status"] for r in open_db(ws.db_path).query("SELECT id, status FROM recommendations")}
    assert rows[rec["id"]] == "applied"
    again = run_step("apply", ws.root, "--now", "2026-11-25T10:00:00Z")
    assert "0 applied, 0 left in approved/" in again.stdout and not errors(again)


def test_a_change_already_made_by_hand_is_moved_on_with_a_note(ws):
    # its id is not in the context, but its ops would change nothing: applying it is a no-op
    account = ws.account_names()[0]
    rec = approve(ws, account, "format_weight")
    context = default_context(load_config(ws.config_path(account)))
    for op in rec["patch"]:
        if op["op"] == "replace":
            context["format_weights"][op["path"].rsplit("/", 1)[1]] = op["value"]
    ws.context_path(account).write_text(json.dumps(context))
    result = run_step("apply", ws.root, "--now", APPLY_AT)
    assert f"apply: note: {rec['id']}: its change is already in" in result.stdout
    assert (ws.rec_dir("applied") / f"{rec['id']}.json").exists()
    assert json.loads(ws.context_path(account).read_text()) == context


@pytest.mark.parametrize("text", ["[]", "null", '"x"', "NaN", '{"format_weights": ', "\udcff"])
def test_a_performance_context_json_that_is_a_list_null_or_a_string(ws, text):
    """apply and recommend stopped with a traceback (AttributeError) on each of these; now each is
    that account's one line, and the other account goes on."""
    first, second = ws.account_names()
    rec, other = approve(ws, first, "format_weight"), approve(ws, second, "format_weight")
    broken = ws.context_path(first)
    broken.write_bytes(b"\xff\xfe" if text == "\udcff" else text.encode())
    before = broken.read_bytes()
    result = run_step("apply", ws.root, "--now", APPLY_AT, check=False)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    [line] = errors(result)
    assert f"accounts/{first}/performance_context.json: " in line and f"{first}'s approved files stay" in line
    assert broken.read_bytes() == before and (ws.rec_dir("approved") / f"{rec['id']}.json").exists()
    assert (ws.rec_dir("applied") / f"{other['id']}.json").exists()

    weekly = run_step("recommend", ws.root, "--now", "2026-11-30T09:00:00Z", check=False)
    assert weekly.returncode == 1 and "Traceback" not in weekly.stderr
    [line] = [l for l in weekly.stderr.splitlines() if l.startswith("recommend: error:")]
    assert f"accounts/{first}/performance_context.json: " in line
    assert f"recommend: {second}: " in weekly.stdout        # the other account was proposed for


# --- cross-account files: approved once, applied all or none -------------------------------------

def write_across(ws: Workspace, patches: dict[str, list[dict]]) -> str:
    """An all-- file with a patch per account, approved."""
    stem = "all--2026-11-23--format_weight"
    data = {"id": stem, "account": "all", "created_at": "2026-11-23T09:00:00Z", "category": "format_weight",
            "confidence": "high", "source": "rules", "insight": "step_guide wins in every account.",
            "evidence": {"finding": "cross_account/tiktok/views_d7_lift/format=step_guide-vs-rest"},
            "patches": patches}
    jsonschema.validate(data, REC_SCHEMA)
    ws.rec_dir("approved").mkdir(parents=True, exist_ok=True)
    write_json_atomic(ws.rec_dir("approved") / f"{stem}.json", data)
    return stem


def raise_step_guide(value_before: float = 1.0) -> list[dict]:
    return [{"op": "test", "path": "/format_weights/step_guide", "value": value_before},
            {"op": "replace", "path": "/format_weights/step_guide", "value": 1.5}]


def test_a_cross_account_file_applies_to_every_account_it_names(ws):
    accounts = ws.account_names()
    stem = write_across(ws, {a: raise_step_guide() for a in accounts})
    result = run_step("apply", ws.root, "--now", APPLY_AT)
    assert (ws.rec_dir("applied") / f"{stem}.json").exists(), result.stdout
    for account in accounts:
        context = json.loads(ws.context_path(account).read_text())
        assert context["format_weights"]["step_guide"] == 1.5
        assert [r["id"] for r in context["approved_recommendations"]] == [stem]


def test_one_stale_account_patch_writes_nothing_for_any_account(ws):
    first, second = ws.account_names()
    stem = write_across(ws, {first: raise_step_guide(), second: raise_step_guide(value_before=1.3)})  # stale
    result = run_step("apply", ws.root, "--now", APPLY_AT, check=False)
    assert result.returncode == 1
    [line] = errors(result)
    assert f"{stem}.json" in line and f"{second}: stale patch" in line
    assert (ws.rec_dir("approved") / f"{stem}.json").exists()
    assert not ws.context_path(first).exists() and not ws.context_path(second).exists()
