"""The incremental weekly (issue 18): analyze reuses each account's phase one (read and modelled) while
its inputs are unchanged, rewrites an insights file only when its content changed, and the dashboard
re-renders only the pages whose inputs changed. Whatever it reuses, the result is the one a run from
scratch gives: these tests compare them byte for byte, apart from the clock."""
from __future__ import annotations

import contextlib
import hashlib
import json
import pickle
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest

from scripts.analysis import analyze, beliefs
from scripts.core.signed import read_entry
from scripts.core.workspace import PROJECT_DIR, Workspace
from scripts.dev.bench import add_scrape
from scripts.outputs import dashboard
from tests.conftest import build_demo, copy_workspace, run_step

STAMP = re.compile(r'"generated_at": "[^"]*"')
PAGE_CLOCK = re.compile(r"findings from [^·]*· page built [^<]*")


@pytest.fixture(scope="module")
def weekly(tmp_path_factory) -> Workspace:
    """The demo world (4 accounts, 120 days) through load, backfill, analyze, recommend and dashboard.
    Read-only: copy it before changing anything."""
    ws = build_demo(tmp_path_factory.mktemp("incremental") / "ws", steps=("load", "backfill"))
    for step in ("analyze", "recommend", "dashboard"):
        run_step(step, ws.root)
    return ws


def copy(ws: Workspace, path) -> Workspace:
    path.mkdir()
    return copy_workspace(ws, path)


def insights(ws: Workspace) -> dict[str, str]:
    return {p.name: STAMP.sub("", p.read_text()) for p in sorted(ws.insights_dir.glob("*.json"))}


def pages(ws: Workspace) -> dict[str, str]:
    """The pages apart from the clock and the workspace's own path (in the commands they print)."""
    return {p.name: PAGE_CLOCK.sub("", p.read_text()).replace(str(ws.root), "ROOT")
            for p in sorted(ws.dashboard_dir.glob("*.html"))}


def mtimes(folder, pattern: str) -> dict[str, int]:
    return {p.name: p.stat().st_mtime_ns for p in folder.glob(pattern)}


CACHED = re.compile(r"from the cache: phase one of (\d+), findings of (\d+)\)")


def from_cache(stdout: str) -> tuple[int, int]:
    """How many accounts' phase one, and how many accounts' findings, analyze took from its cache."""
    phase_one, findings = CACHED.search(stdout).groups()
    return int(phase_one), int(findings)


def assert_same(a: dict[str, str], b: dict[str, str]) -> None:
    assert a.keys() == b.keys() and a
    for name in a:
        assert a[name] == b[name], name


def test_after_one_new_scrape_the_incremental_run_is_the_run_from_scratch(weekly, tmp_path):
    incremental = copy(weekly, tmp_path / "a")
    account = incremental.account_names()[1]
    before = insights(incremental)
    assert len(add_scrape(incremental, account)) == 2  # both platforms, a day later, counts grown
    for step in ("load", "backfill"):
        run_step(step, incremental.root, "--quiet")
    scratch = copy(incremental, tmp_path / "b")
    shutil.rmtree(scratch.cache_dir)                    # no phase one and no page manifest to reuse
    result = run_step("analyze", incremental.root)
    # the scraped account was read again; with four accounts one day's posts move the pooled priors
    # beyond their tolerance, so every account's findings are made again (with fifty they hold: bench)
    assert from_cache(result.stdout)[0] == 3
    assert from_cache(run_step("analyze", scratch.root).stdout) == (0, 0)
    for ws in (incremental, scratch):
        run_step("dashboard", ws.root)
    assert_same(insights(incremental), insights(scratch))
    assert insights(incremental)[f"{account}.json"] != before[f"{account}.json"]  # the new scrape is in it
    assert_same(pages(incremental), pages(scratch))


