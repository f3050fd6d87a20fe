"""The Make chain itself: `make demo` end to end on a fresh workspace, then a no-op `make weekly`."""
from __future__ import annotations

import json
import sqlite3
import subprocess
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import yaml

from scripts.core.workspace import PROJECT_DIR, Workspace

STEP_COMMANDS = ("scripts.load", "scripts.backfill", "scripts.analyze", "scripts.recommend", "scripts.dashboard")


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *args], cwd=PROJECT_DIR, capture_output=True, text=True)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("make") / "demo"
    return root, make("demo", f"DEMO={root}")


def test_make_demo_runs_every_step_and_ends_with_the_summary(demo_run):
    root, result = demo_run
    assert result.returncode == 0, result.stdout + result.stderr
    for step in STEP_COMMANDS:
        assert step in result.stdout
    ws = Workspace(root)
    accounts = ws.account_names()
    assert len(accounts) == 4
    for account in accounts:
        assert account in result.stdout.split("Next:")[0]
        assert ws.insights_path(account).exists()
        assert list(ws.rec_dir("pending").glob(f"{account}--*.json"))
        assert (ws.dashboard_dir / f"{account}.html").exists()
    assert json.loads(ws.all_insights_path.read_text())["findings"]
    assert f"make review ROOT={root} ACCOUNT=" in result.stdout


def test_make_demo_leaves_a_git_repository_where_git_mv_approves(demo_run):
    """The README's approval is a git mv: the demo is a repository tracking configs, raw data and
    proposals, and ignoring what the pipeline rebuilds."""
    root, result = demo_run
    assert result.returncode == 0
    git = ["git", "-C", str(root)]
    assert subprocess.run(git + ["status", "--porcelain"], capture_output=True, text=True).stdout == ""
    tracked = subprocess.run(git + ["ls-files"], capture_output=True, text=True).stdout.split()
    assert any(t.startswith("recommendations/pending/") for t in tracked)
    assert any(t.startswith("data/raw/") for t in tracked) and "data/analytics.db" not in tracked
    assert not any(t.startswith(("data/dashboard/", "data/insights/")) for t in tracked)
    pending = sorted((root / "recommendations" / "pending").glob("*.json"))[0].name
    moved = subprocess.run(git + ["mv", f"recommendations/pending/{pending}", "recommendations/approved/"],
                           capture_output=True, text=True)
    assert moved.returncode == 0, moved.stderr
    subprocess.run(git + ["mv", f"recommendations/approved/{pending}", "recommendations/pending/"], check=True)


def test_second_weekly_with_nothing_new_runs_no_step(demo_run):
    root, first = demo_run
    assert first.returncode == 0
    again = make("weekly", f"ROOT={root}")
    assert again.returncode == 0, again.stdout + again.stderr
    assert not [step for step in STEP_COMMANDS if step in again.stdout], again.stdout


def test_a_new_envelope_or_generator_folder_wakes_the_chain(demo_run):
    """The stamps watch folders, not every file: a new envelope or folder must still be seen."""
    root, first = demo_run
    assert first.returncode == 0
    ws = Workspace(root)
    latest = sorted(ws.raw_files())[-1]
    envelope = json.loads(latest.read_text())
    envelope["scraped_at"] = "2026-11-24T08:00:00Z"
    (latest.parent / "20261124T080000Z.json").write_text(json.dumps(envelope))
    again = make("weekly", f"ROOT={root}")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "scripts.load" in again.stdout and "scripts.analyze" in again.stdout

    folder = ws.output_dir(ws.account_names()[0]) / "2026-11-24-new-post"
    folder.mkdir()
    (folder / "meta.json").write_text(json.dumps({"topic": "bedtime routine", "hook_text": "A new hook"}))
    third = make("weekly", f"ROOT={root}")
    assert third.returncode == 0, third.stdout + third.stderr
    assert "scripts.backfill" in third.stdout and "scripts.load" not in third.stdout


def test_a_new_timezone_reruns_load_and_moves_the_local_times(demo_run):
    """published_local comes from the config's timezone: the load stamp depends on the configs, and
    load recomputes the local times of the account whose timezone changed (its raw files did not)."""
    root, first = demo_run
    assert first.returncode == 0
    ws = Workspace(root)
    account = ws.account_names()[0]
    config = yaml.safe_load(ws.config_path(account).read_text())
    query = "SELECT published_at, published_local FROM posts WHERE account_name = ? ORDER BY post_id LIMIT 1"
    before = sqlite3.connect(ws.db_path).execute(query, [account]).fetchone()
    new_zone = "Asia/Tokyo" if config["timezone"] != "Asia/Tokyo" else "Europe/Paris"
    ws.config_path(account).write_text(yaml.safe_dump({**config, "timezone": new_zone}))
    again = make("load", f"ROOT={root}")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"Recomputed local posting times for {account}" in again.stdout
    after = sqlite3.connect(ws.db_path).execute(query, [account]).fetchone()
    expected = datetime.fromisoformat(before[0].replace("Z", "+00:00")).astimezone(ZoneInfo(new_zone))
    assert after == (before[0], expected.replace(tzinfo=None).isoformat(timespec="seconds")) != before
    assert "Recomputed" not in make("load", f"ROOT={root}").stdout  # once, then up to date
