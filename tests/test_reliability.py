"""Never silently wrong: the eight cases of the reliability issue, each through the real steps
(mostly through make, as cron runs them). Each failed on the code before the fix."""
from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from scripts.core.workspace import PROJECT_DIR, Workspace
from tests.conftest import run_step
from tests.test_faults import copy_of, counts, loaded_so_far, make, scraped  # noqa: F401  (fixture)


@pytest.fixture(scope="module")
def weekly_done(scraped, tmp_path_factory) -> Workspace:
    """The small world after a clean make load and make weekly. Read-only: tests work on copies."""
    ws = copy_of(scraped, tmp_path_factory.mktemp("weekly") / "ws")
    for target in ("load", "weekly"):
        result = make(target, ws)
        assert result.returncode == 0, result.stdout + result.stderr
    return ws


def findings(ws: Workspace) -> dict[str, int]:
    return {p.name: len(json.loads(p.read_text())["findings"]) for p in sorted(ws.insights_dir.glob("*.json"))}


def open_problems(ws: Workspace) -> list[dict]:
    return json.loads(ws.problems_path.read_text())["open"] if ws.problems_path.exists() else []


def a_raw_file(ws: Workspace, platform: str = "tiktok") -> Path:
    return sorted(p for p in ws.raw_files() if p.parent.parent.name == platform)[len(ws.raw_files()) // 4]


def rewrite(path: Path, change) -> None:
    envelope = json.loads(path.read_text())
    change(envelope)
    path.write_text(json.dumps(envelope))


# --- 1. a crashed or killed step is never marked done -----------------------------------------------

def step_pid(ws: Workspace, step: str) -> int | None:
    """The pid of `python -m scripts.<step> --root <ws>` while it runs."""
    for entry in Path("/proc").iterdir():
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"scripts.{step}".encode() in args and str(ws.root).encode() in args:
            return int(entry.name)
    return None


def test_case1_a_killed_load_is_redone_by_the_next_make_load(scraped, tmp_path):
    ws = copy_of(scraped, tmp_path / "ws")
    total = len(ws.raw_files())
    first = make("load", ws, wait=False)
    deadline = time.monotonic() + 60
    while loaded_so_far(ws.db_path) < total // 4 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    pid = step_pid(ws, "load")
    assert pid and first.poll() is None, "load ended before it could be killed: the world is too small"
    os.kill(pid, signal.SIGKILL)
    first.communicate(timeout=60)
    assert first.returncode != 0
    assert any("load was killed" in p["problem"] for p in open_problems(ws))
    assert loaded_so_far(ws.db_path) < total

    again = make("load", ws)
    assert again.returncode == 0, again.stdout + again.stderr
    assert loaded_so_far(ws.db_path) == total  # today's bug: "up to date", 412 of 960 files missing
    assert not ws.problems_path.exists()


def test_case1_a_broken_config_keeps_every_run_failing_until_it_is_fixed(weekly_done, tmp_path):
    ws = copy_of(weekly_done, tmp_path / "ws")
    config = ws.config_path(ws.account_names()[0])
    good = config.read_text()
    config.write_text(good.replace(good.split("timezone:")[1].split("\n")[0], " Nowhere/Land"))
    runs = [make("weekly", ws) for _ in range(2)]
    assert [r.returncode for r in runs] == [2, 2], runs[1].stdout + runs[1].stderr
    assert "Nowhere/Land" in runs[1].stderr and "finished with problems in:" in runs[1].stderr
    first_seen = {p["step"]: p["first_seen"] for p in open_problems(ws)}
    assert {"load", "backfill", "analyze", "recommend"} <= set(first_seen)
    config.write_text(good)
    fixed = make("weekly", ws)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    assert not ws.problems_path.exists()


# --- 2. any value a file can hold is that file's rejection, never a traceback ------------------------

HOSTILE_ENVELOPES = {
    "huge counter": lambda e: e["items"][0].update(playCount=10**20),
    "impossible scrape time": lambda e: e.update(scraped_at="2026-13-45T99:99:99Z"),
    "huge profile counter": lambda e: e.update(profile={**(e["profile"] or {}), "followers": 10**20}),
}


@pytest.mark.parametrize("case", [*HOSTILE_ENVELOPES, "deep nesting", "symlink to /dev/zero"])
def test_case2_a_hostile_raw_file_is_rejected_and_every_other_file_loads(scraped, tmp_path, case):
    ws = copy_of(scraped, tmp_path / "ws")
    bad = a_raw_file(ws)
    if case == "deep nesting":
        bad.write_text(bad.read_text().replace('"items": [', '"items": [{"id": "x", "deep": ' + "[" * 200_000
                                               + "]" * 200_000 + "}, ", 1))
    elif case == "symlink to /dev/zero":
        bad.unlink()
        bad.symlink_to("/dev/zero")
    else:
        rewrite(bad, HOSTILE_ENVELOPES[case])
    result = make("reload", ws)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    named = [line for line in result.stderr.splitlines() if "load: error:" in line and bad.name in line]
    assert len(named) == 1, result.stderr
    assert loaded_so_far(ws.db_path) == len(ws.raw_files())  # all but the bad one, which was moved aside
    assert not bad.exists() and (ws.rejected_dir / bad.relative_to(ws.raw_dir)).exists()
    assert make("load", ws).returncode == 2  # a file set aside stays a problem until someone sees to it


@pytest.mark.parametrize("case", ["dangling symlink", "looping symlink", "huge slide count", "20 MB hook"])
def test_case2_a_hostile_generator_folder_is_skipped_with_one_line(weekly_done, tmp_path, case):
    ws = copy_of(weekly_done, tmp_path / "ws")
    account = ws.account_names()[0]
    meta = sorted(ws.output_dir(account).rglob("meta.json"))[3]
    if case.endswith("symlink"):
        meta.unlink()
        meta.symlink_to(meta.parent / "nowhere.json" if case == "dangling symlink" else meta)
    else:
        data = json.loads(meta.read_text())
        data.update(slide_count=10**20) if case == "huge slide count" else data.update(hook_text="x" * 20_000_000)
        meta.write_text(json.dumps(data))
    os.utime(ws.output_dir(account))  # as a new folder would: make looks at the folders' times
    result = make("backfill", ws)
    assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
    named = [line for line in result.stderr.splitlines() if "backfill: error:" in line]
    assert len(named) == 1 and meta.parent.name in named[0], result.stderr
    conn = sqlite3.connect(ws.db_path)
    matched = dict(conn.execute("SELECT account_name, count(output_folder) FROM posts GROUP BY 1").fetchall())
    before = dict(sqlite3.connect(weekly_done.db_path).execute(
        "SELECT account_name, count(output_folder) FROM posts GROUP BY 1").fetchall())
    assert matched[account] >= before[account] - 1 and all(matched[a] == before[a] for a in before if a != account)


def test_case2_a_database_held_locked_is_one_line_and_a_later_run_goes_on(weekly_done, tmp_path):
    ws = copy_of(weekly_done, tmp_path / "ws")
    holder = sqlite3.connect(ws.db_path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = run_step("backfill", ws.root, "--full", check=False, env={"ANALYTICS_DB_BUSY_SECONDS": "0.5"})
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    assert "database is locked" in result.stderr and str(ws.db_path) in result.stderr
    assert run_step("backfill", ws.root, "--full", check=False).returncode == 0


# --- 3. a missing or emptied database is rebuilt or refused, never silently empty --------------------

def test_case3_a_deleted_database_is_rebuilt_from_raw_by_the_next_weekly(weekly_done, tmp_path):
    ws = copy_of(weekly_done, tmp_path / "ws")
    before = counts(ws.db_path), findings(ws)
    for path in ws.data_dir.glob("analytics.db*"):
        path.unlink()
    result = make("weekly", ws)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (counts(ws.db_path), findings(ws)) == before


def test_case3_an_emptied_database_is_refused_and_keeps_the_insights(weekly_done, tmp_path):
    ws = copy_of(weekly_done, tmp_path / "ws")
    before = findings(ws)
    conn = sqlite3.connect(ws.db_path)
    with conn:
        for table in ("metrics_snapshots", "scrape_runs", "profile_snapshots", "raw_files", "posts"):
            conn.execute(f"DELETE FROM {table}")
    conn.close()
    for script in ("analyze", "dashboard"):
        result = run_step(script, ws.root, check=False)
        assert result.returncode == 1 and "make reload" in result.stderr, result.stderr
    assert findings(ws) == before
    make("reload", ws)  # still non-zero: the dashboard's refusal stays open until the dashboard runs
    assert make("weekly", ws).returncode == 0
    assert findings(ws) == before and not ws.problems_path.exists()


def test_case3_a_database_deleted_while_load_runs_is_a_problem(scraped, tmp_path):
    ws = copy_of(scraped, tmp_path / "ws")
    load = subprocess.Popen([sys.executable, "-m", "scripts.load", "--root", str(ws.root), "--quiet"],
                            cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while loaded_so_far(ws.db_path) < 5 and load.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert load.poll() is None, "load ended before the database could be deleted"
    for path in ws.data_dir.glob("analytics.db*"):
        path.unlink()
    _, stderr = load.communicate(timeout=120)
    assert load.returncode == 1 and "deleted or replaced while load ran" in stderr, stderr


# --- 4. a second envelope for the same scrape time is refused -----------------------------------------

def test_case4_an_envelope_reusing_a_scrape_time_is_rejected_and_the_profile_kept(weekly_done, tmp_path):
    ws = copy_of(weekly_done, tmp_path / "ws")
    original = a_raw_file(ws)
    scraped_at = json.loads(original.read_text())["scraped_at"]
    query = "SELECT followers FROM profile_snapshots WHERE scraped_at = ? AND platform = 'tiktok'"
    followers = sqlite3.connect(ws.db_path).execute(query, [scraped_at]).fetchall()
    twin = original.with_name(original.stem[:-2] + "9Z.json")  # another stamp, the same scraped_at
    twin.write_text(original.read_text())
    rewrite(twin, lambda e: e.update(profile={**e["profile"], "followers": 1}))
    result = make("load", ws)
    assert result.returncode == 2 and f"same scrape time ({scraped_at})" in result.stderr, result.stderr
    assert sqlite3.connect(ws.db_path).execute(query, [scraped_at]).fetchall() == followers != [(1,)]


# --- 6. times from the future ---------------------------------------------------------------------------

def test_case6_a_scrape_in_2099_is_rejected_and_a_post_published_after_its_scrape_skipped(scraped, tmp_path):
    ws = copy_of(scraped, tmp_path / "ws")
    future, late = a_raw_file(ws), a_raw_file(ws, "instagram")
    rewrite(future, lambda e: e.update(scraped_at="2099-01-01T08:00:00Z"))
    rewrite(late, lambda e: e["items"][0].update(timestamp="2099-01-01T00:00:00.000Z"))
    result = make("load", ws)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "scraped_at: 2099-01-01T08:00:00Z is in the future" in result.stderr
    assert "1 published after the scrape" in result.stdout
    conn = sqlite3.connect(ws.db_path)
    assert conn.execute("SELECT max(scraped_at) FROM raw_files").fetchone()[0] < "2027"  # data_through
    assert conn.execute("SELECT count(*) FROM posts WHERE published_at >= '2099'").fetchone()[0] == 0


# --- 7. a killed lock holder cannot let a second run in --------------------------------------------------

def test_case7_killing_the_lock_holder_keeps_the_lock_until_the_run_ends(scraped, tmp_path):
    ws = copy_of(scraped, tmp_path / "ws")
    first = make("load", ws, wait=False)
    deadline = time.monotonic() + 60
    while (step_pid(ws, "load") is None or step_pid(ws, "lock") is None) and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(step_pid(ws, "lock"), signal.SIGKILL)
    second = make("load", ws)
    assert second.returncode != 0 and "another pipeline run holds the lock" in second.stderr, second.stderr
    first.communicate(timeout=120)  # returns once the orphaned run, which shares its pipes, has ended too
    assert step_pid(ws, "load") is None
    assert make("load", ws).returncode == 0  # once the first run's steps end, the lock is free


# --- 8. Datasette sees the rebuilt database ------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def served_posts(base: str) -> int:
    with urllib.request.urlopen(f"{base}/analytics.json?sql=select+count(*)+as+n+from+posts&_shape=array",
                                timeout=10) as response:
        return json.load(response)[0]["n"]


def test_case8_datasette_serves_the_rebuilt_database_after_make_reload(weekly_done, tmp_path):
    ws = copy_of(weekly_done, tmp_path / "ws")
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "datasette", "serve", str(ws.db_path), "--host", "127.0.0.1",
                               "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              cwd=PROJECT_DIR)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                before = served_posts(base)
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "datasette did not start"
                time.sleep(0.2)
        with sqlite3.connect(ws.db_path) as conn:  # posts lost from the database, still in data/raw/
            conn.execute("DELETE FROM metrics_snapshots WHERE post_id IN (SELECT post_id FROM posts LIMIT 5)")
            conn.execute("DELETE FROM posts WHERE post_id IN (SELECT post_id FROM posts LIMIT 5)")
        assert served_posts(base) == before - 5
        assert make("reload", ws).returncode == 0
        assert served_posts(base) == before  # not the deleted file's old contents
    finally:
        server.terminate()
        server.wait(timeout=10)