def test_a_scrape_that_moves_no_estimate_leaves_the_other_accounts_findings_and_files_as_they_were(weekly, tmp_path):
    incremental = copy(weekly, tmp_path / "a")
    account = incremental.account_names()[2]
    add_scrape(incremental, account, hours=1)   # an hour later: no post reaches a new age
    for step in ("load", "backfill"):
        run_step(step, incremental.root, "--quiet")
    files = mtimes(incremental.insights_dir, "*.json")
    result = run_step("analyze", incremental.root)
    # its own findings are made again (its data runs an hour later), the others' come from the cache
    assert from_cache(result.stdout) == (3, 3) and "wrote 1 account files, 3 unchanged" in result.stdout
    changed = {name for name, t in mtimes(incremental.insights_dir, "*.json").items() if t != files[name]}
    assert changed == {f"{account}.json", "all.json"}
    scratch = copy(incremental, tmp_path / "b")
    shutil.rmtree(scratch.cache_dir)
    scratch.pooled_priors_path.unlink()          # pooled afresh, too
    assert from_cache(run_step("analyze", scratch.root).stdout) == (0, 0)
    assert_same(insights(incremental), insights(scratch))


@pytest.mark.parametrize("damage", [b"{not json", b'{"format": "account-analytics pooled priors v1", "families": 7}',
                                    b"[" * 100_000, b'{"format": "something else", "families": {}}', None])
def test_a_damaged_or_missing_priors_file_pools_afresh_and_is_rewritten(weekly, tmp_path, damage):
    ws = copy(weekly, tmp_path / "a")
    good = ws.pooled_priors_path.read_text()
    if damage is None:
        ws.pooled_priors_path.unlink()
    else:
        ws.pooled_priors_path.write_bytes(damage)
    result = run_step("analyze", ws.root)
    assert result.returncode == 0 and not result.stderr
    assert insights(ws) == insights(weekly)      # the same data pooled afresh: the same findings
    assert ws.pooled_priors_path.read_text() == good
    assert from_cache(result.stdout) == (4, 4)   # pooled afresh to the priors it held: the findings stand


def test_a_priors_file_that_cannot_be_written_fails_the_step_and_costs_no_findings(weekly, tmp_path):
    ws = copy(weekly, tmp_path / "a")
    ws.pooled_priors_path.unlink()
    ws.pooled_priors_path.mkdir()                # neither read nor replaced
    result = run_step("analyze", ws.root, check=False)
    assert result.returncode == 1 and "cannot keep the pooled priors" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert insights(ws) == insights(weekly)


def test_one_tampered_family_is_pooled_afresh_and_the_others_kept(weekly, tmp_path):
    ws = copy(weekly, tmp_path / "a")
    stored = json.loads(ws.pooled_priors_path.read_text())
    name = sorted(stored["families"])[0]
    stored["families"][name]["weights"] = ["x"]
    ws.pooled_priors_path.write_text(json.dumps(stored))
    assert analyze.read_priors(ws).keys() == set(stored["families"]) - {name}
    run_step("analyze", ws.root)
    assert insights(ws) == insights(weekly) and ws.pooled_priors_path.read_text() == weekly.pooled_priors_path.read_text()


def test_randomised_picks_are_read_once_and_again_when_a_folder_changes(weekly, tmp_path):
    ws = copy(weekly, tmp_path / "a")
    account = ws.account_names()[0]
    ws.context_path(account).write_text(json.dumps({"format_beliefs": {}}))  # the generator explores
    for meta_path in ws.output_dir(account).glob("*/meta.json"):
        meta = json.loads(meta_path.read_text())
        meta["format_choice"] = {"format": meta["format"], "propensity": 0.25, "seed": 1, "overridden": False}
        meta_path.write_text(json.dumps(meta))

    def randomised() -> int:
        run_step("analyze", ws.root)
        return json.loads(ws.insights_path(account).read_text())["beliefs"]["randomised"]["posts"]
    first = randomised()
    assert first > 0 and ws.picks_cache_path(account).is_file()
    assert randomised() == first                 # read from the cache: the same
    read = read_entry(ws.picks_cache_path(account), beliefs.PICKS_MAGIC, account, beliefs.PICKS_MAX_BYTES)
    counted = ws.account_dir(account) / sorted(folder for folder, entry in read.items() if entry[2])[0] / "meta.json"
    meta = json.loads(counted.read_text())
    meta["format_choice"]["overridden"] = True   # a person chose this one: no longer randomised
    counted.write_text(json.dumps(meta))
    assert randomised() == first - 1
    assert scratch_insights(ws, tmp_path / "b") == insights(ws)
    ws.picks_cache_path(account).write_bytes(b"planted")   # not signed by this user: read afresh
    assert randomised() == first - 1


