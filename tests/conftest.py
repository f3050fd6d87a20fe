"""Shared test helpers: build the synthetic demo workspace and run pipeline steps end to end."""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.core.db import open_db
from scripts.core.timeutil import parse_utc, to_stamp
from scripts.dev.demo import build_workspace
from scripts.core.workspace import PROJECT_DIR, Workspace

DEMO_END = "2026-11-23"


def run_step(step: str, root: Path, *args: str, env: dict | None = None, check: bool = True,
             input: str | None = None, cpus: set[int] | None = None) -> subprocess.CompletedProcess:
    """Run `python -m scripts.<step> --root <root> ...` as make would, in a subprocess (allowed
    only the given CPUs, if any)."""
    full_env = {**os.environ, **(env or {})}
    result = subprocess.run([sys.executable, "-m", f"scripts.{step}", "--root", str(root), *args],
                            cwd=PROJECT_DIR, capture_output=True, text=True, env=full_env, input=input,
                            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None)
    if check and result.returncode != 0:
        raise AssertionError(f"scripts.{step} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def build_demo(root: Path, *, null: bool = False, seed: int = 7, days: int = 120, accounts: int = 4,
               steps: tuple[str, ...] = ("load",)) -> Workspace:
    """Generate a synthetic workspace at root and run the given pipeline steps on it.

    The same world (same seed, size and steps) is built once per test session, by whichever xdist
    worker asks first, and copied to root for every later caller (files with their mtimes, so make
    sees the same stamps as up to date): generating it and running the steps in subprocesses costs
    seconds of CPU each time, and a dozen modules ask for the same few worlds. A world with fewer
    steps is the start of one with more (load, then backfill), so each prefix is built once too.
    The steps are still the real ones, run as make would run them; only their repetition is saved.
    Wall-clock columns (raw_files.loaded_at, posts.created_at) are those of that one build."""
    root = Path(root)
    if not os.environ.get(DEMO_CACHE_VARIABLE):  # outside a pytest session
        return _build_demo_here(root, null=null, seed=seed, days=days, accounts=accounts, steps=tuple(steps))
    source = _cached_demo(null=null, seed=seed, days=days, accounts=accounts, steps=tuple(steps))
    shutil.copytree(source, root, symlinks=True, dirs_exist_ok=True)
    return Workspace(root)


def _build_demo_here(root: Path, *, null: bool, seed: int, days: int, accounts: int,
                     steps: tuple[str, ...]) -> Workspace:
    from datetime import date
    build_workspace(Path(root), seed=seed, days=days, end=date.fromisoformat(DEMO_END), null=null,
                    accounts=accounts)
    for step in steps:
        run_step(step, root)
    return Workspace(root)


# where build_demo keeps the worlds it built: a folder shared by every xdist worker of this session
# (the parent of the worker's own basetemp), set by the session fixture below. An environment
# variable, not a module global: pytest loads this file as `conftest` and the test modules import it
# again as `tests.conftest`, two module objects with a global each.
DEMO_CACHE_VARIABLE = "ACCOUNT_ANALYTICS_TEST_DEMO_CACHE"


def _cached_demo(*, null: bool, seed: int, days: int, accounts: int, steps: tuple[str, ...]) -> Path:
    """The cached world's root, built (under an exclusive lock, so two workers never build the same
    one at once and a half-built one is never copied) the first time it is asked for. Read-only:
    nothing runs in it once built, it is only copied."""
    import fcntl
    key = f"{'null' if null else 'planted'}-seed{seed}-{days}d-{accounts}a-{'-'.join(steps) or 'scraped'}"
    folder = Path(os.environ[DEMO_CACHE_VARIABLE]) / key
    folder.mkdir(parents=True, exist_ok=True)
    ws, done = folder / "ws", folder / ".built"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done.exists():
            if ws.exists():  # an earlier build failed half-way
                shutil.rmtree(ws)
            if steps:
                shutil.copytree(_cached_demo(null=null, seed=seed, days=days, accounts=accounts, steps=steps[:-1]),
                                ws, symlinks=True)
                run_step(steps[-1], ws)
            else:
                _build_demo_here(ws, null=null, seed=seed, days=days, accounts=accounts, steps=())
            done.touch()
    return ws


