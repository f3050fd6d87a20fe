"""The fault matrix (docs/reliability.md): each test is one named fault, run on a real workspace
through the real step or `make` target, and checks that nothing already stored is lost."""
from __future__ import annotations

import gzip
import json
import os
import re
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from scripts.core.files import pipeline_lock, read_json
from scripts.core.workspace import PROJECT_DIR, Workspace
from tests.conftest import build_demo, run_step
from tests.test_recommend import WEEK1, write_insights

APPLY_AT = "2026-11-24T10:00:00Z"


def make(target: str, ws: Workspace, *variables: str, env: dict | None = None, wait: bool = True):
    """`make <target> ROOT=<ws>` as cron would run it: no make state inherited from a `make test`,
    no API key unless given in env."""
    clean = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "ANTHROPIC_API_KEY")}
    command = ["make", "-C", str(PROJECT_DIR), target, f"ROOT={ws.root}", *variables]
    if not wait:
        return subprocess.Popen(command, env={**clean, **(env or {})}, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
    return subprocess.run(command, env={**clean, **(env or {})}, capture_output=True, text=True, timeout=600)


def counts(db_path: Path) -> dict[str, int]:
    conn = sqlite3.connect(db_path)
    try:
        return {table: conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
                for table in ("posts", "metrics_snapshots", "profile_snapshots", "scrape_runs", "raw_files")}
    finally:
        conn.close()


@pytest.fixture(scope="module")
def scraped(tmp_path_factory) -> Workspace:
    """A small demo world as scraped (raw envelopes, configs, generator output), nothing loaded.
    Read-only: tests work on copies."""
    return build_demo(tmp_path_factory.mktemp("scraped") / "ws", days=40, accounts=2, steps=())


@pytest.fixture(scope="module")
def proposed(scraped, tmp_path_factory) -> Workspace:
    """The same world loaded, with insights and week-1 proposals pending. Read-only too."""
    ws = copy_of(scraped, tmp_path_factory.mktemp("proposed") / "ws")
    run_step("load", ws.root, "--quiet")
    write_insights(ws)
    run_step("recommend", ws.root, "--now", WEEK1)
    return ws


@pytest.fixture
def proposals(proposed, tmp_path) -> Workspace:
    return copy_of(proposed, tmp_path / "ws")


def copy_of(ws: Workspace, target: Path) -> Workspace:
    shutil.copytree(ws.root, target)
    return Workspace(target)


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.rglob(".*.tmp"))


# --- kill -9 during load ------------------------------------------------------------------------

def loaded_so_far(db_path: Path) -> int:
    try:
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=0.1)
        try:
            return conn.execute("SELECT count(*) FROM raw_files").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error:  # not created yet, or the schema is still being applied
        return 0