def scratch_insights(ws: Workspace, path) -> dict[str, str]:
    """The insights a run without any cache writes, on a copy of the workspace."""
    scratch = copy(ws, path)
    shutil.rmtree(scratch.cache_dir)
    run_step("analyze", scratch.root)
    return insights(scratch)


def test_with_nothing_new_no_file_is_rewritten_and_a_changed_proposal_redraws_its_pages_only(weekly, tmp_path):
    ws = copy(weekly, tmp_path / "a")
    # the pages print make commands with ROOT=<this workspace>: in the copy, every page is new once
    assert "wrote 4 account page(s) and all.html" in run_step("dashboard", ws.root).stdout
    files, html = mtimes(ws.insights_dir, "*.json"), mtimes(ws.dashboard_dir, "*.html")
    result = run_step("analyze", ws.root)
    assert "wrote 0 account files, 4 unchanged" in result.stdout and from_cache(result.stdout) == (4, 4)
    assert mtimes(ws.insights_dir, "*.json") == files  # generated_at kept: the steps after see no change
    assert "(5 unchanged page(s) left as they were)" in run_step("dashboard", ws.root).stdout
    assert mtimes(ws.dashboard_dir, "*.html") == html
    # a rejected proposal (git mv into rejected/) changes its account's page and all.html, no other
    rec = sorted(p for p in ws.rec_dir("pending").glob("*.json") if not p.name.startswith("all--"))[0]
    account = rec.name.split("--")[0]
    rec.rename(ws.rec_dir("rejected") / rec.name)
    result = run_step("dashboard", ws.root)
    assert "wrote 1 account page(s) and all.html" in result.stdout and "(3 unchanged" in result.stdout
    changed = {name for name, t in mtimes(ws.dashboard_dir, "*.html").items() if t != html[name]}
    assert changed == {f"{account}.html", "all.html"}
    scratch = copy(ws, tmp_path / "b")
    scratch.dashboard_manifest_path.unlink()
    assert "wrote 4 account page(s) and all.html" in run_step("dashboard", scratch.root).stdout
    assert_same(pages(ws), pages(scratch))


def matched_folder(ws: Workspace, account: str) -> tuple[Path, str]:
    """A generator folder backfill matched to one of the account's posts, and a format the account's
    other posts have that this one has not."""
    with contextlib.closing(sqlite3.connect(ws.db_path)) as conn:
        folder, current = conn.execute("SELECT output_folder, format FROM posts WHERE account_name = ? AND "
                                       "output_folder IS NOT NULL ORDER BY post_id LIMIT 1", [account]).fetchone()
        other = conn.execute("SELECT min(format) FROM posts WHERE account_name = ? AND format != ?",
                             [account, current]).fetchone()[0]
    return ws.account_dir(account) / folder, other


def test_pages_follow_what_backfill_stores_with_or_without_its_fingerprint(weekly, tmp_path):
    """Account pages are fingerprinted by the account's state in the database (the raw files loaded,
    backfill's fingerprint), not by running their queries: a generator folder edited in place changes
    what backfill stores, and that account's page, and no other. An account whose backfill had
    problems keeps no fingerprint; its page is fingerprinted by its rows. Either way the pages are
    those a run from scratch draws."""
    ws = copy(weekly, tmp_path / "a")
    run_step("dashboard", ws.root)   # the copy's pages print its own path: all new once
    html = mtimes(ws.dashboard_dir, "*.html")
    edited, broken = ws.account_names()[1], ws.account_names()[2]
    posts_table = (ws.dashboard_dir / f"{edited}.html").read_text().split('id="posts"')[1]
    folder, other = matched_folder(ws, edited)
    meta = json.loads((folder / "meta.json").read_text())
    (folder / "meta.json").write_text(json.dumps({**meta, "format": other}))
    next(p for p in ws.account_dir(broken).glob("output/*/meta.json")).write_text("{not json")
    assert run_step("backfill", ws.root, check=False).returncode == 1   # the broken folder's problem
    with contextlib.closing(sqlite3.connect(ws.db_path)) as conn:
        assert conn.execute("SELECT fingerprint FROM backfill_runs WHERE account_name = ?", [broken]).fetchone() \
            == (None,)
    result = run_step("dashboard", ws.root)
    assert "wrote 2 account page(s) in" in result.stdout, result.stdout   # all.html shows no format
    changed = {name for name, t in mtimes(ws.dashboard_dir, "*.html").items() if t != html[name]}
    assert changed == {f"{edited}.html", f"{broken}.html"}
    assert (ws.dashboard_dir / f"{edited}.html").read_text().split('id="posts"')[1] != posts_table
    # the broken account's page is now fingerprinted by its rows, which did not change
    assert "wrote 0 account page(s)" in run_step("dashboard", ws.root).stdout
    scratch = copy(ws, tmp_path / "b")
    scratch.dashboard_manifest_path.unlink()
    run_step("dashboard", scratch.root)
    assert_same(pages(ws), pages(scratch))