@pytest.fixture(scope="session", autouse=True)
def _demo_cache(tmp_path_factory):
    base = tmp_path_factory.getbasetemp()  # under xdist, <session basetemp>/popen-gwN
    os.environ[DEMO_CACHE_VARIABLE] = str((base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base)
                                          / "demo-cache")
    yield
    os.environ.pop(DEMO_CACHE_VARIABLE, None)


@pytest.fixture(scope="session")
def loaded_demo(tmp_path_factory) -> Workspace:
    """The planted demo world, loaded. Read-only: copy it (demo_copy) before changing anything."""
    return build_demo(tmp_path_factory.mktemp("demo") / "ws")


def copy_workspace(source: Workspace, tmp_path: Path) -> Workspace:
    """A private copy of a read-only, module- or session-scoped workspace, for one test to change.
    The database goes through SQLite's backup API: a connection still open on the source may
    checkpoint and remove its -wal file in the middle of a file copy."""
    target = Workspace(tmp_path / "ws")
    shutil.copytree(source.root, target.root, ignore=shutil.ignore_patterns(f"{source.db_path.name}*"))
    if source.db_path.exists():
        with contextlib.closing(sqlite3.connect(source.db_path)) as original, \
                contextlib.closing(sqlite3.connect(target.db_path)) as copy:
            original.backup(copy)
    return target


@pytest.fixture
def demo_copy(loaded_demo, tmp_path) -> Workspace:
    return copy_workspace(loaded_demo, tmp_path)


# --- the fast, in-process layer: a fresh database and envelopes built from recorded items ---------
FIXTURES_DIR = Path(__file__).parent / "fixtures"
RECORDED_SOURCE = {"tiktok": "clockworks/tiktok-profile-scraper", "instagram": "apify/instagram-post-scraper"}


def recorded_items(platform: str) -> list[dict]:
    """The recorded actor items of tests/fixtures/<platform>_items.json, a fresh copy on every call."""
    return json.loads((FIXTURES_DIR / f"{platform}_items.json").read_text(encoding="utf-8"))


def raw_envelope(platform: str, items: list[dict], *, account: str = "mymomskills",
                 scraped_at: str = "2026-06-25T08:00:00Z", profile: dict | None = None,
                 source: dict | None = None) -> dict:
    """A raw envelope dict as the SPEC defines it (data/raw/<platform>/<account>/<stamp>.json)."""
    return {"account": account, "platform": platform, "scraped_at": scraped_at,
            "source": source if source is not None else {
                "actor": RECORDED_SOURCE[platform], "run_id": f"run-{platform}", "dataset_id": f"ds-{platform}",
                "status": "SUCCEEDED"},
            "profile": profile, "items": items}


def write_raw(ws: Workspace, envelope: dict, stamp: str | None = None) -> Path:
    """Write an envelope where scrape would: data/raw/<platform>/<account>/<stamp>.json, the stamp
    taken from its scraped_at unless given."""
    stamp = stamp or to_stamp(parse_utc(envelope["scraped_at"]))
    path = ws.raw_path(envelope["platform"], envelope["account"], stamp)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(envelope), encoding="utf-8")
    return path


@pytest.fixture
def fresh_db(tmp_path):
    """A new analytics database with the real schema from sql/, at the db_path of the workspace
    Workspace(tmp_path), so envelopes written there with write_raw can be prepared and stored into
    it; closed after the test."""
    db = open_db(Workspace(tmp_path).db_path)
    yield db
    db.conn.close()


# --- scheduling: the slowest modules first ------------------------------------------------------
# `make test` hands whole modules to the xdist workers (--dist loadscope) in collection order
# (--no-loadscope-reorder; xdist's own reorder puts the modules with the most tests first, which sent
# the few-but-slow ones, test_make and test_bench, last, leaving one core idle while the other ran
# them). The slowest modules by CPU seconds (a profile of the whole suite on two cores), slowest
# first: each one starts while others are left to fill the other core, and the suite ends on the
# many small modules. A module not listed keeps its place after these.
SLOWEST_MODULES = (
    "test_reliability", "test_fault_injection", "test_analyze", "test_make", "test_security", "test_scrape",
    "test_faults", "test_dashboard", "test_apply", "test_bench", "test_recommend_claude", "test_workspace",
    "test_load", "test_report", "test_recommend", "test_hostile_proposals", "test_backfill", "test_import",
    "test_compress", "test_followups",
)


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOWEST_MODULES)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: a module's own order is kept

