"""make recommend: the rules recommender, the pending files, and the weekly -> approve -> apply loop."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonpatch
import jsonschema
import pytest

from scripts.proposals import rules as recommend_rules
from scripts.core.config import AccountConfig
from scripts.core.db import open_db
from scripts.proposals.recommend import AccountInputs, vet
from scripts.core.findings import CONFIDENCE_RANK
from scripts.proposals.recfiles import (CATEGORIES, FILE_NAME, REVERT, REC_SCHEMA, change_signature,
                                     default_context)
from scripts.core.workspace import SCHEMA_DIR, Workspace
from tests.conftest import build_demo, copy_workspace, run_step

INSIGHTS_SCHEMA = json.loads((SCHEMA_DIR / "insights.schema.json").read_text())
WEEK1, WEEK2 = "2026-11-23T09:00:00Z", "2026-11-30T09:00:00Z"


def finding(fid, dimension, subject, direction, effect, confidence, metric="views_d7", kind="ratio_of_medians"):
    return {"id": fid, "dimension": dimension, "account": None, "platform": "tiktok",
            "claim": f"{subject} is {direction} ({effect}x, {metric}).", "metric": metric,
            "groups": [{"name": "subject", "n": 31}, {"name": "rest", "n": 88}], "effect": effect,
            "effect_kind": kind, "ci": [round(effect * 0.8, 2), round(effect * 1.25, 2)] if effect else None,
            "q": 0.01, "confidence": confidence, "direction": direction, "subject": subject}


def sample_findings() -> list[dict]:
    """One finding per kind the analyzer writes (schemas/insights.schema.json), covering all ten categories."""
    return [
        finding("formats/tiktok/views_d7/step_guide-vs-rest", "formats", {"format": "step_guide"}, "better", 2.1, "high"),
        finding("hooks/tiktok/views_d7/number_specific-vs-rest", "hooks", {"hook_style": "number_specific"},
                "better", 1.8, "high"),
        finding("hooks/tiktok/views_d7/generic_question-vs-rest", "hooks", {"hook_style": "generic_question"},
                "worse", 0.5, "high"),
        finding("save_vs_share/tiktok/saves_per_view_d7/save_this-vs-rest", "save_vs_share", {"cta": "save_this"},
                "better", 2.5, "high", metric="saves_per_view_d7"),
        finding("exploration/tiktok/recency/how_to", "exploration", {"format": "how_to"}, "worse", None, "high",
                metric="days_since_last_post", kind=None),
        finding("slide_count/tiktok/views_d7/8_plus-vs-rest", "slide_count", {"slide_count_min": 8}, "worse", 0.5,
                "medium"),
        finding("pillars/tiktok/views_d7/sleep_routines-vs-rest", "pillars", {"content_pillar": "sleep_routines"},
                "better", 1.9, "medium"),
        finding("pillars/tiktok/views_d7/tantrum_management-vs-rest", "pillars",
                {"content_pillar": "tantrum_management"}, "worse", 0.7, "medium"),
        finding("save_vs_share/tiktok/saves_per_view_d7/scripts-vs-rest", "save_vs_share", {"format": "scripts"},
                "better", 1.5, "medium", metric="saves_per_view_d7"),
        finding("formats/tiktok/share_of_engagement/top-formats", "formats",
                {"formats": ["step_guide", "scripts"]}, "better", 0.74, "medium", metric="share_of_engagement",
                kind="share"),
        finding("slide_count/tiktok/views_d7/5-vs-rest", "slide_count", {"slide_count": 5}, "better", 1.3, "medium"),
        finding("timing/tiktok/views_d7/18-21-vs-rest", "timing", {"local_hour_range": [18, 21]}, "better", 1.8,
                "high"),
        finding("growth/tiktok/views_growth/boring_habits", "growth", {"format": "boring_habits"}, "none", None,
                "low", metric="views_growth", kind=None),
    ]


def write_insights(ws: Workspace, findings: list[dict] | None = None) -> None:
    """data/insights/<account>.json for every account, as the analyzer would write it."""
    for account in ws.account_names():
        doc = {"account": account, "generated_at": WEEK1, "data_through": "2026-11-23T08:00:04Z",
               "sample_size": 119, "findings": [{**f, "account": account} for f in findings or sample_findings()]}
        jsonschema.validate(doc, INSIGHTS_SCHEMA)
        ws.insights_path(account).parent.mkdir(parents=True, exist_ok=True)
        ws.insights_path(account).write_text(json.dumps(doc, indent=1))


def git(root: Path, *args: str) -> str:
    result = subprocess.run(["git", "-C", str(root), "-c", "user.name=Test", "-c", "user.email=t@example.com",
                             *args], capture_output=True, text=True, check=True)
    return result.stdout


def pending(ws: Workspace) -> list[dict]:
    return [json.loads(p.read_text()) for p in sorted(ws.rec_dir("pending").glob("*.json"))]


@pytest.fixture(scope="module")
def small_world(tmp_path_factory) -> Workspace:
    """Two demo accounts, 30 days, loaded, with analyzer-shaped insights files."""
    ws = build_demo(tmp_path_factory.mktemp("rec") / "ws", days=30, accounts=2)
    write_insights(ws)
    return ws


@pytest.fixture
def world(small_world, tmp_path) -> Workspace:
    return copy_workspace(small_world, tmp_path)


def demo_config() -> AccountConfig:
    return AccountConfig(content_pillars={"sleep_routines": ["sleep"], "tantrum_management": ["tantrum"]})


def test_rules_cover_all_ten_categories():
    config = demo_config()
    context = default_context(config)
    findings = {f["id"]: f for f in sample_findings()}
    inputs = AccountInputs("acc", config, findings, context)
    raws = recommend_rules.actionable(list(findings.values()), context, {"number_specific": ["5 naps that work"]})
    vetted = [vet(raw, inputs) for raw in raws]
    assert {v["category"] for v in vetted} == set(CATEGORIES) - {REVERT}   # reverts come from follow-ups only
    for rec in vetted:
        assert rec["patch"][0]["op"] == "test"
        assert CONFIDENCE_RANK[rec["confidence"]] <= CONFIDENCE_RANK[rec["finding"]["confidence"]]
        assert rec["finding"]["confidence"] != "low"          # changes rest on medium or better only
    # growth and direction "none" have no field in the context: no proposal rests on them
    assert "growth" not in {v["finding"]["dimension"] for v in vetted}
    assert {"op": "replace", "path": "/posting_windows", "value": [{"start_hour": 18, "end_hour": 21}]} in \
        [op for v in vetted for op in v["patch"]]
    by_category = {v["category"]: v for v in vetted}
    assert by_category["format_weight"]["patch"][1] == {"op": "replace", "path": "/format_weights/step_guide",
                                                       "value": 1.4}
    assert {"op": "test", "path": "/format_weights/step_guide", "value": 1.0} in by_category["format_weight"]["patch"]
    assert by_category["hook_style"]["patch"][-1]["value"] == ["5 naps that work"]


def test_rules_propose_nothing_the_context_already_says():
    context = default_context(demo_config())
    context["format_weights"]["step_guide"] = 1.6          # already above the 1.4 the finding supports
    context["hook_insights"]["worst_styles"] = ["generic_question"]
    context["top_pillars"] = ["sleep_routines"]
    raws = recommend_rules.propose(sample_findings(), context)
    cited = {r["finding_id"] for r in raws}
    assert "formats/tiktok/views_d7/step_guide-vs-rest" not in cited
    assert "hooks/tiktok/views_d7/generic_question-vs-rest" not in cited
    assert "pillars/tiktok/views_d7/sleep_routines-vs-rest" not in cited


def test_recommend_writes_three_to_five_valid_files_per_account(world):
    result = run_step("recommend", world.root, "--now", WEEK1)
    recs = pending(world)
    for account in world.account_names():
        mine = [r for r in recs if r["account"] == account]
        assert 3 <= len(mine) <= 5, result.stdout
        findings = {f["id"]: f for f in json.loads(world.insights_path(account).read_text())["findings"]}
        for rec in mine:
            jsonschema.validate(rec, REC_SCHEMA)
            assert FILE_NAME.match(rec["id"] + ".json")["date"] == "2026-11-23"
            assert rec["created_at"] == WEEK1 and rec["source"] == "rules"
            cited = findings[rec["evidence"]["finding"]]
            assert CONFIDENCE_RANK[rec["confidence"]] <= CONFIDENCE_RANK[cited["confidence"]]
            assert rec["evidence"]["n"] == 31 + 88 and rec["evidence"]["effect"] == cited["effect"]
            assert rec["patch"][0]["op"] == "test"
        # no two waiting files test the same value: approving all of them never makes one stale
        tested = [op["path"] for r in mine for op in r["patch"] if op["op"] == "test"]
        assert len(tested) == len(set(tested))
    rows = {r["id"]: r for r in open_db(world.db_path).query("SELECT * FROM recommendations")}
    assert set(rows) == {r["id"] for r in recs} and {r["status"] for r in rows.values()} == {"pending"}
    # a second run the same week adds nothing: everything it would say is already pending
    again = run_step("recommend", world.root, "--now", WEEK1)
    assert len(pending(world)) == len(recs), again.stdout


def test_missing_insights_is_one_line_and_other_accounts_continue(world):
    first, second = world.account_names()
    world.insights_path(first).unlink()
    result = run_step("recommend", world.root, "--now", WEEK1, check=False)
    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("recommend: error:")]
    assert len(errors) == 1 and f"{first}.json: missing" in errors[0]
    assert {r["account"] for r in pending(world)} == {second}


def test_full_loop_weekly_git_mv_apply_and_no_reproposal(world):
    """weekly -> git mv in a git work tree -> apply -> context changed as proposed -> next weekly
    does not propose it again, nor the rejected change."""
    run_step("recommend", world.root, "--now", WEEK1)
    git(world.root, "init", "-q")
    git(world.root, "add", "recommendations")
    git(world.root, "commit", "-qm", "week 1 proposals")
    account = world.account_names()[0]
    files = {r["category"]: r for r in pending(world) if r["account"] == account}
    approve, reject = files["format_weight"], files["hook_style"]
    for rec, state in ((approve, "approved"), (reject, "rejected")):
        world.rec_dir(state).mkdir(parents=True, exist_ok=True)
        git(world.root, "mv", f"recommendations/pending/{rec['id']}.json", f"recommendations/{state}/")

    run_step("apply", world.root, "--now", "2026-11-24T10:00:00Z")
    context = json.loads(world.context_path(account).read_text())
    for op in approve["patch"]:
        if op["op"] == "replace":
            assert context["format_weights"][op["path"].rsplit("/", 1)[1]] == op["value"]
    assert context["approved_recommendations"][-1]["id"] == approve["id"]
    assert context["last_updated"] == "2026-11-24" and context["sample_size"] == 119
    status = git(world.root, "status", "--porcelain")
    # git saw a rename (pending -> approved -> applied since the last commit), not a delete and an add
    assert f"R  recommendations/pending/{approve['id']}.json -> recommendations/applied/{approve['id']}.json" in status
    rows = {r["id"]: r for r in open_db(world.db_path).query("SELECT id, status, approved_at FROM recommendations")}
    assert rows[approve["id"]]["status"] == "applied" and rows[approve["id"]]["approved_at"]
    assert rows[reject["id"]]["status"] == "rejected"

    run_step("recommend", world.root, "--now", WEEK2)
    week2 = [r for r in pending(world) if r["account"] == account and r["created_at"] == WEEK2]
    signatures = {change_signature(r["patch"]) for r in week2}
    assert change_signature(approve["patch"]) not in signatures
    assert change_signature(reject["patch"]) not in signatures
    assert not any(op["path"].startswith("/format_weights/step_guide") for r in week2 for op in r["patch"])


def test_rejected_change_is_never_proposed_again(world):
    run_step("recommend", world.root, "--now", WEEK1)
    world.rec_dir("rejected").mkdir(parents=True, exist_ok=True)
    rejected = []
    for path in sorted(world.rec_dir("pending").glob("*.json")):
        rejected.append(json.loads(path.read_text()))
        path.rename(world.rec_dir("rejected") / path.name)  # a plain move outside git works too
    run_step("recommend", world.root, "--now", WEEK2)
    fresh = pending(world)
    blocked = {(r["account"], change_signature(r["patch"])) for r in rejected}
    assert not [r for r in fresh if (r["account"], change_signature(r["patch"])) in blocked]
    assert fresh, "findings not yet used should still be proposed"


def test_bad_clock_is_refused(world):
    result = run_step("recommend", world.root, "--now", "next tuesday", check=False)
    assert result.returncode != 0 and "next tuesday" in result.stderr


def test_full_loop_on_the_real_chain(tmp_path):
    """load -> backfill -> analyze -> recommend -> approve -> apply -> recommend, on the planted demo."""
    ws = build_demo(tmp_path / "ws", days=90, accounts=2, steps=("load", "backfill", "analyze"))
    run_step("recommend", ws.root, "--now", WEEK1)
    recs = pending(ws)
    for account in ws.account_names():
        findings = {f["id"]: f for f in json.loads(ws.insights_path(account).read_text())["findings"]}
        mine = [r for r in recs if r["account"] == account or account in r.get("patches", {})]
        assert 3 <= len(mine) <= 5
        for rec in mine:
            jsonschema.validate(rec, REC_SCHEMA)
            cited = findings.get(rec["evidence"]["finding"])
            assert cited is not None or rec["evidence"]["finding"].startswith("cross_account/")
            if cited:
                assert CONFIDENCE_RANK[rec["confidence"]] <= CONFIDENCE_RANK[cited["confidence"]]
    git(ws.root, "init", "-q")
    git(ws.root, "add", "recommendations")
    git(ws.root, "commit", "-qm", "week 1")
    first = next(r for r in recs if r["account"] != "all")
    across = [r for r in recs if r["account"] == "all"]   # a universal pattern: one file, a patch per account
    ws.rec_dir("approved").mkdir(parents=True, exist_ok=True)
    for rec in [first] + across[:1]:
        git(ws.root, "mv", f"recommendations/pending/{rec['id']}.json", "recommendations/approved/")
    run_step("apply", ws.root, "--now", "2026-11-24T10:00:00Z")
    for account, patch in [(first["account"], first["patch"])] + [pair for r in across[:1] for pair in r["patches"].items()]:
        context = json.loads(ws.context_path(account).read_text())
        for op in patch:
            if op["op"] != "test":
                assert jsonpatch.JsonPointer(op["path"]).resolve(context) == op["value"]
    run_step("recommend", ws.root, "--now", WEEK2)
    again = [r for r in pending(ws) if r["created_at"] == WEEK2 and r["account"] == first["account"]]
    assert change_signature(first["patch"]) not in {change_signature(r["patch"]) for r in again}


def test_an_account_without_findings_is_told_what_to_run(tmp_path):
    ws = Workspace(tmp_path)
    ws.config_path("newaccount").parent.mkdir(parents=True)
    ws.config_path("newaccount").write_text("platform_profiles: {tiktok: newaccount}\ntimezone: UTC\n")
    result = run_step("recommend", ws.root, "--now", WEEK1, check=False)
    assert result.returncode == 1 and "newaccount.json: missing (run make analyze first)" in result.stderr
    assert "five" not in result.stdout