def test_a_config_change_invalidates_that_account_only(weekly, tmp_path):
    ws = copy(weekly, tmp_path / "a")
    account = ws.account_names()[0]
    with open(ws.config_path(account), "a", encoding="utf-8") as config:
        config.write("# edited\n")
    assert from_cache(run_step("analyze", ws.root).stdout) == (3, 3)


@pytest.mark.parametrize("edit", ["scripts/analysis/model.py", "scripts/core/config.py", "sql/views/v_post_day7.sql",
                                  "sql/tables/posts.sql", "schemas/insights.schema.json"])
def test_a_code_or_schema_change_invalidates_every_phase_one(tmp_path, monkeypatch, edit):
    for folder in ("scripts", "sql", "schemas"):
        shutil.copytree(PROJECT_DIR / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(analyze, "PROJECT_DIR", tmp_path)
    monkeypatch.setattr(analyze, "SQL_DIR", tmp_path / "sql")
    monkeypatch.setattr(analyze, "SCHEMA_DIR", tmp_path / "schemas")
    before = analyze.code_fingerprint()
    assert analyze.code_fingerprint() == before
    with open(tmp_path / edit, "a", encoding="utf-8") as changed:
        changed.write("\n")
    assert analyze.code_fingerprint() != before


@pytest.mark.parametrize("edit", ["scripts/outputs/templates/dashboard.html.j2", "sql/queries/post_list.sql",
                                  "sql/views/v_post_performance.sql", "scripts/outputs/charts.py",
                                  "scripts/analysis/headlines.py"])
def test_an_output_code_or_query_change_redraws_every_page(tmp_path, monkeypatch, edit):
    for folder in ("scripts", "sql"):
        shutil.copytree(PROJECT_DIR / folder, tmp_path / folder, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(dashboard, "PROJECT_DIR", tmp_path)
    before = dashboard.code_fingerprint()
    with open(tmp_path / edit, "a", encoding="utf-8") as changed:
        changed.write("\n")
    assert dashboard.code_fingerprint() != before


def test_corrupt_cache_entries_and_manifest_are_ignored_and_rebuilt(weekly, tmp_path):
    ws = copy(weekly, tmp_path / "a")
    first, second, third, fourth = (ws.analyze_cache_path(a) for a in ws.account_names())
    first.write_bytes(first.read_bytes()[: first.stat().st_size // 2])         # torn
    second.write_bytes(b"\x80\x04not a pickle at all" * 100)                    # foreign
    payload = pickle.dumps(("an object that is no phase one",))                 # well-formed, wrong content
    key = third.read_bytes()[len(analyze.CACHE_MAGIC):].split(b"\n", 2)[1]
    third.write_bytes(analyze.CACHE_MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + key + b"\n"
                      + payload)
    fourth.unlink()
    fourth.mkdir()                                                              # cannot even be replaced
    ws.dashboard_manifest_path.write_text("{not json")
    before = insights(ws)
    result = run_step("analyze", ws.root)
    # the findings entries are intact: phase one is recomputed, gives the same keys, and the findings stand
    assert "wrote 0 account files, 4 unchanged" in result.stdout and from_cache(result.stdout) == (0, 4)
    assert insights(ws) == before and not result.stderr
    assert from_cache(run_step("analyze", ws.root).stdout) == (3, 4)  # rewritten, but the folder
    assert "wrote 4 account page(s) and all.html" in run_step("dashboard", ws.root).stdout
    assert_same(pages(ws), pages(weekly))
    assert "(5 unchanged page(s) left as they were)" in run_step("dashboard", ws.root).stdout


def plant(path, magic: bytes, marker) -> str:
    """Replace a cache entry with a pickle that would create `marker` when loaded, under the entry's
    own key and with a correct checksum, but not signed with this user's secret; the key."""
    class Planted:
        def __reduce__(self):
            return (open, (str(marker), "w"))
    payload = pickle.dumps(Planted())
    key = path.read_bytes()[len(magic):].split(b"\n", 2)[1]
    path.write_bytes(magic + hashlib.sha256(payload).hexdigest().encode() + b"\n" + key + b"\n" + payload)
    return key.decode()


@pytest.mark.parametrize("entry", ["phase one", "findings"])
def test_an_entry_not_signed_by_this_user_is_never_unpickled(weekly, tmp_path, entry):
    # a pickle runs code when loaded: one planted in (or copied into) a workspace, with a correct
    # key and checksum, must be a miss without ever being loaded
    ws = copy(weekly, tmp_path / "a")
    account = ws.account_names()[0]
    marker = tmp_path / "pwned"
    if entry == "phase one":
        key = plant(ws.analyze_cache_path(account), analyze.CACHE_MAGIC, marker)
        assert analyze.read_cache(ws.analyze_cache_path(account), key, account) is None
    else:
        key = plant(ws.findings_cache_path(account), analyze.FINDINGS_MAGIC, marker)
        assert analyze.read_findings_cache(ws, account, key) is None
    assert not marker.exists()
    result = run_step("analyze", ws.root)
    assert from_cache(result.stdout) == ((3, 4) if entry == "phase one" else (4, 3)) and not marker.exists()
    assert insights(ws) == insights(weekly)


def test_an_entry_under_another_key_is_a_miss(weekly, tmp_path):
    ws = copy(weekly, tmp_path / "a")
    account = ws.account_names()[0]
    path = ws.analyze_cache_path(account)
    key = path.read_bytes()[len(analyze.CACHE_MAGIC):].split(b"\n", 2)[1].decode()
    assert analyze.read_cache(path, key, account) is not None
    assert analyze.read_cache(path, "0" * 64, account) is None
    assert analyze.read_cache(path, key, ws.account_names()[1]) is None  # another account's name


def make(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", *args], cwd=PROJECT_DIR, capture_output=True, text=True)


def test_a_failed_analyze_or_dashboard_is_not_recorded_as_done(weekly, tmp_path):
    ws = copy(weekly, tmp_path / "a")
    stamp = ws.data_dir / ".analyze.stamp"
    account = ws.account_names()[2]
    expected = insights(ws)
    ws.insights_path(account).unlink()
    ws.insights_path(account).mkdir()            # the file cannot be written: the step fails
    failed = make("analyze", f"ROOT={ws.root}")
    assert failed.returncode != 0 and not stamp.exists()
    assert "cannot write" in failed.stdout + failed.stderr
    ws.insights_path(account).rmdir()
    again = make("analyze", f"ROOT={ws.root}")
    assert again.returncode == 0, again.stdout + again.stderr
    assert "scripts.analyze" in again.stdout and stamp.exists()  # run again, though its phase ones were cached
    assert from_cache(again.stdout)[0] == 4 and insights(ws) == expected
    # the dashboard: a page that cannot be written fails the step; the next run builds what is missing
    page = ws.dashboard_dir / f"{account}.html"
    page.unlink()
    page.mkdir()
    assert make("dashboard", f"ROOT={ws.root}").returncode != 0 and not (ws.data_dir / ".dashboard.stamp").exists()
    page.rmdir()
    again = make("dashboard", f"ROOT={ws.root}")
    assert again.returncode == 0, again.stdout + again.stderr
    assert page.is_file() and (ws.data_dir / ".dashboard.stamp").exists()
    scratch = copy(ws, tmp_path / "b")
    scratch.dashboard_manifest_path.unlink()
    run_step("dashboard", scratch.root)
    assert_same(pages(ws), pages(scratch))