def test_kill_9_during_load_leaves_a_consistent_db_and_a_rerun_completes(scraped, proposed, tmp_path):
    ws = copy_of(scraped, tmp_path / "ws")
    total = len(ws.raw_files())
    load = subprocess.Popen([sys.executable, "-m", "scripts.load", "--root", str(ws.root), "--quiet"],
                            cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while loaded_so_far(ws.db_path) < total // 4 and load.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert load.poll() is None, "load finished before it could be killed: the world is too small"
    load.send_signal(signal.SIGKILL)
    assert load.wait() == -signal.SIGKILL

    conn = sqlite3.connect(ws.db_path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    done = {r[0] for r in conn.execute("SELECT path FROM raw_files")}
    assert 0 < len(done) < total
    # every file is all in or all out: snapshots only from files recorded as loaded, each with its run
    assert {r[0] for r in conn.execute("SELECT DISTINCT raw_file FROM metrics_snapshots")} <= done
    assert {r[0] for r in conn.execute("SELECT raw_file FROM scrape_runs")} == done
    assert conn.execute("SELECT count(*) FROM metrics_snapshots s LEFT JOIN posts p USING (post_id) "
                        "WHERE p.post_id IS NULL").fetchone()[0] == 0
    conn.close()
    assert len(ws.raw_files()) == total and not ws.rejected_dir.exists()  # no raw file touched

    run_step("load", ws.root, "--quiet")
    assert counts(ws.db_path) == counts(proposed.db_path)  # as a clean load of the same files


# --- concurrent pipeline runs --------------------------------------------------------------------

def lock_holder(ws: Workspace) -> str:
    return ws.lock_path.read_text().strip() if ws.lock_path.exists() else ""


def test_a_second_pipeline_run_is_refused_or_waits_for_the_first(scraped, proposed, tmp_path):
    ws = copy_of(scraped, tmp_path / "ws")
    with pipeline_lock(ws.lock_path):
        refused = make("weekly", ws)
        assert refused.returncode != 0
        assert "another pipeline run holds the lock; try again when it ends" in refused.stderr
        assert "Error 75" in refused.stderr  # EX_TEMPFAIL: cron tries again later
        assert not ws.db_path.exists()        # it wrote nothing

        first = make("load", ws, "LOCK_WAIT=60", wait=False)
        time.sleep(1.0)
        assert first.poll() is None  # waiting for the lock, not failing
        assert not ws.db_path.exists()
    deadline = time.monotonic() + 30
    while lock_holder(ws) in ("", str(os.getpid())) and time.monotonic() < deadline:
        time.sleep(0.01)  # until the waiting `make load` holds the lock
    second = make("weekly", ws, "LOCK_WAIT=120", wait=False)
    first_out, first_err = first.communicate(timeout=120)
    second_out, second_err = second.communicate(timeout=300)
    assert first.returncode == 0, first_err
    assert f"load: {len(ws.raw_files())} new or changed raw files loaded" in first_out
    # the second one ran entirely after the first: the load stamp the first touched last was
    # already there, so it went straight on to backfill and analyze
    assert second.returncode == 0, second_err
    assert "-m scripts.load" not in second_out and "-m scripts.analyze" in second_out
    assert counts(ws.db_path) == counts(proposed.db_path)


# --- a config that is not YAML --------------------------------------------------------------------

def test_bad_yaml_stops_only_its_account_and_the_pipeline_exits_non_zero(scraped, tmp_path):
    ws = copy_of(scraped, tmp_path / "ws")
    good, bad = ws.account_names()
    ws.config_path(bad).write_text("timezone: [America/New_York\nformats: {\n")
    result = make("weekly", ws)
    assert result.returncode != 0
    assert f"accounts/{bad}/config.yml: line 2: invalid YAML" in result.stderr
    assert "pipeline: finished with problems in:" in result.stderr
    # the good account went all the way; the bad one's scraped data is stored, waiting for a fixed config
    assert ws.insights_path(good).exists() and not ws.insights_path(bad).exists()
    assert {read_json(p)["account"] for p in ws.rec_dir("pending").glob("*.json")} == {good}
    assert (ws.dashboard_dir / f"{good}.html").exists()
    conn = sqlite3.connect(ws.db_path)
    stored = dict(conn.execute("SELECT account_name, count(*) FROM raw_files GROUP BY account_name").fetchall())
    conn.close()
    assert stored == {account: len(list(ws.raw_dir.glob(f"*/{account}/*.json"))) for account in (good, bad)}


# --- disk full on an artifact write ---------------------------------------------------------------

def limit_file_size(max_bytes: int):
    """preexec_fn: writes past max_bytes fail with EFBIG, as on a full disk (SIGXFSZ ignored)."""
    def apply_limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_bytes, max_bytes))
    return apply_limit


def run_with_full_disk(step: str, ws: Workspace, *args: str, max_bytes: int,
                       env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", f"scripts.{step}", "--root", str(ws.root), *args],
                          cwd=PROJECT_DIR, capture_output=True, text=True, preexec_fn=limit_file_size(max_bytes),
                          env={**os.environ, "PYTHONDONTWRITEBYTECODE": "1", **(env or {})})


def contents(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def approve(ws: Workspace, pattern: str) -> Path:
    [path] = ws.rec_dir("pending").glob(pattern)
    target = ws.rec_dir("approved") / path.name
    path.rename(target)
    return target


def test_disk_full_while_writing_the_context_keeps_the_old_one(proposals):
    ws = proposals
    account = ws.account_names()[0]
    approve(ws, f"{account}--*--format_weight.json")
    run_step("apply", ws.root, "--now", APPLY_AT)
    context = ws.context_path(account)
    before = context.read_bytes()
    second = approve(ws, f"{account}--*--hook_style.json")

    result = run_with_full_disk("apply", ws, "--now", APPLY_AT, max_bytes=len(before) // 2)
    assert result.returncode != 0
    assert f"{context}: cannot write (File too large); recommendations/approved/{second.name} stays" in result.stderr
    assert "Traceback" not in result.stderr
    assert context.read_bytes() == before
    assert temp_files(ws.account_dir(account)) == []
    assert second.exists()  # still approved: it applies on the next run
    run_step("apply", ws.root, "--now", APPLY_AT)
    assert [r["id"] for r in read_json(context)["approved_recommendations"]][-1] == second.stem


def test_disk_full_while_writing_insights_keeps_the_old_files(proposals):
    ws = proposals
    run_step("backfill", ws.root, "--quiet")
    run_step("analyze", ws.root, "--quiet")
    # analyze leaves a file that already says the same as it is: make each old file differ (a
    # trailing blank line) so that every one has to be written again
    for path in ws.insights_dir.glob("*.json"):
        path.write_text(path.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    before = contents(ws.insights_dir)
    limit = min(len(data) for data in before.values()) // 2
    # an open connection keeps the WAL's 32 KiB shared-memory file in place, so the limit does not
    # already stop SQLite from opening the database: the insights writes are what fails
    keep_open = sqlite3.connect(ws.db_path)
    keep_open.execute("SELECT count(*) FROM posts").fetchone()
    result = run_with_full_disk("analyze", ws, max_bytes=limit)
    keep_open.close()
    assert result.returncode != 0
    assert contents(ws.insights_dir) == before  # every old file intact, no temp file left behind
    for account in ws.account_names():
        assert f"analyze: error: {ws.insights_path(account)}: cannot write (File too large)\n" in result.stderr
    assert "Traceback" not in result.stderr


def test_disk_full_while_writing_an_envelope_writes_no_partial_file(tmp_path):
    from tests.fake_apify import (FakeApify, instagram_items, instagram_post_scraper, instagram_profile_record,
                                  instagram_profile_scraper, instagram_reel_scraper, tiktok_items,
                                  tiktok_profile_scraper)
    from tests.test_scrape import IG_POSTS, IG_PROFILE, IG_REELS, TIKTOK, TOKEN, quick_retries, write_accounts
    ws = write_accounts(tmp_path / "ws", {"alpha": {"tiktok": "alpha", "instagram": "alpha"}})
    quick_retries(ws.root)
    with FakeApify(TOKEN) as fake:
        fake.actors[TIKTOK] = tiktok_profile_scraper({"alpha": tiktok_items("alpha", 30, 7_100_000_000_000_000_000)})
        instagram = {"alpha": instagram_items("alpha", 3, 3_100_000_000)}
        fake.actors[IG_POSTS] = instagram_post_scraper(instagram)
        fake.actors[IG_REELS] = instagram_reel_scraper(instagram)
        fake.actors[IG_PROFILE] = instagram_profile_scraper({"alpha": instagram_profile_record("alpha", 900)})
        env = {"APIFY_TOKEN": TOKEN, "APIFY_API_BASE_URL": fake.url}
        run_step("scrape", ws.root, env=env)
        before = contents(ws.raw_dir)
        sizes = {name.split("/")[0]: len(data) for name, data in before.items()}
        small, large = sorted(sizes, key=sizes.get)  # gzipped, the 30 alike TikTok items are the smaller file
        time.sleep(1.1)  # the next scrape gets its own stamp
        result = run_with_full_disk("scrape", ws, max_bytes=(sizes[small] + sizes[large]) // 2, env=env)
    assert result.returncode == 1
    [line] = [l for l in result.stderr.splitlines() if l.startswith("scrape: error:")]
    assert f"data/raw/{large}/alpha/" in line and "cannot write (File too large)" in line
    after = contents(ws.raw_dir)
    assert {name: data for name, data in after.items() if name in before} == before
    new = set(after) - set(before)
    assert [name.split("/")[0] for name in new] == [small]  # the small one fitted; no partial file
    [written] = new
    assert written.endswith(".json.gz")  # scrape writes its envelopes gzipped, whole
    json.loads(gzip.decompress(after[written]))


# --- recommendation files that name the wrong account ---------------------------------------------

def retarget(path: Path, account: str) -> Path:
    """The same recommendation, claiming another account (id and file name follow the field)."""
    data = read_json(path)
    stem = path.stem.replace(data["account"], account, 1)
    data.update(account=account, id=stem)
    target = path.with_name(f"{stem}.json")
    target.write_text(json.dumps(data))
    path.unlink()
    return target


def test_approved_recommendation_for_an_unknown_account_is_refused_and_kept(proposals):
    ws = proposals
    good_account = ws.account_names()[0]
    good = approve(ws, f"{good_account}--*--format_weight.json")
    ghost = retarget(approve(ws, f"{ws.account_names()[1]}--*--format_weight.json"), "ghost")
    result = run_step("apply", ws.root, "--now", APPLY_AT, check=False)
    assert result.returncode == 1
    [line] = [l for l in result.stderr.splitlines() if l.startswith("apply: error:")]
    assert ghost.name in line and "no valid accounts/ghost/config.yml" in line
    assert ghost.exists() and not ws.account_dir("ghost").exists()
    assert (ws.rec_dir("applied") / good.name).exists()


# --- the documented matrix ----------------------------------------------------------------------

def test_every_test_the_reliability_matrix_cites_exists():
    """docs/reliability.md names the test behind each row; a renamed or deleted test breaks this."""
    cited = set(re.findall(r"`(tests/test_\w+\.py)::(\w+)`", (PROJECT_DIR / "docs" / "reliability.md").read_text()))
    assert len(cited) >= 20
    missing = [f"{path}::{name}" for path, name in sorted(cited)
               if f"def {name}(" not in (PROJECT_DIR / path).read_text(encoding="utf-8")]
    assert missing == []
